// The real @authsignal/node SDK, pointed at Countersign over a socket, works unchanged. The
// device side (enroll, challenge, verify) goes over raw HTTP as a phone would send it.
import type { AddressInfo } from 'node:net'
import { Authsignal, AuthsignalError, UserActionState } from '@authsignal/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CreatedTenant } from '../src/domain/tenants.ts'
import { createHarness, newDevice, type Harness, type TestDevice } from './support/harness.ts'
import { uniqueId } from './support/api.ts'

let h: Harness
let tenant: CreatedTenant
let baseUrl: string
let authsignal: Authsignal

beforeAll(async () => {
  h = await createHarness()
  tenant = await h.newTenant()
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = h.app.server.address() as AddressInfo
  baseUrl = `http://127.0.0.1:${port}/v1`
  authsignal = new Authsignal({ apiSecretKey: tenant.secretKey, apiUrl: baseUrl, retries: 0 })
})
afterAll(() => h.close())

/** A Client API call as a device sends it. */
async function device(path: string, init: { method?: string; authorization: string; body?: object }): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? 'POST',
    headers: { authorization: init.authorization, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function enroll(userId: string, key: TestDevice = newDevice()): Promise<{ device: TestDevice; userAuthenticatorId: string }> {
  const { token } = await authsignal.track({ userId, action: 'addAuthenticator', attributes: { scope: 'add:authenticators' } })
  const added = await device('/client/user-authenticators/in-app', {
    authorization: `Bearer ${token}`,
    body: { publicKey: key.publicKey, deviceName: 'Pixel 8', devicePlatform: 'android' },
  })
  expect(added.status).toBe(200)
  return { device: key, userAuthenticatorId: added.body.userAuthenticatorId as string }
}

async function verifyOnDevice(token: string, key: TestDevice): Promise<string> {
  const challenge = await device('/client/challenge', { authorization: `Bearer ${token}`, body: {} })
  expect(challenge.status).toBe(200)
  const challengeId = challenge.body.challengeId as string
  const verified = await device('/client/verify/in-app', {
    authorization: `Bearer ${token}`,
    body: { challengeId, publicKey: key.publicKey, signature: key.sign(challengeId) },
  })
  expect(verified.status).toBe(200)
  return verified.body.token as string
}

async function authsignalError(promise: Promise<unknown>): Promise<AuthsignalError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(AuthsignalError)
    return error as AuthsignalError
  }
  throw new Error('expected the SDK call to throw')
}

