// Management API (management key, HTTP Basic): every capability an operator has, each success
// and each refusal, the audit trail every change leaves, and that nothing crosses tenants.
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ActionLogEntry, AuditEntry, Rule } from '@countersign/protocol'
import type { CreatedTenant } from '../src/domain/tenants.ts'
import { queryRows } from '../src/storage/database.ts'
import { basicAuth, createHarness, type Harness } from './support/harness.ts'
import {
  bearer,
  claimsOf,
  expectClientOk,
  expectError,
  expectOk,
  foreignSignature,
  tenantApi,
  uniqueId,
  type Method,
  type Response,
  type TenantApi,
} from './support/api.ts'
import { startReceiver, type WebhookReceiver } from './support/webhook-receiver.ts'

let h: Harness

beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
/** A well-formed ID that names nothing. */
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000'
const ALL_METHODS = ['IN_APP', 'PUSH', 'QR_CODE']

/** A tenant of its own for a test that changes tenant-wide state. */
async function freshTenant(settings: Parameters<Harness['newTenant']>[0] = {}): Promise<TenantApi> {
  return tenantApi(h, await h.newTenant(settings))
}

/** The same tenant, acting with another management key. */
function withManagementKey(api: TenantApi, managementKey: string): TenantApi {
  return tenantApi(h, { ...api.tenant, managementKey })
}

/** The audit log's actor for a tenant's default management key. */
const actorOf = (tenant: CreatedTenant): string => `management_key:${tenant.managementKeyId}`

/** The tenant's audit log, newest first (the tenants here stay under one page). */
async function auditLog(api: TenantApi): Promise<AuditEntry[]> {
  const page = expectOk(await api.manage('GET', '/audit-log?limit=200'))
  expect(page.nextCursor).toBeUndefined()
  return page.items
}

/** Audit entries about one target, newest first. */
async function auditOf(api: TenantApi, target: string): Promise<AuditEntry[]> {
  return (await auditLog(api)).filter((entry) => entry.target === target)
}

/** Every item of a paged list, following nextCursor with `limit` per page. */
async function walk<T>(api: TenantApi, path: string, limit: number): Promise<{ items: T[]; pages: number }> {
  const items: T[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const separator = path.includes('?') ? '&' : '?'
    const url = `${path}${separator}limit=${limit}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
    const page = expectOk(await api.manage('GET', url))
    expect(page.items.length).toBeLessThanOrEqual(limit)
    items.push(...page.items)
    cursor = page.nextCursor
    pages += 1
    if (pages > 50) throw new Error(`paging ${path} did not end`)
  } while (cursor !== undefined)
  return { items, pages }
}

const tokenLifetime = (token: string): number => {
  const claims = claimsOf(token)
  return (claims.exp as number) - (claims.iat as number)
}

/** Every Management API route, with well-formed parameters and bodies, so only the key decides. */
const MANAGEMENT_ROUTES: Array<[Method, string, object?]> = [
  ['GET', '/tenant'],
  ['PATCH', '/tenant', { name: 'Taken over' }],
  ['GET', '/api-keys'],
  ['POST', '/api-keys', { type: 'management' }],
  ['DELETE', '/api-keys/abcdefghijkl'],
  ['GET', '/action-configurations'],
  ['POST', '/action-configurations', { actionCode: 'authProbe' }],
  ['GET', '/action-configurations/authProbe'],
  ['PATCH', '/action-configurations/authProbe', { defaultOutcome: 'ALLOW' }],
  ['DELETE', '/action-configurations/authProbe'],
  ['GET', '/action-configurations/authProbe/rules'],
  ['POST', '/action-configurations/authProbe/rules', { name: 'probe', outcome: 'ALLOW', condition: 'true' }],
  ['POST', '/action-configurations/authProbe/rules/dry-run', { context: {} }],
  ['GET', `/action-configurations/authProbe/rules/${NO_SUCH_ID}`],
  ['PATCH', `/action-configurations/authProbe/rules/${NO_SUCH_ID}`, { priority: 1 }],
  ['DELETE', `/action-configurations/authProbe/rules/${NO_SUCH_ID}`],
  ['GET', '/value-lists'],
  ['POST', '/value-lists', { alias: 'probe', name: 'Probe', itemType: 'string', items: [] }],
  ['GET', '/value-lists/probe'],
  ['PATCH', '/value-lists/probe', { name: 'Probe' }],
  ['DELETE', '/value-lists/probe'],
  ['GET', '/webhooks'],
  ['POST', '/webhooks', { url: 'https://hooks.example.com/in', events: ['*'] }],
  ['GET', `/webhooks/${NO_SUCH_ID}`],
  ['PATCH', `/webhooks/${NO_SUCH_ID}`, { enabled: false }],
  ['DELETE', `/webhooks/${NO_SUCH_ID}`],
  ['GET', `/webhooks/${NO_SUCH_ID}/deliveries`],
  ['POST', `/webhooks/${NO_SUCH_ID}/deliveries/${NO_SUCH_ID}/retry`],
  ['GET', '/users?query=someone'],
  ['GET', '/users/someone'],
  ['DELETE', '/users/someone'],
  ['DELETE', `/users/someone/authenticators/${NO_SUCH_ID}`],
  ['POST', `/users/someone/authenticators/${NO_SUCH_ID}/unlock`],
  ['POST', '/users/someone/push-block/clear'],
  ['GET', '/actions'],
  ['GET', '/audit-log'],
  ['GET', '/stats'],
  ['GET', '/operators'],
  ['POST', '/operators', { email: 'probe@bank.example', password: 'a long enough password' }],
  ['DELETE', `/operators/${NO_SUCH_ID}`],
]

/** Sends every Management API route with this Authorization header; returns `METHOD path → status code`. */
async function answersTo(authorization: string | undefined): Promise<string[]> {
  const answers: string[] = []
  for (const [method, path, payload] of MANAGEMENT_ROUTES) {
    const res = await h.inject({
      method,
      url: `/v1/management${path}`,
      headers: authorization === undefined ? {} : { authorization },
      ...(payload ? { payload } : {}),
    })
    answers.push(`${method} ${path} → ${res.statusCode} ${res.json().errorCode ?? ''}`)
  }
  return answers
}

const allRefused = MANAGEMENT_ROUTES.map(([method, path]) => `${method} ${path} → 401 unauthorized`)

describe('authentication', () => {
  let api: TenantApi
  beforeAll(async () => {
    api = await freshTenant()
  })

  it('lists every Management API operation of the OpenAPI document in the route table below', async () => {
    const document = expectOk(await h.inject({ method: 'GET', url: '/openapi.json' }))
    // Signing in to the console is the one route that takes no key (console-sessions.test.ts).
    const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith('/v1/management/') && path !== '/v1/management/session')
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path: path.slice('/v1/management'.length) })),
      )
    expect(operations.length).toBeGreaterThan(30)
    const untested = operations.filter(({ method, path }) => {
      const template = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`)
      return !MANAGEMENT_ROUTES.some(([m, p]) => m === method && template.test(p.split('?')[0]!))
    })
    expect(untested).toEqual([])
  })

  it('serves the tenant’s management key', async () => {
    expect(expectOk(await api.manage('GET', '/tenant'))).toMatchObject({ tenantId: api.tenant.tenantId })
  })

  it('refuses the secret key on every Management API path with 401 unauthorized, changing nothing', async () => {
    expect(await answersTo(basicAuth(api.tenant.secretKey))).toEqual(allRefused)
    expectError(
      await h.inject({ method: 'GET', url: '/v1/management/tenant', headers: { authorization: basicAuth(api.tenant.secretKey) } }),
      401,
      'unauthorized',
    )
    expect(expectOk(await api.manage('GET', '/tenant')).name).toBe('Test tenant')
    expectError(await api.manage('GET', '/action-configurations/authProbe'), 404, 'not_found')
    expect(expectOk(await api.manage('GET', '/api-keys')).items).toHaveLength(2)
    expect(await auditLog(api)).toEqual([])
  })

  it('refuses a request without Authorization, inviting HTTP Basic', async () => {
    expect(await answersTo(undefined)).toEqual(allRefused)
    const res = await h.inject({ method: 'GET', url: '/v1/management/tenant' })
    expectError(res, 401, 'unauthorized')
    expect(res.headers['www-authenticate']).toBe('Basic realm="countersign"')
  })

  it('refuses the tenant ID as the Basic username (what the Client API takes)', async () => {
    expect(await answersTo(api.tenantBasic)).toEqual(allRefused)
  })

  it('refuses a management key whose tenant part names another tenant', async () => {
    const other = await freshTenant()
    const grafted = api.tenant.managementKey.replace(api.tenant.tenantId, other.tenant.tenantId)
    expect(grafted).not.toBe(api.tenant.managementKey)
    expectError(await withManagementKey(other, grafted).manage('GET', '/tenant'), 401, 'unauthorized')
  })

  it('refuses a management key on the Server API', async () => {
    const management = basicAuth(api.tenant.managementKey)
    const userId = uniqueId('mk-server')
    for (const [method, url] of [
      ['POST', `/v1/users/${userId}/actions/authorizePayment`],
      ['GET', `/v1/users/${userId}`],
      ['GET', `/v1/users/${userId}/authenticators`],
    ] as const) {
      expectError(
        await h.inject({ method, url, headers: { authorization: management }, payload: method === 'POST' ? {} : undefined }),
        401,
        'unauthorized',
      )
    }
    // Nothing was tracked for the user.
    expect(expectOk(await api.manage('GET', `/actions?userId=${userId}`)).items).toEqual([])
  })

  it('refuses a revoked management key at once, on every path', async () => {
    const created = expectOk(await api.manage('POST', '/api-keys', { type: 'management', name: 'temporary' }), 201)
    const temporary = withManagementKey(api, created.key)
    expectOk(await temporary.manage('GET', '/tenant'))
    expectOk(await api.manage('DELETE', `/api-keys/${created.keyId}`), 204)
    expect(await answersTo(basicAuth(created.key))).toEqual(allRefused)
    // The key that revoked it still works.
    expectOk(await api.manage('GET', '/tenant'))
  })

  it('lets a management key revoke itself, and refuses it from then on', async () => {
    const created = expectOk(await api.manage('POST', '/api-keys', { type: 'management' }), 201)
    const self = withManagementKey(api, created.key)
    expectOk(await self.manage('DELETE', `/api-keys/${created.keyId}`), 204)
    expectError(await self.manage('GET', '/tenant'), 401, 'unauthorized')
  })
})

