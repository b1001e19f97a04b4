// Server API (secret key): every path and field of PROTOCOL.md §2, each success and each refusal.
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ActionState } from '@countersign/protocol'
import { revokeApiKey } from '../src/domain/management.ts'
import { basicAuth, createHarness, newDevice, type Harness } from './support/harness.ts'
import {
  bearer,
  claimsOf,
  expectError,
  expectOk,
  rawRequest,
  tenantApi,
  uniqueId,
  type TenantApi,
} from './support/api.ts'

let h: Harness
let api: TenantApi

beforeAll(async () => {
  h = await createHarness()
  api = tenantApi(h, await h.newTenant())
})
afterAll(() => h.close())

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe('track', () => {
  it('answers every response field for an unenrolled user: ALLOW, isEnrolled false, a default-scope token', async () => {
    const userId = uniqueId('track-new')
    const body = expectOk(await api.server('POST', `/v1/users/${userId}/actions/signIn`, {}))
    expect(body).toEqual({
      idempotencyKey: expect.stringMatching(UUID),
      state: 'ALLOW',
      url: expect.stringMatching(/^http:\/\/countersign\.test\//),
      token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      isEnrolled: false,
      enrolledVerificationMethods: [],
      allowedVerificationMethods: expect.any(Array),
      ruleIds: [],
    })
    const claims = claimsOf(body.token)
    expect(claims).toMatchObject({ sub: userId, scope: 'read:authenticators', aud: api.tenant.tenantId })
    expect(claims.exp as number).toBe((claims.iat as number) + 600)
    expect(claims.other).toMatchObject({
      tenantId: api.tenant.tenantId,
      userId,
      actionCode: 'signIn',
      idempotencyKey: body.idempotencyKey,
    })
  })

  it('accepts a body-less track (no content at all) like an empty object', async () => {
    const res = await h.inject({
      method: 'POST',
      url: `/v1/users/${uniqueId('track-nobody')}/actions/signIn`,
      headers: { authorization: basicAuth(api.tenant.secretKey) },
    })
    expect(expectOk(res)).toMatchObject({ state: 'ALLOW', isEnrolled: false })
  })

  it('gives an enrolled user CHALLENGE_REQUIRED with their methods', async () => {
    const userId = uniqueId('track-enrolled')
    await api.enroll(userId)
    const body = await api.track(userId, 'authorizePayment', {
      custom: { amount: 120 },
      ipAddress: '203.0.113.7',
      userAgent: 'test-agent',
      deviceId: 'device-1',
      redirectUrl: 'https://app.example/done',
      locale: 'en-NZ',
    })
    expect(body).toMatchObject({
      state: 'CHALLENGE_REQUIRED',
      isEnrolled: true,
      enrolledVerificationMethods: ['IN_APP'],
      defaultVerificationMethod: 'IN_APP',
      ruleIds: [],
    })
    expect(body.allowedVerificationMethods).toContain('IN_APP')
  })

  it('lets a tenant make ALLOW the default outcome for enrolled users', async () => {
    const lenient = tenantApi(h, await h.newTenant({ defaultOutcome: 'ALLOW' }))
    const userId = uniqueId('track-lenient')
    expect(await lenient.track(userId)).toMatchObject({ state: 'ALLOW', isEnrolled: false })
    await lenient.enroll(userId)
    expect(await lenient.track(userId)).toMatchObject({ state: 'ALLOW', isEnrolled: true, enrolledVerificationMethods: ['IN_APP'] })
  })

  it('grants the scopes asked for and refuses an unknown scope', async () => {
    const userId = uniqueId('track-scope')
    const { token } = await api.track(userId, 'addAuthenticator', { scope: 'add:authenticators read:authenticators' })
    expect(claimsOf(token).scope.split(' ').sort()).toEqual(['add:authenticators', 'read:authenticators'])
    expectError(await api.server('POST', `/v1/users/${userId}/actions/x`, { scope: 'admin:everything' }), 400, 'invalid_request')
    expectError(await api.server('POST', `/v1/users/${userId}/actions/x`, { scope: 'read:authenticators bogus' }), 400, 'invalid_request')
  })

  it('returns the same action when an idempotency key is reused, created once', async () => {
    const userId = uniqueId('track-idem')
    const idempotencyKey = uniqueId('idem')
    const first = await api.track(userId, 'authorizePayment', { idempotencyKey })
    expect(first).toMatchObject({ idempotencyKey, state: 'ALLOW' })
    // Enrolling in between would change a new action's outcome; the existing one stays as it was.
    await api.enroll(userId)
    const again = await api.track(userId, 'authorizePayment', { idempotencyKey })
    expect(again).toMatchObject({ idempotencyKey, state: 'ALLOW' })
    const list = expectOk(await api.server('GET', `/v1/users/${userId}/actions?codes=authorizePayment`))
    expect(list.filter((a: { idempotencyKey: string }) => a.idempotencyKey === idempotencyKey)).toHaveLength(1)
  })

  it('refuses an idempotency key reused for another user or another action with 409 conflict', async () => {
    const userId = uniqueId('track-idem-owner')
    const idempotencyKey = uniqueId('idem')
    await api.track(userId, 'authorizePayment', { idempotencyKey, email: 'owner@example.com' })
    const someoneElse = uniqueId('someone-else')
    expectError(
      await api.server('POST', `/v1/users/${someoneElse}/actions/authorizePayment`, { idempotencyKey, email: 'x@example.com' }),
      409,
      'conflict',
    )
    expectError(await api.server('POST', `/v1/users/${userId}/actions/signIn`, { idempotencyKey, email: 'changed@example.com' }), 409, 'conflict')
    // A refused track has no effect: no user is created and no attribute changes.
    expectError(await api.server('GET', `/v1/users/${someoneElse}`), 404, 'not_found')
    expect(expectOk(await api.server('GET', `/v1/users/${userId}`)).email).toBe('owner@example.com')
    const action = expectOk(await api.server('GET', `/v1/users/${userId}/actions/authorizePayment/${idempotencyKey}`))
    expect(action).toMatchObject({ userId, actionCode: 'authorizePayment', state: 'ALLOW' })
  })

  it('refuses bad action codes, oversized or unprintable user IDs and bad fields with 400', async () => {
    for (const action of ['has%20space', 'semi%3Bcolon', 'a'.repeat(65), 'dot.ted']) {
      expectError(await api.server('POST', `/v1/users/u1/actions/${action}`, {}), 400, 'invalid_request')
    }
    expectError(await api.server('POST', `/v1/users/${'u'.repeat(256)}/actions/signIn`, {}), 400, 'invalid_request')
    expectOk(await api.server('POST', `/v1/users/${'u'.repeat(255)}/actions/signIn`, {}))
    expectError(await api.server('POST', `/v1/users/bad%0Auser/actions/signIn`, {}), 400, 'invalid_request')
    expectError(await api.server('POST', '/v1/users/u1/actions/signIn', { custom: 'not an object' }), 400, 'invalid_request')
    expectError(await api.server('POST', '/v1/users/u1/actions/signIn', { redirectUrl: 'not a url' }), 400, 'invalid_request')
    // The hosted page redirects here: a script or data URL would run in the tenant's page.
    for (const redirectUrl of ['javascript:alert(1)', 'data:text/html,hi', 'ftp://files.example/x']) {
      expectError(await api.server('POST', '/v1/users/u1/actions/signIn', { redirectUrl }), 400, 'invalid_request')
    }
    expectOk(await api.server('POST', '/v1/users/u1/actions/signIn', { redirectUrl: 'https://shop.example/done' }))
    expectError(await api.server('POST', '/v1/users/u1/actions/signIn', { idempotencyKey: 'has space' }), 400, 'invalid_request')
  })

  it('refuses custom data nested too deeply for the JSON encoder with 400, not a 500 (found by fuzzing)', async () => {
    const deep = `{"custom":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`
    expectError(await h.inject({ method: 'POST', url: '/v1/users/deep/actions/signIn', headers: { authorization: basicAuth(api.tenant.secretKey), 'content-type': 'application/json' }, payload: deep }), 400, 'invalid_request')
  })

  it('refuses the user ID ".." (sent raw over a socket, as a non-normalising client would)', async () => {
    const { harness, port } = await listening()
    try {
      const tenant = await harness.newTenant()
      const headers = { authorization: basicAuth(tenant.secretKey), 'content-type': 'application/json' }
      for (const path of ['/v1/users/../actions/signIn', '/v1/users/%2E%2E/actions/signIn', '/v1/users/./actions/signIn']) {
        const res = await rawRequest(port, 'POST', path, headers, '{}')
        expect(res.statusCode, path).toBe(400)
        expect(JSON.parse(res.body), path).toMatchObject({ error: 'invalid_request', errorCode: 'invalid_request' })
      }
      const getUser = await rawRequest(port, 'GET', '/v1/users/..', { authorization: basicAuth(tenant.secretKey) })
      expect(getUser.statusCode).toBe(400)
    } finally {
      await harness.close()
    }
  })
})

describe('get and update an action', () => {
  it('returns the action fields', async () => {
    const userId = uniqueId('get-action')
    await api.enroll(userId)
    const { idempotencyKey } = await api.track(userId, 'authorizePayment', { ipAddress: '198.51.100.1' })
    const action = expectOk(await api.server('GET', `/v1/users/${userId}/actions/authorizePayment/${idempotencyKey}`))
    expect(action).toMatchObject({
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey,
      state: 'CHALLENGE_REQUIRED',
      stateUpdatedAt: expect.stringMatching(ISO),
      createdAt: expect.stringMatching(ISO),
      ruleIds: [],
      rules: [],
    })
    expect(action).not.toHaveProperty('verificationMethod')
  })

  it('answers 404 not_found for an unknown key, a key under another action code or another user', async () => {
    const userId = uniqueId('get-action-404')
    const { idempotencyKey } = await api.track(userId, 'authorizePayment')
    expectError(await api.server('GET', `/v1/users/${userId}/actions/authorizePayment/${uniqueId('nope')}`), 404, 'not_found')
    expectError(await api.server('GET', `/v1/users/${userId}/actions/signIn/${idempotencyKey}`), 404, 'not_found')
    expectError(await api.server('GET', `/v1/users/${uniqueId('other')}/actions/authorizePayment/${idempotencyKey}`), 404, 'not_found')
    expectError(
      await api.server('PATCH', `/v1/users/${userId}/actions/authorizePayment/${uniqueId('nope')}`, { state: 'BLOCK' }),
      404,
      'not_found',
    )
  })

  it('sets the state with PATCH and returns the action; refuses an invalid state with 400', async () => {
    const userId = uniqueId('patch-action')
    const tracked = await api.track(userId, 'authorizePayment')
    const url = `/v1/users/${userId}/actions/authorizePayment/${tracked.idempotencyKey}`
    const before = expectOk(await api.server('GET', url))
    h.clock.advance(1000)
    const patched = expectOk(await api.server('PATCH', url, { state: 'REVIEW_REQUIRED' }))
    expect(patched).toMatchObject({ userId, actionCode: 'authorizePayment', idempotencyKey: tracked.idempotencyKey, state: 'REVIEW_REQUIRED' })
    expect(Date.parse(patched.stateUpdatedAt)).toBeGreaterThan(Date.parse(before.stateUpdatedAt))
    expect(expectOk(await api.server('GET', url)).state).toBe('REVIEW_REQUIRED')

    expectError(await api.server('PATCH', url, { state: 'APPROVED' }), 400, 'invalid_request')
    expectError(await api.server('PATCH', url, {}), 400, 'invalid_request')
    expect(expectOk(await api.server('GET', url)).state).toBe('REVIEW_REQUIRED')
  })
})

describe('query actions', () => {
  it('lists newest first with every field, filtered by codes and state', async () => {
    const userId = uniqueId('query-actions')
    const a = await api.track(userId, 'signIn', { ipAddress: '192.0.2.1', userAgent: 'ua-1' })
    h.clock.advance(1000)
    const b = await api.track(userId, 'authorizePayment')
    h.clock.advance(1000)
    const c = await api.track(userId, 'changeEmail')
    expectOk(await api.server('PATCH', `/v1/users/${userId}/actions/authorizePayment/${b.idempotencyKey}`, { state: 'BLOCK' }))

    const all = expectOk(await api.server('GET', `/v1/users/${userId}/actions`))
    expect(all.map((x: { idempotencyKey: string }) => x.idempotencyKey)).toEqual([c.idempotencyKey, b.idempotencyKey, a.idempotencyKey])
    expect(all[2]).toEqual({
      actionCode: 'signIn',
      idempotencyKey: a.idempotencyKey,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
      state: 'ALLOW',
      stateUpdatedAt: expect.stringMatching(ISO),
      ipAddress: '192.0.2.1',
      userAgent: 'ua-1',
    })

    const codes = expectOk(await api.server('GET', `/v1/users/${userId}/actions?codes=signIn,changeEmail`))
    expect(codes.map((x: { actionCode: string }) => x.actionCode)).toEqual(['changeEmail', 'signIn'])
    const blocked = expectOk(await api.server('GET', `/v1/users/${userId}/actions?state=BLOCK`))
    expect(blocked.map((x: { idempotencyKey: string }) => x.idempotencyKey)).toEqual([b.idempotencyKey])
    const none = expectOk(await api.server('GET', `/v1/users/${userId}/actions?codes=signIn&state=BLOCK`))
    expect(none).toEqual([])
    expect(expectOk(await api.server('GET', `/v1/users/${uniqueId('nobody')}/actions`))).toEqual([])
  })

  it('honours fromDate within the window and clamps an older one to 30 days', async () => {
    const tenant = tenantApi(h, await h.newTenant())
    const userId = uniqueId('query-window')
    const old = await tenant.track(userId, 'signIn')
    const oldAt = h.clock()
    h.clock.advance(31 * 86_400_000)
    const recent = await tenant.track(userId, 'signIn')
    const keys = (list: Array<{ idempotencyKey: string }>) => list.map((x) => x.idempotencyKey)

    const fortyDaysAgo = new Date(h.clock() - 40 * 86_400_000).toISOString()
    expect(keys(expectOk(await tenant.server('GET', `/v1/users/${userId}/actions?fromDate=${fortyDaysAgo}`)))).toEqual([
      recent.idempotencyKey,
    ])
    const justBeforeOld = new Date(oldAt - 60_000).toISOString()
    expect(keys(expectOk(await tenant.server('GET', `/v1/users/${userId}/actions?fromDate=${justBeforeOld}`)))).not.toContain(
      old.idempotencyKey,
    )
    expect(keys(expectOk(await tenant.server('GET', `/v1/users/${userId}/actions`)))).toEqual([recent.idempotencyKey])
    const future = new Date(h.clock() + 60_000).toISOString()
    expect(expectOk(await tenant.server('GET', `/v1/users/${userId}/actions?fromDate=${future}`))).toEqual([])
  })

  it('refuses an invalid fromDate or state with 400', async () => {
    for (const query of ['fromDate=yesterday', 'fromDate=2024-13-45T00:00:00Z', 'state=SOMETIMES']) {
      expectError(await api.server('GET', `/v1/users/u1/actions?${query}`), 400, 'invalid_request')
    }
  })
})

describe('validate', () => {
  it('is valid only for CHALLENGE_SUCCEEDED, and answers the action fields', async () => {
    const userId = uniqueId('validate-ok')
    const { device } = await api.enroll(userId)
    const { token, idempotencyKey } = await api.completeFlow(userId, device)
    const body = expectOk(await api.server('POST', '/v1/validate', { token, userId, action: 'authorizePayment' }))
    expect(body).toEqual({
      isValid: true,
      state: 'CHALLENGE_SUCCEEDED',
      stateUpdatedAt: expect.stringMatching(ISO),
      userId,
      action: 'authorizePayment',
      actionCode: 'authorizePayment',
      idempotencyKey,
      verificationMethod: 'IN_APP',
    })
  })

  it('answers isValid false (and no error) with the state for every other state', async () => {
    const userId = uniqueId('validate-states')
    for (const state of ActionState.options) {
      const { token, idempotencyKey } = await api.track(userId, 'authorizePayment')
      expectOk(await api.server('PATCH', `/v1/users/${userId}/actions/authorizePayment/${idempotencyKey}`, { state }))
      const body = expectOk(await api.server('POST', '/v1/validate', { token }))
      expect(body, state).toMatchObject({ isValid: state === 'CHALLENGE_SUCCEEDED', state, idempotencyKey, userId })
      expect(body).not.toHaveProperty('error')
    }
    // The track token of an unverified action is not valid either.
    const unverified = await api.track(userId, 'authorizePayment')
    expect(expectOk(await api.server('POST', '/v1/validate', { token: unverified.token }))).toMatchObject({
      isValid: false,
      state: 'ALLOW',
    })
  })

  it('refuses a wrong user, a wrong action, a tampered token and reuse', async () => {
    const userId = uniqueId('validate-refusals')
    const { device } = await api.enroll(userId)
    const { token } = await api.completeFlow(userId, device)
    const validate = async (payload: object) => expectOk(await api.server('POST', '/v1/validate', payload))

    expect(await validate({ token, userId: 'someone-else' })).toEqual({ isValid: false, error: 'user_mismatch' })
    expect(await validate({ token, action: 'signIn' })).toEqual({ isValid: false, error: 'action_mismatch' })
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11)
    expect(await validate({ token: `${header}.${payload}.${flipped}` })).toEqual({ isValid: false, error: 'invalid_token' })
    const claims = claimsOf(token)
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: 'attacker', other: { ...claims.other, userId: 'attacker' } })).toString(
      'base64url',
    )
    expect(await validate({ token: `${header}.${forgedPayload}.${signature}` })).toEqual({ isValid: false, error: 'invalid_token' })
    expect(await validate({ token: 'not-a-jwt' })).toEqual({ isValid: false, error: 'invalid_token' })

    expect(await validate({ token, userId, action: 'authorizePayment' })).toMatchObject({ isValid: true })
    expect(await validate({ token, userId, action: 'authorizePayment' })).toEqual({ isValid: false, error: 'token_already_used' })
  })

  it('refuses an expired token and a token of another tenant', async () => {
    const userId = uniqueId('validate-expired')
    const { device } = await api.enroll(userId)
    const { token } = await api.completeFlow(userId, device)
    h.clock.advance(11 * 60_000)
    expect(expectOk(await api.server('POST', '/v1/validate', { token }))).toEqual({ isValid: false, error: 'expired_token' })

    const other = tenantApi(h, await h.newTenant())
    const { device: otherDevice } = await other.enroll(userId)
    const { token: foreign } = await other.completeFlow(userId, otherDevice)
    expect(expectOk(await api.server('POST', '/v1/validate', { token: foreign }))).toEqual({ isValid: false, error: 'invalid_token' })
    // Refused here, the token is still good at its own tenant.
    expect(expectOk(await other.server('POST', '/v1/validate', { token: foreign }))).toMatchObject({ isValid: true })
  })

  it('refuses a malformed validate request with 400', async () => {
    expectError(await api.server('POST', '/v1/validate', {}), 400, 'invalid_request')
    expectError(await api.server('POST', '/v1/validate', { token: '' }), 400, 'invalid_request')
    expectError(await api.server('POST', '/v1/validate', { token: 'x', userId: '..' }), 400, 'invalid_request')
    expectError(await api.server('POST', '/v1/validate', { token: 'x', action: 'not valid!' }), 400, 'invalid_request')
  })
})

