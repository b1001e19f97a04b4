import { inspect } from 'node:util'
import { describe, expect, expectTypeOf, it, vi } from 'vitest'
import type { ConditionErrorDetails, ManagedTenant } from '@countersign/protocol'
import { CountersignManagement, type ApiKeySummary, type CountersignManagementOptions, type UserPage } from './management.ts'
import { VERSION } from './transport.ts'
import { errorBody, fakeFetch, hangUntilAborted, json, rejection, type Answer, type SentRequest } from '../test/support/fake-fetch.ts'

const KEY = 'cs_mk_t1_k1_bWFuYWdlbWVudHNlY3JldA'
const AUTHORIZATION = `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`
const BASE = 'http://127.0.0.1:8080/v1'
const M = `${BASE}/management`
const RULE_ID = '3f2b8c1e-5a4d-4e6f-9b0a-1c2d3e4f5a6b'
const WEBHOOK_ID = '0b7e1d2c-3a4b-4c5d-8e6f-7a8b9c0d1e2f'
const EVENT_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'
const AUTHENTICATOR_ID = '6c5d4e3f-2a1b-4c0d-9e8f-7a6b5c4d3e2f'

function setup(answers: Answer[], options: Partial<CountersignManagementOptions> = {}) {
  const { fetch, requests } = fakeFetch(answers)
  const sleep = vi.fn(async (_ms: number) => {})
  const management = new CountersignManagement({ managementKey: KEY, apiUrl: BASE, fetch, sleep, ...options })
  return { management, requests, sleep }
}

/** The single request sent, after checking the headers every Management API call carries. */
function only(requests: SentRequest[]): SentRequest {
  expect(requests).toHaveLength(1)
  const request = requests[0]!
  expect(request.headers.get('authorization')).toBe(AUTHORIZATION)
  expect(request.headers.get('user-agent')).toBe(`countersign-node/${VERSION}`)
  expect(request.headers.get('accept')).toBe('application/json')
  expect(request.headers.get('content-type')).toBe(request.body === undefined ? null : 'application/json')
  return request
}

const noContent = () => new Response(null, { status: 204 })
const rule = { ruleId: RULE_ID, actionCode: 'pay', name: 'Big', isActive: true, priority: 100, outcome: 'CHALLENGE', condition: 'true' }
const page = (items: unknown[], nextCursor?: string) => ({ items, ...(nextCursor === undefined ? {} : { nextCursor }) })

interface Vector {
  call: (m: CountersignManagement) => Promise<unknown>
  method: string
  url: string
  body?: unknown
  answer: () => Response
  /** What the method resolves to (default: the answer's JSON). */
  returns?: unknown
}