describe('tenant', () => {
  it('returns the tenant with every setting, and nothing internal', async () => {
    const api = await freshTenant()
    const body = expectOk(await api.manage('GET', '/tenant'))
    expect(body).toEqual({
      tenantId: api.tenant.tenantId,
      name: 'Test tenant',
      createdAt: expect.stringMatching(ISO),
      tokenTtlSeconds: 600,
      challengeTtlSeconds: 300,
      pushChallengeTtlSeconds: 300,
      qrChallengeTtlSeconds: 600,
      pushMaxPending: 3,
      pushMaxPerHour: 10,
      defaultOutcome: 'CHALLENGE',
      verificationMethods: ALL_METHODS,
      requireSignedDecision: false,
      numberMatching: false,
      allowedOrigins: [],
    })
  })

  it('renames the tenant and changes the token lifetime of the next track, audited with before and after', async () => {
    const api = await freshTenant()
    expect(tokenLifetime((await api.track(uniqueId('ttl-before'))).token)).toBe(600)
    const changed = expectOk(await api.manage('PATCH', '/tenant', { name: 'Bank of Examples', tokenTtlSeconds: 120 }))
    expect(changed).toMatchObject({ name: 'Bank of Examples', tokenTtlSeconds: 120, challengeTtlSeconds: 300 })
    expect(expectOk(await api.manage('GET', '/tenant'))).toEqual(changed)
    expect(tokenLifetime((await api.track(uniqueId('ttl-after'))).token)).toBe(120)

    const [entry, ...rest] = await auditOf(api, api.tenant.tenantId)
    expect(rest).toEqual([])
    expect(entry).toMatchObject({
      actor: actorOf(api.tenant),
      event: 'tenant.updated',
      before: { name: 'Test tenant', tokenTtlSeconds: 600 },
      after: { name: 'Bank of Examples', tokenTtlSeconds: 120 },
    })
  })

  it('makes BLOCK the outcome of a new track when it is the default outcome', async () => {
    const api = await freshTenant()
    const userId = uniqueId('default-block')
    expect((await api.track(userId, 'transfer')).state).toBe('ALLOW')
    expect(expectOk(await api.manage('PATCH', '/tenant', { defaultOutcome: 'BLOCK' })).defaultOutcome).toBe('BLOCK')
    expect((await api.track(userId, 'transfer')).state).toBe('BLOCK')
    // An action configuration that sets nothing itself follows the tenant.
    expect(expectOk(await api.manage('GET', '/action-configurations/transfer'))).toMatchObject({ defaultOutcome: 'BLOCK', ownSettings: [] })
  })

  it('sets the allowed origins, and refuses an origin that is not a scheme and host', async () => {
    const api = await freshTenant()
    const origins = ['https://bank.example', 'http://localhost:5173']
    expect(expectOk(await api.manage('PATCH', '/tenant', { allowedOrigins: origins })).allowedOrigins).toEqual(origins)
    expect(expectOk(await api.manage('GET', '/tenant')).allowedOrigins).toEqual(origins)
    for (const origin of ['bank.example', 'https://bank.example/path', 'javascript:alert(1)']) {
      expectError(await api.manage('PATCH', '/tenant', { allowedOrigins: [origin] }), 400, 'invalid_request')
    }
    expect(expectOk(await api.manage('GET', '/tenant')).allowedOrigins).toEqual(origins)
  })

  it('refuses an unknown field (a typo must not look like a change) and changes nothing', async () => {
    const api = await freshTenant()
    expectError(await api.manage('PATCH', '/tenant', { tokenTTLSeconds: 120 }), 400, 'invalid_request')
    expectError(await api.manage('PATCH', '/tenant', { name: 'Renamed', tokenTTLSeconds: 120 }), 400, 'invalid_request')
    // A stored setting the Management API does not offer is as unknown as a typo.
    expectError(await api.manage('PATCH', '/tenant', { credentialLockThreshold: 100 }), 400, 'invalid_request')
    expect(expectOk(await api.manage('GET', '/tenant'))).toMatchObject({ name: 'Test tenant', tokenTtlSeconds: 600 })
    expect(await auditLog(api)).toEqual([])
  })

  it('refuses values out of range', async () => {
    const api = await freshTenant()
    for (const change of [
      { tokenTtlSeconds: 59 },
      { tokenTtlSeconds: 3601 },
      { tokenTtlSeconds: 120.5 },
      { challengeTtlSeconds: 601 },
      { pushMaxPending: 0 },
      { defaultOutcome: 'MAYBE' },
      { verificationMethods: [] },
      { name: '' },
    ]) {
      expectError(await api.manage('PATCH', '/tenant', change), 400, 'invalid_request')
    }
    expect(expectOk(await api.manage('GET', '/tenant'))).toMatchObject({
      tokenTtlSeconds: 600,
      challengeTtlSeconds: 300,
      pushMaxPending: 3,
    })
  })
})

describe('API keys', () => {
  let api: TenantApi
  beforeAll(async () => {
    api = await freshTenant()
  })

  it('lists the default secret and management keys without the keys or their hashes', async () => {
    const res = await api.manage('GET', '/api-keys')
    const { items } = expectOk(res)
    expect(items).toEqual(
      expect.arrayContaining([
        { keyId: api.tenant.secretKeyId, type: 'secret', name: 'default', createdAt: expect.stringMatching(ISO) },
        { keyId: api.tenant.managementKeyId, type: 'management', name: 'default', createdAt: expect.stringMatching(ISO) },
      ]),
    )
    for (const key of [api.tenant.secretKey, api.tenant.managementKey]) {
      expect(res.body).not.toContain(key.split('.')[2])
    }
    expect(res.body).not.toMatch(/"(key|hash|secretHash)"/)
  })

  it('creates a secret key, shown once, that works on the Server API until it is revoked', async () => {
    const created = expectOk(await api.manage('POST', '/api-keys', { type: 'secret', name: 'backend-2' }), 201)
    expect(created).toEqual({ keyId: expect.any(String), type: 'secret', name: 'backend-2', key: expect.any(String) })
    expect(created.key).toMatch(new RegExp(`^cs_sk_${api.tenant.tenantId}\\.${created.keyId}\\.[A-Za-z0-9_-]{43}$`))

    const listed = expectOk(await api.manage('GET', '/api-keys')).items
    expect(listed).toContainEqual({ keyId: created.keyId, type: 'secret', name: 'backend-2', createdAt: expect.stringMatching(ISO) })
    expect(JSON.stringify(listed)).not.toContain(created.key.split('.')[2])

    const viaNewKey = tenantApi(h, { ...api.tenant, secretKey: created.key })
    const userId = uniqueId('new-key')
    expect((await viaNewKey.track(userId)).state).toBe('ALLOW')

    expectOk(await api.manage('DELETE', `/api-keys/${created.keyId}`), 204)
    expectError(await viaNewKey.server('POST', `/v1/users/${userId}/actions/authorizePayment`, {}), 401, 'unauthorized')
    expect(expectOk(await api.manage('GET', '/api-keys')).items).toContainEqual(
      expect.objectContaining({ keyId: created.keyId, revokedAt: expect.stringMatching(ISO) }),
    )
    // The default secret key is untouched.
    expect((await api.track(userId)).state).toBe('ALLOW')

    const events = (await auditOf(api, created.keyId)).map((e) => [e.event, e.actor])
    expect(events).toEqual([
      ['api_key.revoked', actorOf(api.tenant)],
      ['api_key.created', actorOf(api.tenant)],
    ])
    expect(JSON.stringify(await auditLog(api))).not.toContain(created.key.split('.')[2])
  })

  it('answers 404 for revoking a key twice or a key that does not exist', async () => {
    const created = expectOk(await api.manage('POST', '/api-keys', { type: 'secret' }), 201)
    expect(created).not.toHaveProperty('name')
    expectOk(await api.manage('DELETE', `/api-keys/${created.keyId}`), 204)
    expectError(await api.manage('DELETE', `/api-keys/${created.keyId}`), 404, 'not_found')
    expectError(await api.manage('DELETE', '/api-keys/doesNotExist'), 404, 'not_found')
    expect((await auditOf(api, created.keyId)).map((e) => e.event)).toEqual(['api_key.revoked', 'api_key.created'])
  })

  it('refuses an unknown key type, an unknown field and an over-long key ID with 400', async () => {
    const before = expectOk(await api.manage('GET', '/api-keys')).items.length
    expectError(await api.manage('POST', '/api-keys', { type: 'publishable' }), 400, 'invalid_request')
    expectError(await api.manage('POST', '/api-keys', {}), 400, 'invalid_request')
    expectError(await api.manage('POST', '/api-keys', { type: 'secret', scopes: ['all'] }), 400, 'invalid_request')
    expectError(await api.manage('POST', '/api-keys', { type: 'secret', name: '' }), 400, 'invalid_request')
    expectError(await api.manage('DELETE', `/api-keys/${'k'.repeat(65)}`), 400, 'invalid_request')
    expect(expectOk(await api.manage('GET', '/api-keys')).items).toHaveLength(before)
  })

  it('creates and revokes keys concurrently without a deadlock or a 5xx', async () => {
    const api = await freshTenant()
    // Eight operators at once, each creating and revoking keys and revoking ones that do not exist.
    const answers = await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        const seen: number[] = []
        for (let round = 0; round < 6; round++) {
          const created = await api.manage('POST', '/api-keys', {
            type: round % 2 ? 'secret' : 'management',
            name: `race ${worker}.${round}`,
          })
          const [revoked, unknown] = await Promise.all([
            api.manage('DELETE', `/api-keys/${created.json().keyId}`),
            api.manage('DELETE', `/api-keys/${uniqueId('k').slice(0, 12)}`),
          ])
          seen.push(created.statusCode, revoked.statusCode, unknown.statusCode)
        }
        return seen
      }),
    )
    expect(answers.flat().filter((status) => ![201, 204, 404].includes(status))).toEqual([])
    const keys = expectOk(await api.manage('GET', '/api-keys')).items as Array<{ name?: string; revokedAt?: string }>
    expect(keys.filter((k) => k.name?.startsWith('race ') && k.revokedAt)).toHaveLength(48)
  })
})

