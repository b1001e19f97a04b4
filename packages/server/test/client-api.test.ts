// Client API (device side): PROTOCOL.md §3 for the in-app and legacy device namespaces,
// including every encoding existing mobile SDKs send, each success and each refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basicAuth, createHarness, newDevice, type Harness, type TestDevice } from './support/harness.ts'
import {
  bearer,
  claimsOf,
  expectClientOk,
  expectError,
  expectOk,
  foreignSignature,
  nonP256Keys,
  tenantApi,
  uniqueId,
  type TenantApi,
} from './support/api.ts'

let h: Harness
let api: TenantApi
let other: TenantApi

beforeAll(async () => {
  h = await createHarness()
  api = tenantApi(h, await h.newTenant())
  other = tenantApi(h, await h.newTenant())
})
afterAll(() => h.close())

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const NAMESPACES = [
  { namespace: 'in-app', method: 'IN_APP' },
  { namespace: 'device', method: 'DEVICE' },
] as const

const credentialsUrl = (namespace: string) => `/v1/client/user-authenticators/${namespace}`

async function actionState(userId: string, idempotencyKey: string, action = 'authorizePayment'): Promise<string> {
  return expectOk(await api.server('GET', `/v1/users/${userId}/actions/${action}/${idempotencyKey}`)).state
}

async function authenticators(userId: string): Promise<Array<Record<string, unknown>>> {
  return expectOk(await api.server('GET', `/v1/users/${userId}/authenticators`))
}

/**
 * A device whose key contains `+` and `/`. (Standard base64 of base64 text never contains
 * `+` or `/`, only `=` padding; a raw single-encoded key reaches the server with a space for
 * each `+`.)
 */
function awkwardDevice(): TestDevice {
  for (;;) {
    const device = newDevice()
    if (device.publicKey.includes('+') && device.publicKey.includes('/')) return device
  }
}

