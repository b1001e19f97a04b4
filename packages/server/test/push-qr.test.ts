// Push and QR-code verification (issue: push/QR, signed decisions): every state transition and
// refusal, through the HTTP API on the run's database.
import { sign } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signedDecisionMessage } from '@countersign/protocol'
import { queryRows } from '../src/storage/database.ts'
import { clearPushBlock } from '../src/storage/challenges-repo.ts'
import { createHarness, newDevice, type Harness, type TestDevice } from './support/harness.ts'
import { bearer, expectClientOk, expectError, expectOk, tenantApi, uniqueId, type TenantApi } from './support/api.ts'

let h: Harness
let api: TenantApi

beforeAll(async () => {
  h = await createHarness()
  api = tenantApi(h, await h.newTenant())
})
afterAll(() => h.close())

const keyQuery = (device: TestDevice) => encodeURIComponent(Buffer.from(device.publicKey).toString('base64'))

/** A user with a push device; returns the device and a tracked CHALLENGE_REQUIRED action. */
async function pushUser(options: { transaction?: Record<string, unknown>; action?: string; api?: TenantApi } = {}) {
  const a = options.api ?? api
  const userId = uniqueId('push')
  const { device, credential } = await a.enroll(userId, { namespace: 'push', pushToken: 'token-1' })
  const tracked = await a.track(userId, options.action ?? 'authorizePayment', options.transaction ? { transaction: options.transaction } : {})
  expect(tracked.state).toBe('CHALLENGE_REQUIRED')
  return { userId, device, credentialId: credential.userAuthenticatorId as string, tracked }
}

async function startPush(token: string, body: object = {}) {
  return api.client('POST', '/v1/client/challenge/push', bearer(token), body)
}

/** The phone's fetch of its pending challenge, signed over a fresh nonce. */
async function pending(device: TestDevice, a: TenantApi = api, namespace = 'push') {
  const nonce = expectClientOk(await a.client('POST', `/v1/client/user-authenticators/${namespace}/challenge/sign?publicKey=${keyQuery(device)}`, a.tenantBasic))
  const res = await a.client('GET', `/v1/client/user-authenticators/${namespace}/challenge?publicKey=${keyQuery(device)}`, a.tenantBasic, undefined, {
    'x-authsignal-signature': device.sign(nonce.message),
  })
  return expectClientOk(res)
}

function answer(device: TestDevice, challengeId: string, approved: boolean, extra: Record<string, unknown> = {}, namespace = 'push', a: TenantApi = api) {
  return a.client('POST', `/v1/client/user-authenticators/${namespace}/challenge`, a.tenantBasic, {
    challengeId,
    publicKey: device.publicKey,
    signature: device.sign(challengeId),
    approved,
    verificationCode: null,
    ...extra,
  })
}

function v2Signature(
  device: TestDevice,
  fields: { challengeId: string; action: string; idempotencyKey: string | null; decision: 'approved' | 'denied'; verificationCode?: string | null; transaction?: Record<string, unknown> | null },
  format: 'der' | 'p1363' = 'p1363',
  tenantId = api.tenant.tenantId,
): string {
  const message = signedDecisionMessage({
    tenantId,
    challengeId: fields.challengeId,
    action: fields.action,
    idempotencyKey: fields.idempotencyKey,
    decision: fields.decision,
    verificationCode: fields.verificationCode ?? null,
    transaction: fields.transaction ?? null,
  })
  return sign('sha256', Buffer.from(message, 'utf8'), { key: device.privateKey, dsaEncoding: format === 'der' ? 'der' : 'ieee-p1363' }).toString('base64')
}

async function actionState(userId: string, action: string, idempotencyKey: string) {
  return expectOk(await api.server('GET', `/v1/users/${encodeURIComponent(userId)}/actions/${action}/${idempotencyKey}`))
}

