// The rule context: every value a rule condition can read, declared once. The type checker,
// the evaluator, the signal queries and docs/rules.md all follow this table.
import { timestampFromDate } from '@bufbuild/protobuf/wkt'

export type FieldType = 'string' | 'int' | 'double' | 'bool' | 'timestamp' | 'map'

/**
 * What it costs to know a value. `request` values come with the track call; every other
 * signal is read from the tenant's history, and only when a rule of the action reads it.
 */
export type Signal = 'request' | 'user' | 'ipHistory' | 'ipCountry' | 'deviceHistory' | 'velocity' | 'travel'

export interface FieldDecl {
  type: FieldType
  signal: Signal
  description: string
  /** A condition using the field, for the documentation. */
  example: string
}

type Fields = Record<string, FieldDecl>

const request = (type: FieldType, description: string, example: string): FieldDecl => ({ type, signal: 'request', description, example })

/** The context's objects and their fields: `action.code`, `velocity.actions1h`, … */
export const CONTEXT_OBJECTS = {
  action: {
    code: request('string', 'The action code being tracked.', `action.code == 'authorizePayment'`),
    custom: request('map', 'Track’s `custom` object.', `action.custom.amount > 1000`),
    transaction: request('map', 'Track’s `transaction` display fields.', `action.transaction.currency != 'NZD'`),
  },
  user: {
    id: request('string', 'The tenant’s user ID.', `user.id.startsWith('staff-')`),
    custom: {
      type: 'map',
      signal: 'user',
      description: 'The user’s `custom` attributes (PATCH /v1/users).',
      example: `user.custom.tier == 'gold'`,
    },
    isEnrolled: { type: 'bool', signal: 'user', description: 'Has at least one authenticator.', example: `!user.isEnrolled` },
    authenticatorCount: { type: 'int', signal: 'user', description: 'Number of authenticators.', example: `user.authenticatorCount > 3` },
    createdAt: {
      type: 'timestamp',
      signal: 'user',
      description: 'When the user was first seen (now, for a new user).',
      example: `now - user.createdAt < duration('24h')`,
    },
    ageDays: { type: 'double', signal: 'user', description: 'Days since the user was first seen.', example: `user.ageDays < 7.0` },
  },
  ip: {
    address: request('string', 'Track’s `ipAddress` (empty when not sent).', `ip.address == '203.0.113.7'`),
    isNew: {
      type: 'bool',
      signal: 'ipHistory',
      description: 'No earlier action of this user came from this address.',
      example: `ip.isNew`,
    },
    country: {
      type: 'string',
      signal: 'ipCountry',
      description: 'ISO country code from the offline database; empty when unknown.',
      example: `ip.country in ['KP', 'IR']`,
    },
  },
  device: {
    id: request('string', 'Track’s `deviceId` (empty when not sent).', `device.id != ''`),
    isNew: {
      type: 'bool',
      signal: 'deviceHistory',
      description: 'No earlier action of this user named this device ID.',
      example: `device.isNew`,
    },
    count: {
      type: 'int',
      signal: 'deviceHistory',
      description: 'Distinct device IDs seen for this user before.',
      example: `device.count >= 5`,
    },
  },
  userAgent: {
    value: request('string', 'Track’s `userAgent` (empty when not sent).', `userAgent.value.contains('Android')`),
    isBot: request('bool', 'The user agent is a known crawler, bot or HTTP library.', `userAgent.isBot`),
  },
  velocity: {
    actions1h: {
      type: 'int',
      signal: 'velocity',
      description: 'Actions of this user in the last hour.',
      example: `velocity.actions1h > 20`,
    },
    actions24h: {
      type: 'int',
      signal: 'velocity',
      description: 'Actions of this user in the last 24 hours.',
      example: `velocity.actions24h > 100`,
    },
    sameAction1h: {
      type: 'int',
      signal: 'velocity',
      description: 'Actions with this code by this user in the last hour.',
      example: `velocity.sameAction1h >= 3`,
    },
    failedChallenges24h: {
      type: 'int',
      signal: 'velocity',
      description: 'This user’s actions of the last 24 hours that ended CHALLENGE_FAILED.',
      example: `velocity.failedChallenges24h > 2`,
    },
    distinctIps24h: {
      type: 'int',
      signal: 'velocity',
      description: 'Distinct IP addresses of this user in the last 24 hours.',
      example: `velocity.distinctIps24h > 3`,
    },
  },
  travel: {
    impossible: {
      type: 'bool',
      signal: 'travel',
      description:
        'Getting here from the previous action’s location would take more than 1,000 km/h (both locations known, over 500 km apart).',
      example: `travel.impossible`,
    },
    distanceKm: {
      type: 'double',
      signal: 'travel',
      description: 'Distance from the previous action’s location; 0 when either is unknown.',
      example: `travel.distanceKm > 2000.0`,
    },
    speedKmh: {
      type: 'double',
      signal: 'travel',
      description: 'That distance over the time between the two actions.',
      example: `travel.speedKmh > 900.0`,
    },
    previousCountry: {
      type: 'string',
      signal: 'travel',
      description: 'Country of the previous action’s IP address; empty when unknown.',
      example: `travel.previousCountry != ip.country`,
    },
  },
} as const satisfies Record<string, Fields>

