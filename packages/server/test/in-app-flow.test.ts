import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CreatedTenant } from '../src/domain/tenants.ts'
import { basicAuth, createHarness, newDevice, type Harness } from './support/harness.ts'

let h: Harness
let tenant: CreatedTenant

beforeAll(async () => {
  h = await createHarness()
  tenant = await h.newTenant()
})
afterAll(() => h.close())

const server = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
  h.inject({ method, url, headers: { authorization: basicAuth(tenant.secretKey) }, ...(payload ? { payload } : {}) })
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const tenantBasic = () => ({ authorization: basicAuth(tenant.tenantId) })

async function enroll(userId: string, device = newDevice()) {
  const tracked = await server('POST', `/v1/users/${userId}/actions/addAuthenticator`, { scope: 'add:authenticators' })
  expect(tracked.statusCode).toBe(200)
  const added = await h.inject({
    method: 'POST',
    url: '/v1/client/user-authenticators/in-app',
    headers: bearer(tracked.json().token),
    payload: { publicKey: device.publicKey, deviceName: 'Pixel', devicePlatform: 'android' },
  })
  expect(added.json()).toMatchObject({ userId })
  expect(added.statusCode).toBe(200)
  return { device, credential: added.json() }
}

describe('in-app verification, end to end', () => {
  it('enrolls a device, challenges a payment, verifies it and validates the token once', async () => {
    const userId = 'user-flow'
    const first = await server('POST', `/v1/users/${userId}/actions/authorizePayment`, { custom: { amount: 120 } })
    expect(first.statusCode).toBe(200)
    expect(first.json()).toMatchObject({ state: 'ALLOW', isEnrolled: false })

    const { device, credential } = await enroll(userId)
    expect(credential).toMatchObject({ userId, verificationMethod: 'IN_APP' })

    const tracked = await server('POST', `/v1/users/${userId}/actions/authorizePayment`, { custom: { amount: 120 } })
    expect(tracked.json()).toMatchObject({ state: 'CHALLENGE_REQUIRED', isEnrolled: true, enrolledVerificationMethods: ['IN_APP'] })
    const { token, idempotencyKey } = tracked.json()

    const challenge = await h.inject({ method: 'POST', url: '/v1/client/challenge', headers: bearer(token), payload: {} })
    expect(challenge.statusCode).toBe(200)
    const { challengeId } = challenge.json()

    const verified = await h.inject({
      method: 'POST',
      url: '/v1/client/verify/in-app',
      headers: bearer(token),
      payload: { challengeId, publicKey: device.publicKey, signature: device.sign(challengeId) },
    })
    expect(verified.statusCode).toBe(200)
    expect(verified.json()).toMatchObject({ userId, userAuthenticatorId: credential.userAuthenticatorId })

    const validated = await server('POST', '/v1/validate', { token: verified.json().token, userId, action: 'authorizePayment' })
    expect(validated.json()).toMatchObject({
      isValid: true,
      state: 'CHALLENGE_SUCCEEDED',
      userId,
      action: 'authorizePayment',
      actionCode: 'authorizePayment',
      idempotencyKey,
      verificationMethod: 'IN_APP',
    })
    const again = await server('POST', '/v1/validate', { token: verified.json().token })
    expect(again.json()).toEqual({ isValid: false, error: 'token_already_used' })

    const action = await server('GET', `/v1/users/${userId}/actions/authorizePayment/${idempotencyKey}`)
    expect(action.json()).toMatchObject({ state: 'CHALLENGE_SUCCEEDED', verifiedByAuthenticatorId: credential.userAuthenticatorId })
  })

  it('verifies with only the tenant ID and an action', async () => {
    const { device } = await enroll('user-action-only')
    const challenge = await h.inject({ method: 'POST', url: '/v1/client/challenge', headers: tenantBasic(), payload: { action: 'signIn' } })
    const { challengeId } = challenge.json()
    const verified = await h.inject({
      method: 'POST',
      url: '/v1/client/verify/in-app',
      headers: tenantBasic(),
      payload: { challengeId, publicKey: device.publicKey, signature: device.sign(challengeId) },
    })
    expect(verified.statusCode).toBe(200)
    const validated = await server('POST', '/v1/validate', { token: verified.json().token, userId: 'user-action-only' })
    expect(validated.json()).toMatchObject({ isValid: true, action: 'signIn', state: 'CHALLENGE_SUCCEEDED' })
  })

  it('lets exactly one of 50 concurrent verifies of one challenge succeed', async () => {
    const { device } = await enroll('user-race')
    const { token } = (await server('POST', '/v1/users/user-race/actions/authorizePayment', {})).json()
    const { challengeId } = (await h.inject({ method: 'POST', url: '/v1/client/challenge', headers: bearer(token), payload: {} })).json()
    const payload = { challengeId, publicKey: device.publicKey, signature: device.sign(challengeId) }
    const results = await Promise.all(
      Array.from({ length: 50 }, () => h.inject({ method: 'POST', url: '/v1/client/verify/in-app', headers: bearer(token), payload })),
    )
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1)
    for (const r of results.filter((r) => r.statusCode !== 200)) {
      expect(['challenge_consumed', 'invalid_action_state']).toContain(r.json().errorCode)
    }
  })
})