describe.each(NAMESPACES)('add credential ($namespace)', ({ namespace, method }) => {
  it('adds the first credential with a default-scope token', async () => {
    const userId = uniqueId('add-first')
    const { token } = await api.track(userId, 'addAuthenticator')
    expect(claimsOf(token).scope).toBe('read:authenticators')
    const device = newDevice()
    const body = expectClientOk(
      await api.client('POST', credentialsUrl(namespace), bearer(token), {
        publicKey: device.publicKey,
        deviceName: 'iPhone 15',
        devicePlatform: 'ios',
      }),
    )
    expect(body).toEqual({
      userAuthenticatorId: expect.stringMatching(UUID),
      userId,
      verificationMethod: method,
      createdAt: expect.stringMatching(ISO),
      verifiedAt: expect.stringMatching(ISO),
      deviceName: 'iPhone 15',
      devicePlatform: 'ios',
    })
    expect(await authenticators(userId)).toMatchObject([
      { userAuthenticatorId: body.userAuthenticatorId, verificationMethod: method, isLocked: false, failedAttempts: 0 },
    ])
    expect(expectOk(await api.server('GET', `/v1/users/${userId}`))).toMatchObject({ isEnrolled: true, enrolledVerificationMethods: [method] })
  })

  it('needs add:authenticators for a second credential', async () => {
    const userId = uniqueId('add-second')
    const { device: first } = await api.enroll(userId, { namespace })
    const second = newDevice()
    const addSecond = (token: string) => api.client('POST', credentialsUrl(namespace), bearer(token), { publicKey: second.publicKey })
    const approved = async (token: string) =>
      expectClientOk(await api.verify(bearer(token), await api.challenge(bearer(token)), first)).token

    // A completed action whose token lacks the scope.
    const unscoped = await api.track(userId, 'addAuthenticator')
    expectError(await addSecond(await approved(unscoped.token)), 403, 'forbidden')
    expect(await authenticators(userId)).toHaveLength(1)

    const scoped = await api.track(userId, 'addAuthenticator', { scope: 'add:authenticators' })
    expectClientOk(await addSecond(await approved(scoped.token)))
    expect(await authenticators(userId)).toHaveLength(2)
  })

  // Regression: a scoped track token alone added a second device without any existing device's consent.
  it('needs the addAuthenticator action completed before a second device is enrolled', async () => {
    const userId = uniqueId('add-second-unapproved')
    await api.enroll(userId, { namespace })
    const scoped = await api.track(userId, 'addAuthenticator', { scope: 'add:authenticators' })
    expect(scoped.state).toBe('CHALLENGE_REQUIRED')
    const intruder = newDevice()
    expectError(
      await api.client('POST', credentialsUrl(namespace), bearer(scoped.token), { publicKey: intruder.publicKey }),
      409,
      'invalid_action_state',
    )
    expect(await authenticators(userId)).toHaveLength(1)
  })

  it('refuses the same key twice with 409 conflict', async () => {
    const userId = uniqueId('add-twice')
    const { device } = await api.enroll(userId, { namespace })
    const scoped = await api.track(userId, 'addAuthenticator', { scope: 'add:authenticators' })
    const { token } = expectClientOk(await api.verify(bearer(scoped.token), await api.challenge(bearer(scoped.token)), device))
    expectError(await api.client('POST', credentialsUrl(namespace), bearer(token), { publicKey: device.publicKey }), 409, 'conflict')
    // Another user cannot claim an enrolled key either.
    const someoneElse = await api.track(uniqueId('add-twice-other'), 'addAuthenticator')
    expectError(
      await api.client('POST', credentialsUrl(namespace), bearer(someoneElse.token), { publicKey: device.publicKey }),
      409,
      'conflict',
    )
    expect(await authenticators(userId)).toHaveLength(1)
  })

  it('refuses keys that are not P-256 SPKI with 400 invalid_public_key', async () => {
    const userId = uniqueId('add-bad-key')
    for (const [label, publicKey] of Object.entries(nonP256Keys())) {
      const { token } = await api.track(userId, 'addAuthenticator')
      const res = await api.client('POST', credentialsUrl(namespace), bearer(token), { publicKey })
      expect(res.statusCode, label).toBe(400)
      expectError(res, 400, 'invalid_public_key')
    }
    expect(await authenticators(userId)).toEqual([])
  })

  it('refuses a missing, garbage, expired or validated token and tenant Basic auth with 401', async () => {
    const userId = uniqueId('add-auth')
    const publicKey = newDevice().publicKey
    const add = (authorization: string | undefined) => api.client('POST', credentialsUrl(namespace), authorization, { publicKey })

    expectError(await add(undefined), 401, 'unauthorized')
    expectError(await add('Bearer'), 401, 'unauthorized')
    expectError(await add('Bearer not.a.token'), 401, 'invalid_token')
    expectError(await add('Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'), 401, 'invalid_token')
    expectError(await add(api.tenantBasic), 401, 'unauthorized')
    expectError(await add(basicAuth(api.tenant.secretKey)), 401, 'unauthorized')

    const validated = await api.track(userId, 'addAuthenticator')
    expectOk(await api.server('POST', '/v1/validate', { token: validated.token }))
    expectError(await add(bearer(validated.token)), 401, 'invalid_token')

    const expiring = await api.track(userId, 'addAuthenticator')
    h.clock.advance(11 * 60_000)
    expectError(await add(bearer(expiring.token)), 401, 'expired_token')
    expect(await authenticators(userId)).toEqual([])
  })
})

describe('add credential, request shape', () => {
  it('refuses an unknown namespace and a missing public key with 400 invalid_request', async () => {
    const { token } = await api.track(uniqueId('add-shape'), 'addAuthenticator')
    expectError(await api.client('POST', credentialsUrl('sms'), bearer(token), { publicKey: newDevice().publicKey }), 400, 'invalid_request')
    expectError(await api.client('POST', credentialsUrl('in-app'), bearer(token), { deviceName: 'x' }), 400, 'invalid_request')
  })

  it('refuses a device name with a NUL character, which PostgreSQL cannot store, with 400, not a 500 (the class of bug fuzzing found)', async () => {
    const { token } = await api.track(uniqueId('add-nul'), 'addAuthenticator')
    expectError(await api.client('POST', credentialsUrl('in-app'), bearer(token), { publicKey: newDevice().publicKey, deviceName: 'Pixel\u0000' }), 400, 'invalid_request')
  })
})