describe('push: the whole flow', () => {
  it('browser asks, phone sees the request and approves, browser gets a token the backend validates', async () => {
    const { device, userId, credentialId, tracked } = await pushUser({ transaction: { amount: 100, currency: 'EUR', payee: 'ACME' } })
    const started = expectClientOk(await startPush(tracked.token, { action: 'authorizePayment' }))
    expect(started.challengeId).toMatch(/^[0-9a-f-]{36}$/)
    // No push service configured: the phone finds it by polling.
    expect(started.deliveryResults).toEqual([{ userAuthenticatorId: credentialId, provider: 'none', status: 'skipped' }])

    const before = expectClientOk(await api.client('POST', '/v1/client/verify/push', bearer(tracked.token), { challengeId: started.challengeId }))
    expect(before).toEqual({ isVerified: false, isConsumed: false, state: 'unclaimed' })

    const seen = await pending(device)
    expect(seen).toMatchObject({
      userAuthenticatorId: credentialId,
      challengeId: started.challengeId,
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey: tracked.idempotencyKey,
      transaction: { amount: 100, currency: 'EUR', payee: 'ACME' },
      verificationCodeRequired: false,
      signedDecisionRequired: false,
    })
    expect(seen.ipAddress).toBeTruthy()

    expect(expectClientOk(await answer(device, started.challengeId, true))).toEqual({ isVerified: true })
    const after = expectClientOk(await api.client('POST', '/v1/client/verify/push', bearer(tracked.token), { challengeId: started.challengeId }))
    expect(after).toMatchObject({ isVerified: true, isConsumed: true, state: 'approved' })
    const validated = expectOk(await api.server('POST', '/v1/validate', { token: after.accessToken }))
    expect(validated).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', verificationMethod: 'PUSH', userId })
    // The token is handed over once.
    const again = expectClientOk(await api.client('POST', '/v1/client/verify/push', bearer(tracked.token), { challengeId: started.challengeId }))
    expect(again).toEqual({ isVerified: true, isConsumed: true, state: 'approved' })
    // Nothing is pending any more: Android needs userAuthenticatorId even then.
    expect(await pending(device)).toEqual({ userAuthenticatorId: credentialId })
  })

  it('a denial fails the action; the browser sees it consumed and not verified', async () => {
    const { device, userId, tracked } = await pushUser()
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    expect(expectClientOk(await answer(device, challengeId, false))).toEqual({ isVerified: false })
    const polled = expectClientOk(await api.client('POST', '/v1/client/verify/push', bearer(tracked.token), { challengeId }))
    expect(polled).toEqual({ isVerified: false, isConsumed: true, state: 'rejected' })
    expect((await actionState(userId, 'authorizePayment', tracked.idempotencyKey)).state).toBe('CHALLENGE_FAILED')
  })

  it('a challenge is answered once: a second answer, approve or deny, is challenge_consumed', async () => {
    const { device, tracked } = await pushUser()
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    expectClientOk(await answer(device, challengeId, false))
    expectError(await answer(device, challengeId, true), 409, 'challenge_consumed')
    expectError(await answer(device, challengeId, false), 409, 'challenge_consumed')
  })

  it('50 parallel answers to one challenge: exactly one is recorded', async () => {
    const { device, tracked } = await pushUser()
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => answer(device, challengeId, i % 2 === 0)))
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1)
    expect(results.filter((r) => r.statusCode !== 200).every((r) => r.json().errorCode === 'challenge_consumed')).toBe(true)
  })

  it('an expired challenge cannot be answered, and the browser sees it consumed', async () => {
    const { device, tracked } = await pushUser()
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    h.clock.advance(301_000)
    try {
      expectError(await answer(device, challengeId, true), 410, 'challenge_expired')
      const polled = expectClientOk(await api.client('POST', '/v1/client/verify/push', bearer(tracked.token), { challengeId }))
      expect(polled).toEqual({ isVerified: false, isConsumed: true, state: 'expired' })
    } finally {
      h.clock.advance(-301_000)
    }
  })

  it('a credential of user A cannot answer or read user B’s challenge', async () => {
    const a = await pushUser()
    const b = await pushUser()
    const { challengeId } = expectClientOk(await startPush(b.tracked.token))
    expectError(await answer(a.device, challengeId, true), 400, 'invalid_challenge')
    expect((await pending(a.device)).challengeId).toBeUndefined()
    // B's challenge is still answerable by B.
    expect(expectClientOk(await answer(b.device, challengeId, true))).toEqual({ isVerified: true })
  })

  it('a bad signature is invalid_signature and changes nothing', async () => {
    const { device, tracked } = await pushUser()
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    expectError(await answer(device, challengeId, true, { signature: newDevice().sign(challengeId) }), 401, 'invalid_signature')
    expect(expectClientOk(await answer(device, challengeId, true))).toEqual({ isVerified: true })
  })

  it('the browser cannot poll another action’s challenge with its token', async () => {
    const one = await pushUser()
    const other = await api.track(one.userId, 'authorizePayment')
    const { challengeId } = expectClientOk(await startPush(one.tracked.token))
    expectError(await api.client('POST', '/v1/client/verify/push', bearer(other.token), { challengeId }), 400, 'invalid_challenge')
    expectError(await api.client('POST', '/v1/client/verify/push', api.tenantBasic, { challengeId }), 401, 'unauthorized')
  })

  it('push to one named device only; an unknown device is not_found', async () => {
    const userId = uniqueId('push-two')
    const first = await api.enroll(userId, { namespace: 'device' })
    const second = await api.enroll(userId, { namespace: 'push', approvedBy: first.device })
    const tracked = await api.track(userId, 'authorizePayment')
    const everyone = expectClientOk(await startPush(tracked.token))
    expect(everyone.deliveryResults).toHaveLength(2)
    const started = expectClientOk(await startPush(tracked.token, { userAuthenticatorId: second.credential.userAuthenticatorId }))
    expect(started.deliveryResults.map((r: { userAuthenticatorId: string }) => r.userAuthenticatorId)).toEqual([second.credential.userAuthenticatorId])
    // Only the named device sees the targeted challenge; both see the one sent to everyone.
    expect((await pending(first.device, api, 'device')).challengeId).toBe(everyone.challengeId)
    expect((await pending(second.device)).challengeId).toBe(started.challengeId)
    expectError(await startPush(tracked.token, { userAuthenticatorId: '00000000-0000-4000-8000-000000000000' }), 404, 'not_found')
  })

  it('a user without a push device gets not_found; a token for another action is refused', async () => {
    const userId = uniqueId('no-push')
    await api.enroll(userId)
    const tracked = await api.track(userId, 'authorizePayment')
    expectError(await startPush(tracked.token), 404, 'not_found')
    const { tracked: t2 } = await pushUser()
    expectError(await startPush(t2.token, { action: 'somethingElse' }), 400, 'invalid_request')
  })

  it('a completed action cannot be pushed again', async () => {
    const { device, tracked } = await pushUser()
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    expectClientOk(await answer(device, challengeId, true))
    expectError(await startPush(tracked.token), 409, 'invalid_action_state')
  })
})