describe('action configurations', () => {
  let api: TenantApi
  beforeAll(async () => {
    api = await freshTenant()
  })

  it('creates a configuration following the tenant on the first track of a new action code', async () => {
    const code = 'firstSeen'
    expectError(await api.manage('GET', `/action-configurations/${code}`), 404, 'not_found')
    await api.track(uniqueId('first-seen'), code)
    const expected = {
      actionCode: code,
      defaultOutcome: 'CHALLENGE',
      verificationMethods: ALL_METHODS,
      requireSignedDecision: false,
      numberMatching: false,
      challengeTtlSeconds: 300,
      tokenTtlSeconds: 600,
      verificationWebhookUrl: null,
      ownSettings: [],
      ruleCount: 0,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    }
    expect(expectOk(await api.manage('GET', `/action-configurations/${code}`))).toEqual(expected)
    expect(expectOk(await api.manage('GET', '/action-configurations')).items).toContainEqual(expected)
  })

  it('creates a configuration with its own settings (201), and refuses a second one for the code with 409', async () => {
    const created = expectOk(
      await api.manage('POST', '/action-configurations', { actionCode: 'wireTransfer', defaultOutcome: 'REVIEW', tokenTtlSeconds: 300 }),
      201,
    )
    expect(created).toMatchObject({
      actionCode: 'wireTransfer',
      defaultOutcome: 'REVIEW',
      tokenTtlSeconds: 300,
      challengeTtlSeconds: 300,
      ownSettings: ['defaultOutcome', 'tokenTtlSeconds'],
      ruleCount: 0,
    })
    expect(expectOk(await api.manage('GET', '/action-configurations/wireTransfer'))).toEqual(created)
    expectError(await api.manage('POST', '/action-configurations', { actionCode: 'wireTransfer' }), 409, 'conflict')
    // The refused create changed nothing.
    expect(expectOk(await api.manage('GET', '/action-configurations/wireTransfer'))).toEqual(created)
    // A configuration made by a track is taken just the same.
    await api.track(uniqueId('tracked-first'), 'trackedFirst')
    expectError(await api.manage('POST', '/action-configurations', { actionCode: 'trackedFirst' }), 409, 'conflict')

    expect((await auditOf(api, 'wireTransfer')).map((e) => [e.event, e.actor, e.after])).toEqual([
      ['action_configuration.created', actorOf(api.tenant), { defaultOutcome: 'REVIEW', tokenTtlSeconds: 300 }],
    ])
  })

  it('answers 404 for a code without a configuration', async () => {
    expectError(await api.manage('GET', '/action-configurations/neverConfigured'), 404, 'not_found')
    expectError(await api.manage('PATCH', '/action-configurations/neverConfigured', { defaultOutcome: 'ALLOW' }), 404, 'not_found')
    expectError(await api.manage('DELETE', '/action-configurations/neverConfigured'), 404, 'not_found')
  })

  it('sets fields, lists them as its own, and returns a field to the tenant’s value with null', async () => {
    expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'patchMe' }), 201)
    const set = expectOk(
      await api.manage('PATCH', '/action-configurations/patchMe', {
        defaultOutcome: 'BLOCK',
        verificationMethods: ['IN_APP'],
        numberMatching: true,
        challengeTtlSeconds: 60,
      }),
    )
    expect(set).toMatchObject({
      defaultOutcome: 'BLOCK',
      verificationMethods: ['IN_APP'],
      numberMatching: true,
      challengeTtlSeconds: 60,
      tokenTtlSeconds: 600,
      ownSettings: ['challengeTtlSeconds', 'defaultOutcome', 'numberMatching', 'verificationMethods'],
    })
    // A field left out keeps its value; null hands it back to the tenant.
    const reset = expectOk(await api.manage('PATCH', '/action-configurations/patchMe', { defaultOutcome: null, numberMatching: null }))
    expect(reset).toMatchObject({
      defaultOutcome: 'CHALLENGE',
      verificationMethods: ['IN_APP'],
      numberMatching: false,
      challengeTtlSeconds: 60,
      ownSettings: ['challengeTtlSeconds', 'verificationMethods'],
    })
    expect(expectOk(await api.manage('GET', '/action-configurations/patchMe'))).toEqual(reset)

    const [updated] = await auditOf(api, 'patchMe')
    expect(updated).toMatchObject({
      event: 'action_configuration.updated',
      actor: actorOf(api.tenant),
      before: { defaultOutcome: 'BLOCK', numberMatching: true, challengeTtlSeconds: 60, verificationMethods: ['IN_APP'] },
      after: { challengeTtlSeconds: 60, verificationMethods: ['IN_APP'] },
    })
  })

  it('follows a change of the tenant’s setting for the fields it does not set', async () => {
    const own = await freshTenant()
    expectOk(await own.manage('POST', '/action-configurations', { actionCode: 'inherits', tokenTtlSeconds: 900 }), 201)
    expectOk(await own.manage('PATCH', '/tenant', { tokenTtlSeconds: 1200, challengeTtlSeconds: 120 }))
    expect(expectOk(await own.manage('GET', '/action-configurations/inherits'))).toMatchObject({
      tokenTtlSeconds: 900,
      challengeTtlSeconds: 120,
    })
  })

  it('refuses an invalid action code, unknown fields and values out of range with 400', async () => {
    expectError(await api.manage('GET', '/action-configurations/has%20space'), 400, 'invalid_request')
    expectError(await api.manage('GET', `/action-configurations/${'a'.repeat(65)}`), 400, 'invalid_request')
    expectError(await api.manage('PATCH', '/action-configurations/a.b', { defaultOutcome: 'ALLOW' }), 400, 'invalid_request')
    expectError(await api.manage('POST', '/action-configurations', { actionCode: 'has space' }), 400, 'invalid_request')
    expectError(await api.manage('POST', '/action-configurations', {}), 400, 'invalid_request')
    expectError(await api.manage('POST', '/action-configurations', { actionCode: 'typo', defaultOutcom: 'BLOCK' }), 400, 'invalid_request')
    expectError(await api.manage('POST', '/action-configurations', { actionCode: 'ttl', tokenTtlSeconds: 30 }), 400, 'invalid_request')
    expectError(
      await api.manage('POST', '/action-configurations', { actionCode: 'methods', verificationMethods: [] }),
      400,
      'invalid_request',
    )
    expectError(await api.manage('PATCH', '/action-configurations/patchMe', { challengeTtlSeconds: 601 }), 400, 'invalid_request')
    for (const code of ['typo', 'ttl', 'methods']) expectError(await api.manage('GET', `/action-configurations/${code}`), 404, 'not_found')
  })

  it('refuses a verification webhook on a loopback or private address (a key must not reach the internal network)', async () => {
    expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'vetoed' }), 201)
    for (const url of [
      'http://127.0.0.1:8080/verify',
      'https://10.1.2.3/verify',
      'http://192.168.1.1/',
      'http://[::1]/',
      'http://localhost/x',
      'http://169.254.169.254/latest',
    ]) {
      expectError(await api.manage('PATCH', '/action-configurations/vetoed', { verificationWebhookUrl: url }), 400, 'invalid_request')
      expectError(
        await api.manage('POST', '/action-configurations', { actionCode: 'vetoedNew', verificationWebhookUrl: url }),
        400,
        'invalid_request',
      )
    }
    expectError(
      await api.manage('PATCH', '/action-configurations/vetoed', { verificationWebhookUrl: 'ftp://hooks.example.com/' }),
      400,
      'invalid_request',
    )
    expectError(await api.manage('GET', '/action-configurations/vetoedNew'), 404, 'not_found')
    expect(expectOk(await api.manage('GET', '/action-configurations/vetoed'))).toMatchObject({
      verificationWebhookUrl: null,
      ownSettings: [],
    })

    const set = expectOk(
      await api.manage('PATCH', '/action-configurations/vetoed', { verificationWebhookUrl: 'https://hooks.example.com/verify' }),
    )
    expect(set).toMatchObject({ verificationWebhookUrl: 'https://hooks.example.com/verify', ownSettings: ['verificationWebhookUrl'] })
    const cleared = expectOk(await api.manage('PATCH', '/action-configurations/vetoed', { verificationWebhookUrl: null }))
    expect(cleared).toMatchObject({ verificationWebhookUrl: null, ownSettings: [] })
  })

  it('deletes a configuration with its rules; the next track starts a default one', async () => {
    expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'doomed', defaultOutcome: 'ALLOW' }), 201)
    const rule = expectOk(
      await api.manage('POST', '/action-configurations/doomed/rules', { name: 'Block all', outcome: 'BLOCK', condition: 'true' }),
      201,
    )
    const userId = uniqueId('doomed')
    expect((await api.track(userId, 'doomed')).state).toBe('BLOCK')

    expectOk(await api.manage('DELETE', '/action-configurations/doomed'), 204)
    expectError(await api.manage('GET', '/action-configurations/doomed'), 404, 'not_found')
    expectError(await api.manage('GET', '/action-configurations/doomed/rules'), 404, 'not_found')
    expectError(await api.manage('GET', `/action-configurations/doomed/rules/${rule.ruleId}`), 404, 'not_found')
    expectError(await api.manage('DELETE', '/action-configurations/doomed'), 404, 'not_found')
    expect(
      expectOk(await api.manage('GET', '/action-configurations')).items.map((c: { actionCode: string }) => c.actionCode),
    ).not.toContain('doomed')

    // The deleted rule no longer decides, and the new configuration starts empty.
    const again = await api.track(userId, 'doomed')
    expect(again).toMatchObject({ state: 'ALLOW', ruleIds: [] })
    expect(expectOk(await api.manage('GET', '/action-configurations/doomed'))).toMatchObject({ ownSettings: [], ruleCount: 0 })

    const [deleted] = await auditOf(api, 'doomed')
    expect(deleted).toMatchObject({
      event: 'action_configuration.deleted',
      actor: actorOf(api.tenant),
      before: { settings: { defaultOutcome: 'ALLOW' }, rules: [expect.objectContaining({ ruleId: rule.ruleId })] },
    })
  })

  it('applies its own token lifetime to the track token', async () => {
    expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'shortLived', tokenTtlSeconds: 90 }), 201)
    const userId = uniqueId('short-lived')
    expect(tokenLifetime((await api.track(userId, 'shortLived')).token)).toBe(90)
    expect(tokenLifetime((await api.track(userId, 'otherAction')).token)).toBe(600)
    expectOk(await api.manage('PATCH', '/action-configurations/shortLived', { tokenTtlSeconds: 1800 }))
    expect(tokenLifetime((await api.track(userId, 'shortLived')).token)).toBe(1800)
  })

  it('applies its own default outcome: REVIEW makes a track REVIEW_REQUIRED', async () => {
    const userId = uniqueId('review')
    expect((await api.track(userId, 'reviewed')).state).toBe('ALLOW')
    expectOk(await api.manage('PATCH', '/action-configurations/reviewed', { defaultOutcome: 'REVIEW' }))
    expect((await api.track(userId, 'reviewed')).state).toBe('REVIEW_REQUIRED')
    expect((await api.track(userId, 'notReviewed')).state).toBe('ALLOW')
  })

  it('applies its own verification methods: PUSH only takes IN_APP out of the allowed methods', async () => {
    const userId = uniqueId('push-only')
    await api.enroll(userId)
    expect((await api.track(userId, 'pushOnly')).allowedVerificationMethods).toContain('IN_APP')
    expectOk(await api.manage('PATCH', '/action-configurations/pushOnly', { verificationMethods: ['PUSH'] }))
    const tracked = await api.track(userId, 'pushOnly')
    expect(tracked.state).toBe('CHALLENGE_REQUIRED')
    expect(tracked.allowedVerificationMethods).not.toContain('IN_APP')
    expect((await api.track(userId, 'authorizePayment')).allowedVerificationMethods).toContain('IN_APP')
  })
})

describe('action configurations where private webhook URLs are allowed', () => {
  let open: Harness
  beforeAll(async () => {
    open = await createHarness({ ALLOW_PRIVATE_WEBHOOK_URLS: 'true' })
  })
  afterAll(() => open.close())

  it('accepts a verification webhook on a loopback or private address', async () => {
    const api = tenantApi(open, await open.newTenant())
    const created = expectOk(
      await api.manage('POST', '/action-configurations', {
        actionCode: 'internal',
        verificationWebhookUrl: 'http://127.0.0.1:8080/verify',
      }),
      201,
    )
    expect(created).toMatchObject({ verificationWebhookUrl: 'http://127.0.0.1:8080/verify', ownSettings: ['verificationWebhookUrl'] })
    const changed = expectOk(
      await api.manage('PATCH', '/action-configurations/internal', { verificationWebhookUrl: 'http://10.0.0.7/verify' }),
    )
    expect(changed.verificationWebhookUrl).toBe('http://10.0.0.7/verify')
    // Credentials in the URL are refused all the same.
    expectError(
      await api.manage('PATCH', '/action-configurations/internal', { verificationWebhookUrl: 'http://user:pw@10.0.0.7/verify' }),
      400,
      'invalid_request',
    )
  })
})