describe.each(NAMESPACES)('get credential ($namespace)', ({ namespace, method }) => {
  it('finds the credential by every query encoding devices send', async () => {
    const userId = uniqueId('get-credential')
    const device = awkwardDevice()
    const { credential } = await api.enroll(userId, { device, namespace })
    const doubleStandard = Buffer.from(device.publicKey, 'utf8').toString('base64')
    const encodings = {
      // iOS: base64url without padding of the UTF-8 standard-base64 SPKI string.
      ios: Buffer.from(device.publicKey, 'utf8').toString('base64url'),
      // Android: standard base64 of that string, put raw into the query (`+` decodes to a space).
      android: doubleStandard,
      'android, URL-escaped': encodeURIComponent(doubleStandard),
      'single, URL-escaped': encodeURIComponent(device.publicKey),
      'single, raw': device.publicKey,
    }
    expect(encodings.ios).not.toContain('=')
    expect(encodings.android).toMatch(/=$/)
    expect(encodings['single, raw']).toContain('+')
    for (const [label, query] of Object.entries(encodings)) {
      const res = await api.client('GET', `${credentialsUrl(namespace)}?publicKey=${query}`, api.tenantBasic)
      expect(res.statusCode, label).toBe(200)
      expect(expectClientOk(res), label).toEqual({
        userAuthenticatorId: credential.userAuthenticatorId,
        userId,
        verificationMethod: method,
        createdAt: expect.stringMatching(ISO),
        verifiedAt: expect.stringMatching(ISO),
        deviceName: 'Pixel 8',
        devicePlatform: 'android',
      })
    }
  })

  it('answers 404 for an unknown key and 400 for a malformed one', async () => {
    const unknown = Buffer.from(newDevice().publicKey, 'utf8').toString('base64url')
    expectError(await api.client('GET', `${credentialsUrl(namespace)}?publicKey=${unknown}`, api.tenantBasic), 404, 'not_found')
    const rsa = encodeURIComponent(nonP256Keys().RSA!)
    expectError(await api.client('GET', `${credentialsUrl(namespace)}?publicKey=${rsa}`, api.tenantBasic), 400, 'invalid_public_key')
    expectError(await api.client('GET', `${credentialsUrl(namespace)}?publicKey=%25%25`, api.tenantBasic), 400, 'invalid_public_key')
    expectError(await api.client('GET', credentialsUrl(namespace), api.tenantBasic), 400, 'invalid_request')
  })
})

describe('tenant authentication on the Client API', () => {
  it('accepts every tenant Basic form and a Bearer token', async () => {
    const userId = uniqueId('basic-forms')
    const { device } = await api.enroll(userId)
    const { tenantId } = api.tenant
    const forms = {
      'android: standard base64 of "tenantId:" with padding': `Basic ${Buffer.from(`${tenantId}:`).toString('base64')}`,
      'ios: base64url of "tenantId:" without padding': `Basic ${Buffer.from(`${tenantId}:`).toString('base64url')}`,
      'browser: base64 of encodeURIComponent(tenantId), no colon': `Basic ${Buffer.from(encodeURIComponent(tenantId)).toString('base64')}`,
      'lower-case scheme': `basic ${Buffer.from(`${tenantId}:`).toString('base64')}`,
      bearer: bearer((await api.track(userId, 'signIn')).token),
    }
    expect(forms['android: standard base64 of "tenantId:" with padding']).toMatch(/=$/)
    const url = `${credentialsUrl('in-app')}?publicKey=${encodeURIComponent(device.publicKey)}`
    for (const [label, authorization] of Object.entries(forms)) {
      const res = await api.client('GET', url, authorization)
      expect(res.statusCode, label).toBe(200)
      expect(expectClientOk(res).userId).toBe(userId)
      const withHeader = await api.client('GET', url, authorization, undefined, { 'x-authsignal-tenant-id': tenantId })
      expect(withHeader.statusCode, `${label} + X-Authsignal-Tenant-ID`).toBe(200)
    }
    // The form is accepted on the other Basic-tenant routes as well.
    const challengeId = await api.challenge(forms['browser: base64 of encodeURIComponent(tenantId), no colon'], 'signIn')
    expectClientOk(await api.verify(forms['ios: base64url of "tenantId:" without padding'], challengeId, device))
  })

  it('refuses a mismatching X-Authsignal-Tenant-ID, an unknown tenant and garbage with 401 unauthorized', async () => {
    const userId = uniqueId('basic-refusals')
    const { device } = await api.enroll(userId)
    const url = `${credentialsUrl('in-app')}?publicKey=${encodeURIComponent(device.publicKey)}`
    const mismatch = await api.client('GET', url, api.tenantBasic, undefined, { 'x-authsignal-tenant-id': other.tenant.tenantId })
    expectError(mismatch, 401, 'unauthorized')
    const bearerMismatch = await api.client('GET', url, bearer((await api.track(userId, 'signIn')).token), undefined, {
      'x-authsignal-tenant-id': other.tenant.tenantId,
    })
    expectError(bearerMismatch, 401, 'unauthorized')
    const refusals = {
      'unknown tenant': basicAuth('00000000-0000-4000-8000-000000000000'),
      'not a tenant ID': basicAuth('acme'),
      'secret key': basicAuth(api.tenant.secretKey),
      'not base64': 'Basic %%%',
      'empty Basic': 'Basic ',
      'unknown scheme': `Digest ${api.tenant.tenantId}`,
    }
    for (const [label, authorization] of Object.entries(refusals)) {
      const res = await api.client('GET', url, authorization)
      expect(res.statusCode, label).toBe(401)
      expectError(res, 401, 'unauthorized')
    }
    expectError(await api.client('GET', url, undefined), 401, 'unauthorized')
  })
})