describe('users', () => {
  it('gets a user created by track, with enrollment fields', async () => {
    const userId = uniqueId('get-user')
    await api.track(userId, 'signIn', { email: 'a@example.com', phoneNumber: '+15550100', username: 'alice' })
    expect(expectOk(await api.server('GET', `/v1/users/${userId}`))).toEqual({
      userId,
      isEnrolled: false,
      email: 'a@example.com',
      emailVerified: false,
      phoneNumber: '+15550100',
      phoneNumberVerified: false,
      username: 'alice',
      enrolledVerificationMethods: [],
      allowedVerificationMethods: expect.any(Array),
    })
    await api.enroll(userId)
    expect(expectOk(await api.server('GET', `/v1/users/${userId}`))).toMatchObject({
      isEnrolled: true,
      enrolledVerificationMethods: ['IN_APP'],
      defaultVerificationMethod: 'IN_APP',
    })
    expectError(await api.server('GET', `/v1/users/${uniqueId('nobody')}`), 404, 'not_found')
  })

  it('refuses NUL characters and lone surrogates, which PostgreSQL cannot store, with 400, not a 500 (found by fuzzing)', async () => {
    const userId = uniqueId('unstorable')
    for (const body of [{ displayName: 'a\u0000b' }, { custom: { '\udc00': '' } }, { custom: { a: ['\u0000'] } }, { email: '\ud800@example.com' }]) {
      expectError(await api.server('PATCH', `/v1/users/${userId}`, body), 400, 'invalid_request')
    }
    expectError(await api.server('POST', `/v1/users/${userId}/actions/signIn`, { userAgent: 'a\u0000' }), 400, 'invalid_request')
    expectError(await api.server('GET', `/v1/users/${userId}/actions?codes=a%00b`), 400, 'invalid_request')
    expectError(await api.server('GET', '/v1/users?email=a%00b'), 400, 'invalid_request')
  })

  it('updates only the attributes given and keeps the others', async () => {
    const userId = uniqueId('patch-user')
    const first = expectOk(
      await api.server('PATCH', `/v1/users/${userId}`, {
        email: 'b@example.com',
        username: 'bob',
        displayName: 'Bob',
        custom: { tier: 'gold' },
        locale: 'de-DE',
      }),
    )
    expect(first).toMatchObject({ userId, email: 'b@example.com', username: 'bob', displayName: 'Bob', custom: { tier: 'gold' }, locale: 'de-DE' })
    const second = expectOk(await api.server('PATCH', `/v1/users/${userId}`, { phoneNumber: '+15550111' }))
    expect(second).toMatchObject({
      userId,
      email: 'b@example.com',
      username: 'bob',
      displayName: 'Bob',
      custom: { tier: 'gold' },
      locale: 'de-DE',
      phoneNumber: '+15550111',
    })
    expect(expectOk(await api.server('GET', `/v1/users/${userId}`))).toMatchObject({
      email: 'b@example.com',
      phoneNumber: '+15550111',
      username: 'bob',
      displayName: 'Bob',
      custom: { tier: 'gold' },
    })
    expectError(await api.server('PATCH', `/v1/users/${userId}`, { email: 'x'.repeat(400) }), 400, 'invalid_request')
    expectError(await api.server('PATCH', `/v1/users/${userId}`, { custom: [1, 2] }), 400, 'invalid_request')
  })

  it('deletes a user with their authenticators and actions', async () => {
    const userId = uniqueId('delete-user')
    const { device, credential } = await api.enroll(userId)
    await api.completeFlow(userId, device)
    const pending = await api.track(userId, 'authorizePayment')
    expect(expectOk(await api.server('GET', `/v1/users/${userId}/actions`)).length).toBeGreaterThan(0)

    const deleted = await api.server('DELETE', `/v1/users/${userId}`)
    expect(deleted.statusCode).toBe(204)
    expect(deleted.body).toBe('')

    expectError(await api.server('GET', `/v1/users/${userId}`), 404, 'not_found')
    expect(expectOk(await api.server('GET', `/v1/users/${userId}/actions`))).toEqual([])
    expect(expectOk(await api.server('GET', `/v1/users/${userId}/authenticators`))).toEqual([])
    expectError(
      await api.server('DELETE', `/v1/users/${userId}/authenticators/${credential.userAuthenticatorId}`),
      404,
      'not_found',
    )
    // The device's key and the user's pending token are worthless now.
    const challengeId = await api.challenge(api.tenantBasic, 'signIn')
    expectError(await api.verify(api.tenantBasic, challengeId, device), 401, 'invalid_credential')
    const lookup = await api.client(
      'GET',
      `/v1/client/user-authenticators/in-app?publicKey=${encodeURIComponent(device.publicKey)}`,
      api.tenantBasic,
    )
    expectError(lookup, 404, 'not_found')
    expect(expectOk(await api.server('POST', '/v1/validate', { token: pending.token }))).toMatchObject({ isValid: false })

    expectError(await api.server('DELETE', `/v1/users/${userId}`), 404, 'not_found')
  })

  it('queries users by attribute and pages with limit and lastEvaluatedUserId', async () => {
    const tenant = tenantApi(h, await h.newTenant())
    for (const [i, name] of ['ann', 'ben', 'cat', 'dan', 'eve'].entries()) {
      expectOk(
        await tenant.server('PATCH', `/v1/users/user-${i}`, { username: name, email: `${name}@example.com`, phoneNumber: `+1555010${i}` }),
      )
    }
    const ids = (body: { users: Array<{ userId: string }> }) => body.users.map((u) => u.userId)

    const byUsername = expectOk(await tenant.server('GET', '/v1/users?username=cat'))
    expect(byUsername).toEqual({
      users: [{ userId: 'user-2', username: 'cat', email: 'cat@example.com', emailVerified: false, phoneNumber: '+15550102', phoneNumberVerified: false }],
    })
    expect(ids(expectOk(await tenant.server('GET', '/v1/users?email=dan%40example.com')))).toEqual(['user-3'])
    expect(ids(expectOk(await tenant.server('GET', '/v1/users?phoneNumber=%2B15550104')))).toEqual(['user-4'])
    expect(ids(expectOk(await tenant.server('GET', '/v1/users?username=nobody')))).toEqual([])

    const page1 = expectOk(await tenant.server('GET', '/v1/users?limit=2'))
    expect(ids(page1)).toEqual(['user-0', 'user-1'])
    expect(page1.lastEvaluatedUserId).toBe('user-1')
    const page2 = expectOk(await tenant.server('GET', `/v1/users?limit=2&lastEvaluatedUserId=${page1.lastEvaluatedUserId}`))
    expect(ids(page2)).toEqual(['user-2', 'user-3'])
    expect(page2.lastEvaluatedUserId).toBe('user-3')
    const page3 = expectOk(await tenant.server('GET', `/v1/users?limit=2&lastEvaluatedUserId=${page2.lastEvaluatedUserId}`))
    expect(ids(page3)).toEqual(['user-4'])
    expect(page3).not.toHaveProperty('lastEvaluatedUserId')
    expect(ids(expectOk(await tenant.server('GET', '/v1/users')))).toEqual(['user-0', 'user-1', 'user-2', 'user-3', 'user-4'])

    for (const query of ['limit=0', 'limit=101', 'limit=many']) {
      expectError(await tenant.server('GET', `/v1/users?${query}`), 400, 'invalid_request')
    }
  })
})