describe('rules', () => {
  let api: TenantApi
  beforeAll(async () => {
    api = await freshTenant()
    expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'rulePay', defaultOutcome: 'ALLOW' }), 201)
    expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'ruleOther' }), 201)
  })

  const rulesPath = (code: string) => `/action-configurations/${code}/rules`
  const createRule = async (code: string, rule: Record<string, unknown>): Promise<Rule> =>
    expectOk(await api.manage('POST', rulesPath(code), { name: 'A rule', outcome: 'BLOCK', condition: 'false', ...rule }), 201)

  it('creates a rule (201) with a UUID, defaults, and every field; GET returns it', async () => {
    const rule = expectOk(
      await api.manage('POST', rulesPath('rulePay'), {
        name: 'Large payments',
        description: 'Over 1000',
        outcome: 'CHALLENGE',
        verificationMethods: ['IN_APP'],
        condition: 'action.custom.amount > 1000',
      }),
      201,
    )
    expect(rule).toEqual({
      ruleId: expect.stringMatching(UUID),
      actionCode: 'rulePay',
      name: 'Large payments',
      description: 'Over 1000',
      isActive: true,
      priority: 100,
      outcome: 'CHALLENGE',
      verificationMethods: ['IN_APP'],
      condition: 'action.custom.amount > 1000',
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    })
    expect(expectOk(await api.manage('GET', `${rulesPath('rulePay')}/${rule.ruleId}`))).toEqual(rule)
    expect(expectOk(await api.manage('GET', '/action-configurations/rulePay')).ruleCount).toBeGreaterThanOrEqual(1)

    const [created] = await auditOf(api, `rulePay/${rule.ruleId}`)
    expect(created).toMatchObject({ event: 'rule.created', actor: actorOf(api.tenant), after: rule })
  })

  it('lists an action’s rules in priority order, and only that action’s', async () => {
    const own = await freshTenant()
    expectOk(await own.manage('POST', '/action-configurations', { actionCode: 'ordered' }), 201)
    expectOk(await own.manage('POST', '/action-configurations', { actionCode: 'elsewhere' }), 201)
    const ids: Record<number, string> = {}
    for (const priority of [300, 100, 200]) {
      ids[priority] = expectOk(
        await own.manage('POST', rulesPath('ordered'), { name: `p${priority}`, priority, outcome: 'ALLOW', condition: 'false' }),
        201,
      ).ruleId
    }
    expectOk(await own.manage('POST', rulesPath('elsewhere'), { name: 'elsewhere', outcome: 'ALLOW', condition: 'false' }), 201)
    const listed = expectOk(await own.manage('GET', rulesPath('ordered'))).items as Rule[]
    expect(listed.map((r) => [r.priority, r.ruleId])).toEqual([
      [100, ids[100]],
      [200, ids[200]],
      [300, ids[300]],
    ])
    expect(expectOk(await own.manage('GET', '/action-configurations/ordered')).ruleCount).toBe(3)
    expect(expectOk(await own.manage('GET', rulesPath('elsewhere'))).items).toHaveLength(1)
  })

  it('changes priority, isActive and condition, and the next track is decided by the change', async () => {
    const own = await freshTenant()
    expectOk(await own.manage('POST', '/action-configurations', { actionCode: 'pay', defaultOutcome: 'ALLOW' }), 201)
    const allow = expectOk(
      await own.manage('POST', rulesPath('pay'), {
        name: 'Trusted',
        priority: 10,
        outcome: 'ALLOW',
        condition: 'action.custom.amount > 100',
      }),
      201,
    )
    const block = expectOk(
      await own.manage('POST', rulesPath('pay'), {
        name: 'Large',
        priority: 20,
        outcome: 'BLOCK',
        condition: 'action.custom.amount > 1000',
      }),
      201,
    )
    const userId = uniqueId('rule-change')
    const pay = (amount: number) => own.track(userId, 'pay', { custom: { amount } })

    expect(await pay(5000)).toMatchObject({ state: 'ALLOW', ruleIds: [allow.ruleId, block.ruleId] })

    h.clock.advance(1000)
    const moved = expectOk(await own.manage('PATCH', `${rulesPath('pay')}/${allow.ruleId}`, { priority: 30 }))
    expect(moved).toMatchObject({
      ruleId: allow.ruleId,
      priority: 30,
      name: 'Trusted',
      condition: 'action.custom.amount > 100',
      createdAt: allow.createdAt,
    })
    expect(Date.parse(moved.updatedAt)).toBeGreaterThan(Date.parse(allow.updatedAt))
    expect(expectOk(await own.manage('GET', rulesPath('pay'))).items.map((r: Rule) => r.ruleId)).toEqual([block.ruleId, allow.ruleId])
    expect((await pay(5000)).state).toBe('BLOCK')

    expect(expectOk(await own.manage('PATCH', `${rulesPath('pay')}/${block.ruleId}`, { isActive: false })).isActive).toBe(false)
    expect(await pay(5000)).toMatchObject({ state: 'ALLOW', ruleIds: [allow.ruleId] })

    expectOk(await own.manage('PATCH', `${rulesPath('pay')}/${block.ruleId}`, { isActive: true, condition: 'action.custom.amount > 10' }))
    expect((await pay(50)).state).toBe('BLOCK')

    const [updated] = await auditOf(own, `pay/${block.ruleId}`)
    expect(updated).toMatchObject({
      event: 'rule.updated',
      actor: actorOf(own.tenant),
      before: { isActive: false, condition: 'action.custom.amount > 1000' },
      after: { isActive: true, condition: 'action.custom.amount > 10' },
    })
    expect(
      (await auditOf(own, `pay/${allow.ruleId}`)).map((e) => [
        e.event,
        (e.before as Rule | undefined)?.priority,
        (e.after as Rule).priority,
      ]),
    ).toEqual([
      ['rule.updated', 10, 30],
      ['rule.created', undefined, 10],
    ])
  })

  it('deletes a rule (204), then answers 404 for it', async () => {
    const rule = await createRule('rulePay', { name: 'Short-lived' })
    const path = `${rulesPath('rulePay')}/${rule.ruleId}`
    expectOk(await api.manage('DELETE', path), 204)
    expectError(await api.manage('GET', path), 404, 'not_found')
    expectError(await api.manage('PATCH', path, { priority: 1 }), 404, 'not_found')
    expectError(await api.manage('DELETE', path), 404, 'not_found')
    expect(expectOk(await api.manage('GET', rulesPath('rulePay'))).items.map((r: Rule) => r.ruleId)).not.toContain(rule.ruleId)
    expect((await auditOf(api, `rulePay/${rule.ruleId}`)).map((e) => e.event)).toEqual(['rule.deleted', 'rule.created'])
  })

  it('answers 404 for rules of an action code without a configuration', async () => {
    expectError(await api.manage('POST', rulesPath('unconfigured'), { name: 'x', outcome: 'BLOCK', condition: 'true' }), 404, 'not_found')
    expectError(await api.manage('GET', rulesPath('unconfigured')), 404, 'not_found')
    expectError(await api.manage('GET', '/action-configurations/unconfigured'), 404, 'not_found')
  })

  it('refuses a condition that does not compile with 400 invalid_rule_condition and its position', async () => {
    const cases: Array<[string, { position: number; line: number; column: number }]> = [
      ['action.custom.amount > ', { position: 23, line: 1, column: 24 }],
      ["velocity.actions1h > 'x'", { position: expect.any(Number), line: 1, column: expect.any(Number) }],
      ['action.custm == 1', { position: expect.any(Number), line: 1, column: expect.any(Number) }],
      ["action.code == 'pay' &&\n  velocity.actions1h > 'x'", { position: expect.any(Number), line: 2, column: expect.any(Number) }],
    ]
    for (const [condition, at] of cases) {
      const body = expectError(
        await api.manage('POST', rulesPath('rulePay'), { name: 'Broken', outcome: 'BLOCK', condition }),
        400,
        'invalid_rule_condition',
      )
      expect({ condition, details: body.details }).toEqual({ condition, details: { message: expect.any(String), ...at } })
      const { position, line, column } = body.details as { position: number; line: number; column: number }
      // Line and column say where `position` is.
      const before = condition.slice(0, position).split('\n')
      expect([line, column]).toEqual([before.length, before.at(-1)!.length + 1])
    }
    expect(expectOk(await api.manage('GET', rulesPath('rulePay'))).items.map((r: Rule) => r.name)).not.toContain('Broken')
  })

  it('refuses a condition that is not true or false, and a condition change that does not compile, keeping the rule', async () => {
    expectError(
      await api.manage('POST', rulesPath('rulePay'), { name: 'Number', outcome: 'BLOCK', condition: 'velocity.actions1h + 1' }),
      400,
      'invalid_rule_condition',
    )
    const rule = await createRule('rulePay', { condition: 'velocity.actions1h > 5' })
    const path = `${rulesPath('rulePay')}/${rule.ruleId}`
    const body = expectError(await api.manage('PATCH', path, { condition: 'velocity.actions1h >' }), 400, 'invalid_rule_condition')
    expect(body.details).toMatchObject({ position: expect.any(Number), line: 1, column: expect.any(Number) })
    expect(expectOk(await api.manage('GET', path))).toEqual(rule)
    expect((await auditOf(api, `rulePay/${rule.ruleId}`)).map((e) => e.event)).toEqual(['rule.created'])
  })

  it('refuses a condition naming a value list that does not exist', async () => {
    const body = expectError(
      await api.manage('POST', rulesPath('rulePay'), {
        name: 'Listed',
        outcome: 'BLOCK',
        condition: "list('no_such_list').contains(action.custom.payee)",
      }),
      400,
      'invalid_rule_condition',
    )
    expect(body.details).toMatchObject({ message: expect.any(String) })
  })

  it('refuses a rule ID that is not a UUID, and unknown or out-of-range fields, with 400', async () => {
    expectError(await api.manage('GET', `${rulesPath('rulePay')}/not-a-uuid`), 400, 'invalid_request')
    expectError(await api.manage('PATCH', `${rulesPath('rulePay')}/not-a-uuid`, { priority: 1 }), 400, 'invalid_request')
    expectError(await api.manage('DELETE', `${rulesPath('rulePay')}/not-a-uuid`), 400, 'invalid_request')
    expectError(await api.manage('POST', rulesPath('rulePay'), { name: 'x', outcome: 'MAYBE', condition: 'true' }), 400, 'invalid_request')
    expectError(
      await api.manage('POST', rulesPath('rulePay'), { name: 'x', outcome: 'BLOCK', condition: 'true', priority: -1 }),
      400,
      'invalid_request',
    )
    expectError(await api.manage('POST', rulesPath('rulePay'), { name: 'x', outcome: 'BLOCK', condition: '' }), 400, 'invalid_request')
    expectError(
      await api.manage('POST', rulesPath('rulePay'), { name: 'x', outcome: 'BLOCK', condition: 'true', enabled: true }),
      400,
      'invalid_request',
    )
    expectError(await api.manage('POST', rulesPath('rulePay'), { outcome: 'BLOCK', condition: 'true' }), 400, 'invalid_request')
    const rule = await createRule('rulePay', {})
    expectError(await api.manage('PATCH', `${rulesPath('rulePay')}/${rule.ruleId}`, { active: false }), 400, 'invalid_request')
    expect(expectOk(await api.manage('GET', `${rulesPath('rulePay')}/${rule.ruleId}`))).toEqual(rule)
  })

  it('answers 404 for a rule fetched, changed or deleted through another action’s path', async () => {
    const rule = await createRule('rulePay', { name: 'Belongs to rulePay' })
    const wrong = `${rulesPath('ruleOther')}/${rule.ruleId}`
    expectError(await api.manage('GET', wrong), 404, 'not_found')
    expectError(await api.manage('PATCH', wrong, { isActive: false }), 404, 'not_found')
    expectError(await api.manage('DELETE', wrong), 404, 'not_found')
    expect(expectOk(await api.manage('GET', `${rulesPath('rulePay')}/${rule.ruleId}`))).toEqual(rule)
  })

  it('dry-runs the rules against a context, recording nothing', async () => {
    const own = await freshTenant()
    expectOk(await own.manage('POST', '/action-configurations', { actionCode: 'dry', defaultOutcome: 'ALLOW' }), 201)
    const rule = expectOk(
      await own.manage('POST', rulesPath('dry'), { name: 'Large', outcome: 'BLOCK', condition: 'action.custom.amount > 1000' }),
      201,
    )
    const large = expectOk(await own.manage('POST', `${rulesPath('dry')}/dry-run`, { context: { action: { custom: { amount: 5000 } } } }))
    expect(large).toMatchObject({ outcome: 'BLOCK', state: 'BLOCK', decidedBy: 'rule', priorityRuleId: rule.ruleId })
    expect(large.rules).toEqual([
      expect.objectContaining({ ruleId: rule.ruleId, matched: true, inputs: { 'action.custom': { amount: 5000 } } }),
    ])
    const small = expectOk(await own.manage('POST', `${rulesPath('dry')}/dry-run`, { context: { action: { custom: { amount: 5 } } } }))
    expect(small).toMatchObject({ outcome: 'ALLOW', decidedBy: 'default' })
    expect(small).not.toHaveProperty('priorityRuleId')
    expectError(
      await own.manage('POST', `${rulesPath('dry')}/dry-run`, { context: {}, condition: 'action.custom.amount >' }),
      400,
      'invalid_rule_condition',
    )
    expect(expectOk(await own.manage('GET', '/actions')).items).toEqual([])
  })
})