describe.each(NAMESPACES)('remove credential ($namespace)', ({ namespace }) => {
  /** Moves the clock to the middle of a 10-minute bucket so "current" and "previous" are stable. */
  function bucketNow(): number {
    const intoBucket = h.clock() % 600_000
    h.clock.advance((300_000 - intoBucket + 600_000) % 600_000)
    return Math.floor(h.clock() / 600_000)
  }

  it('accepts the current and previous time bucket, with or without ".0"', async () => {
    const bucket = bucketNow()
    for (const message of [`${bucket}.0`, `${bucket}`, `${bucket - 1}.0`, `${bucket - 1}`]) {
      const userId = uniqueId('remove-ok')
      const { device, credential } = await api.enroll(userId, { namespace })
      const res = await api.client('POST', `${credentialsUrl(namespace)}/remove`, api.tenantBasic, {
        publicKey: device.publicKey,
        signature: device.sign(message),
      })
      expect(res.statusCode, message).toBe(200)
      expect(expectClientOk(res)).toEqual({ removedAuthenticatorId: credential.userAuthenticatorId })
      expect(await authenticators(userId)).toEqual([])
      const lookup = await api.client('GET', `${credentialsUrl(namespace)}?publicKey=${encodeURIComponent(device.publicKey)}`, api.tenantBasic)
      expectError(lookup, 404, 'not_found')
    }
  })

  it('refuses an older or future bucket, another key’s signature and garbage with 401 invalid_signature', async () => {
    const bucket = bucketNow()
    const userId = uniqueId('remove-refused')
    const { device } = await api.enroll(userId, { namespace })
    const remove = (signature: string) =>
      api.client('POST', `${credentialsUrl(namespace)}/remove`, api.tenantBasic, { publicKey: device.publicKey, signature })
    for (const message of [`${bucket - 2}.0`, `${bucket - 2}`, `${bucket + 1}.0`, `${bucket}.00`, ` ${bucket}.0`]) {
      const res = await remove(device.sign(message))
      expect(res.statusCode, message).toBe(401)
      expectError(res, 401, 'invalid_signature')
    }
    expectError(await remove(foreignSignature(`${bucket}.0`)), 401, 'invalid_signature')
    expectError(await remove(Buffer.from('not a DER signature').toString('base64')), 401, 'invalid_signature')
    expectError(await remove('***'), 400, 'invalid_request')
    expect(await authenticators(userId)).toHaveLength(1)
  })

  it('answers 404 for a key nobody enrolled and 401 without tenant credentials', async () => {
    const bucket = bucketNow()
    const stranger = newDevice()
    const body = { publicKey: stranger.publicKey, signature: stranger.sign(`${bucket}.0`) }
    expectError(await api.client('POST', `${credentialsUrl(namespace)}/remove`, api.tenantBasic, body), 404, 'not_found')
    expectError(await api.client('POST', `${credentialsUrl(namespace)}/remove`, undefined, body), 401, 'unauthorized')
  })
})