describe('authenticators', () => {
  it('lists a user’s authenticators with their fields, including lock state', async () => {
    const userId = uniqueId('authenticators')
    expect(expectOk(await api.server('GET', `/v1/users/${userId}/authenticators`))).toEqual([])
    const { device, credential } = await api.enroll(userId)
    const list = expectOk(await api.server('GET', `/v1/users/${userId}/authenticators`))
    expect(list).toEqual([
      {
        userId,
        userAuthenticatorId: credential.userAuthenticatorId,
        verificationMethod: 'IN_APP',
        createdAt: expect.stringMatching(ISO),
        verifiedAt: expect.stringMatching(ISO),
        displayName: 'Pixel 8',
        deviceName: 'Pixel 8',
        devicePlatform: 'android',
        userAuthenticationRequired: false,
        isLocked: false,
        failedAttempts: 0,
      },
    ])

    const { token } = await api.track(userId)
    const challengeId = await api.challenge(bearer(token))
    expectError(await api.verify(bearer(token), challengeId, device, newDevice().sign(challengeId)), 401, 'invalid_signature')
    expect(expectOk(await api.server('GET', `/v1/users/${userId}/authenticators`))[0]).toMatchObject({ failedAttempts: 1, isLocked: false })

    expectOk(await api.verify(bearer(token), challengeId, device))
    expect(expectOk(await api.server('GET', `/v1/users/${userId}/authenticators`))[0]).toMatchObject({
      failedAttempts: 0,
      isLocked: false,
      lastVerifiedAt: expect.stringMatching(ISO),
    })
  })

  it('answers 404 for an authenticator ID of 36 hex digits that is not a UUID, not a 500 from the uuid cast (found by fuzzing)', async () => {
    expectError(await api.server('DELETE', `/v1/users/${uniqueId('hex-id')}/authenticators/${'0'.repeat(36)}`), 404, 'not_found')
  })

  it('deletes an authenticator: its signatures fail at once', async () => {
    const userId = uniqueId('delete-authenticator')
    const { device, credential } = await api.enroll(userId)
    const { token } = await api.track(userId)
    const challengeId = await api.challenge(bearer(token))

    const deleted = await api.server('DELETE', `/v1/users/${userId}/authenticators/${credential.userAuthenticatorId}`)
    expect(deleted.statusCode).toBe(204)
    expect(deleted.body).toBe('')
    expect(expectOk(await api.server('GET', `/v1/users/${userId}/authenticators`))).toEqual([])
    expectError(await api.verify(bearer(token), challengeId, device), 401, 'invalid_credential')
    expect(expectOk(await api.server('GET', `/v1/users/${userId}`))).toMatchObject({ isEnrolled: false })

    expectError(await api.server('DELETE', `/v1/users/${userId}/authenticators/${credential.userAuthenticatorId}`), 404, 'not_found')
    expectError(await api.server('DELETE', `/v1/users/${userId}/authenticators/not-a-uuid`), 404, 'not_found')
  })

  it('does not delete an authenticator through another user’s path', async () => {
    const owner = uniqueId('auth-owner')
    const { credential } = await api.enroll(owner)
    const intruder = uniqueId('auth-intruder')
    await api.track(intruder)
    expectError(await api.server('DELETE', `/v1/users/${intruder}/authenticators/${credential.userAuthenticatorId}`), 404, 'not_found')
    expect(expectOk(await api.server('GET', `/v1/users/${owner}/authenticators`))).toHaveLength(1)
  })
})