// Every method, with what it must send and what it returns: the wire contract as data.
const vectors: Record<string, Vector> = {
  'tenant.get': { call: (m) => m.tenant.get(), method: 'GET', url: `${M}/tenant`, answer: () => json(200, { tenantId: 't1', name: 'Bank' }) },
  'tenant.update': {
    call: (m) => m.tenant.update({ name: 'Bank', numberMatching: true }),
    method: 'PATCH',
    url: `${M}/tenant`,
    body: { name: 'Bank', numberMatching: true },
    answer: () => json(200, { tenantId: 't1', name: 'Bank' }),
  },
  'apiKeys.list': {
    call: (m) => m.apiKeys.list(),
    method: 'GET',
    url: `${M}/api-keys`,
    answer: () => json(200, page([{ keyId: 'k1', type: 'secret' }])),
    returns: [{ keyId: 'k1', type: 'secret' }],
  },
  'apiKeys.create': {
    call: (m) => m.apiKeys.create({ type: 'secret', name: 'backend' }),
    method: 'POST',
    url: `${M}/api-keys`,
    body: { type: 'secret', name: 'backend' },
    answer: () => json(201, { keyId: 'k2', type: 'secret', name: 'backend', key: 'cs_sk_…' }),
  },
  'apiKeys.revoke': { call: (m) => m.apiKeys.revoke('k2'), method: 'DELETE', url: `${M}/api-keys/k2`, answer: noContent, returns: undefined },
  'actionConfigurations.list': {
    call: (m) => m.actionConfigurations.list(),
    method: 'GET',
    url: `${M}/action-configurations`,
    answer: () => json(200, page([{ actionCode: 'pay' }])),
    returns: [{ actionCode: 'pay' }],
  },
  'actionConfigurations.get': { call: (m) => m.actionConfigurations.get('pay'), method: 'GET', url: `${M}/action-configurations/pay`, answer: () => json(200, { actionCode: 'pay' }) },
  'actionConfigurations.create': {
    call: (m) => m.actionConfigurations.create({ actionCode: 'pay', defaultOutcome: 'CHALLENGE' }),
    method: 'POST',
    url: `${M}/action-configurations`,
    body: { actionCode: 'pay', defaultOutcome: 'CHALLENGE' },
    answer: () => json(201, { actionCode: 'pay' }),
  },
  'actionConfigurations.update': {
    call: (m) => m.actionConfigurations.update('pay', { numberMatching: null, challengeTtlSeconds: 120 }),
    method: 'PATCH',
    url: `${M}/action-configurations/pay`,
    body: { numberMatching: null, challengeTtlSeconds: 120 },
    answer: () => json(200, { actionCode: 'pay' }),
  },
  'actionConfigurations.delete': { call: (m) => m.actionConfigurations.delete('pay'), method: 'DELETE', url: `${M}/action-configurations/pay`, answer: noContent, returns: undefined },
  'rules.list': { call: (m) => m.rules.list('pay'), method: 'GET', url: `${M}/action-configurations/pay/rules`, answer: () => json(200, page([rule])), returns: [rule] },
  'rules.get': { call: (m) => m.rules.get('pay', RULE_ID), method: 'GET', url: `${M}/action-configurations/pay/rules/${RULE_ID}`, answer: () => json(200, rule) },
  'rules.create': {
    call: (m) => m.rules.create('pay', { name: 'Big', outcome: 'CHALLENGE', condition: 'true' }),
    method: 'POST',
    url: `${M}/action-configurations/pay/rules`,
    body: { name: 'Big', outcome: 'CHALLENGE', condition: 'true' },
    answer: () => json(201, rule),
  },
  'rules.update': {
    call: (m) => m.rules.update('pay', RULE_ID, { isActive: false, description: null }),
    method: 'PATCH',
    url: `${M}/action-configurations/pay/rules/${RULE_ID}`,
    body: { isActive: false, description: null },
    answer: () => json(200, { ...rule, isActive: false }),
  },
  'rules.delete': { call: (m) => m.rules.delete('pay', RULE_ID), method: 'DELETE', url: `${M}/action-configurations/pay/rules/${RULE_ID}`, answer: noContent, returns: undefined },
  'rules.dryRun': {
    call: (m) => m.rules.dryRun('pay', { context: { action: { custom: { amount: 5 } } }, condition: 'true' }),
    method: 'POST',
    url: `${M}/action-configurations/pay/rules/dry-run`,
    body: { context: { action: { custom: { amount: 5 } } }, condition: 'true' },
    answer: () => json(200, { outcome: 'ALLOW', state: 'ALLOW', decidedBy: 'default', rules: [], context: {} }),
  },
  'valueLists.list': {
    call: (m) => m.valueLists.list(),
    method: 'GET',
    url: `${M}/value-lists`,
    answer: () => json(200, page([{ alias: 'blocked', itemCount: 2 }])),
    returns: [{ alias: 'blocked', itemCount: 2 }],
  },
  'valueLists.get': { call: (m) => m.valueLists.get('blocked'), method: 'GET', url: `${M}/value-lists/blocked`, answer: () => json(200, { alias: 'blocked', items: ['a'] }) },
  'valueLists.create': {
    call: (m) => m.valueLists.create({ alias: 'blocked', name: 'Blocked', itemType: 'string', items: ['a'] }),
    method: 'POST',
    url: `${M}/value-lists`,
    body: { alias: 'blocked', name: 'Blocked', itemType: 'string', items: ['a'] },
    answer: () => json(201, { alias: 'blocked', items: ['a'] }),
  },
  'valueLists.update': {
    call: (m) => m.valueLists.update('blocked', { items: ['a', 'b'] }),
    method: 'PATCH',
    url: `${M}/value-lists/blocked`,
    body: { items: ['a', 'b'] },
    answer: () => json(200, { alias: 'blocked', items: ['a', 'b'] }),
  },
  'valueLists.delete': { call: (m) => m.valueLists.delete('blocked'), method: 'DELETE', url: `${M}/value-lists/blocked`, answer: noContent, returns: undefined },
  'webhooks.list': {
    call: (m) => m.webhooks.list(),
    method: 'GET',
    url: `${M}/webhooks`,
    answer: () => json(200, page([{ webhookId: WEBHOOK_ID }])),
    returns: [{ webhookId: WEBHOOK_ID }],
  },
  'webhooks.get': { call: (m) => m.webhooks.get(WEBHOOK_ID), method: 'GET', url: `${M}/webhooks/${WEBHOOK_ID}`, answer: () => json(200, { webhookId: WEBHOOK_ID }) },
  'webhooks.create': {
    call: (m) => m.webhooks.create({ url: 'https://bank.example/hooks', events: ['*'] }),
    method: 'POST',
    url: `${M}/webhooks`,
    body: { url: 'https://bank.example/hooks', events: ['*'] },
    answer: () => json(201, { webhookId: WEBHOOK_ID, secret: 'whsec_x' }),
  },
  'webhooks.update': {
    call: (m) => m.webhooks.update(WEBHOOK_ID, { enabled: false }),
    method: 'PATCH',
    url: `${M}/webhooks/${WEBHOOK_ID}`,
    body: { enabled: false },
    answer: () => json(200, { webhookId: WEBHOOK_ID, enabled: false }),
  },
  'webhooks.delete': { call: (m) => m.webhooks.delete(WEBHOOK_ID), method: 'DELETE', url: `${M}/webhooks/${WEBHOOK_ID}`, answer: noContent, returns: undefined },
  'webhooks.deliveries': {
    call: (m) => m.webhooks.deliveries(WEBHOOK_ID),
    method: 'GET',
    url: `${M}/webhooks/${WEBHOOK_ID}/deliveries`,
    answer: () => json(200, page([{ eventId: EVENT_ID, state: 'failed' }])),
    returns: [{ eventId: EVENT_ID, state: 'failed' }],
  },
  'webhooks.retry': {
    call: (m) => m.webhooks.retry(WEBHOOK_ID, EVENT_ID),
    method: 'POST',
    url: `${M}/webhooks/${WEBHOOK_ID}/deliveries/${EVENT_ID}/retry`,
    answer: noContent,
    returns: undefined,
  },
  'users.search': {
    call: (m) => m.users.search({ query: '+64 21', limit: 20, cursor: 'c1' }),
    method: 'GET',
    // `+` must be escaped, or the server reads it as a space.
    url: `${M}/users?query=%2B64+21&limit=20&cursor=c1`,
    answer: () => json(200, page([{ userId: 'u1' }], 'c2')),
  },
  'users.get': { call: (m) => m.users.get('u1'), method: 'GET', url: `${M}/users/u1`, answer: () => json(200, { userId: 'u1', authenticators: [] }) },
  'users.delete': { call: (m) => m.users.delete('u1'), method: 'DELETE', url: `${M}/users/u1`, answer: noContent, returns: undefined },
  'users.revokeAuthenticator': {
    call: (m) => m.users.revokeAuthenticator('u1', AUTHENTICATOR_ID),
    method: 'DELETE',
    url: `${M}/users/u1/authenticators/${AUTHENTICATOR_ID}`,
    answer: noContent,
    returns: undefined,
  },
  'users.unlockAuthenticator': {
    call: (m) => m.users.unlockAuthenticator('u1', AUTHENTICATOR_ID),
    method: 'POST',
    url: `${M}/users/u1/authenticators/${AUTHENTICATOR_ID}/unlock`,
    answer: noContent,
    returns: undefined,
  },
  'users.clearPushBlock': { call: (m) => m.users.clearPushBlock('u1'), method: 'POST', url: `${M}/users/u1/push-block/clear`, answer: () => json(200, { cleared: true }) },
  'actions.list': {
    call: (m) => m.actions.list({ userId: 'u1', actionCode: 'pay', state: 'BLOCK', ruleId: RULE_ID, from: new Date('2025-01-01T00:00:00Z'), to: '2025-02-01T00:00:00+13:00', limit: 10 }),
    method: 'GET',
    url: `${M}/actions?userId=u1&actionCode=pay&state=BLOCK&ruleId=${RULE_ID}&from=2025-01-01T00%3A00%3A00.000Z&to=2025-02-01T00%3A00%3A00%2B13%3A00&limit=10`,
    answer: () => json(200, page([{ userId: 'u1' }])),
  },
  'auditLog.list': {
    call: (m) => m.auditLog.list({ limit: 5, cursor: 'c9' }),
    method: 'GET',
    url: `${M}/audit-log?limit=5&cursor=c9`,
    answer: () => json(200, page([{ auditId: 'a1', event: 'rule.created' }])),
  },
}