describe('push: fetching the pending challenge', () => {
  it('without X-Authsignal-Signature (older SDKs) the challenge is shown; a signature over a used nonce is refused', async () => {
    const { device, tracked } = await pushUser()
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    const unsigned = expectClientOk(await api.client('GET', `/v1/client/user-authenticators/push/challenge?publicKey=${keyQuery(device)}`, api.tenantBasic))
    expect(unsigned.challengeId).toBe(challengeId)

    const nonce = expectClientOk(await api.client('POST', `/v1/client/user-authenticators/push/challenge/sign?publicKey=${keyQuery(device)}`, api.tenantBasic))
    const signed = { 'x-authsignal-signature': device.sign(nonce.message) }
    const url = `/v1/client/user-authenticators/push/challenge?publicKey=${keyQuery(device)}`
    expect(expectClientOk(await api.client('GET', url, api.tenantBasic, undefined, signed)).challengeId).toBe(challengeId)
    // The nonce was spent: the same signature reads nothing twice.
    expectError(await api.client('GET', url, api.tenantBasic, undefined, signed), 400, 'invalid_challenge')
  })

  it('a signature by another key is invalid_signature; the tenant can require the signature', async () => {
    const strict = tenantApi(h, await h.newTenant({ requireSignedPushFetch: true }))
    const { device } = await pushUser({ api: strict })
    const url = `/v1/client/user-authenticators/push/challenge?publicKey=${keyQuery(device)}`
    expectError(await strict.client('GET', url, strict.tenantBasic), 401, 'invalid_signature')
    const nonce = expectClientOk(await strict.client('POST', `/v1/client/user-authenticators/push/challenge/sign?publicKey=${keyQuery(device)}`, strict.tenantBasic))
    expectError(await strict.client('GET', url, strict.tenantBasic, undefined, { 'x-authsignal-signature': newDevice().sign(nonce.message) }), 401, 'invalid_signature')
    expect(await pending(device, strict)).toEqual({ userAuthenticatorId: expect.any(String) })
  })

  it('an unknown key gets invalid_credential (and a nonce that says nothing)', async () => {
    const stranger = newDevice()
    const nonce = await api.client('POST', `/v1/client/user-authenticators/push/challenge/sign?publicKey=${keyQuery(stranger)}`, api.tenantBasic)
    expect(expectClientOk(nonce).message).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expectError(await api.client('GET', `/v1/client/user-authenticators/push/challenge?publicKey=${keyQuery(stranger)}`, api.tenantBasic), 401, 'invalid_credential')
  })
})