describe('authentication', () => {
  const path = '/v1/users/auth-user'

  it('refuses a missing Authorization header with 401 and WWW-Authenticate', async () => {
    const res = await h.inject({ method: 'GET', url: path })
    expectError(res, 401, 'unauthorized')
    expect(res.headers['www-authenticate']).toMatch(/^Basic /)
  })

  it('refuses wrong, malformed, management, Bearer and tenant-ID credentials with 401', async () => {
    const t = api.tenant
    const wrongSecret = t.secretKey.slice(0, -4) + (t.secretKey.endsWith('AAAA') ? 'BBBB' : 'AAAA')
    const candidates = {
      'wrong secret': basicAuth(wrongSecret),
      'garbage key': basicAuth('not-a-key'),
      'management key': basicAuth(t.managementKey),
      'tenant ID': basicAuth(t.tenantId),
      'key as password': `Basic ${Buffer.from(`:${t.secretKey}`).toString('base64')}`,
      'Bearer token': bearer((await api.track(uniqueId('auth-bearer'))).token),
      'secret as Bearer': bearer(t.secretKey),
      'bad base64': 'Basic %%%%',
    }
    for (const [label, authorization] of Object.entries(candidates)) {
      const res = await h.inject({ method: 'GET', url: path, headers: { authorization } })
      expect(res.statusCode, label).toBe(401)
      expectError(res, 401, 'unauthorized')
    }
  })

  it('refuses a secret key whose tenant part is not a UUID with 401, not a 500 from the uuid cast (found by fuzzing)', async () => {
    expectError(await h.inject({ method: 'GET', url: path, headers: { authorization: basicAuth(api.tenant.secretKey.replace(/^cs_sk_(.{8})-/, (_, head: string) => `cs_sk_${head}0`)) } }), 401, 'unauthorized')
  })

  it('refuses a revoked key at once', async () => {
    const tenant = await h.newTenant()
    const auth = { authorization: basicAuth(tenant.secretKey) }
    expectOk(await h.inject({ method: 'POST', url: '/v1/users/revoke-user/actions/signIn', headers: auth, payload: {} }))
    await revokeApiKey(h.deps, tenant.tenantId, 'test', tenant.secretKeyId)
    expectError(await h.inject({ method: 'POST', url: '/v1/users/revoke-user/actions/signIn', headers: auth, payload: {} }), 401, 'unauthorized')
    expectError(await h.inject({ method: 'GET', url: '/v1/users/revoke-user', headers: auth }), 401, 'unauthorized')
  })
})