describe('value lists', () => {
  let api: TenantApi
  beforeAll(async () => {
    api = await freshTenant()
  })

  it('creates a list (201) without duplicate items, lists it with its count and returns it with its items', async () => {
    const created = expectOk(
      await api.manage('POST', '/value-lists', {
        alias: 'blocked_payees',
        name: 'Blocked payees',
        itemType: 'string',
        items: ['NZ-01', 'NZ-02', 'NZ-01'],
      }),
      201,
    )
    expect(created).toEqual({
      alias: 'blocked_payees',
      name: 'Blocked payees',
      itemType: 'string',
      items: ['NZ-01', 'NZ-02'],
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    })
    expect(expectOk(await api.manage('GET', '/value-lists/blocked_payees'))).toEqual(created)
    const { items } = expectOk(await api.manage('GET', '/value-lists'))
    const summary = items.find((l: { alias: string }) => l.alias === 'blocked_payees')
    expect(summary).toEqual({
      alias: 'blocked_payees',
      name: 'Blocked payees',
      itemType: 'string',
      itemCount: 2,
      createdAt: created.createdAt,
      updatedAt: created.updatedAt,
    })

    const [entry] = await auditOf(api, 'blocked_payees')
    expect(entry).toMatchObject({ event: 'value_list.created', actor: actorOf(api.tenant), after: created })
  })

  it('creates an empty number list when items are left out', async () => {
    const created = expectOk(await api.manage('POST', '/value-lists', { alias: 'limits', name: 'Limits', itemType: 'number' }), 201)
    expect(created).toMatchObject({ itemType: 'number', items: [] })
  })

  it('refuses a taken alias with 409, changing nothing and logging nothing', async () => {
    expectOk(await api.manage('POST', '/value-lists', { alias: 'taken', name: 'First', itemType: 'string', items: ['a'] }), 201)
    expectError(
      await api.manage('POST', '/value-lists', { alias: 'taken', name: 'Second', itemType: 'number', items: [1] }),
      409,
      'conflict',
    )
    expect(expectOk(await api.manage('GET', '/value-lists/taken'))).toMatchObject({ name: 'First', itemType: 'string', items: ['a'] })
    expect((await auditOf(api, 'taken')).map((e) => e.event)).toEqual(['value_list.created'])
  })

  it('refuses items of the wrong type, a bad alias and unknown fields with 400', async () => {
    expectError(
      await api.manage('POST', '/value-lists', { alias: 'numbers', name: 'N', itemType: 'number', items: [1, '2'] }),
      400,
      'invalid_request',
    )
    expectError(
      await api.manage('POST', '/value-lists', { alias: 'strings', name: 'S', itemType: 'string', items: ['a', 2] }),
      400,
      'invalid_request',
    )
    expectError(
      await api.manage('POST', '/value-lists', { alias: 'objects', name: 'O', itemType: 'string', items: [{ a: 1 }] }),
      400,
      'invalid_request',
    )
    expectError(await api.manage('POST', '/value-lists', { alias: 'Blocked', name: 'B', itemType: 'string' }), 400, 'invalid_request')
    expectError(await api.manage('POST', '/value-lists', { alias: 'has-dash', name: 'B', itemType: 'string' }), 400, 'invalid_request')
    expectError(await api.manage('POST', '/value-lists', { alias: 'typed', name: 'T', itemType: 'date' }), 400, 'invalid_request')
    expectError(
      await api.manage('POST', '/value-lists', { alias: 'extra', name: 'E', itemType: 'string', description: 'x' }),
      400,
      'invalid_request',
    )
    expectError(await api.manage('GET', '/value-lists/Blocked'), 400, 'invalid_request')
    for (const alias of ['numbers', 'strings', 'objects', 'typed', 'extra'])
      expectError(await api.manage('GET', `/value-lists/${alias}`), 404, 'not_found')
  })

  it('replaces the items and renames, refusing items of the wrong type', async () => {
    expectOk(await api.manage('POST', '/value-lists', { alias: 'amounts', name: 'Amounts', itemType: 'number', items: [1, 2] }), 201)
    const changed = expectOk(await api.manage('PATCH', '/value-lists/amounts', { items: [10, 20, 30, 20] }))
    expect(changed).toMatchObject({ name: 'Amounts', items: [10, 20, 30] })
    expect(expectOk(await api.manage('PATCH', '/value-lists/amounts', { name: 'Round amounts' }))).toMatchObject({
      name: 'Round amounts',
      items: [10, 20, 30],
    })
    expectError(await api.manage('PATCH', '/value-lists/amounts', { items: ['10'] }), 400, 'invalid_request')
    expectError(await api.manage('PATCH', '/value-lists/amounts', { itemType: 'string' }), 400, 'invalid_request')
    expectError(await api.manage('PATCH', '/value-lists/nowhere', { name: 'x' }), 404, 'not_found')
    expect(expectOk(await api.manage('GET', '/value-lists/amounts')).items).toEqual([10, 20, 30])
    const [renamed, replaced] = await auditOf(api, 'amounts')
    expect(renamed).toMatchObject({ event: 'value_list.updated', before: { name: 'Amounts' }, after: { name: 'Round amounts' } })
    expect(replaced).toMatchObject({ event: 'value_list.updated', before: { items: [1, 2] }, after: { items: [10, 20, 30] } })
  })

  it('is read by rules at track time, and cannot be deleted while an active rule uses it', async () => {
    expectOk(await api.manage('POST', '/value-lists', { alias: 'payees', name: 'Payees', itemType: 'string', items: ['evil-corp'] }), 201)
    expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'payListed', defaultOutcome: 'ALLOW' }), 201)
    const rule = expectOk(
      await api.manage('POST', '/action-configurations/payListed/rules', {
        name: 'Blocked payee',
        outcome: 'BLOCK',
        condition: "list('payees').contains(action.custom.payee)",
      }),
      201,
    )
    const userId = uniqueId('listed')
    expect((await api.track(userId, 'payListed', { custom: { payee: 'evil-corp' } })).state).toBe('BLOCK')
    expect((await api.track(userId, 'payListed', { custom: { payee: 'good-corp' } })).state).toBe('ALLOW')
    expectOk(await api.manage('PATCH', '/value-lists/payees', { items: ['evil-corp', 'good-corp'] }))
    expect((await api.track(userId, 'payListed', { custom: { payee: 'good-corp' } })).state).toBe('BLOCK')

    expectError(await api.manage('DELETE', '/value-lists/payees'), 409, 'conflict')
    expectOk(await api.manage('GET', '/value-lists/payees'))

    expectOk(await api.manage('PATCH', `/action-configurations/payListed/rules/${rule.ruleId}`, { isActive: false }))
    expectOk(await api.manage('DELETE', '/value-lists/payees'), 204)
    expectError(await api.manage('GET', '/value-lists/payees'), 404, 'not_found')
    expectError(await api.manage('DELETE', '/value-lists/payees'), 404, 'not_found')
    expect(expectOk(await api.manage('GET', '/value-lists')).items.map((l: { alias: string }) => l.alias)).not.toContain('payees')
    expect((await auditOf(api, 'payees')).map((e) => e.event)).toEqual(['value_list.deleted', 'value_list.updated', 'value_list.created'])
  })

  it('can be deleted once the rule using it is deleted', async () => {
    expectOk(await api.manage('POST', '/value-lists', { alias: 'countries', name: 'Countries', itemType: 'string', items: ['KP'] }), 201)
    expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'byCountry' }), 201)
    const rule = expectOk(
      await api.manage('POST', '/action-configurations/byCountry/rules', {
        name: 'Country',
        outcome: 'BLOCK',
        condition: "list('countries').contains(ip.country)",
      }),
      201,
    )
    expectError(await api.manage('DELETE', '/value-lists/countries'), 409, 'conflict')
    expectOk(await api.manage('DELETE', `/action-configurations/byCountry/rules/${rule.ruleId}`), 204)
    expectOk(await api.manage('DELETE', '/value-lists/countries'), 204)
  })

  it('refuses to reactivate a rule whose value list was deleted while it was inactive', async () => {
    // Regression guard: a rule naming a missing list would otherwise run, fail and never match at every track.
    const own = await freshTenant()
    expectOk(await own.manage('POST', '/value-lists', { alias: 'gone', name: 'Gone', itemType: 'string', items: ['x'] }), 201)
    expectOk(await own.manage('POST', '/action-configurations', { actionCode: 'orphan' }), 201)
    const rule = expectOk(
      await own.manage('POST', '/action-configurations/orphan/rules', {
        name: 'Orphan',
        outcome: 'BLOCK',
        isActive: false,
        condition: "list('gone').contains(action.custom.v)",
      }),
      201,
    )
    expectOk(await own.manage('DELETE', '/value-lists/gone'), 204)
    expectError(
      await own.manage('PATCH', `/action-configurations/orphan/rules/${rule.ruleId}`, { isActive: true }),
      400,
      'invalid_rule_condition',
    )
    expect(expectOk(await own.manage('GET', `/action-configurations/orphan/rules/${rule.ruleId}`)).isActive).toBe(false)
  })
})

describe('value lists on two nodes', () => {
  let other: Harness
  beforeAll(async () => {
    // A second node on the same database, caching verified keys (and the tenant with them) as deployed.
    other = await createHarness({ KEY_CACHE_MS: '1000' })
  })
  afterAll(() => other.close())

  it('refuses to delete a list that a rule made on another node uses', async () => {
    // Regression guard: the in-use check must read the rules, not a cached copy from before the rule existed.
    const api = await freshTenant()
    const onOther = tenantApi(other, api.tenant)
    expectOk(await api.manage('POST', '/value-lists', { alias: 'shared', name: 'Shared', itemType: 'string', items: ['x'] }), 201)
    expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'twoNodes' }), 201)
    expectOk(await onOther.manage('GET', '/value-lists/shared'))
    expectOk(
      await api.manage('POST', '/action-configurations/twoNodes/rules', {
        name: 'Uses shared',
        outcome: 'BLOCK',
        condition: "list('shared').contains(action.custom.v)",
      }),
      201,
    )
    expectError(await onOther.manage('DELETE', '/value-lists/shared'), 409, 'conflict')
    expectOk(await api.manage('GET', '/value-lists/shared'))
  })
})

describe('webhooks', () => {
  let api: TenantApi
  beforeAll(async () => {
    // This tenant tracks nothing: no event may wait for hooks.example.com when a later suite runs the dispatcher.
    api = await freshTenant()
  })
  afterAll(async () => {
    for (const { webhookId } of expectOk(await api.manage('GET', '/webhooks')).items) await api.manage('DELETE', `/webhooks/${webhookId}`)
  })

  it('refuses a loopback, private or link-local URL with 400 by default', async () => {
    for (const url of [
      'http://127.0.0.1:9/x',
      'https://10.0.0.1/in',
      'http://172.16.5.4/in',
      'http://[::1]:8080/in',
      'http://metadata.internal/in',
      'http://169.254.169.254/',
    ]) {
      expectError(await api.manage('POST', '/webhooks', { url, events: ['*'] }), 400, 'invalid_request')
    }
    expect(expectOk(await api.manage('GET', '/webhooks')).items).toEqual([])
  })

  it('adds an endpoint (201) with its signing secret shown once', async () => {
    const created = expectOk(
      await api.manage('POST', '/webhooks', {
        url: 'https://hooks.example.com/in',
        events: ['action.created', 'authenticator.deleted'],
        description: 'Fraud desk',
      }),
      201,
    )
    expect(created).toEqual({
      webhookId: expect.stringMatching(UUID),
      url: 'https://hooks.example.com/in',
      events: ['action.created', 'authenticator.deleted'],
      enabled: true,
      description: 'Fraud desk',
      createdAt: expect.stringMatching(ISO),
      secret: expect.any(String),
    })
    expect(created.secret.length).toBeGreaterThanOrEqual(32)
    const { secret, ...endpoint } = created
    const one = await api.manage('GET', `/webhooks/${created.webhookId}`)
    expect(expectOk(one)).toEqual(endpoint)
    const list = await api.manage('GET', '/webhooks')
    expect(expectOk(list).items).toContainEqual(endpoint)
    for (const res of [one, list]) expect(res.body).not.toContain(secret)

    const [entry] = await auditOf(api, created.webhookId)
    expect(entry).toMatchObject({ event: 'webhook.created', actor: actorOf(api.tenant), after: endpoint })
    expect(JSON.stringify(await auditLog(api))).not.toContain(secret)
  })

  it('changes an endpoint, refusing a private URL and unknown fields', async () => {
    const created = expectOk(await api.manage('POST', '/webhooks', { url: 'https://hooks.example.com/change', events: ['*'] }), 201)
    const path = `/webhooks/${created.webhookId}`
    const disabled = expectOk(await api.manage('PATCH', path, { enabled: false }))
    expect(disabled).toMatchObject({ webhookId: created.webhookId, enabled: false, url: 'https://hooks.example.com/change', events: ['*'] })
    expect(disabled).not.toHaveProperty('secret')
    expect(expectOk(await api.manage('GET', path)).enabled).toBe(false)
    expectError(await api.manage('PATCH', path, { url: 'http://127.0.0.1:9/x' }), 400, 'invalid_request')
    expectError(await api.manage('PATCH', path, { events: ['no.such_event'] }), 400, 'invalid_request')
    expectError(await api.manage('PATCH', path, { events: [] }), 400, 'invalid_request')
    expectError(await api.manage('PATCH', path, { secret: 'mine' }), 400, 'invalid_request')
    expect(expectOk(await api.manage('GET', path))).toMatchObject({
      url: 'https://hooks.example.com/change',
      events: ['*'],
      enabled: false,
    })
    const [updated] = await auditOf(api, created.webhookId)
    expect(updated).toMatchObject({ event: 'webhook.updated', before: { enabled: true }, after: { enabled: false } })
  })

  it('shows the delivery log, and answers 404 for retrying an unknown delivery', async () => {
    const created = expectOk(
      await api.manage('POST', '/webhooks', { url: 'https://hooks.example.com/log', events: ['*'], enabled: false }),
      201,
    )
    expect(created.enabled).toBe(false)
    expect(expectOk(await api.manage('GET', `/webhooks/${created.webhookId}/deliveries`))).toEqual({ items: [] })
    expectError(await api.manage('POST', `/webhooks/${created.webhookId}/deliveries/${NO_SUCH_ID}/retry`), 404, 'not_found')
    expectError(await api.manage('POST', `/webhooks/${created.webhookId}/deliveries/not-a-uuid/retry`), 400, 'invalid_request')
    expectError(await api.manage('GET', `/webhooks/${NO_SUCH_ID}/deliveries`), 404, 'not_found')
  })

  it('deletes an endpoint (204), then answers 404 for it', async () => {
    const created = expectOk(await api.manage('POST', '/webhooks', { url: 'https://hooks.example.com/gone', events: ['*'] }), 201)
    const path = `/webhooks/${created.webhookId}`
    expectOk(await api.manage('DELETE', path), 204)
    expectError(await api.manage('GET', path), 404, 'not_found')
    expectError(await api.manage('PATCH', path, { enabled: true }), 404, 'not_found')
    expectError(await api.manage('DELETE', path), 404, 'not_found')
    expectError(await api.manage('GET', `${path}/deliveries`), 404, 'not_found')
    expect(expectOk(await api.manage('GET', '/webhooks')).items.map((w: { webhookId: string }) => w.webhookId)).not.toContain(
      created.webhookId,
    )
    expect((await auditOf(api, created.webhookId)).map((e) => e.event)).toEqual(['webhook.deleted', 'webhook.created'])
  })

  it('refuses a malformed URL, no events and a webhook ID that is not a UUID with 400', async () => {
    expectError(await api.manage('POST', '/webhooks', { url: 'not a url', events: ['*'] }), 400, 'invalid_request')
    expectError(await api.manage('POST', '/webhooks', { url: 'ftp://hooks.example.com/in', events: ['*'] }), 400, 'invalid_request')
    expectError(await api.manage('POST', '/webhooks', { url: 'https://hooks.example.com/in', events: [] }), 400, 'invalid_request')
    expectError(await api.manage('POST', '/webhooks', { url: 'https://hooks.example.com/in' }), 400, 'invalid_request')
    expectError(await api.manage('GET', '/webhooks/not-a-uuid'), 400, 'invalid_request')
  })

  it('accepts a private URL where the deployment allows it', async () => {
    const open = await createHarness({ ALLOW_PRIVATE_WEBHOOK_URLS: 'true' })
    try {
      const own = tenantApi(open, await open.newTenant())
      const created = expectOk(await own.manage('POST', '/webhooks', { url: 'http://127.0.0.1:9/x', events: ['*'], enabled: false }), 201)
      expect(created.url).toBe('http://127.0.0.1:9/x')
      expectOk(await own.manage('DELETE', `/webhooks/${created.webhookId}`), 204)
    } finally {
      await open.close()
    }
  })
})