describe('verify in-app', () => {
  it('returns a new token for the same action, with the username when the user has one', async () => {
    const userId = uniqueId('verify-ok')
    const { device, credential } = await api.enroll(userId)
    const tracked = await api.track(userId, 'authorizePayment', { username: 'carol' })
    const challenge = expectClientOk(await api.client('POST', '/v1/client/challenge', bearer(tracked.token), {}))
    expect(challenge).toEqual({ challengeId: expect.stringMatching(/^[\w-]{40,}$/) })
    const body = expectClientOk(await api.verify(bearer(tracked.token), challenge.challengeId, device))
    expect(body).toEqual({ token: expect.any(String), userId, userAuthenticatorId: credential.userAuthenticatorId, username: 'carol' })
    const before = claimsOf(tracked.token)
    const after = claimsOf(body.token)
    expect(after).toMatchObject({ sub: userId, other: { actionCode: 'authorizePayment', idempotencyKey: tracked.idempotencyKey, userId } })
    expect(after.jti).not.toBe(before.jti)
    expect(await actionState(userId, tracked.idempotencyKey)).toBe('CHALLENGE_SUCCEEDED')
  })

  it('accepts a body-less challenge request with a Bearer token', async () => {
    const userId = uniqueId('verify-nobody')
    const { device } = await api.enroll(userId)
    const { token } = await api.track(userId)
    const res = await h.inject({ method: 'POST', url: '/v1/client/challenge', headers: { authorization: bearer(token) } })
    const { challengeId } = expectClientOk(res)
    expectClientOk(await api.verify(bearer(token), challengeId, device))
  })

  it('verifies with a legacy device-namespace credential', async () => {
    const userId = uniqueId('verify-device-ns')
    const { device, credential } = await api.enroll(userId, { namespace: 'device' })
    const tracked = await api.track(userId)
    expect(tracked.state).toBe('CHALLENGE_REQUIRED')
    const challengeId = await api.challenge(bearer(tracked.token))
    const body = expectClientOk(await api.verify(bearer(tracked.token), challengeId, device))
    expect(body.userAuthenticatorId).toBe(credential.userAuthenticatorId)
  })

  it('refuses a bad signature with 401 invalid_signature and leaves the action unchanged', async () => {
    const userId = uniqueId('verify-bad-sig')
    const { device } = await api.enroll(userId)
    const { token, idempotencyKey } = await api.track(userId)
    const challengeId = await api.challenge(bearer(token))
    expectError(await api.verify(bearer(token), challengeId, device, foreignSignature(challengeId)), 401, 'invalid_signature')
    expectError(await api.verify(bearer(token), challengeId, device, device.sign(`${challengeId}x`)), 401, 'invalid_signature')
    expectError(await api.verify(bearer(token), challengeId, device, Buffer.from([0x30, 0x00]).toString('base64')), 401, 'invalid_signature')
    expect(await actionState(userId, idempotencyKey)).toBe('CHALLENGE_REQUIRED')
    // The challenge was not consumed by the failures.
    expectClientOk(await api.verify(bearer(token), challengeId, device))
  })

  it('locks a credential after 10 consecutive bad signatures, until the back-off has passed', async () => {
    const userId = uniqueId('verify-lock')
    const { device } = await api.enroll(userId)
    const { token, idempotencyKey } = await api.track(userId)
    const challengeId = await api.challenge(bearer(token))
    for (let i = 0; i < 10; i++) {
      expectError(await api.verify(bearer(token), challengeId, device, foreignSignature(challengeId)), 401, 'invalid_signature')
    }
    const locked = await api.verify(bearer(token), challengeId, device)
    expectError(locked, 423, 'credential_locked')
    const retryAfter = Number(locked.headers['retry-after'])
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(900)
    expect(await actionState(userId, idempotencyKey)).toBe('CHALLENGE_REQUIRED')
    expect((await authenticators(userId))[0]).toMatchObject({ isLocked: true, failedAttempts: 10, lockedUntil: expect.stringMatching(ISO) })
    // Locked on the tenant-ID path as well.
    const basicChallenge = await api.challenge(api.tenantBasic, 'signIn')
    expectError(await api.verify(api.tenantBasic, basicChallenge, device), 423, 'credential_locked')

    h.clock.advance(901_000)
    expect((await authenticators(userId))[0]).toMatchObject({ isLocked: false })
    const fresh = await api.track(userId)
    const freshChallenge = await api.challenge(bearer(fresh.token))
    expectClientOk(await api.verify(bearer(fresh.token), freshChallenge, device))
    const after = (await authenticators(userId))[0]
    expect(after).toMatchObject({ isLocked: false, failedAttempts: 0 })
    expect(after).not.toHaveProperty('lockedUntil')
  })

  it('counts failures per credential: locking one leaves the user’s other credential usable', async () => {
    const userId = uniqueId('verify-lock-two')
    const { device: locked, credential: lockedCredential } = await api.enroll(userId)
    const { device: spare, credential: spareCredential } = await api.enroll(userId, { approvedBy: locked })
    const { token } = await api.track(userId)
    const challengeId = await api.challenge(bearer(token))
    for (let i = 0; i < 10; i++) {
      expectError(await api.verify(bearer(token), challengeId, locked, foreignSignature(challengeId)), 401, 'invalid_signature')
    }
    expectError(await api.verify(bearer(token), challengeId, locked), 423, 'credential_locked')
    const body = expectClientOk(await api.verify(bearer(token), challengeId, spare))
    expect(body.userAuthenticatorId).toBe(spareCredential.userAuthenticatorId)
    const byId = Object.fromEntries((await authenticators(userId)).map((a) => [a.userAuthenticatorId, a]))
    expect(byId[lockedCredential.userAuthenticatorId]).toMatchObject({ isLocked: true })
    expect(byId[spareCredential.userAuthenticatorId]).toMatchObject({ isLocked: false, failedAttempts: 0 })
  })

  it('refuses an expired challenge with 410 challenge_expired', async () => {
    const userId = uniqueId('verify-expired')
    const { device } = await api.enroll(userId)
    const { token, idempotencyKey } = await api.track(userId)
    const stillFresh = await api.challenge(bearer(token))
    h.clock.advance(4 * 60_000)
    expectClientOk(await api.verify(bearer(token), stillFresh, device))

    const next = await api.track(userId)
    const challengeId = await api.challenge(bearer(next.token))
    h.clock.advance(5 * 60_000 + 1000)
    expectError(await api.verify(bearer(next.token), challengeId, device), 410, 'challenge_expired')
    expect(await actionState(userId, next.idempotencyKey)).toBe('CHALLENGE_REQUIRED')
    expect(await actionState(userId, idempotencyKey)).toBe('CHALLENGE_SUCCEEDED')
  })

  it('refuses forged, garbage and foreign challenge IDs with 400 invalid_challenge', async () => {
    const userId = uniqueId('verify-forged')
    const { device } = await api.enroll(userId)
    const { token, idempotencyKey } = await api.track(userId)
    const real = await api.challenge(bearer(token))
    const flip = (id: string, at: number) => id.slice(0, at) + (id[at] === 'A' ? 'B' : 'A') + id.slice(at + 1)
    const foreign = await other.challenge(other.tenantBasic, 'authorizePayment')
    const candidates = {
      garbage: 'garbage',
      'not base64url': 'abc+/=',
      'flipped nonce': flip(real, 10),
      'flipped mac': flip(real, real.length - 8),
      truncated: real.slice(0, -4),
      extended: `${real}AAAA`,
      'another tenant’s': foreign,
    }
    for (const [label, challengeId] of Object.entries(candidates)) {
      const res = await api.verify(bearer(token), challengeId, device)
      expect(res.statusCode, label).toBe(400)
      expectError(res, 400, 'invalid_challenge')
    }
    expect(await actionState(userId, idempotencyKey)).toBe('CHALLENGE_REQUIRED')
  })

  it('refuses a challenge issued for another action', async () => {
    const userId = uniqueId('verify-other-action')
    const { device } = await api.enroll(userId)
    const forA = await api.challenge(api.tenantBasic, 'signIn')
    const b = await api.track(userId, 'authorizePayment')
    expectError(await api.verify(bearer(b.token), forA, device), 400, 'invalid_challenge')
    const a = await api.track(userId, 'signIn')
    const forAWithToken = await api.challenge(bearer(a.token))
    expectError(await api.verify(bearer(b.token), forAWithToken, device), 400, 'invalid_challenge')
    // Asking for a challenge for an action other than the token's is refused up front.
    expectError(await api.client('POST', '/v1/client/challenge', bearer(b.token), { action: 'signIn' }), 400, 'invalid_request')
    expect(await actionState(userId, b.idempotencyKey)).toBe('CHALLENGE_REQUIRED')
  })

  it('refuses a token that was already validated with 401 invalid_token', async () => {
    const userId = uniqueId('verify-validated')
    const { device } = await api.enroll(userId)
    const { token } = await api.track(userId)
    expect(expectOk(await api.server('POST', '/v1/validate', { token }))).toMatchObject({ isValid: false, state: 'CHALLENGE_REQUIRED' })
    const challengeId = await api.challenge(bearer(token))
    expectError(await api.verify(bearer(token), challengeId, device), 401, 'invalid_token')

    // The token from a completed verification cannot be used to verify again once validated.
    const done = await api.completeFlow(userId, device)
    expect(expectOk(await api.server('POST', '/v1/validate', { token: done.token }))).toMatchObject({ isValid: true })
    const again = await api.challenge(bearer(done.token))
    expectError(await api.verify(bearer(done.token), again, device), 401, 'invalid_token')
  })

  it('refuses a BLOCKed action with 409 invalid_action_state', async () => {
    const userId = uniqueId('verify-blocked')
    const { device } = await api.enroll(userId)
    const { token, idempotencyKey } = await api.track(userId)
    expectOk(await api.server('PATCH', `/v1/users/${userId}/actions/authorizePayment/${idempotencyKey}`, { state: 'BLOCK' }))
    const challengeId = await api.challenge(bearer(token))
    expectError(await api.verify(bearer(token), challengeId, device), 409, 'invalid_action_state')
    expect(await actionState(userId, idempotencyKey)).toBe('BLOCK')
  })

  it('consumes a challenge once: a second verify is 409 challenge_consumed', async () => {
    const userId = uniqueId('verify-consumed')
    const { device } = await api.enroll(userId)
    // Tenant-ID path: the same challenge twice.
    const challengeId = await api.challenge(api.tenantBasic, 'signIn')
    expectClientOk(await api.verify(api.tenantBasic, challengeId, device))
    expectError(await api.verify(api.tenantBasic, challengeId, device), 409, 'challenge_consumed')
    // Token path: a used challenge presented with a fresh token for the same action code.
    const first = await api.track(userId)
    const used = await api.challenge(bearer(first.token))
    expectClientOk(await api.verify(bearer(first.token), used, device))
    const second = await api.track(userId)
    expectError(await api.verify(bearer(second.token), used, device), 409, 'challenge_consumed')
    expect(await actionState(userId, second.idempotencyKey)).toBe('CHALLENGE_REQUIRED')
    // The same token and challenge again: the action is already complete.
    const repeat = await api.verify(bearer(first.token), used, device)
    expect(repeat.statusCode).toBe(409)
    expect(['challenge_consumed', 'invalid_action_state']).toContain(repeat.json().errorCode)
  })

  it('refuses another user’s credential with 401 invalid_credential', async () => {
    const victim = uniqueId('verify-victim')
    const attacker = uniqueId('verify-attacker')
    await api.enroll(victim)
    const { device: attackerDevice } = await api.enroll(attacker)
    const { token, idempotencyKey } = await api.track(victim)
    const challengeId = await api.challenge(bearer(token))
    expectError(await api.verify(bearer(token), challengeId, attackerDevice), 401, 'invalid_credential')
    const unenrolled = newDevice()
    expectError(await api.verify(bearer(token), challengeId, unenrolled), 401, 'invalid_credential')
    expect(await actionState(victim, idempotencyKey)).toBe('CHALLENGE_REQUIRED')
  })

  // The legacy device SDKs verify with only the tenant ID and no action: record a default one.
  it('records inAppVerification (deviceVerification on /verify/device) for a tenant-ID verify without an action', async () => {
    const userId = uniqueId('verify-no-action')
    const { device } = await api.enroll(userId)
    for (const [path, action, method] of [
      ['/v1/client/verify/in-app', 'inAppVerification', 'IN_APP'],
      ['/v1/client/verify/device', 'deviceVerification', 'DEVICE'],
    ] as const) {
      const challengeId = await api.challenge(api.tenantBasic)
      const verified = expectClientOk(
        await api.client('POST', path, api.tenantBasic, { challengeId, publicKey: device.publicKey, signature: device.sign(challengeId) }),
      )
      const validated = expectOk(await api.server('POST', '/v1/validate', { token: verified.token, userId }))
      expect(validated).toMatchObject({ isValid: true, action, verificationMethod: method })
    }
  })

  it('refuses malformed verify requests and missing credentials', async () => {
    const userId = uniqueId('verify-shape')
    const { device } = await api.enroll(userId)
    const { token } = await api.track(userId)
    const challengeId = await api.challenge(bearer(token))
    const verify = (payload: object, authorization = bearer(token)) =>
      api.client('POST', '/v1/client/verify/in-app', authorization, payload)
    expectError(await verify({ challengeId, publicKey: device.publicKey }), 400, 'invalid_request')
    expectError(await verify({ challengeId, signature: device.sign(challengeId) }), 400, 'invalid_request')
    expectError(await verify({ publicKey: device.publicKey, signature: device.sign(challengeId) }), 400, 'invalid_request')
    expectError(await verify({ challengeId, publicKey: 'AAAA', signature: device.sign(challengeId) }), 400, 'invalid_public_key')
    const signed = { challengeId, publicKey: device.publicKey, signature: device.sign(challengeId) }
    expectError(await api.client('POST', '/v1/client/verify/in-app', undefined, signed), 401, 'unauthorized')
    expectError(await verify(signed, 'Bearer garbage'), 401, 'invalid_token')
    expectError(await api.client('POST', '/v1/client/challenge', undefined, {}), 401, 'unauthorized')
    expectError(await api.client('POST', '/v1/client/challenge', api.tenantBasic, { action: 'bad action!' }), 400, 'invalid_request')
  })
})