describe('@authsignal/node against Countersign', () => {
  it('runs enrollment and a verified action end to end through every Server API method', async () => {
    const userId = uniqueId('sdk-user')

    const first = await authsignal.track({ userId, action: 'signIn', attributes: { email: 'sdk@example.com', username: 'sdk-user' } })
    expect(first).toMatchObject({ state: UserActionState.ALLOW, isEnrolled: false, idempotencyKey: expect.any(String), token: expect.any(String) })
    expect(first.url).toEqual(expect.any(String))

    const { device: phone, userAuthenticatorId } = await enroll(userId)
    const authenticators = await authsignal.getAuthenticators({ userId })
    expect(authenticators).toEqual([
      expect.objectContaining({ userId, userAuthenticatorId, verificationMethod: 'IN_APP', createdAt: expect.any(String), verifiedAt: expect.any(String) }),
    ])

    const tracked = await authsignal.track({
      userId,
      action: 'authorizePayment',
      attributes: { custom: { amount: 120 }, ipAddress: '203.0.113.9', userAgent: 'sdk-test' },
    })
    expect(tracked).toMatchObject({ state: UserActionState.CHALLENGE_REQUIRED, isEnrolled: true, enrolledVerificationMethods: ['IN_APP'] })

    const newToken = await verifyOnDevice(tracked.token, phone)
    const validated = await authsignal.validateChallenge({ token: newToken, userId, action: 'authorizePayment' })
    expect(validated).toMatchObject({
      isValid: true,
      state: UserActionState.CHALLENGE_SUCCEEDED,
      userId,
      action: 'authorizePayment',
      idempotencyKey: tracked.idempotencyKey,
      verificationMethod: 'IN_APP',
    })
    expect(await authsignal.validateChallenge({ token: newToken })).toMatchObject({ isValid: false, error: 'token_already_used' })

    const action = await authsignal.getAction({ userId, action: 'authorizePayment', idempotencyKey: tracked.idempotencyKey })
    expect(action).toMatchObject({ state: UserActionState.CHALLENGE_SUCCEEDED, verificationMethod: 'IN_APP' })
    expect(Date.parse(action.stateUpdatedAt)).not.toBeNaN()
    expect(Date.parse(action.createdAt)).not.toBeNaN()

    const updated = await authsignal.updateAction({
      userId,
      action: 'authorizePayment',
      idempotencyKey: tracked.idempotencyKey,
      attributes: { state: UserActionState.REVIEW_REQUIRED },
    })
    expect(updated).toMatchObject({ state: UserActionState.REVIEW_REQUIRED })

    const actions = await authsignal.queryUserActions({ userId, actionCodes: ['authorizePayment'] })
    expect(actions).toEqual([
      expect.objectContaining({
        actionCode: 'authorizePayment',
        idempotencyKey: tracked.idempotencyKey,
        state: 'REVIEW_REQUIRED',
        verifiedByAuthenticatorId: userAuthenticatorId,
        ipAddress: '203.0.113.9',
        userAgent: 'sdk-test',
      }),
    ])
    const since = new Date(h.clock() - 86_400_000).toISOString()
    expect(await authsignal.queryUserActions({ userId, fromDate: since, actionCodes: ['signIn', 'authorizePayment'], state: UserActionState.ALLOW })).toEqual([
      expect.objectContaining({ actionCode: 'signIn', idempotencyKey: first.idempotencyKey }),
    ])

    const attributes = await authsignal.updateUser({ userId, attributes: { displayName: 'SDK User', custom: { plan: 'pro' } } })
    expect(attributes).toMatchObject({ email: 'sdk@example.com', username: 'sdk-user', displayName: 'SDK User', custom: { plan: 'pro' } })
    const user = await authsignal.getUser({ userId })
    expect(user).toMatchObject({
      isEnrolled: true,
      email: 'sdk@example.com',
      emailVerified: false,
      username: 'sdk-user',
      displayName: 'SDK User',
      custom: { plan: 'pro' },
      enrolledVerificationMethods: ['IN_APP'],
    })

    const found = await authsignal.queryUsers({ username: 'sdk-user' })
    expect(found.users).toEqual([expect.objectContaining({ userId, email: 'sdk@example.com', username: 'sdk-user' })])
    expect((await authsignal.queryUsers({ email: 'nobody@example.com' })).users).toEqual([])

    await expect(authsignal.deleteAuthenticator({ userId, userAuthenticatorId })).resolves.toBeUndefined()
    expect(await authsignal.getAuthenticators({ userId })).toEqual([])
    expect(await authsignal.getUser({ userId })).toMatchObject({ isEnrolled: false })

    await expect(authsignal.deleteUser({ userId })).resolves.toBeUndefined()
    const gone = await authsignalError(authsignal.getUser({ userId }))
    expect(gone).toMatchObject({ statusCode: 404, errorCode: 'not_found' })
    expect(await authsignal.queryUserActions({ userId })).toEqual([])
  })

  it('pages through users with limit and lastEvaluatedUserId', async () => {
    const pagedTenant = await h.newTenant()
    const paged = new Authsignal({ apiSecretKey: pagedTenant.secretKey, apiUrl: baseUrl, retries: 0 })
    for (const id of ['p-1', 'p-2', 'p-3']) await paged.updateUser({ userId: id, attributes: { email: `${id}@example.com` } })
    const page1 = await paged.queryUsers({ limit: 2 })
    expect(page1.users.map((u) => u.userId)).toEqual(['p-1', 'p-2'])
    expect(page1.lastEvaluatedUserId).toBe('p-2')
    const page2 = await paged.queryUsers({ limit: 2, lastEvaluatedUserId: page1.lastEvaluatedUserId! })
    expect(page2.users.map((u) => u.userId)).toEqual(['p-3'])
    expect(page2.lastEvaluatedUserId).toBeUndefined()
  })

  it('returns validateChallenge failures as isValid false with the error, and action when valid', async () => {
    const userId = uniqueId('sdk-validate')
    const { device: phone } = await enroll(userId)
    const tracked = await authsignal.track({ userId, action: 'signIn' })
    expect(await authsignal.validateChallenge({ token: `${tracked.token}x` })).toMatchObject({ isValid: false, error: 'invalid_token' })
    const token = await verifyOnDevice(tracked.token, phone)
    expect(await authsignal.validateChallenge({ token, userId: 'someone-else' })).toMatchObject({ isValid: false, error: 'user_mismatch' })
    expect(await authsignal.validateChallenge({ token, action: 'authorizePayment' })).toMatchObject({ isValid: false, error: 'action_mismatch' })
    const valid = await authsignal.validateChallenge({ token })
    expect(valid).toMatchObject({ isValid: true, action: 'signIn', userId, state: UserActionState.CHALLENGE_SUCCEEDED })
  })

  it('surfaces refusals as AuthsignalError with the status and error code', async () => {
    const wrongSecret = tenant.secretKey.slice(0, -1) + (tenant.secretKey.endsWith('A') ? 'E' : 'A')
    const wrongKey = new Authsignal({ apiSecretKey: wrongSecret, apiUrl: baseUrl, retries: 0 })
    expect(await authsignalError(wrongKey.track({ userId: 'x', action: 'signIn' }))).toMatchObject({
      statusCode: 401,
      errorCode: 'unauthorized',
      errorDescription: expect.any(String),
    })
    const managementKey = new Authsignal({ apiSecretKey: tenant.managementKey, apiUrl: baseUrl, retries: 0 })
    expect(await authsignalError(managementKey.getUser({ userId: 'x' }))).toMatchObject({ statusCode: 401, errorCode: 'unauthorized' })

    expect(await authsignalError(authsignal.track({ userId: 'x', action: 'not valid!' }))).toMatchObject({
      statusCode: 400,
      errorCode: 'invalid_request',
    })
    expect(await authsignalError(authsignal.track({ userId: 'x', action: 'signIn', attributes: { scope: 'root' } }))).toMatchObject({
      statusCode: 400,
      errorCode: 'invalid_request',
    })
    expect(
      await authsignalError(authsignal.getAction({ userId: uniqueId('nobody'), action: 'signIn', idempotencyKey: crypto.randomUUID() })),
    ).toMatchObject({ statusCode: 404, errorCode: 'not_found' })
    expect(
      await authsignalError(
        authsignal.updateAction({
          userId: uniqueId('nobody'),
          action: 'signIn',
          idempotencyKey: crypto.randomUUID(),
          attributes: { state: UserActionState.BLOCK },
        }),
      ),
    ).toMatchObject({ statusCode: 404, errorCode: 'not_found' })
    expect(await authsignalError(authsignal.deleteUser({ userId: uniqueId('nobody') }))).toMatchObject({ statusCode: 404, errorCode: 'not_found' })
    expect(
      await authsignalError(authsignal.deleteAuthenticator({ userId: uniqueId('nobody'), userAuthenticatorId: crypto.randomUUID() })),
    ).toMatchObject({ statusCode: 404, errorCode: 'not_found' })

    const userId = uniqueId('sdk-conflict')
    const idempotencyKey = crypto.randomUUID()
    await authsignal.track({ userId, action: 'signIn', attributes: { idempotencyKey } })
    const again = await authsignal.track({ userId, action: 'signIn', attributes: { idempotencyKey } })
    expect(again.idempotencyKey).toBe(idempotencyKey)
    expect(await authsignalError(authsignal.track({ userId, action: 'authorizePayment', attributes: { idempotencyKey } }))).toMatchObject({
      statusCode: 409,
      errorCode: 'conflict',
    })
  })
})