describe('webhook deliveries', () => {
  let open: Harness
  let receiver: WebhookReceiver
  beforeAll(async () => {
    open = await createHarness({ ALLOW_PRIVATE_WEBHOOK_URLS: 'true' })
    receiver = await startReceiver()
  })
  afterAll(async () => {
    await open.close()
    await receiver.close()
  })

  /** Runs the dispatcher until nothing more is due (the harness never starts its timer). */
  const deliverDue = async () => {
    for (let pass = 0; pass < 20; pass++) if ((await open.deps.webhooks.runOnce()) === 0) return
  }

  it('logs each delivery and delivers an event again on retry (204); 404 through another endpoint', async () => {
    const api = tenantApi(open, await open.newTenant())
    const endpoint = expectOk(
      await api.manage('POST', '/webhooks', { url: receiver.url('/management-retry'), events: ['action.created'] }),
      201,
    )
    const bystander = expectOk(
      await api.manage('POST', '/webhooks', { url: receiver.url('/management-bystander'), events: ['push.created'] }),
      201,
    )
    try {
      await api.track(uniqueId('delivered'), 'signIn')
      const deliveries = `/webhooks/${endpoint.webhookId}/deliveries`
      const [pending] = expectOk(await api.manage('GET', deliveries)).items
      expect(pending).toMatchObject({ eventId: expect.stringMatching(UUID), type: 'action.created', state: 'pending', attempts: 0 })
      expect(expectOk(await api.manage('GET', `/webhooks/${bystander.webhookId}/deliveries`)).items).toEqual([])

      await deliverDue()
      expect(receiver.requests('/management-retry')).toHaveLength(1)
      expect(expectOk(await api.manage('GET', deliveries)).items).toEqual([
        expect.objectContaining({
          eventId: pending.eventId,
          state: 'delivered',
          attempts: 1,
          lastStatus: 204,
          deliveredAt: expect.stringMatching(ISO),
        }),
      ])

      expectError(await api.manage('POST', `/webhooks/${bystander.webhookId}/deliveries/${pending.eventId}/retry`), 404, 'not_found')
      expectOk(await api.manage('POST', `${deliveries}/${pending.eventId}/retry`), 204)
      expect(expectOk(await api.manage('GET', deliveries)).items[0]).toMatchObject({ eventId: pending.eventId, state: 'pending' })
      await deliverDue()
      const sent = receiver.requests('/management-retry').map((r) => JSON.parse(r.rawBody).id)
      expect(sent).toEqual([pending.eventId, pending.eventId])
      expect(receiver.requests('/management-bystander')).toEqual([])

      const [retried] = await auditOf(api, `${endpoint.webhookId}/${pending.eventId}`)
      expect(retried).toMatchObject({ event: 'webhook.delivery_retried', actor: actorOf(api.tenant) })
    } finally {
      for (const { webhookId } of [endpoint, bystander]) await api.manage('DELETE', `/webhooks/${webhookId}`)
    }
  })
})

describe('users', () => {
  let api: TenantApi
  let prefix: string
  let ids: string[]
  beforeAll(async () => {
    api = await freshTenant({ credentialLockThreshold: 1 })
    prefix = uniqueId('find')
    ids = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]
    await api.track(ids[0]!, 'signIn', { email: `${prefix}@example.com` })
    await api.track(ids[1]!, 'signIn')
    await api.enroll(ids[2]!)
    await api.track(uniqueId('someone-else'), 'signIn')
  })

  it('finds users by user ID prefix, in user ID order, with their summary', async () => {
    const { items } = expectOk(await api.manage('GET', `/users?query=${encodeURIComponent(prefix)}`))
    expect(items.map((u: { userId: string }) => u.userId)).toEqual(ids)
    expect(items[0]).toEqual({
      userId: ids[0],
      email: `${prefix}@example.com`,
      createdAt: expect.stringMatching(ISO),
      authenticatorCount: 0,
    })
    expect(items[2]).toMatchObject({ userId: ids[2], authenticatorCount: 1 })
  })

  it('finds a user by exact email, not by part of one', async () => {
    expect(
      expectOk(await api.manage('GET', `/users?query=${encodeURIComponent(`${prefix}@example.com`)}`)).items.map(
        (u: { userId: string }) => u.userId,
      ),
    ).toEqual([ids[0]])
    expect(expectOk(await api.manage('GET', `/users?query=${encodeURIComponent(`${prefix}@example`)}`)).items).toEqual([])
  })

  it('treats LIKE wildcards in the query as text', async () => {
    expect(expectOk(await api.manage('GET', '/users?query=%25')).items).toEqual([])
    expect(expectOk(await api.manage('GET', `/users?query=${encodeURIComponent(prefix.replace(/-/g, '_'))}`)).items).toEqual([])
  })

  it('pages through every match exactly once with limit and nextCursor', async () => {
    const { items, pages } = await walk<{ userId: string }>(api, `/users?query=${encodeURIComponent(prefix)}`, 1)
    expect(items.map((u) => u.userId)).toEqual(ids)
    expect(pages).toBe(3)
    const everyone = expectOk(await api.manage('GET', '/users?limit=200')).items.map((u: { userId: string }) => u.userId)
    expect(everyone.length).toBeGreaterThanOrEqual(4)
    const walked = (await walk<{ userId: string }>(api, '/users', 2)).items.map((u) => u.userId)
    expect(walked).toEqual(everyone)
  })

  it('refuses a cursor it did not make, and a limit out of range, with 400', async () => {
    for (const cursor of ['garbage', Buffer.from('["not a date","x"]').toString('base64url'), Buffer.from('{}').toString('base64url')]) {
      expectError(await api.manage('GET', `/users?cursor=${cursor}`), 400, 'invalid_request')
    }
    expectError(await api.manage('GET', '/users?limit=0'), 400, 'invalid_request')
    expectError(await api.manage('GET', '/users?limit=201'), 400, 'invalid_request')
    expectError(await api.manage('GET', '/users?limit=two'), 400, 'invalid_request')
  })

  it('returns a user with authenticators and recent actions; answers 404 for no such user', async () => {
    const userId = uniqueId('detail')
    const { credential } = await api.enroll(userId)
    const tracked = await api.track(userId, 'authorizePayment', { email: 'detail@example.com', custom: { amount: 5 } })
    const user = expectOk(await api.manage('GET', `/users/${encodeURIComponent(userId)}`))
    expect(user).toMatchObject({
      userId,
      email: 'detail@example.com',
      createdAt: expect.stringMatching(ISO),
      authenticatorCount: 1,
      pushBlocked: false,
      authenticators: [
        expect.objectContaining({
          userId,
          userAuthenticatorId: credential.userAuthenticatorId,
          verificationMethod: 'IN_APP',
          isLocked: false,
          failedAttempts: 0,
        }),
      ],
    })
    const recent = user.recentActions as ActionLogEntry[]
    expect(recent[0]).toMatchObject({
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey: tracked.idempotencyKey,
      state: 'CHALLENGE_REQUIRED',
    })
    expect(recent.map((a) => a.actionCode)).toContain('addAuthenticator')
    expectError(await api.manage('GET', `/users/${uniqueId('nobody')}`), 404, 'not_found')
  })

  it('finds a user whose ID needs escaping in the path', async () => {
    const userId = `${uniqueId('odd')}/with space/ümlaut`
    await api.track(userId, 'signIn')
    expect(expectOk(await api.manage('GET', `/users/${encodeURIComponent(userId)}`)).userId).toBe(userId)
    expect(
      expectOk(await api.manage('GET', `/users?query=${encodeURIComponent(userId)}`)).items.map((u: { userId: string }) => u.userId),
    ).toEqual([userId])
    expectOk(await api.manage('DELETE', `/users/${encodeURIComponent(userId)}`), 204)
    expectError(await api.manage('GET', `/users/${encodeURIComponent(userId)}`), 404, 'not_found')
  })

  it('unlocks an authenticator locked by a failed signature (204); 404 for one that does not exist', async () => {
    const userId = uniqueId('locked')
    const { device, credential } = await api.enroll(userId)
    const { token } = await api.track(userId)
    const challengeId = await api.challenge(bearer(token))
    expectError(await api.verify(bearer(token), challengeId, device, foreignSignature(challengeId)), 401, 'invalid_signature')
    expectError(await api.verify(bearer(token), challengeId, device), 423, 'credential_locked')
    const authenticatorOf = async () => expectOk(await api.manage('GET', `/users/${userId}`)).authenticators[0]
    expect(await authenticatorOf()).toMatchObject({ isLocked: true, failedAttempts: 1, lockedUntil: expect.stringMatching(ISO) })

    const unlock = `/users/${userId}/authenticators/${credential.userAuthenticatorId}/unlock`
    expectOk(await api.manage('POST', unlock), 204)
    const unlocked = await authenticatorOf()
    expect(unlocked).toMatchObject({ isLocked: false, failedAttempts: 0 })
    expect(unlocked).not.toHaveProperty('lockedUntil')
    expectClientOk(await api.verify(bearer(token), challengeId, device))

    expectError(await api.manage('POST', `/users/${userId}/authenticators/${NO_SUCH_ID}/unlock`), 404, 'not_found')
    expectError(
      await api.manage('POST', `/users/${uniqueId('nobody')}/authenticators/${credential.userAuthenticatorId}/unlock`),
      404,
      'not_found',
    )
    expectError(await api.manage('POST', `/users/${userId}/authenticators/not-a-uuid/unlock`), 400, 'invalid_request')
    expect((await auditOf(api, `${userId}/${credential.userAuthenticatorId}`)).map((e) => [e.event, e.actor])).toEqual([
      ['authenticator.unlocked', actorOf(api.tenant)],
    ])
  })

  it('revokes an authenticator (204): it is gone and cannot sign', async () => {
    const userId = uniqueId('revoked')
    const { device, credential } = await api.enroll(userId)
    const { device: spare, credential: spareCredential } = await api.enroll(userId, { approvedBy: device })
    const path = `/users/${userId}/authenticators/${credential.userAuthenticatorId}`
    expectOk(await api.manage('DELETE', path), 204)
    const user = expectOk(await api.manage('GET', `/users/${userId}`))
    expect(user.authenticators.map((a: { userAuthenticatorId: string }) => a.userAuthenticatorId)).toEqual([
      spareCredential.userAuthenticatorId,
    ])
    expect(user.authenticatorCount).toBe(1)
    expectError(await api.manage('DELETE', path), 404, 'not_found')

    const { token } = await api.track(userId)
    const challengeId = await api.challenge(bearer(token))
    expectError(await api.verify(bearer(token), challengeId, device), 401, 'invalid_credential')
    expectClientOk(await api.verify(bearer(token), challengeId, spare))
    expect((await auditOf(api, `${userId}/${credential.userAuthenticatorId}`)).map((e) => e.event)).toEqual(['authenticator.revoked'])
  })

  it('clears a push block: cleared false when there is none, true once when there is', async () => {
    const userId = uniqueId('push-block')
    await api.track(userId)
    expect(expectOk(await api.manage('POST', `/users/${userId}/push-block/clear`))).toEqual({ cleared: false })
    expect(await auditOf(api, userId)).toEqual([])

    // As the Client API's "not mine" report leaves it.
    await queryRows(
      h.database.db,
      sql`UPDATE users SET push_blocked_at = now() WHERE tenant_id = ${api.tenant.tenantId} AND user_id = ${userId}`,
    )
    expect(expectOk(await api.manage('GET', `/users/${userId}`)).pushBlocked).toBe(true)
    expect(expectOk(await api.manage('POST', `/users/${userId}/push-block/clear`))).toEqual({ cleared: true })
    expect(expectOk(await api.manage('GET', `/users/${userId}`)).pushBlocked).toBe(false)
    expect(expectOk(await api.manage('POST', `/users/${userId}/push-block/clear`))).toEqual({ cleared: false })
    expect((await auditOf(api, userId)).map((e) => [e.event, e.actor])).toEqual([['user.push_block_cleared', actorOf(api.tenant)]])
    // A typo in the user ID is not "not blocked".
    expectError(await api.manage('POST', `/users/${uniqueId('nobody')}/push-block/clear`), 404, 'not_found')
  })

  it('deletes a user with their authenticators (204), then answers 404', async () => {
    const userId = uniqueId('deleted')
    const { credential } = await api.enroll(userId)
    await api.track(userId)
    expectOk(await api.manage('DELETE', `/users/${userId}`), 204)
    expectError(await api.manage('GET', `/users/${userId}`), 404, 'not_found')
    expectError(await api.manage('DELETE', `/users/${userId}`), 404, 'not_found')
    expectError(await api.manage('DELETE', `/users/${userId}/authenticators/${credential.userAuthenticatorId}`), 404, 'not_found')
    expect(expectOk(await api.manage('GET', `/users?query=${userId}`)).items).toEqual([])
    expect(expectOk(await api.manage('GET', `/actions?userId=${userId}`)).items).toEqual([])
    expect(expectOk(await api.server('GET', `/v1/users/${userId}/authenticators`))).toEqual([])
    expect((await auditOf(api, userId)).map((e) => [e.event, e.actor])).toEqual([['user.deleted', actorOf(api.tenant)]])
  })
})