describe('HTTP conventions', () => {
  it('refuses a body over the limit with 413 payload_too_large', async () => {
    const res = await api.server('POST', '/v1/users/big/actions/signIn', { custom: { blob: 'x'.repeat(70_000) } })
    expectError(res, 413, 'payload_too_large')
  })

  it('refuses a non-JSON content type with 415 unsupported_media_type', async () => {
    for (const [contentType, payload] of [
      ['application/x-www-form-urlencoded', 'scope=add%3Aauthenticators'],
      ['application/xml', '<track/>'],
      ['text/plain', '{"scope":"read:authenticators"}'],
      ['multipart/form-data; boundary=x', '--x--'],
    ] as const) {
      const res = await h.inject({
        method: 'POST',
        url: '/v1/users/media/actions/signIn',
        headers: { authorization: basicAuth(api.tenant.secretKey), 'content-type': contentType },
        payload,
      })
      expect(res.statusCode, contentType).toBe(415)
      expectError(res, 415, 'unsupported_media_type')
    }
  })

  it('treats an empty body sent as application/json as no body (the Python SDK’s DELETE)', async () => {
    // authsignal-python sets Content-Type: application/json on its session, so its DELETEs
    // arrive with that header and Content-Length: 0. Sent over a socket, exactly so.
    const { harness, port } = await listening()
    try {
      const tenant = tenantApi(harness, await harness.newTenant())
      const userId = uniqueId('python-delete')
      const { credential } = await tenant.enroll(userId)
      const headers = { authorization: basicAuth(tenant.tenant.secretKey), 'content-type': 'application/json', 'content-length': '0' }
      const removed = await rawRequest(port, 'DELETE', `/v1/users/${userId}/authenticators/${credential.userAuthenticatorId}`, headers)
      expect(removed.statusCode).toBe(204)
      const deleted = await rawRequest(port, 'DELETE', `/v1/users/${userId}`, headers)
      expect(deleted.statusCode).toBe(204)
      const tracked = await rawRequest(port, 'POST', `/v1/users/${userId}/actions/signIn`, headers)
      expect(tracked.statusCode).toBe(200)
      expect(JSON.parse(tracked.body)).toMatchObject({ state: 'ALLOW', isEnrolled: false })
      const validate = await rawRequest(port, 'POST', '/v1/validate', headers)
      expect(validate.statusCode).toBe(400)
      expect(JSON.parse(validate.body)).toMatchObject({ errorCode: 'invalid_request' })
    } finally {
      await harness.close()
    }
  })

  it('refuses malformed JSON with 400 invalid_request and does not echo it', async () => {
    const res = await h.inject({
      method: 'POST',
      url: '/v1/users/malformed/actions/signIn',
      headers: { authorization: basicAuth(api.tenant.secretKey), 'content-type': 'application/json' },
      payload: '{"scope": "secret-marker-123", ',
    })
    expectError(res, 400, 'invalid_request')
    expect(res.body).not.toContain('secret-marker-123')
  })

  it('answers a path that is not UTF-8 or has a segment over 512 chars with a coded 400 that does not quote the path (found by fuzzing)', async () => {
    for (const url of ['/v1/users/%F0%9F/authenticators', `/v1/users/${'a'.repeat(600)}/actions/signIn`]) {
      const res = await api.server('GET', url)
      expectError(res, 400, 'invalid_request')
      expect(res.body).not.toContain('/v1/users/')
    }
  })

  it('answers an unknown route with 404 not_found', async () => {
    expectError(await api.server('GET', '/v1/no/such/route'), 404, 'not_found')
    expectError(await api.server('POST', '/v1/users', {}), 404, 'not_found')
    expectError(await h.inject({ method: 'GET', url: '/nothing-here' }), 404, 'not_found')
  })

  it('sends no-store and nosniff on /v1 answers, successes and refusals alike', async () => {
    const responses = [
      await api.server('POST', `/v1/users/${uniqueId('headers')}/actions/signIn`, {}),
      await api.server('GET', `/v1/users/${uniqueId('nobody')}`),
      await h.inject({ method: 'GET', url: '/v1/users/x' }),
      await api.server('GET', '/v1/no/such/route'),
    ]
    for (const res of responses) {
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.headers['x-content-type-options']).toBe('nosniff')
    }
  })

  it('sends no CORS headers on the Server API, even to a request with an Origin', async () => {
    const origin = 'https://evil.example'
    const get = await h.inject({ method: 'GET', url: '/v1/users/cors-user', headers: { authorization: basicAuth(api.tenant.secretKey), origin } })
    const post = await h.inject({
      method: 'POST',
      url: '/v1/users/cors-user/actions/signIn',
      headers: { authorization: basicAuth(api.tenant.secretKey), origin },
      payload: {},
    })
    const preflight = await h.inject({
      method: 'OPTIONS',
      url: '/v1/users/cors-user/actions/signIn',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    })
    expect(post.statusCode).toBe(200)
    for (const res of [get, post, preflight]) {
      const corsHeaders = Object.keys(res.headers).filter((name) => name.startsWith('access-control-'))
      expect(corsHeaders).toEqual([])
    }
  })

  it('never sends a stack trace or a 500 for odd input', async () => {
    const odd = [
      await api.server('POST', '/v1/users/%E0%A4%A/actions/signIn', {}),
      await api.server('GET', '/v1/users/x/actions/signIn/%FF'),
      await api.server('POST', '/v1/validate', { token: 'a.b.c' }),
      await api.server('POST', '/v1/validate', { token: `${'e'.repeat(20)}.${'e'.repeat(20)}.${'e'.repeat(20)}` }),
    ]
    for (const res of odd) {
      expect(res.statusCode).toBeLessThan(500)
      expect(res.body).not.toMatch(/\n\s+at |\.ts:\d+/)
    }
  })
})

/** A second app on a real socket, for requests app.inject cannot express. */
async function listening(): Promise<{ harness: Harness; port: number }> {
  const harness = await createHarness()
  await harness.app.listen({ port: 0, host: '127.0.0.1' })
  return { harness, port: (harness.app.server.address() as AddressInfo).port }
}