export type ContextObject = keyof typeof CONTEXT_OBJECTS

/** The one top-level value that is not an object: the evaluation time. */
export const NOW_FIELD: FieldDecl = request('timestamp', 'When the action was tracked.', `now.getHours('Pacific/Auckland') < 6`)

/** The declaration behind `object.field`, or undefined. */
export function fieldDecl(path: string): FieldDecl | undefined {
  if (path === 'now') return NOW_FIELD
  const [object, field] = path.split('.')
  const fields = (CONTEXT_OBJECTS as Record<string, Fields>)[object ?? '']
  return field === undefined ? undefined : fields?.[field]
}

/**
 * A context as JSON (what is stored with an action and shown to operators): ints and doubles
 * as numbers, timestamps as ISO strings, maps as objects.
 */
export type ContextJson = Record<string, unknown>

/**
 * Fills a partial context with empty values and checks each value's type against the
 * declarations. Returns the problems instead of a context when there are any.
 */
export function completeContext(partial: ContextJson): { context: ContextJson } | { problems: string[] } {
  const problems: string[] = []
  const context: ContextJson = {}
  for (const key of Object.keys(partial)) {
    if (key !== 'now' && !(key in CONTEXT_OBJECTS)) problems.push(`${key}: not part of the rule context`)
  }
  for (const [object, fields] of Object.entries(CONTEXT_OBJECTS) as Array<[string, Fields]>) {
    const given = partial[object]
    if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
      problems.push(`${object}: must be an object`)
      continue
    }
    const values = (given ?? {}) as Record<string, unknown>
    for (const key of Object.keys(values)) if (!(key in fields)) problems.push(`${object}.${key}: not part of the rule context`)
    const out: Record<string, unknown> = {}
    for (const [field, decl] of Object.entries(fields)) {
      const value = values[field] ?? emptyValue(decl.type)
      if (!hasType(value, decl.type)) problems.push(`${object}.${field}: must be ${describeType(decl.type)}`)
      out[field] = value
    }
    context[object] = out
  }
  const now = partial.now ?? new Date(0).toISOString()
  if (!hasType(now, 'timestamp')) problems.push('now: must be an ISO 8601 date-time')
  context.now = now
  return problems.length > 0 ? { problems } : { context }
}

function emptyValue(type: FieldType): unknown {
  switch (type) {
    case 'string':
      return ''
    case 'int':
    case 'double':
      return 0
    case 'bool':
      return false
    case 'timestamp':
      return new Date(0).toISOString()
    case 'map':
      return {}
  }
}

function hasType(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string'
    case 'int':
      return Number.isSafeInteger(value)
    case 'double':
      return typeof value === 'number' && Number.isFinite(value)
    case 'bool':
      return typeof value === 'boolean'
    case 'timestamp':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value))
    case 'map':
      return typeof value === 'object' && value !== null && !Array.isArray(value)
  }
}

function describeType(type: FieldType): string {
  return {
    string: 'a string',
    int: 'an integer',
    double: 'a number',
    bool: 'true or false',
    timestamp: 'an ISO 8601 date-time',
    map: 'an object',
  }[type]
}

/** The CEL bindings for a complete JSON context: ints become bigints, timestamps Timestamps. */
export function celBindings(context: ContextJson): Record<string, unknown> {
  const bindings: Record<string, unknown> = { now: timestampFromDate(new Date(context.now as string)) }
  for (const [object, fields] of Object.entries(CONTEXT_OBJECTS) as Array<[string, Fields]>) {
    const values = context[object] as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const [field, decl] of Object.entries(fields)) {
      const value = values[field]
      out[field] =
        decl.type === 'int' ? BigInt(value as number) : decl.type === 'timestamp' ? timestampFromDate(new Date(value as string)) : value
    }
    bindings[object] = out
  }
  return bindings
}