describe('every method', () => {
  it.each(Object.entries(vectors))('%s sends what the Management API expects', async (_, vector) => {
    const answer = vector.answer()
    const expected = 'returns' in vector ? vector.returns : await answer.clone().json()
    const { management, requests } = setup([answer])
    expect(await vector.call(management)).toEqual(expected)
    const request = only(requests)
    expect({ method: request.method, url: request.url, body: request.body }).toEqual({ method: vector.method, url: vector.url, body: vector.body })
  })

  it('sends no query string when a list is given no filter', async () => {
    const { management, requests } = setup([json(200, page([])), json(200, page([])), json(200, page([]))])
    await management.users.search()
    await management.actions.list()
    await management.auditLog.list()
    expect(requests.map((r) => r.url)).toEqual([`${M}/users`, `${M}/actions`, `${M}/audit-log`])
  })

  it('takes its types from the protocol', () => {
    const management = new CountersignManagement({ managementKey: KEY, apiUrl: BASE })
    expectTypeOf(management.tenant.get).returns.resolves.toEqualTypeOf<ManagedTenant>()
    expectTypeOf(management.apiKeys.list).returns.resolves.toEqualTypeOf<ApiKeySummary[]>()
    expectTypeOf<ApiKeySummary['type']>().toEqualTypeOf<'secret' | 'management'>()
    expectTypeOf(management.users.search).returns.resolves.toEqualTypeOf<UserPage>()
    expectTypeOf<UserPage['items'][number]['authenticatorCount']>().toEqualTypeOf<number>()
  })
})