describe('signed decisions (v2)', () => {
  it('an approval signed over amount 100 is refused when the backend tracked 1000', async () => {
    const { device, tracked } = await pushUser({ transaction: { amount: 1000, currency: 'EUR', payee: 'ACME' } })
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    const base = { challengeId, action: 'authorizePayment', idempotencyKey: tracked.idempotencyKey, decision: 'approved' as const }
    const forged = v2Signature(device, { ...base, transaction: { amount: 100, currency: 'EUR', payee: 'ACME' } })
    expectError(await answer(device, challengeId, true, { signature: forged, signatureVersion: 2, signatureFormat: 'p1363' }), 401, 'invalid_signature')
    const honest = v2Signature(device, { ...base, transaction: { amount: 1000, currency: 'EUR', payee: 'ACME' } })
    expect(expectClientOk(await answer(device, challengeId, true, { signature: honest, signatureVersion: 2, signatureFormat: 'p1363' }))).toEqual({
      isVerified: true,
    })
  })

  it('a denial’s signature cannot be replayed as an approval', async () => {
    const { device, userId, tracked } = await pushUser({ transaction: { amount: 5 } })
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    const fields = { challengeId, action: 'authorizePayment', idempotencyKey: tracked.idempotencyKey, transaction: { amount: 5 } }
    const deny = v2Signature(device, { ...fields, decision: 'denied' }, 'der')
    // An attacker who captured the denial sends it first, flipped to an approval.
    expectError(await answer(device, challengeId, true, { signature: deny, signatureVersion: 2, signatureFormat: 'der' }), 401, 'invalid_signature')
    expect(expectClientOk(await answer(device, challengeId, false, { signature: deny, signatureVersion: 2, signatureFormat: 'der' }))).toEqual({
      isVerified: false,
    })
    expect((await actionState(userId, 'authorizePayment', tracked.idempotencyKey)).state).toBe('CHALLENGE_FAILED')
  })

  it('an action that requires v2 refuses v1 answers', async () => {
    const strict = tenantApi(h, await h.newTenant({ requireSignedDecision: true }))
    const { device, tracked } = await pushUser({ api: strict })
    const { challengeId } = expectClientOk(await strict.client('POST', '/v1/client/challenge/push', bearer(tracked.token), {}))
    const seen = await pending(device, strict)
    expect(seen.signedDecisionRequired).toBe(true)
    expectError(await answer(device, challengeId, true, {}, 'push', strict), 400, 'signed_decision_required')
    const signature = v2Signature(device, { challengeId, action: 'authorizePayment', idempotencyKey: tracked.idempotencyKey, decision: 'approved' }, 'p1363', strict.tenant.tenantId)
    expect(expectClientOk(await answer(device, challengeId, true, { signature, signatureVersion: 2, signatureFormat: 'p1363' }, 'push', strict))).toEqual({
      isVerified: true,
    })
  })

  it('a v2 signature for another tenant does not verify', async () => {
    const { device, tracked } = await pushUser()
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    const signature = v2Signature(device, { challengeId, action: 'authorizePayment', idempotencyKey: tracked.idempotencyKey, decision: 'approved' }, 'p1363', '00000000-0000-4000-8000-000000000000')
    expectError(await answer(device, challengeId, true, { signature, signatureVersion: 2, signatureFormat: 'p1363' }), 401, 'invalid_signature')
  })
})