describe('action log', () => {
  let api: TenantApi
  let ruleId: string
  const early: string[] = []
  const late: string[] = []
  let boundary: string
  const alice = uniqueId('alice')
  const bob = uniqueId('bob')
  /** Every action tracked here, oldest first. */
  const tracked: Array<{ key: string; userId: string; code: string; state: string }> = []

  beforeAll(async () => {
    api = await freshTenant()
    expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'logPay', defaultOutcome: 'ALLOW' }), 201)
    ruleId = expectOk(
      await api.manage('POST', '/action-configurations/logPay/rules', {
        name: 'Large',
        outcome: 'BLOCK',
        condition: 'action.custom.amount > 1000',
      }),
      201,
    ).ruleId
    const track = async (userId: string, code: string, amount: number, into: string[]) => {
      const body = await api.track(userId, code, { custom: { amount } })
      tracked.push({ key: body.idempotencyKey, userId, code, state: body.state })
      into.push(body.idempotencyKey)
    }
    await track(alice, 'logPay', 5000, early)
    await track(alice, 'logPay', 10, early)
    await track(bob, 'logLogin', 0, early)
    h.clock.advance(60 * 60 * 1000)
    boundary = new Date(h.clock()).toISOString()
    await track(bob, 'logPay', 2000, late)
    await track(alice, 'logLogin', 0, late)
  })

  const keysOf = async (query: string): Promise<string[]> =>
    expectOk(await api.manage('GET', `/actions${query}`)).items.map((a: ActionLogEntry) => a.idempotencyKey)
  const keysWhere = (match: (t: (typeof tracked)[number]) => boolean) => tracked.filter(match).map((t) => t.key)

  it('lists every action newest first, with its rule matches', async () => {
    const { items } = expectOk(await api.manage('GET', '/actions'))
    expect(items.map((a: ActionLogEntry) => a.idempotencyKey)).toEqual(tracked.map((t) => t.key).reverse())
    const blocked = items.find((a: ActionLogEntry) => a.idempotencyKey === tracked[0]!.key)
    expect(blocked).toMatchObject({
      userId: alice,
      actionCode: 'logPay',
      state: 'BLOCK',
      createdAt: expect.stringMatching(ISO),
      ruleIds: [ruleId],
      priorityRuleId: ruleId,
      rules: [{ ruleId, name: 'Large' }],
      context: expect.objectContaining({ action: expect.objectContaining({ custom: { amount: 5000 } }) }),
    })
  })

  it('filters by user, action code and state', async () => {
    expect(await keysOf(`?userId=${alice}`)).toEqual(keysWhere((t) => t.userId === alice).reverse())
    expect(await keysOf('?actionCode=logLogin')).toEqual(keysWhere((t) => t.code === 'logLogin').reverse())
    expect(await keysOf('?state=BLOCK')).toEqual(keysWhere((t) => t.state === 'BLOCK').reverse())
    expect(keysWhere((t) => t.state === 'BLOCK')).toHaveLength(2)
    expect(await keysOf(`?userId=${bob}&actionCode=logPay&state=BLOCK`)).toEqual([late[0]])
    expect(await keysOf(`?userId=${uniqueId('nobody')}`)).toEqual([])
  })

  it('filters by time: from is inclusive, to exclusive', async () => {
    expect(await keysOf(`?from=${encodeURIComponent(boundary)}`)).toEqual([...late].reverse())
    expect(await keysOf(`?to=${encodeURIComponent(boundary)}`)).toEqual([...early].reverse())
    const offset = boundary.replace('Z', '+00:00')
    expect(await keysOf(`?from=${encodeURIComponent(offset)}`)).toEqual([...late].reverse())
  })

  it('filters by a rule that matched', async () => {
    expect(await keysOf(`?ruleId=${ruleId}`)).toEqual(keysWhere((t) => t.state === 'BLOCK').reverse())
    expect(await keysOf(`?ruleId=${NO_SUCH_ID}`)).toEqual([])
  })

  it('pages through every action exactly once', async () => {
    const { items, pages } = await walk<ActionLogEntry>(api, '/actions', 2)
    expect(items.map((a) => a.idempotencyKey)).toEqual(tracked.map((t) => t.key).reverse())
    expect(pages).toBe(3)
    const filtered = await walk<ActionLogEntry>(api, `/actions?userId=${alice}`, 1)
    expect(filtered.items.map((a) => a.idempotencyKey)).toEqual(keysWhere((t) => t.userId === alice).reverse())
  })

  it('finds one action by its idempotency key', async () => {
    expect(await keysOf(`?idempotencyKey=${encodeURIComponent(late[0]!)}`)).toEqual([late[0]])
    expect(await keysOf(`?idempotencyKey=${uniqueId('nothing')}`)).toEqual([])
  })

  it('keeps each action’s state history: tracked, then every change with the method that made it', async () => {
    const userId = uniqueId('history')
    const { device } = await api.enroll(userId)
    const start = h.clock()
    const { idempotencyKey } = await api.completeFlow(userId, device, 'logHistory')
    const [entry] = expectOk(await api.manage('GET', `/actions?idempotencyKey=${encodeURIComponent(idempotencyKey)}`))
      .items as ActionLogEntry[]
    expect(entry!.stateHistory.map(({ state, verificationMethod }) => ({ state, verificationMethod }))).toEqual([
      { state: 'CHALLENGE_REQUIRED', verificationMethod: undefined },
      { state: 'CHALLENGE_SUCCEEDED', verificationMethod: 'IN_APP' },
    ])
    for (const { at } of entry!.stateHistory) {
      expect(at).toMatch(ISO)
      expect(Date.parse(at)).toBeGreaterThanOrEqual(start - 1000)
    }
    // A change the backend makes is appended; setting the same state again is not a change.
    const path = `/v1/users/${encodeURIComponent(userId)}/actions/logHistory/${encodeURIComponent(idempotencyKey)}`
    expectOk(await api.server('PATCH', path, { state: 'REVIEW_REQUIRED' }))
    expectOk(await api.server('PATCH', path, { state: 'REVIEW_REQUIRED' }))
    const [after] = expectOk(await api.manage('GET', `/actions?idempotencyKey=${encodeURIComponent(idempotencyKey)}`))
      .items as ActionLogEntry[]
    expect(after!.stateHistory.map((e) => e.state)).toEqual(['CHALLENGE_REQUIRED', 'CHALLENGE_SUCCEEDED', 'REVIEW_REQUIRED'])
  })

  it('refuses a bad state, time, rule ID or cursor with 400', async () => {
    for (const query of [
      '?state=MAYBE',
      '?from=yesterday',
      '?to=2024-01-01',
      '?ruleId=not-a-uuid',
      '?cursor=garbage',
      '?limit=500',
      '?actionCode=has%20space',
    ]) {
      expectError(await api.manage('GET', `/actions${query}`), 400, 'invalid_request')
    }
  })
})

describe('audit log', () => {
  let api: TenantApi
  let operator: TenantApi
  let operatorKeyId: string

  beforeAll(async () => {
    api = await freshTenant()
    const created = expectOk(await api.manage('POST', '/api-keys', { type: 'management', name: 'operator' }), 201)
    operatorKeyId = created.keyId
    operator = withManagementKey(api, created.key)
  })

  it('names the key each change was made with: management_key:<the key’s ID part>', async () => {
    // The key ID is the middle of `<prefix>_<tenantId>.<keyId>.<secret>`.
    expect(api.tenant.managementKey.split('.')[1]).toBe(api.tenant.managementKeyId)
    expectOk(await operator.manage('PATCH', '/tenant', { name: 'Changed by the operator key' }))
    const [entry] = await auditLog(api)
    expect(entry).toEqual({
      auditId: expect.stringMatching(UUID),
      at: expect.stringMatching(ISO),
      actor: `management_key:${operatorKeyId}`,
      event: 'tenant.updated',
      target: api.tenant.tenantId,
      before: expect.objectContaining({ name: 'Test tenant' }),
      after: expect.objectContaining({ name: 'Changed by the operator key' }),
    })
    expect((await auditLog(api)).find((e) => e.event === 'api_key.created')).toMatchObject({
      actor: actorOf(api.tenant),
      target: operatorKeyId,
    })
  })

  it('records each change newest first, and pages through them exactly once', async () => {
    const own = await freshTenant()
    const step = () => h.clock.advance(5)
    const done: string[] = []
    expectOk(await own.manage('PATCH', '/tenant', { tokenTtlSeconds: 300 }))
    done.push('tenant.updated')
    step()
    expectOk(await own.manage('POST', '/action-configurations', { actionCode: 'audited' }), 201)
    done.push('action_configuration.created')
    step()
    const rule = expectOk(
      await own.manage('POST', '/action-configurations/audited/rules', { name: 'r', outcome: 'BLOCK', condition: 'true' }),
      201,
    )
    done.push('rule.created')
    step()
    expectOk(await own.manage('PATCH', `/action-configurations/audited/rules/${rule.ruleId}`, { priority: 5 }))
    done.push('rule.updated')
    step()
    expectOk(await own.manage('DELETE', `/action-configurations/audited/rules/${rule.ruleId}`), 204)
    done.push('rule.deleted')
    step()
    expectOk(await own.manage('PATCH', '/action-configurations/audited', { defaultOutcome: 'ALLOW' }))
    done.push('action_configuration.updated')
    step()
    expectOk(await own.manage('POST', '/value-lists', { alias: 'audited', name: 'A', itemType: 'string' }), 201)
    done.push('value_list.created')
    step()
    const key = expectOk(await own.manage('POST', '/api-keys', { type: 'secret' }), 201)
    done.push('api_key.created')
    step()
    expectOk(await own.manage('DELETE', `/api-keys/${key.keyId}`), 204)
    done.push('api_key.revoked')

    const log = await auditLog(own)
    expect(log.map((e) => e.event)).toEqual([...done].reverse())
    expect(new Set(log.map((e) => e.actor))).toEqual(new Set([actorOf(own.tenant)]))
    const times = log.map((e) => Date.parse(e.at))
    expect(times).toEqual([...times].sort((x, y) => y - x))

    const paged = await walk<AuditEntry>(own, '/audit-log', 2)
    expect(paged.items.map((e) => e.auditId)).toEqual(log.map((e) => e.auditId))
    expect(paged.pages).toBe(5)
  })

  it('records before and after: the rule as it was and as it became', async () => {
    const own = await freshTenant()
    expectOk(await own.manage('POST', '/action-configurations', { actionCode: 'diffed' }), 201)
    const rule = expectOk(
      await own.manage('POST', '/action-configurations/diffed/rules', { name: 'Old name', outcome: 'BLOCK', condition: 'true' }),
      201,
    )
    const changed = expectOk(
      await own.manage('PATCH', `/action-configurations/diffed/rules/${rule.ruleId}`, { name: 'New name', outcome: 'REVIEW' }),
    )
    const [updated, created] = await auditOf(own, `diffed/${rule.ruleId}`)
    expect(created).toMatchObject({ event: 'rule.created', after: rule })
    expect(created).not.toHaveProperty('before')
    expect(updated).toMatchObject({ event: 'rule.updated', before: rule, after: changed })
  })

  it('records nothing for a change that failed', async () => {
    const own = await freshTenant()
    expectOk(await own.manage('POST', '/value-lists', { alias: 'once', name: 'Once', itemType: 'string' }), 201)
    expectOk(await own.manage('POST', '/action-configurations', { actionCode: 'once' }), 201)
    const before = await auditLog(own)
    expectError(await own.manage('POST', '/value-lists', { alias: 'once', name: 'Twice', itemType: 'string' }), 409, 'conflict')
    expectError(await own.manage('POST', '/action-configurations', { actionCode: 'once' }), 409, 'conflict')
    expectError(
      await own.manage('POST', '/action-configurations/once/rules', { name: 'bad', outcome: 'BLOCK', condition: 'action.custm == 1' }),
      400,
      'invalid_rule_condition',
    )
    expectError(
      await own.manage('POST', '/action-configurations/nowhere/rules', { name: 'lost', outcome: 'BLOCK', condition: 'true' }),
      404,
      'not_found',
    )
    expectError(await own.manage('DELETE', `/webhooks/${NO_SUCH_ID}`), 404, 'not_found')
    expectError(await own.manage('DELETE', '/api-keys/doesNotExist'), 404, 'not_found')
    expectError(await own.manage('DELETE', `/users/${uniqueId('nobody')}`), 404, 'not_found')
    expectError(await own.manage('PATCH', '/tenant', { tokenTtlSeconds: 1 }), 400, 'invalid_request')
    expectError(
      await own.manage('PATCH', '/action-configurations/once', { verificationWebhookUrl: 'http://127.0.0.1/x' }),
      400,
      'invalid_request',
    )
    expect(await auditLog(own)).toEqual(before)
  })

  it('refuses a cursor it did not make and a limit out of range with 400', async () => {
    expectError(await api.manage('GET', '/audit-log?cursor=garbage'), 400, 'invalid_request')
    expectError(await api.manage('GET', '/audit-log?limit=0'), 400, 'invalid_request')
    expectError(await api.manage('GET', '/audit-log?limit=201'), 400, 'invalid_request')
  })
})