describe('constructor', () => {
  it.each([
    ['with /v1', 'http://127.0.0.1:8080/v1'],
    ['with /v1/', 'http://127.0.0.1:8080/v1/'],
    ['without a path', 'http://127.0.0.1:8080'],
  ])('accepts apiUrl %s, as Countersign does', async (_, apiUrl) => {
    const { management, requests } = setup([json(200, {})], { apiUrl })
    await management.tenant.get()
    expect(only(requests).url).toBe('http://127.0.0.1:8080/v1/management/tenant')
  })

  it('refuses a missing key, naming the option', () => {
    expect(() => new CountersignManagement({ managementKey: '', apiUrl: BASE })).toThrow(/CountersignManagement: managementKey is required/)
    expect(() => new CountersignManagement({ managementKey: KEY, apiUrl: BASE, retries: -1 })).toThrow(/retries/)
  })

  it('refuses credentials in the URL without echoing them', () => {
    const apiUrl = `https://user:${KEY}@example.com/v1`
    expect(() => new CountersignManagement({ managementKey: KEY, apiUrl })).toThrow(/pass the key as managementKey/)
    try {
      new CountersignManagement({ managementKey: KEY, apiUrl })
    } catch (e) {
      expect(String(e)).not.toContain(KEY)
    }
  })

  it('does not show the key when the client is logged or serialised', () => {
    const management = new CountersignManagement({ managementKey: KEY, apiUrl: BASE })
    expect(inspect(management, { depth: 5, showHidden: true })).not.toContain(KEY)
    expect(JSON.stringify(management)).not.toContain(KEY)
  })
})