describe('number matching', () => {
  it('the initiating side gets a code; a wrong code fails the challenge, the right one approves', async () => {
    const matching = tenantApi(h, await h.newTenant({ numberMatching: true }))
    const first = await pushUser({ api: matching })
    const started = expectClientOk(await matching.client('POST', '/v1/client/challenge/push', bearer(first.tracked.token), {}))
    expect(started.verificationCode).toMatch(/^\d{2}$/)
    expect((await pending(first.device, matching)).verificationCodeRequired).toBe(true)
    const wrong = String((Number(started.verificationCode) + 1) % 100).padStart(2, '0')
    expectError(await answer(first.device, started.challengeId, true, { verificationCode: wrong }, 'push', matching), 400, 'invalid_verification_code')
    const state = expectOk(await matching.server('GET', `/v1/users/${encodeURIComponent(first.userId)}/actions/authorizePayment/${first.tracked.idempotencyKey}`))
    expect(state.state).toBe('CHALLENGE_FAILED')

    const second = await pushUser({ api: matching })
    const again = expectClientOk(await matching.client('POST', '/v1/client/challenge/push', bearer(second.tracked.token), {}))
    expectError(await answer(second.device, again.challengeId, true, { verificationCode: null }, 'push', matching), 400, 'invalid_verification_code')
    const third = await pushUser({ api: matching })
    const ok = expectClientOk(await matching.client('POST', '/v1/client/challenge/push', bearer(third.tracked.token), {}))
    expect(expectClientOk(await answer(third.device, ok.challengeId, true, { verificationCode: ok.verificationCode }, 'push', matching))).toEqual({
      isVerified: true,
    })
  })
})

