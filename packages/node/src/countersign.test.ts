import { readFileSync, readdirSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import { describe, expect, it, vi } from 'vitest'
import { Countersign, VERSION, type CountersignOptions } from './countersign.ts'
import { CountersignError } from './errors.ts'
import { errorBody, fakeFetch, hangUntilAborted, json, rejection, type Answer, type SentRequest } from '../test/support/fake-fetch.ts'

const SECRET = 'sk_test_k1_Zm9vYmFyYmF6cXV4c2VjcmV0'
const AUTHORIZATION = `Basic ${Buffer.from(`${SECRET}:`).toString('base64')}`
const BASE = 'http://127.0.0.1:8080/v1'

function setup(answers: Answer[], options: Partial<CountersignOptions> = {}) {
  const { fetch, requests } = fakeFetch(answers)
  const sleep = vi.fn(async (_ms: number) => {})
  const countersign = new Countersign({ secretKey: SECRET, apiUrl: BASE, fetch, sleep, ...options })
  return { countersign, requests, sleep }
}

/** The single request sent, after checking the headers every Server API call carries. */
function only(requests: SentRequest[]): SentRequest {
  expect(requests).toHaveLength(1)
  const request = requests[0]!
  expect(request.headers.get('authorization')).toBe(AUTHORIZATION)
  expect(request.headers.get('user-agent')).toBe(`countersign-node/${VERSION}`)
  expect(request.headers.get('content-type')).toBe(request.body === undefined ? null : 'application/json')
  return request
}

const trackAnswer = {
  idempotencyKey: 'c0ffee00-0000-4000-8000-000000000001',
  state: 'CHALLENGE_REQUIRED',
  url: 'http://127.0.0.1:8080/challenge',
  token: 'eyJ.token.sig',
  isEnrolled: true,
  enrolledVerificationMethods: ['IN_APP'],
  allowedVerificationMethods: ['IN_APP'],
  defaultVerificationMethod: 'IN_APP',
  ruleIds: ['rule-1'],
}

const actionAnswer = {
  userId: 'user-42',
  actionCode: 'authorizePayment',
  idempotencyKey: 'key-1',
  state: 'CHALLENGE_SUCCEEDED',
  stateUpdatedAt: '2025-01-01T00:00:00.000Z',
  createdAt: '2025-01-01T00:00:00.000Z',
  ruleIds: [],
  rules: [],
}

describe('constructor', () => {
  it.each([
    ['with /v1', 'http://127.0.0.1:8080/v1'],
    ['with /v1/', 'http://127.0.0.1:8080/v1/'],
    ['without a path', 'http://127.0.0.1:8080'],
    ['with only a slash', 'http://127.0.0.1:8080/'],
  ])('accepts apiUrl %s', async (_, apiUrl) => {
    const { countersign, requests } = setup([json(200, { users: [] })], { apiUrl })
    await countersign.queryUsers()
    expect(only(requests).url).toBe('http://127.0.0.1:8080/v1/users')
  })

  it('keeps a path prefix in front of /v1', async () => {
    const { countersign, requests } = setup([json(200, { users: [] })], { apiUrl: 'https://gw.example.com/countersign/v1/' })
    await countersign.queryUsers()
    expect(only(requests).url).toBe('https://gw.example.com/countersign/v1/users')
  })

  it.each([
    ['a relative URL', 'api.example.com/v1'],
    ['the secret pasted into the wrong option', SECRET],
    ['a non-http scheme', 'ftp://example.com/v1'],
    ['credentials in the URL', `https://user:${SECRET}@example.com/v1`],
    ['a query', 'https://example.com/v1?x=1'],
  ])('refuses %s without echoing it', (_, apiUrl) => {
    expect(() => new Countersign({ secretKey: SECRET, apiUrl })).toThrow(TypeError)
    try {
      new Countersign({ secretKey: SECRET, apiUrl })
    } catch (e) {
      expect(String(e)).not.toContain(SECRET)
      expect(String(e)).not.toContain(apiUrl)
    }
  })

  it('refuses a missing key and bad limits', () => {
    expect(() => new Countersign({ secretKey: '', apiUrl: BASE })).toThrow(/secretKey is required/)
    expect(() => new Countersign({ secretKey: SECRET, apiUrl: BASE, retries: -1 })).toThrow(/retries/)
    expect(() => new Countersign({ secretKey: SECRET, apiUrl: BASE, retries: 1.5 })).toThrow(/retries/)
    expect(() => new Countersign({ secretKey: SECRET, apiUrl: BASE, timeoutMs: 0 })).toThrow(/timeoutMs/)
  })

  it('does not show the key when the client is logged or serialised', () => {
    const countersign = new Countersign({ secretKey: SECRET, apiUrl: BASE })
    expect(inspect(countersign, { depth: 5, showHidden: true })).not.toContain(SECRET)
    expect(JSON.stringify(countersign)).not.toContain(SECRET)
  })

  it('uses the global fetch when none is injected', async () => {
    const { fetch, requests } = fakeFetch([json(200, { users: [] })])
    vi.stubGlobal('fetch', fetch)
    try {
      await new Countersign({ secretKey: SECRET, apiUrl: BASE }).queryUsers()
      expect(only(requests).url).toBe(`${BASE}/users`)
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('sends the version in package.json', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    expect(VERSION).toBe(manifest.version)
  })
})

describe('track', () => {
  it('posts the attributes and returns the decision', async () => {
    const { countersign, requests } = setup([json(200, trackAnswer)])
    const attributes = { idempotencyKey: 'pay-1', ipAddress: '203.0.113.9', custom: { amount: 100 } }
    const result = await countersign.track({ userId: 'user-42', action: 'authorizePayment', attributes })
    expect(result).toEqual(trackAnswer)
    const request = only(requests)
    expect(request.method).toBe('POST')
    expect(request.url).toBe(`${BASE}/users/user-42/actions/authorizePayment`)
    expect(request.body).toEqual(attributes)
  })

  it('posts an empty object without attributes', async () => {
    const { countersign, requests } = setup([json(200, trackAnswer)])
    await countersign.track({ userId: 'user-42', action: 'signIn' })
    expect(only(requests).body).toEqual({})
  })
})

describe('validateChallenge', () => {
  it('posts the token and returns action as well as actionCode', async () => {
    const answer = {
      isValid: true,
      state: 'CHALLENGE_SUCCEEDED',
      stateUpdatedAt: '2025-01-01T00:00:00.000Z',
      userId: 'user-42',
      actionCode: 'authorizePayment',
      idempotencyKey: 'key-1',
      verificationMethod: 'IN_APP',
    }
    const { countersign, requests } = setup([json(200, answer)])
    const result = await countersign.validateChallenge({ token: 'eyJ.token.sig', userId: 'user-42', action: 'authorizePayment' })
    expect(result).toEqual({ ...answer, action: 'authorizePayment' })
    const request = only(requests)
    expect(request.method).toBe('POST')
    expect(request.url).toBe(`${BASE}/validate`)
    expect(request.body).toEqual({ token: 'eyJ.token.sig', userId: 'user-42', action: 'authorizePayment' })
  })

  it('fills actionCode from action when only action is sent', async () => {
    const { countersign } = setup([json(200, { isValid: true, action: 'signIn' })])
    expect(await countersign.validateChallenge({ token: 't' })).toEqual({ isValid: true, action: 'signIn', actionCode: 'signIn' })
  })

  it('omits the optional fields it was not given', async () => {
    const { countersign, requests } = setup([json(200, { isValid: false, error: 'expired_token' })])
    expect(await countersign.validateChallenge({ token: 't' })).toEqual({ isValid: false, error: 'expired_token' })
    expect(only(requests).body).toEqual({ token: 't' })
  })
})

describe('actions', () => {
  it('getAction reads one action', async () => {
    const { countersign, requests } = setup([json(200, actionAnswer)])
    expect(await countersign.getAction({ userId: 'user-42', action: 'authorizePayment', idempotencyKey: 'key-1' })).toEqual(actionAnswer)
    const request = only(requests)
    expect(request.method).toBe('GET')
    expect(request.url).toBe(`${BASE}/users/user-42/actions/authorizePayment/key-1`)
    expect(request.body).toBeUndefined()
  })

  it('getAction rejects with not_found on 404', async () => {
    const { countersign } = setup([json(404, errorBody('not_found', 'The resource does not exist.'))])
    const error = await rejection(countersign.getAction({ userId: 'user-42', action: 'authorizePayment', idempotencyKey: 'nope' }))
    expect(error.statusCode).toBe(404)
    expect(error.errorCode).toBe('not_found')
  })

  it('updateAction patches the state', async () => {
    const { countersign, requests } = setup([json(200, { ...actionAnswer, state: 'REVIEW_SUCCEEDED' })])
    const result = await countersign.updateAction({
      userId: 'user-42',
      action: 'authorizePayment',
      idempotencyKey: 'key-1',
      attributes: { state: 'REVIEW_SUCCEEDED' },
    })
    expect(result.state).toBe('REVIEW_SUCCEEDED')
    const request = only(requests)
    expect(request.method).toBe('PATCH')
    expect(request.url).toBe(`${BASE}/users/user-42/actions/authorizePayment/key-1`)
    expect(request.body).toEqual({ state: 'REVIEW_SUCCEEDED' })
  })

  it('queryUserActions sends codes, fromDate and state as the query', async () => {
    const { countersign, requests } = setup([json(200, [])])
    await countersign.queryUserActions({
      userId: 'user-42',
      actionCodes: ['authorizePayment', 'changeEmail'],
      fromDate: new Date('2025-01-01T00:00:00Z'),
      state: 'CHALLENGE_SUCCEEDED',
    })
    const url = new URL(only(requests).url)
    expect(`${url.origin}${url.pathname}`).toBe(`${BASE}/users/user-42/actions`)
    expect(Object.fromEntries(url.searchParams)).toEqual({
      codes: 'authorizePayment,changeEmail',
      fromDate: '2025-01-01T00:00:00.000Z',
      state: 'CHALLENGE_SUCCEEDED',
    })
  })

  it('queryUserActions sends no query when given no filter', async () => {
    const { countersign, requests } = setup([json(200, [{ actionCode: 'signIn' }])])
    expect(await countersign.queryUserActions({ userId: 'user-42', actionCodes: [] })).toEqual([{ actionCode: 'signIn' }])
    expect(only(requests).url).toBe(`${BASE}/users/user-42/actions`)
  })
})

describe('users', () => {
  it('getUser reads a user', async () => {
    const user = { userId: 'user-42', isEnrolled: false, emailVerified: false, phoneNumberVerified: false }
    const { countersign, requests } = setup([json(200, user)])
    expect(await countersign.getUser({ userId: 'user-42' })).toEqual(user)
    const request = only(requests)
    expect(request.method).toBe('GET')
    expect(request.url).toBe(`${BASE}/users/user-42`)
  })

  it('updateUser patches the attributes', async () => {
    const { countersign, requests } = setup([json(200, { userId: 'user-42', email: 'ada@example.com' })])
    const result = await countersign.updateUser({ userId: 'user-42', attributes: { email: 'ada@example.com', custom: { tier: 'gold' } } })
    expect(result).toEqual({ userId: 'user-42', email: 'ada@example.com' })
    const request = only(requests)
    expect(request.method).toBe('PATCH')
    expect(request.url).toBe(`${BASE}/users/user-42`)
    expect(request.body).toEqual({ email: 'ada@example.com', custom: { tier: 'gold' } })
  })

  it('deleteUser sends DELETE and resolves on an empty answer', async () => {
    const { countersign, requests } = setup([new Response(null, { status: 204 })])
    await expect(countersign.deleteUser({ userId: 'user-42' })).resolves.toBeUndefined()
    const request = only(requests)
    expect(request.method).toBe('DELETE')
    expect(request.url).toBe(`${BASE}/users/user-42`)
    expect(request.body).toBeUndefined()
  })

  it('queryUsers sends the filters and paging as the query', async () => {
    const page = { users: [{ userId: 'u1', emailVerified: true, phoneNumberVerified: false }], lastEvaluatedUserId: 'u1' }
    const { countersign, requests } = setup([json(200, page)])
    const result = await countersign.queryUsers({
      username: 'ada',
      email: 'ada+1@example.com',
      phoneNumber: '+64211234567',
      limit: 50,
      lastEvaluatedUserId: 'u0',
    })
    expect(result).toEqual(page)
    const url = new URL(only(requests).url)
    expect(url.pathname).toBe('/v1/users')
    expect(Object.fromEntries(url.searchParams)).toEqual({
      username: 'ada',
      email: 'ada+1@example.com',
      phoneNumber: '+64211234567',
      limit: '50',
      lastEvaluatedUserId: 'u0',
    })
    // `+` must be escaped, or the server reads it as a space.
    expect(url.search).toContain('phoneNumber=%2B64211234567')
  })
})

describe('authenticators', () => {
  it('getAuthenticators lists them', async () => {
    const list = [{ userId: 'user-42', userAuthenticatorId: 'auth-1', verificationMethod: 'IN_APP' }]
    const { countersign, requests } = setup([json(200, list)])
    expect(await countersign.getAuthenticators({ userId: 'user-42' })).toEqual(list)
    const request = only(requests)
    expect(request.method).toBe('GET')
    expect(request.url).toBe(`${BASE}/users/user-42/authenticators`)
  })

  it('deleteAuthenticator sends DELETE and ignores the answer body', async () => {
    const { countersign, requests } = setup([json(200, {})])
    await expect(countersign.deleteAuthenticator({ userId: 'user-42', userAuthenticatorId: 'auth-1' })).resolves.toBeUndefined()
    const request = only(requests)
    expect(request.method).toBe('DELETE')
    expect(request.url).toBe(`${BASE}/users/user-42/authenticators/auth-1`)
  })
})

describe('path segments', () => {
  const awkward = 'ada/../b c?x=1#frag%2F'
  const encoded = encodeURIComponent(awkward)

  it('encodes every segment so it cannot change the route', async () => {
    const { countersign, requests } = setup([json(200, actionAnswer), json(200, {})])
    await countersign.getAction({ userId: awkward, action: 'a/b', idempotencyKey: 'k?1' })
    await countersign.deleteAuthenticator({ userId: awkward, userAuthenticatorId: '../../users' })
    expect(requests.map((r) => r.url)).toEqual([
      `${BASE}/users/${encoded}/actions/a%2Fb/k%3F1`,
      `${BASE}/users/${encoded}/authenticators/..%2F..%2Fusers`,
    ])
    // What reaches the wire is the same path: fetch does not resolve anything in it.
    expect(new URL(requests[0]!.url).pathname).toBe(`/v1/users/${encoded}/actions/a%2Fb/k%3F1`)
  })

  it('encodes non-ASCII user IDs as UTF-8', async () => {
    const { countersign, requests } = setup([json(200, {})])
    await countersign.deleteUser({ userId: 'zoë 🦊' })
    expect(only(requests).url).toBe(`${BASE}/users/zo%C3%AB%20%F0%9F%A6%8A`)
  })

  // Regression: fetch resolves "." and ".." (even as %2E), so userId ".." would send
  // DELETE /users/../authenticators/x to DELETE /authenticators/x.
  it.each(['..', '.', ''])('refuses the segment %j without sending anything', async (userId) => {
    const { countersign, requests } = setup([])
    const error = await rejection(countersign.deleteAuthenticator({ userId, userAuthenticatorId: 'auth-1' }))
    expect(error.errorCode).toBe('invalid_argument')
    expect(error.statusCode).toBe(0)
    const again = await rejection(countersign.getAction({ userId: 'u', action: 'a', idempotencyKey: userId }))
    expect(again.errorCode).toBe('invalid_argument')
    expect(requests).toHaveLength(0)
  })
})

describe('retries', () => {
  it('retries a GET after a 503 and a network error, backing off with jitter', async () => {
    const { countersign, requests, sleep } = setup([
      json(503, errorBody('service_unavailable', 'Restarting.')),
      new TypeError('fetch failed'),
      json(200, actionAnswer),
    ])
    expect(await countersign.getAction({ userId: 'u', action: 'a', idempotencyKey: 'k' })).toEqual(actionAnswer)
    expect(requests).toHaveLength(3)
    expect(sleep).toHaveBeenCalledTimes(2)
    const [first, second] = sleep.mock.calls.map(([ms]) => ms)
    expect(first).toBeGreaterThanOrEqual(50)
    expect(first).toBeLessThanOrEqual(100)
    expect(second).toBeGreaterThanOrEqual(100)
    expect(second).toBeLessThanOrEqual(200)
  })

  it('gives up after `retries` retries and rejects with the last error', async () => {
    const { countersign, requests, sleep } = setup([
      json(500, errorBody('internal_error', 'a')),
      json(502, errorBody('internal_error', 'b')),
      json(503, errorBody('service_unavailable', 'c')),
    ])
    const error = await rejection(countersign.getUser({ userId: 'u' }))
    expect(error.statusCode).toBe(503)
    expect(error.errorCode).toBe('service_unavailable')
    expect(requests).toHaveLength(3)
    expect(sleep).toHaveBeenCalledTimes(2)
  })

  it('does not retry with retries: 0', async () => {
    const { countersign, requests } = setup([json(503, errorBody('service_unavailable', 'x'))], { retries: 0 })
    await rejection(countersign.getUser({ userId: 'u' }))
    expect(requests).toHaveLength(1)
  })

  it.each([400, 401, 403, 404, 409])('does not retry a %i', async (status) => {
    const { countersign, requests } = setup([json(status, errorBody('invalid_request', 'x'))])
    await rejection(countersign.getUser({ userId: 'u' }))
    expect(requests).toHaveLength(1)
  })

  it('retries PATCH and DELETE', async () => {
    const { countersign, requests } = setup([
      new TypeError('fetch failed'),
      json(200, { userId: 'u' }),
      json(503, errorBody('service_unavailable', 'x')),
      new Response(null, { status: 204 }),
    ])
    await countersign.updateUser({ userId: 'u', attributes: { displayName: 'Ada' } })
    await countersign.deleteUser({ userId: 'u' })
    expect(requests.map((r) => r.method)).toEqual(['PATCH', 'PATCH', 'DELETE', 'DELETE'])
  })

  it('treats a 404 on a retried DELETE as done: the lost attempt deleted it', async () => {
    const { countersign, requests } = setup([new TypeError('fetch failed'), json(404, errorBody('not_found', 'x'))])
    await expect(countersign.deleteAuthenticator({ userId: 'u', userAuthenticatorId: 'a' })).resolves.toBeUndefined()
    expect(requests).toHaveLength(2)
  })

  it('still rejects a 404 on the first DELETE', async () => {
    const { countersign } = setup([json(404, errorBody('not_found', 'x'))])
    expect((await rejection(countersign.deleteUser({ userId: 'u' }))).errorCode).toBe('not_found')
  })

  // Regression: validate consumes the token; a repeat after a lost answer would report a
  // successful challenge as token_already_used.
  it.each([
    ['a 503', () => json(503, errorBody('service_unavailable', 'x'))],
    ['a network error', () => new TypeError('fetch failed')],
  ])('never retries validateChallenge after %s', async (_, answer) => {
    const { countersign, requests, sleep } = setup([answer(), json(200, { isValid: true })])
    await rejection(countersign.validateChallenge({ token: 't' }))
    expect(requests).toHaveLength(1)
    expect(sleep).not.toHaveBeenCalled()
  })

  it('does not retry track without an idempotencyKey (a repeat would track twice)', async () => {
    const { countersign, requests } = setup([new TypeError('fetch failed'), json(200, trackAnswer)])
    const error = await rejection(countersign.track({ userId: 'u', action: 'a', attributes: { ipAddress: '203.0.113.9' } }))
    expect(error.errorCode).toBe('network_error')
    expect(requests).toHaveLength(1)
  })

  it('retries track with an idempotencyKey, sending the same body', async () => {
    const { countersign, requests } = setup([json(503, errorBody('service_unavailable', 'x')), json(200, trackAnswer)])
    await countersign.track({ userId: 'u', action: 'a', attributes: { idempotencyKey: 'pay-1' } })
    expect(requests).toHaveLength(2)
    expect(requests[1]!.body).toEqual({ idempotencyKey: 'pay-1' })
  })

  it('waits as long as Retry-After asks on a 503', async () => {
    const { countersign, sleep } = setup([
      json(503, errorBody('service_unavailable', 'x'), { 'retry-after': '2' }),
      json(200, { userId: 'u' }),
    ])
    await countersign.getUser({ userId: 'u' })
    expect(sleep).toHaveBeenCalledWith(2000)
  })

  it('honours Retry-After on a 429, else backs off', async () => {
    const { countersign, requests, sleep } = setup([
      json(429, errorBody('too_many_requests', 'x'), { 'retry-after': '1' }),
      json(429, errorBody('too_many_requests', 'x')),
      json(200, [] as unknown[]),
    ])
    await countersign.getAuthenticators({ userId: 'u' })
    expect(requests).toHaveLength(3)
    expect(sleep.mock.calls[0]).toEqual([1000])
    expect(sleep.mock.calls[1]![0]).toBeLessThanOrEqual(200)
  })

  it('gives up at once when Retry-After is longer than the cap', async () => {
    const { countersign, requests, sleep } = setup([
      json(503, errorBody('service_unavailable', 'x'), { 'retry-after': '60' }),
      json(200, { userId: 'u' }),
    ])
    const error = await rejection(countersign.getUser({ userId: 'u' }))
    expect(error.statusCode).toBe(503)
    expect(requests).toHaveLength(1)
    expect(sleep).not.toHaveBeenCalled()
  })
})

describe('timeouts', () => {
  it('rejects with timeout and aborts the request', async () => {
    const { countersign, requests } = setup([hangUntilAborted], { timeoutMs: 20, retries: 0 })
    const error = await rejection(countersign.getUser({ userId: 'u' }))
    expect(error.errorCode).toBe('timeout')
    expect(error.statusCode).toBe(0)
    expect(requests[0]!.signal?.aborted).toBe(true)
  })

  it('times out even when the injected fetch ignores the signal', async () => {
    const { countersign } = setup([() => new Promise<Response>(() => {})], { timeoutMs: 20, retries: 0 })
    expect((await rejection(countersign.getUser({ userId: 'u' }))).errorCode).toBe('timeout')
  })

  it('times out when the body stalls after the headers', async () => {
    const stalled = new Response(new ReadableStream({ start: () => {} }), { status: 200 })
    const { countersign } = setup([stalled], { timeoutMs: 20, retries: 0 })
    expect((await rejection(countersign.getUser({ userId: 'u' }))).errorCode).toBe('timeout')
  })

  it('retries an idempotent call after a timeout', async () => {
    const { countersign, requests } = setup([hangUntilAborted, json(200, { userId: 'u' })], { timeoutMs: 20 })
    expect(await countersign.getUser({ userId: 'u' })).toEqual({ userId: 'u' })
    expect(requests).toHaveLength(2)
  })

  it('does not retry validateChallenge after a timeout', async () => {
    const { countersign, requests } = setup([hangUntilAborted, json(200, { isValid: true })], { timeoutMs: 20 })
    expect((await rejection(countersign.validateChallenge({ token: 't' }))).errorCode).toBe('timeout')
    expect(requests).toHaveLength(1)
  })
})

describe('error mapping', () => {
  it('keeps the server code and description', async () => {
    const { countersign } = setup([json(401, errorBody('unauthorized', 'The credentials are missing, wrong or revoked.'))])
    const error = await rejection(countersign.getUser({ userId: 'u' }))
    expect(error).toBeInstanceOf(CountersignError)
    expect(error.statusCode).toBe(401)
    expect(error.errorCode).toBe('unauthorized')
    expect(error.errorDescription).toBe('The credentials are missing, wrong or revoked.')
  })

  it('reads `error` when `errorCode` is absent', async () => {
    const { countersign } = setup([json(409, { error: 'invalid_action_state' })])
    const error = await rejection(countersign.updateAction({ userId: 'u', action: 'a', idempotencyKey: 'k', attributes: { state: 'ALLOW' } }))
    expect(error.errorCode).toBe('invalid_action_state')
    expect(error.statusCode).toBe(409)
  })

  it('passes through a code this version does not know', async () => {
    const { countersign } = setup([json(400, errorBody('some_future_code', 'x'))])
    expect((await rejection(countersign.getUser({ userId: 'u' }))).errorCode).toBe('some_future_code')
  })

  it('derives a code from the status when a proxy answers with HTML', async () => {
    const html = () => new Response('<html>Bad Gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } })
    const { countersign } = setup([html(), html(), html()])
    const error = await rejection(countersign.getUser({ userId: 'u' }))
    expect(error.statusCode).toBe(502)
    expect(error.errorCode).toBe('service_unavailable')
  })

  it('maps a network error to network_error with the cause', async () => {
    const cause = new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) })
    const { countersign } = setup([cause], { retries: 0 })
    const error = await rejection(countersign.getUser({ userId: 'u' }))
    expect(error.errorCode).toBe('network_error')
    expect(error.statusCode).toBe(0)
    expect(error.cause).toBe(cause)
    expect(error.errorDescription).toContain('ECONNREFUSED')
  })

  it('maps a fetch that throws synchronously to network_error', async () => {
    const { countersign } = setup([], {
      retries: 0,
      fetch: (() => {
        throw new TypeError('boom')
      }) as typeof fetch,
    })
    expect((await rejection(countersign.getUser({ userId: 'u' }))).errorCode).toBe('network_error')
  })

  it.each([
    ['not JSON', () => new Response('ok', { status: 200 })],
    ['empty', () => new Response(null, { status: 204 })],
    ['a JSON string', () => json(200, 'ok')],
  ])('rejects a success answer that is %s with invalid_response, without retrying', async (_, answer) => {
    const { countersign, requests } = setup([answer(), answer()])
    const error = await rejection(countersign.getUser({ userId: 'u' }))
    expect(error.errorCode).toBe('invalid_response')
    expect(requests).toHaveLength(1)
  })
})

describe('the secret key', () => {
  const base64Credential = AUTHORIZATION.slice('Basic '.length)

  function expectNoSecret(error: CountersignError) {
    for (const text of [error.message, error.errorDescription ?? '', String(error), error.stack ?? '', JSON.stringify(error)]) {
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain(base64Credential)
    }
  }

  it('never appears in an error, even when the server echoes it', async () => {
    const { countersign } = setup([json(401, errorBody('unauthorized', `Key ${SECRET} (${base64Credential}) is revoked`))])
    const error = await rejection(countersign.getUser({ userId: 'u' }))
    expectNoSecret(error)
    expect(error.errorDescription).toBe('Key [redacted] ([redacted]) is revoked')
  })

  it('never appears in an error when fetch throws a message containing it', async () => {
    const { countersign } = setup([new TypeError(`could not send Authorization: Basic ${base64Credential} / ${SECRET}`)], { retries: 0 })
    expectNoSecret(await rejection(countersign.getUser({ userId: 'u' })))
  })

  it.each([
    ['a timeout', [hangUntilAborted]],
    ['a 500', [json(500, errorBody('internal_error', 'x'))]],
    ['an invalid answer', [new Response('<html>', { status: 200 })]],
  ] as [string, Answer[]][])('never appears in %s', async (_, answers) => {
    const { countersign } = setup(answers, { retries: 0, timeoutMs: 20 })
    expectNoSecret(await rejection(countersign.getUser({ userId: 'u' })))
  })
})

describe('with the real fetch over a socket', () => {
  it('sends what the fake fetch sees, and reads the answer', async () => {
    let seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: string } = {}
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(trackAnswer))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const countersign = new Countersign({ secretKey: SECRET, apiUrl: `http://127.0.0.1:${port}` })
      const result = await countersign.track({ userId: 'a/b', action: 'signIn', attributes: { idempotencyKey: 'k' } })
      expect(result).toEqual(trackAnswer)
      expect(seen.method).toBe('POST')
      expect(seen.url).toBe('/v1/users/a%2Fb/actions/signIn')
      expect(seen.headers?.authorization).toBe(AUTHORIZATION)
      expect(seen.headers?.['user-agent']).toBe(`countersign-node/${VERSION}`)
      expect(seen.headers?.['content-type']).toBe('application/json')
      expect(JSON.parse(seen.body ?? '')).toEqual({ idempotencyKey: 'k' })
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('reports a refused connection as network_error', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    await new Promise((resolve) => server.close(resolve))
    const countersign = new Countersign({ secretKey: SECRET, apiUrl: `http://127.0.0.1:${port}/v1`, retries: 0 })
    const error = await rejection(countersign.getUser({ userId: 'u' }))
    expect(error.errorCode).toBe('network_error')
    expect(error.errorDescription).toContain('ECONNREFUSED')
  })
})

describe('runtime dependencies', () => {
  // Guards the promise that no schema library (or anything else) reaches the runtime bundle:
  // outside tests, only relative modules may be imported for their values.
  it('imports only types from packages', () => {
    const dir = new URL('./', import.meta.url)
    const sources = readdirSync(dir).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
    expect(sources).toContain('countersign.ts')
    for (const name of sources) {
      const text = readFileSync(new URL(name, dir), 'utf8')
      const valueImports = [...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;'"]*?from\s+['"]([^'"]+)['"]/gm)]
        .map((match) => match[1]!)
        .filter((specifier) => !specifier.startsWith('./'))
      expect({ name, valueImports }).toEqual({ name, valueImports: [] })
      expect(text).not.toMatch(/\bimport\s*\(/)
    }
  })
})