describe('tenant isolation', () => {
  let a: TenantApi
  let b: TenantApi
  let aUserId: string
  let aCredentialId: string
  let aRule: Rule
  let aWebhookId: string
  let aIdempotencyKey: string
  /** Strings of A's that must never reach B. */
  let aSecrets: string[]

  beforeAll(async () => {
    a = await freshTenant()
    b = await freshTenant()
    expectOk(
      await a.manage('POST', '/value-lists', { alias: 'a_private', name: 'A private list', itemType: 'string', items: ['a-private-item'] }),
      201,
    )
    expectOk(await a.manage('POST', '/action-configurations', { actionCode: 'sharedCode', defaultOutcome: 'ALLOW' }), 201)
    aRule = expectOk(
      await a.manage('POST', '/action-configurations/sharedCode/rules', {
        name: 'A private rule',
        outcome: 'BLOCK',
        condition: "list('a_private').contains(action.custom.payee)",
      }),
      201,
    )
    // Disabled, so no event of A's waits for hooks.example.com.
    aWebhookId = expectOk(
      await a.manage('POST', '/webhooks', { url: 'https://hooks.example.com/a-private', events: ['*'], enabled: false }),
      201,
    ).webhookId
    aUserId = uniqueId('a-private-user')
    aCredentialId = (await a.enroll(aUserId)).credential.userAuthenticatorId
    aIdempotencyKey = (await a.track(aUserId, 'sharedCode', { email: 'a-private@example.com', custom: { payee: 'a-private-item' } }))
      .idempotencyKey
    await queryRows(
      h.database.db,
      sql`UPDATE users SET push_blocked_at = now() WHERE tenant_id = ${a.tenant.tenantId} AND user_id = ${aUserId}`,
    )
    // B has an action code of the same name, so only the tenant tells A's rules from B's.
    expectOk(await b.manage('POST', '/action-configurations', { actionCode: 'sharedCode' }), 201)
    aSecrets = [
      a.tenant.tenantId,
      aUserId,
      aCredentialId,
      aRule.ruleId,
      'A private',
      'a-private',
      aWebhookId,
      aIdempotencyKey,
      a.tenant.secretKeyId,
    ]
  })
  afterAll(async () => {
    await a.manage('DELETE', `/webhooks/${aWebhookId}`)
  })

  /** B's request for A's resource is refused exactly as one for a resource that exists nowhere. */
  async function expectNotFoundForB(forA: string, forNothing: string, method: Method = 'GET', payload?: object) {
    const resA = await b.manage(method, forA, payload)
    const resNothing = await b.manage(method, forNothing, payload)
    expectError(resA, 404, 'not_found')
    expect(resA.json()).toEqual(resNothing.json())
    expectNothingOfA(resA)
  }

  function expectNothingOfA(res: Response) {
    for (const secret of aSecrets) expect(res.body).not.toContain(secret)
  }

  it('answers 404 for A’s rule under B’s action code of the same name', async () => {
    const forA = `/action-configurations/sharedCode/rules/${aRule.ruleId}`
    const forNothing = `/action-configurations/sharedCode/rules/${NO_SUCH_ID}`
    await expectNotFoundForB(forA, forNothing)
    await expectNotFoundForB(forA, forNothing, 'PATCH', { isActive: false })
    await expectNotFoundForB(forA, forNothing, 'DELETE')
    const list = await b.manage('GET', '/action-configurations/sharedCode/rules')
    expect(expectOk(list).items).toEqual([])
    expect(expectOk(await a.manage('GET', forA))).toEqual(aRule)
  })

  it('answers 404 for an action configuration only A has', async () => {
    expectOk(await a.manage('POST', '/action-configurations', { actionCode: 'onlyInA', defaultOutcome: 'REVIEW' }), 201)
    await expectNotFoundForB('/action-configurations/onlyInA', '/action-configurations/inNobody')
    await expectNotFoundForB('/action-configurations/onlyInA', '/action-configurations/inNobody', 'PATCH', { defaultOutcome: 'ALLOW' })
    await expectNotFoundForB('/action-configurations/onlyInA/rules', '/action-configurations/inNobody/rules')
    await expectNotFoundForB('/action-configurations/onlyInA', '/action-configurations/inNobody', 'DELETE')
    expect(expectOk(await b.manage('GET', '/action-configurations')).items.map((c: { actionCode: string }) => c.actionCode)).toEqual([
      'sharedCode',
    ])
    expect(expectOk(await a.manage('GET', '/action-configurations/onlyInA')).defaultOutcome).toBe('REVIEW')
  })

  it('answers 404 for A’s webhook and its deliveries', async () => {
    await expectNotFoundForB(`/webhooks/${aWebhookId}`, `/webhooks/${NO_SUCH_ID}`)
    await expectNotFoundForB(`/webhooks/${aWebhookId}`, `/webhooks/${NO_SUCH_ID}`, 'PATCH', { enabled: true })
    await expectNotFoundForB(`/webhooks/${aWebhookId}/deliveries`, `/webhooks/${NO_SUCH_ID}/deliveries`)
    await expectNotFoundForB(
      `/webhooks/${aWebhookId}/deliveries/${NO_SUCH_ID}/retry`,
      `/webhooks/${NO_SUCH_ID}/deliveries/${NO_SUCH_ID}/retry`,
      'POST',
    )
    await expectNotFoundForB(`/webhooks/${aWebhookId}`, `/webhooks/${NO_SUCH_ID}`, 'DELETE')
    expect(expectOk(await b.manage('GET', '/webhooks')).items).toEqual([])
    expect(expectOk(await a.manage('GET', `/webhooks/${aWebhookId}`)).enabled).toBe(false)
  })

  it('answers 404 for A’s value list, and does not let B’s rules name it', async () => {
    await expectNotFoundForB('/value-lists/a_private', '/value-lists/nobody_has')
    await expectNotFoundForB('/value-lists/a_private', '/value-lists/nobody_has', 'PATCH', { items: ['b'] })
    await expectNotFoundForB('/value-lists/a_private', '/value-lists/nobody_has', 'DELETE')
    expect(expectOk(await b.manage('GET', '/value-lists')).items).toEqual([])
    expectError(
      await b.manage('POST', '/action-configurations/sharedCode/rules', {
        name: 'Borrow',
        outcome: 'BLOCK',
        condition: "list('a_private').contains(action.custom.payee)",
      }),
      400,
      'invalid_rule_condition',
    )
    expect(expectOk(await a.manage('GET', '/value-lists/a_private')).items).toEqual(['a-private-item'])
  })

  it('answers 404 for A’s user, authenticators and push block, and finds none of A’s users', async () => {
    const nobody = uniqueId('nobody')
    await expectNotFoundForB(`/users/${aUserId}`, `/users/${nobody}`)
    await expectNotFoundForB(
      `/users/${aUserId}/authenticators/${aCredentialId}/unlock`,
      `/users/${nobody}/authenticators/${NO_SUCH_ID}/unlock`,
      'POST',
    )
    await expectNotFoundForB(`/users/${aUserId}/authenticators/${aCredentialId}`, `/users/${nobody}/authenticators/${NO_SUCH_ID}`, 'DELETE')
    await expectNotFoundForB(`/users/${aUserId}`, `/users/${nobody}`, 'DELETE')
    for (const query of [aUserId, 'a-private', 'a-private@example.com']) {
      const res = await b.manage('GET', `/users?query=${encodeURIComponent(query)}`)
      expect(expectOk(res).items).toEqual([])
    }
    await expectNotFoundForB(`/users/${aUserId}/push-block/clear`, `/users/${nobody}/push-block/clear`, 'POST')
    const user = expectOk(await a.manage('GET', `/users/${aUserId}`))
    expect(user).toMatchObject({ pushBlocked: true, authenticatorCount: 1 })
  })

  it('answers 404 for revoking A’s key, which keeps working', async () => {
    await expectNotFoundForB(`/api-keys/${a.tenant.secretKeyId}`, '/api-keys/nobodyHasThis', 'DELETE')
    await expectNotFoundForB(`/api-keys/${a.tenant.managementKeyId}`, '/api-keys/nobodyHasThis', 'DELETE')
    expect((await a.track(aUserId, 'otherCode')).state).toBeDefined()
    expectOk(await a.manage('GET', '/tenant'))
    const keys = await b.manage('GET', '/api-keys')
    expect(
      expectOk(keys)
        .items.map((k: { keyId: string }) => k.keyId)
        .sort(),
    ).toEqual([b.tenant.secretKeyId, b.tenant.managementKeyId].sort())
  })

  it('keeps A out of B’s action log, audit log, tenant and configurations', async () => {
    for (const path of [
      '/actions?limit=200',
      `/actions?userId=${aUserId}`,
      `/actions?ruleId=${aRule.ruleId}`,
      '/audit-log?limit=200',
      '/tenant',
      '/action-configurations',
    ]) {
      const res = await b.manage('GET', path)
      expectOk(res)
      expectNothingOfA(res)
    }
    expect(expectOk(await b.manage('GET', `/actions?userId=${aUserId}`)).items).toEqual([])
    expect(expectOk(await b.manage('GET', '/actions')).items).toEqual([])
    const bAudit = await auditLog(b)
    expect(bAudit.map((e) => e.event)).toEqual(['action_configuration.created'])
    expect(new Set(bAudit.map((e) => e.actor))).toEqual(new Set([actorOf(b.tenant)]))
    // A's log has A's changes and none of B's attempts.
    const aAudit = await auditLog(a)
    expect(new Set(aAudit.map((e) => e.actor))).toEqual(new Set([actorOf(a.tenant)]))
    expect(aAudit.map((e) => e.event)).toEqual(
      expect.arrayContaining(['action_configuration.created', 'rule.created', 'value_list.created', 'webhook.created']),
    )
  })
})