describe('path segments', () => {
  it('encodes every segment so it cannot change the route', async () => {
    const { management, requests } = setup([json(200, rule), noContent(), noContent(), json(200, {})])
    await management.rules.get('a/b', '../x')
    await management.users.revokeAuthenticator('ada/../admin?x#y', 'a b')
    await management.apiKeys.revoke('k/../../tenant')
    await management.valueLists.get('zoë')
    expect(requests.map((r) => r.url)).toEqual([
      `${M}/action-configurations/a%2Fb/rules/..%2Fx`,
      `${M}/users/ada%2F..%2Fadmin%3Fx%23y/authenticators/a%20b`,
      `${M}/api-keys/k%2F..%2F..%2Ftenant`,
      `${M}/value-lists/zo%C3%AB`,
    ])
  })

  // Regression: fetch resolves "." and "..", so userId ".." would send DELETE /users/.. to
  // DELETE /management. The refusal is a rejection, never a synchronous throw past `.catch()`.
  it.each(['..', '.', ''])('refuses the segment %j without sending anything', async (value) => {
    const { management, requests } = setup([])
    for (const call of [
      () => management.users.delete(value),
      () => management.rules.delete('pay', value),
      () => management.webhooks.retry(WEBHOOK_ID, value),
      () => management.actionConfigurations.get(value),
    ]) {
      const error = await rejection(call())
      expect({ errorCode: error.errorCode, statusCode: error.statusCode }).toEqual({ errorCode: 'invalid_argument', statusCode: 0 })
    }
    expect(requests).toHaveLength(0)
  })
})