describe('CORS on the Client API', () => {
  it('answers a preflight from any origin and allows the Authorization header', async () => {
    for (const url of ['/v1/client/challenge', '/v1/client/verify/in-app', '/v1/client/user-authenticators/in-app']) {
      const res = await h.inject({
        method: 'OPTIONS',
        url,
        headers: {
          origin: 'https://shop.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-authsignal-tenant-id',
        },
      })
      expect(res.statusCode, url).toBeLessThan(300)
      expect(['https://shop.example', '*']).toContain(res.headers['access-control-allow-origin'])
      const allowed = String(res.headers['access-control-allow-headers']).toLowerCase()
      expect(allowed).toContain('authorization')
      expect(allowed).toContain('content-type')
      expect(res.headers['access-control-allow-credentials']).toBeUndefined()
    }
  })

  it('refuses a preflight without Origin or Access-Control-Request-Method with a coded 400, not plain text (found by fuzzing)', async () => {
    expectError(await h.inject({ method: 'OPTIONS', url: '/v1/client/challenge', headers: { origin: 'https://shop.example' } }), 400, 'invalid_request')
  })

  it('sends the allow-origin header on actual Client API answers', async () => {
    const res = await h.inject({
      method: 'POST',
      url: '/v1/client/challenge',
      headers: { origin: 'https://shop.example', authorization: api.tenantBasic },
      payload: { action: 'signIn' },
    })
    expectClientOk(res)
    expect(['https://shop.example', '*']).toContain(res.headers['access-control-allow-origin'])
  })
})