describe('push bombing', () => {
  it('at most pushMaxPending unanswered requests, and pushMaxPerHour per hour', async () => {
    const limited = tenantApi(h, await h.newTenant({ pushMaxPending: 2, pushMaxPerHour: 3 }))
    const userId = uniqueId('bomb')
    const { device } = await limited.enroll(userId, { namespace: 'push' })
    const push = async () => limited.client('POST', '/v1/client/challenge/push', bearer((await limited.track(userId, 'signIn')).token), {})
    const one = expectClientOk(await push())
    expectClientOk(await push())
    expectError(await push(), 429, 'too_many_requests')
    // Answering one frees a slot, but the hourly cap still counts it.
    expectClientOk(await answer(device, one.challengeId, false, {}, 'push', limited))
    expectClientOk(await push())
    expectError(await push(), 429, 'too_many_requests')
    h.clock.advance(3_601_000)
    try {
      expectClientOk(await push())
    } finally {
      h.clock.advance(-3_601_000)
    }
  })

  it('parallel requests cannot together pass the pending limit', async () => {
    const limited = tenantApi(h, await h.newTenant({ pushMaxPending: 3, pushMaxPerHour: 1000 }))
    const userId = uniqueId('bomb-race')
    await limited.enroll(userId, { namespace: 'push' })
    const tokens = await Promise.all(Array.from({ length: 20 }, () => limited.track(userId, 'signIn').then((t) => t.token)))
    const results = await Promise.all(tokens.map((token) => limited.client('POST', '/v1/client/challenge/push', bearer(token), {})))
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(3)
  })

  it('"this wasn’t me" blocks push for the user until an operator clears it, and emits user.push_blocked', async () => {
    const { device, userId, tracked } = await pushUser()
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    expectClientOk(await answer(device, challengeId, false, { reportFraud: true }))
    const next = await api.track(userId, 'authorizePayment')
    expectError(await startPush(next.token), 403, 'push_blocked')
    expect(await clearPushBlock(h.database.db, api.tenant.tenantId, userId)).toBe(true)
    expectClientOk(await startPush(next.token))
  })
})

describe('push credential update', () => {
  it('PATCH with a signed nonce updates the push token; the nonce works once', async () => {
    const { device, credentialId } = await pushUser()
    const signing = expectClientOk(await api.client('POST', `/v1/client/user-authenticators/push/sign?publicKey=${keyQuery(device)}`, api.tenantBasic))
    expect(signing.challengeId).toBe(signing.message)
    const body = { challengeId: signing.challengeId, publicKey: device.publicKey, signature: device.sign(signing.message), pushToken: 'token-2' }
    const updated = expectClientOk(await api.client('PATCH', '/v1/client/user-authenticators/push', api.tenantBasic, body))
    expect(updated).toMatchObject({ userAuthenticatorId: credentialId, pushToken: 'token-2' })
    expect(updated.lastVerifiedAt).toMatch(/Z$/)
    expectError(await api.client('PATCH', '/v1/client/user-authenticators/push', api.tenantBasic, body), 400, 'invalid_challenge')
    const [row] = await queryRows<{ push_token: string }>(h.database.db, sql`SELECT push_token FROM credentials WHERE credential_id = ${credentialId}`)
    expect(row!.push_token).toBe('token-2')
  })

  it('resetExpiry moves the expiry out; an expired credential cannot be revived', async () => {
    const expiring = tenantApi(h, await h.newTenant({ pushCredentialTtlDays: 30 }))
    const { device, credentialId } = await pushUser({ api: expiring })
    const patch = async () => {
      const signing = expectClientOk(await expiring.client('POST', `/v1/client/user-authenticators/push/sign?publicKey=${keyQuery(device)}`, expiring.tenantBasic))
      return expiring.client('PATCH', '/v1/client/user-authenticators/push', expiring.tenantBasic, {
        challengeId: signing.challengeId,
        publicKey: device.publicKey,
        signature: device.sign(signing.message),
        resetExpiry: true,
      })
    }
    const updated = expectClientOk(await patch())
    expect(Date.parse(updated.expiresAt)).toBeGreaterThan(h.clock() + 29 * 86_400_000)
    await queryRows(h.database.db, sql`UPDATE credentials SET expires_at = ${new Date(h.clock() - 1000)} WHERE credential_id = ${credentialId}`)
    const signing = await expiring.client('POST', `/v1/client/user-authenticators/push/sign?publicKey=${keyQuery(device)}`, expiring.tenantBasic)
    expectClientOk(signing)
    expectError(
      await expiring.client('PATCH', '/v1/client/user-authenticators/push', expiring.tenantBasic, {
        challengeId: signing.json().challengeId,
        publicKey: device.publicKey,
        signature: device.sign(signing.json().message),
        resetExpiry: true,
      }),
      400,
      'invalid_challenge',
    )
  })
})