describe('errors', () => {
  it('exposes an invalid rule condition’s details', async () => {
    const details = { message: "Syntax error: mismatched input '<EOF>'", position: 23, line: 1, column: 24 }
    const { management } = setup([json(400, { ...errorBody('invalid_rule_condition', 'Invalid condition (line 1, column 24): …'), details })])
    const error = await rejection(management.rules.create('pay', { name: 'Big', outcome: 'BLOCK', condition: 'action.custom.amount > ' }))
    expect({ statusCode: error.statusCode, errorCode: error.errorCode }).toEqual({ statusCode: 400, errorCode: 'invalid_rule_condition' })
    expect(error.details).toEqual(details)
    expectTypeOf(error.details!.line).toEqualTypeOf<number | undefined>()
    expectTypeOf<ConditionErrorDetails>().toExtend<NonNullable<typeof error.details>>()
  })

  it('has no details when the server sent none, or sent something that is not an object', async () => {
    const { management } = setup([json(404, errorBody('not_found', 'No such rule')), json(400, { ...errorBody('invalid_request', 'x'), details: ['a'] })])
    expect((await rejection(management.rules.get('pay', RULE_ID))).details).toBeUndefined()
    expect((await rejection(management.tenant.update({ name: 'x' }))).details).toBeUndefined()
  })

  it('keeps the key out of the details too', async () => {
    const details = { message: `key ${KEY} here`, nested: [{ echo: AUTHORIZATION }] }
    const { management } = setup([json(400, { ...errorBody('invalid_rule_condition', `bad ${KEY}`), details })])
    const error = await rejection(management.rules.update('pay', RULE_ID, { condition: 'x' }))
    expect(JSON.stringify(error)).not.toContain(KEY)
    expect(JSON.stringify(error)).not.toContain(AUTHORIZATION.slice('Basic '.length))
    expect(error.details).toEqual({ message: 'key [redacted] here', nested: [{ echo: 'Basic [redacted]' }] })
  })

  it('maps a refused key to unauthorized', async () => {
    const { management } = setup([json(401, errorBody('unauthorized', 'The credentials are missing, wrong or revoked.'))])
    const error = await rejection(management.tenant.get())
    expect({ statusCode: error.statusCode, errorCode: error.errorCode }).toEqual({ statusCode: 401, errorCode: 'unauthorized' })
  })

  it.each([
    ['a list without items', (m: CountersignManagement) => m.apiKeys.list(), () => json(200, { keys: [] })],
    ['a page whose items are not an array', (m: CountersignManagement) => m.users.search(), () => json(200, { items: {} })],
    ['a page with an empty cursor', (m: CountersignManagement) => m.auditLog.list(), () => json(200, { items: [], nextCursor: '' })],
    ['a push-block answer without cleared', (m: CountersignManagement) => m.users.clearPushBlock('u1'), () => json(200, {})],
    ['an empty answer to a read', (m: CountersignManagement) => m.tenant.get(), noContent],
  ])('rejects %s with invalid_response', async (_, call, answer) => {
    const { management } = setup([answer()], { retries: 0 })
    expect((await rejection(call(management))).errorCode).toBe('invalid_response')
  })
})

describe('retries', () => {
  const transient = () => json(503, errorBody('service_unavailable', 'Restarting.'))

  it.each([
    ['a read', (m: CountersignManagement) => m.rules.list('pay'), () => json(200, page([]))],
    ['a PATCH', (m: CountersignManagement) => m.tenant.update({ name: 'Bank' }), () => json(200, {})],
    ['a DELETE', (m: CountersignManagement) => m.webhooks.delete(WEBHOOK_ID), noContent],
    ['a dry run (records nothing)', (m: CountersignManagement) => m.rules.dryRun('pay', { context: {} }), () => json(200, {})],
    ['an unlock', (m: CountersignManagement) => m.users.unlockAuthenticator('u1', AUTHENTICATOR_ID), noContent],
    ['a delivery retry', (m: CountersignManagement) => m.webhooks.retry(WEBHOOK_ID, EVENT_ID), noContent],
    ['a push-block clear', (m: CountersignManagement) => m.users.clearPushBlock('u1'), () => json(200, { cleared: false })],
  ])('retries %s after a transient failure', async (_, call, success) => {
    const { management, requests, sleep } = setup([transient(), new TypeError('fetch failed'), success()])
    await call(management)
    expect(requests).toHaveLength(3)
    expect(sleep).toHaveBeenCalledTimes(2)
  })

  // Regression: a repeated create would issue a second key, add a rule twice, or add a second endpoint.
  it.each([
    ['apiKeys.create', (m: CountersignManagement) => m.apiKeys.create({ type: 'management' })],
    ['actionConfigurations.create', (m: CountersignManagement) => m.actionConfigurations.create({ actionCode: 'pay' })],
    ['rules.create', (m: CountersignManagement) => m.rules.create('pay', { name: 'n', outcome: 'ALLOW', condition: 'true' })],
    ['valueLists.create', (m: CountersignManagement) => m.valueLists.create({ alias: 'l', name: 'L', itemType: 'number' })],
    ['webhooks.create', (m: CountersignManagement) => m.webhooks.create({ url: 'https://bank.example/h', events: ['*'] })],
  ])('never retries %s', async (_, call) => {
    const { management, requests, sleep } = setup([new TypeError('fetch failed'), json(201, {})])
    expect((await rejection(call(management))).errorCode).toBe('network_error')
    expect(requests).toHaveLength(1)
    expect(sleep).not.toHaveBeenCalled()
  })

  it('treats a 404 on a retried revoke as done: the lost attempt revoked it', async () => {
    const { management, requests } = setup([hangUntilAborted, json(404, errorBody('not_found', 'No such active key'))], { timeoutMs: 20 })
    await expect(management.apiKeys.revoke('k1')).resolves.toBeUndefined()
    expect(requests).toHaveLength(2)
  })

  it('does not retry a 4xx', async () => {
    const { management, requests } = setup([json(409, errorBody('conflict', 'Active rules use this list'))])
    expect((await rejection(management.valueLists.delete('blocked'))).errorCode).toBe('conflict')
    expect(requests).toHaveLength(1)
  })
})