describe('QR code', () => {
  async function qrUser() {
    const userId = uniqueId('qr')
    const { device, credential } = await api.enroll(userId, { namespace: 'qr-code' })
    return { userId, device, credentialId: credential.userAuthenticatorId as string }
  }
  const claim = (device: TestDevice, challengeId: string, namespace = 'qr-code') =>
    api.client('POST', `/v1/client/user-authenticators/${namespace}/challenge/claim`, api.tenantBasic, {
      challengeId,
      publicKey: device.publicKey,
      signature: device.sign(challengeId),
    })
  const poll = (challengeId: string, deviceCode: string) => api.client('POST', '/v1/client/verify/qr-code', api.tenantBasic, { challengeId, deviceCode })

  it('anonymous login: the browser shows a code, the phone claims and approves, the browser gets a token for the phone’s user', async () => {
    const { userId, device, credentialId } = await qrUser()
    const created = expectClientOk(
      await api.client('POST', '/v1/client/challenge/qr-code', `Basic ${Buffer.from(encodeURIComponent(api.tenant.tenantId)).toString('base64')}`, {
        action: 'signIn',
        custom: { location: 'Berlin office' },
      }),
    )
    expect(created.deviceCode).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Date.parse(created.expiresAt) - h.clock()).toBeGreaterThan(9 * 60_000)
    expect(expectClientOk(await poll(created.challengeId, created.deviceCode))).toEqual({
      isClaimed: false,
      isConsumed: false,
      isVerified: false,
      state: 'unclaimed',
    })
    const claimed = expectClientOk(await claim(device, created.challengeId))
    expect(claimed).toMatchObject({ success: true, userId, actionCode: 'signIn', custom: { location: 'Berlin office' } })
    expect(expectClientOk(await poll(created.challengeId, created.deviceCode))).toMatchObject({ isClaimed: true, isConsumed: false, state: 'claimed' })

    expect(expectClientOk(await answer(device, created.challengeId, true, {}, 'qr-code'))).toEqual({ isVerified: true })
    const approved = expectClientOk(await poll(created.challengeId, created.deviceCode))
    expect(approved).toMatchObject({ isClaimed: true, isConsumed: true, isVerified: true, state: 'approved' })
    const validated = expectOk(await api.server('POST', '/v1/validate', { token: approved.accessToken }))
    expect(validated).toMatchObject({ isValid: true, userId, actionCode: 'signIn', verificationMethod: 'QR_CODE' })
    const actions = expectOk(await api.server('GET', `/v1/users/${encodeURIComponent(userId)}/actions?codes=signIn`))
    expect(actions[0]).toMatchObject({ state: 'CHALLENGE_SUCCEEDED', verifiedByAuthenticatorId: credentialId })
  })

  it('with a token the QR code completes that action; another user’s device cannot claim it', async () => {
    const owner = await qrUser()
    const stranger = await qrUser()
    const tracked = await api.track(owner.userId, 'authorizePayment', { transaction: { amount: 42 } })
    const created = expectClientOk(await api.client('POST', '/v1/client/challenge/qr-code', bearer(tracked.token), {}))
    expectError(await claim(stranger.device, created.challengeId), 400, 'invalid_challenge')
    const claimed = expectClientOk(await claim(owner.device, created.challengeId))
    expect(claimed).toMatchObject({ idempotencyKey: tracked.idempotencyKey, transaction: { amount: 42 } })
    expectClientOk(await answer(owner.device, created.challengeId, true, {}, 'qr-code'))
    expect((await actionState(owner.userId, 'authorizePayment', tracked.idempotencyKey)).state).toBe('CHALLENGE_SUCCEEDED')
  })

  it('the wrong device code learns nothing; answering before claiming is refused; a second claim is consumed', async () => {
    const first = await qrUser()
    const second = await qrUser()
    const created = expectClientOk(await api.client('POST', '/v1/client/challenge/qr-code', api.tenantBasic, { action: 'signIn' }))
    expectError(await poll(created.challengeId, 'x'.repeat(43)), 400, 'invalid_challenge')
    expectError(await poll('00000000-0000-4000-8000-000000000000', created.deviceCode), 400, 'invalid_challenge')
    expectError(await answer(first.device, created.challengeId, true, {}, 'qr-code'), 409, 'challenge_not_claimed')
    expectClientOk(await claim(first.device, created.challengeId))
    expectError(await claim(second.device, created.challengeId), 400, 'invalid_challenge')
    expectError(await claim(first.device, created.challengeId), 409, 'challenge_consumed')
  })

  it('50 devices claiming one code at once: exactly one claims it', async () => {
    const devices = await Promise.all(Array.from({ length: 5 }, () => qrUser()))
    const created = expectClientOk(await api.client('POST', '/v1/client/challenge/qr-code', api.tenantBasic, { action: 'signIn' }))
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => claim(devices[i % devices.length]!.device, created.challengeId)))
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1)
  })

  it('a denial shows the browser rejected (claimed, consumed, not verified) and records no action', async () => {
    const { userId, device } = await qrUser()
    const created = expectClientOk(await api.client('POST', '/v1/client/challenge/qr-code', api.tenantBasic, { action: 'signInDenied' }))
    expectClientOk(await claim(device, created.challengeId))
    expect(expectClientOk(await answer(device, created.challengeId, false, {}, 'qr-code'))).toEqual({ isVerified: false })
    expect(expectClientOk(await poll(created.challengeId, created.deviceCode))).toEqual({
      isClaimed: true,
      isConsumed: true,
      isVerified: false,
      state: 'rejected',
    })
    expect(expectOk(await api.server('GET', `/v1/users/${encodeURIComponent(userId)}/actions?codes=signInDenied`))).toEqual([])
  })

  it('without a token the action must be named; an expired code cannot be claimed', async () => {
    expectError(await api.client('POST', '/v1/client/challenge/qr-code', api.tenantBasic, {}), 400, 'invalid_request')
    const { device } = await qrUser()
    const created = expectClientOk(await api.client('POST', '/v1/client/challenge/qr-code', api.tenantBasic, { action: 'signIn' }))
    h.clock.advance(601_000)
    try {
      expectError(await claim(device, created.challengeId), 410, 'challenge_expired')
      expect(expectClientOk(await poll(created.challengeId, created.deviceCode)).state).toBe('expired')
    } finally {
      h.clock.advance(-601_000)
    }
  })
})

describe('the legacy device namespace', () => {
  it('one device credential serves push and QR', async () => {
    const userId = uniqueId('legacy')
    const { device } = await api.enroll(userId, { namespace: 'device' })
    const tracked = await api.track(userId, 'authorizePayment')
    const { challengeId } = expectClientOk(await startPush(tracked.token))
    // The legacy SDKs fetch without a nonce.
    const seen = expectClientOk(await api.client('GET', `/v1/client/user-authenticators/device/challenge?publicKey=${keyQuery(device)}`, api.tenantBasic))
    expect(seen.challengeId).toBe(challengeId)
    expect(expectClientOk(await answer(device, challengeId, true, {}, 'device'))).toEqual({ isVerified: true })

    const qr = expectClientOk(await api.client('POST', '/v1/client/challenge/qr-code', api.tenantBasic, { action: 'signIn' }))
    expectClientOk(
      await api.client('POST', '/v1/client/user-authenticators/device/challenge/claim', api.tenantBasic, {
        challengeId: qr.challengeId,
        publicKey: device.publicKey,
        signature: device.sign(qr.challengeId),
      }),
    )
    expect(expectClientOk(await answer(device, qr.challengeId, true, {}, 'device'))).toEqual({ isVerified: true })
  })
})