describe('paging iterators', () => {
  async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
    const items: T[] = []
    for await (const item of iterator) items.push(item)
    return items
  }

  it('users.all follows nextCursor to the last page, keeping the query', async () => {
    const { management, requests } = setup([
      json(200, page([{ userId: 'u3' }, { userId: 'u2' }], 'c1')),
      json(200, page([{ userId: 'u1' }], 'c2')),
      json(200, page([])),
    ])
    expect((await collect(management.users.all({ query: 'ada', limit: 2 }))).map((u) => u.userId)).toEqual(['u3', 'u2', 'u1'])
    expect(requests.map((r) => r.url)).toEqual([
      `${M}/users?query=ada&limit=2`,
      `${M}/users?query=ada&limit=2&cursor=c1`,
      `${M}/users?query=ada&limit=2&cursor=c2`,
    ])
  })

  it('actions.all keeps the filter on every page and starts from a given cursor', async () => {
    const { management, requests } = setup([json(200, page([{ idempotencyKey: 'k2' }], 'c5')), json(200, page([{ idempotencyKey: 'k1' }]))])
    const items = await collect(management.actions.all({ userId: 'u1', state: 'ALLOW', cursor: 'c4' }))
    expect(items.map((a) => a.idempotencyKey)).toEqual(['k2', 'k1'])
    expect(requests.map((r) => r.url)).toEqual([`${M}/actions?userId=u1&state=ALLOW&cursor=c4`, `${M}/actions?userId=u1&state=ALLOW&cursor=c5`])
  })

  it('auditLog.all fetches a page only when the loop gets there', async () => {
    const { management, requests } = setup([json(200, page([{ auditId: 'a2' }, { auditId: 'a1' }], 'c1')), json(200, page([{ auditId: 'a0' }]))])
    for await (const entry of management.auditLog.all()) {
      expect(entry.auditId).toBe('a2')
      break
    }
    expect(requests).toHaveLength(1)
  })

  // Regression: a server that answers with the cursor it was given must not loop the caller forever.
  it('stops with invalid_response when a page repeats its cursor', async () => {
    const { management, requests } = setup([json(200, page([{ auditId: 'a1' }], 'c1')), json(200, page([{ auditId: 'a1' }], 'c1'))])
    const error = await rejection(collect(management.auditLog.all()))
    expect(error.errorCode).toBe('invalid_response')
    expect(requests).toHaveLength(2)
  })

  it('rejects the loop with the failing page’s error', async () => {
    const { management } = setup([json(200, page([{ userId: 'u1' }], 'c1')), json(400, errorBody('invalid_request', 'cursor is not one this server returned'))])
    expect((await rejection(collect(management.users.all()))).errorCode).toBe('invalid_request')
  })
})
