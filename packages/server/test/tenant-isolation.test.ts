// Tenant isolation: a key, token, credential or challenge of tenant A used against tenant B is
// refused (401/404, the same answer as for something that does not exist), never data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, newDevice, type Harness, type TestDevice } from './support/harness.ts'
import {
  bearer,
  expectClientOk,
  expectError,
  expectOk,
  foreignSignature,
  tenantApi,
  uniqueId,
  type Response,
  type TenantApi,
} from './support/api.ts'

let h: Harness
let a: TenantApi
let b: TenantApi

// What tenant B holds; A must learn nothing of it.
let bUserId: string
let bDevice: TestDevice
let bCredentialId: string
let bIdempotencyKey: string
let bToken: string
let aUserId: string
let aDevice: TestDevice

/** Every response A got while probing B, checked at the end for B's user IDs. */
const seenByA: Response[] = []
const probe = async (res: Promise<Response>): Promise<Response> => {
  const r = await res
  seenByA.push(r)
  return r
}

beforeAll(async () => {
  h = await createHarness()
  a = tenantApi(h, await h.newTenant())
  b = tenantApi(h, await h.newTenant())
  bUserId = uniqueId('b-private-user')
  ;({ device: bDevice, credential: { userAuthenticatorId: bCredentialId } } = await b.enroll(bUserId))
  await b.server('PATCH', `/v1/users/${bUserId}`, { email: 'b-private@example.com', username: 'b-private-name' })
  const tracked = await b.track(bUserId, 'authorizePayment')
  bIdempotencyKey = tracked.idempotencyKey
  bToken = tracked.token
  aUserId = uniqueId('a-user')
  ;({ device: aDevice } = await a.enroll(aUserId))
})
afterAll(() => h.close())

/** The same request for B's resource and for one that exists nowhere: both refused alike. */
async function expectSameRefusal(request: (userId: string, id: string) => Promise<Response>, status: number) {
  const forB = await probe(request(bUserId, bIdempotencyKey))
  const forNothing = await probe(request(uniqueId('nobody'), uniqueId('nothing')))
  expectError(forB, status, 'not_found')
  expect(forB.statusCode).toBe(forNothing.statusCode)
  expect(forB.json()).toEqual(forNothing.json())
}

describe('A’s secret key against B’s resources', () => {
  it('cannot read B’s user, action or authenticators', async () => {
    await expectSameRefusal((userId) => a.server('GET', `/v1/users/${userId}`), 404)
    await expectSameRefusal((userId, key) => a.server('GET', `/v1/users/${userId}/actions/authorizePayment/${key}`), 404)

    // Lists answer exactly as for a user that does not exist: empty.
    for (const path of [`/v1/users/${bUserId}/actions`, `/v1/users/${bUserId}/authenticators`]) {
      const forB = await probe(a.server('GET', path))
      const forNothing = await probe(a.server('GET', path.replace(bUserId, uniqueId('nobody'))))
      expect(forB.statusCode).toBe(forNothing.statusCode)
      expect(expectOk(forB)).toEqual([])
    }
    const users = expectOk(await probe(a.server('GET', '/v1/users?limit=100')))
    expect(users.users.map((u: { userId: string }) => u.userId)).toEqual([aUserId])
    for (const query of ['email=b-private%40example.com', 'username=b-private-name']) {
      expect(expectOk(await probe(a.server('GET', `/v1/users?${query}`)))).toEqual({ users: [] })
    }
  })

  it('cannot change or delete B’s action, authenticator or user', async () => {
    await expectSameRefusal(
      (userId, key) => a.server('PATCH', `/v1/users/${userId}/actions/authorizePayment/${key}`, { state: 'ALLOW' }),
      404,
    )
    const deleteAuthenticator = await probe(a.server('DELETE', `/v1/users/${bUserId}/authenticators/${bCredentialId}`))
    const deleteNothing = await probe(a.server('DELETE', `/v1/users/${bUserId}/authenticators/${crypto.randomUUID()}`))
    expectError(deleteAuthenticator, 404, 'not_found')
    expect(deleteAuthenticator.json()).toEqual(deleteNothing.json())
    await expectSameRefusal((userId) => a.server('DELETE', `/v1/users/${userId}`), 404)

    // B's data is untouched.
    expect(expectOk(await b.server('GET', `/v1/users/${bUserId}/actions/authorizePayment/${bIdempotencyKey}`)).state).toBe(
      'CHALLENGE_REQUIRED',
    )
    expect(expectOk(await b.server('GET', `/v1/users/${bUserId}/authenticators`))).toHaveLength(1)
    expect(expectOk(await b.server('GET', `/v1/users/${bUserId}`))).toMatchObject({ isEnrolled: true, email: 'b-private@example.com' })
  })

  it('cannot reuse B’s idempotency key to reach B’s action', async () => {
    const tracked = expectOk(await probe(a.server('POST', `/v1/users/${aUserId}/actions/authorizePayment`, { idempotencyKey: bIdempotencyKey })))
    expect(tracked.idempotencyKey).toBe(bIdempotencyKey)
    expect(expectOk(await b.server('GET', `/v1/users/${bUserId}/actions/authorizePayment/${bIdempotencyKey}`))).toMatchObject({
      userId: bUserId,
      state: 'CHALLENGE_REQUIRED',
    })
  })

  it('answers validate of B’s token with isValid false invalid_token, leaving it valid at B', async () => {
    const challengeId = await b.challenge(bearer(bToken))
    const verified = expectClientOk(await b.verify(bearer(bToken), challengeId, bDevice))
    const atA = expectOk(await probe(a.server('POST', '/v1/validate', { token: verified.token })))
    expect(atA).toEqual({ isValid: false, error: 'invalid_token' })
    const withUser = expectOk(await probe(a.server('POST', '/v1/validate', { token: verified.token, userId: bUserId })))
    expect(withUser).toEqual({ isValid: false, error: 'invalid_token' })
    expect(expectOk(await b.server('POST', '/v1/validate', { token: verified.token, userId: bUserId }))).toMatchObject({
      isValid: true,
      state: 'CHALLENGE_SUCCEEDED',
    })
  })
})

describe('Client API across tenants', () => {
  it('refuses A’s token presented as B’s (X-Authsignal-Tenant-ID of B) with 401', async () => {
    const { token } = await a.track(aUserId, 'addAuthenticator', { scope: 'add:authenticators' })
    const asB = { 'x-authsignal-tenant-id': b.tenant.tenantId }
    expectError(
      await probe(a.client('POST', '/v1/client/user-authenticators/in-app', bearer(token), { publicKey: newDevice().publicKey }, asB)),
      401,
      'unauthorized',
    )
    expectError(await probe(a.client('POST', '/v1/client/challenge', bearer(token), {}, asB)), 401, 'unauthorized')
    const lookup = `/v1/client/user-authenticators/in-app?publicKey=${encodeURIComponent(bDevice.publicKey)}`
    expectError(await probe(a.client('GET', lookup, bearer(token), undefined, asB)), 401, 'unauthorized')
    expectError(await probe(a.client('GET', lookup, b.tenantBasic, undefined, { 'x-authsignal-tenant-id': a.tenant.tenantId })), 401, 'unauthorized')
  })

  it('refuses A’s challenge verified under B with 400 invalid_challenge', async () => {
    const aChallenge = await a.challenge(a.tenantBasic, 'signIn')
    expectError(await probe(b.verify(b.tenantBasic, aChallenge, bDevice)), 400, 'invalid_challenge')
    const { token } = await b.track(bUserId)
    expectError(await probe(b.verify(bearer(token), aChallenge, bDevice)), 400, 'invalid_challenge')
    // And with A's token too: the token picks tenant A, the challenge would need to be A's.
    const bChallenge = await b.challenge(b.tenantBasic, 'signIn')
    const aToken = (await a.track(aUserId, 'signIn')).token
    expectError(await probe(a.verify(bearer(aToken), bChallenge, aDevice)), 400, 'invalid_challenge')
  })

  it('does not find A’s credential under B (404), nor let it verify or be removed there', async () => {
    for (const query of [encodeURIComponent(aDevice.publicKey), Buffer.from(aDevice.publicKey).toString('base64url')]) {
      const underB = await probe(b.client('GET', `/v1/client/user-authenticators/in-app?publicKey=${query}`, b.tenantBasic))
      expectError(underB, 404, 'not_found')
      const nowhere = await probe(
        b.client('GET', `/v1/client/user-authenticators/in-app?publicKey=${encodeURIComponent(newDevice().publicKey)}`, b.tenantBasic),
      )
      expect(underB.json()).toEqual(nowhere.json())
    }
    const bChallenge = await b.challenge(b.tenantBasic, 'signIn')
    expectError(await probe(b.verify(b.tenantBasic, bChallenge, aDevice)), 401, 'invalid_credential')
    const bucket = `${Math.floor(h.clock() / 600_000)}.0`
    expectError(
      await probe(b.client('POST', '/v1/client/user-authenticators/in-app/remove', b.tenantBasic, {
        publicKey: aDevice.publicKey,
        signature: aDevice.sign(bucket),
      })),
      404,
      'not_found',
    )
    expect(expectOk(await a.server('GET', `/v1/users/${aUserId}/authenticators`))).toHaveLength(1)
  })

  it('does not count B-side failures against A’s credential', async () => {
    const bChallenge = await b.challenge(b.tenantBasic, 'signIn')
    for (let i = 0; i < 10; i++) {
      expectError(await probe(b.verify(b.tenantBasic, bChallenge, aDevice, foreignSignature(bChallenge))), 401, 'invalid_signature')
    }
    expect(expectOk(await a.server('GET', `/v1/users/${aUserId}/authenticators`))[0]).toMatchObject({ isLocked: false, failedAttempts: 0 })
    const { token } = await a.completeFlow(aUserId, aDevice, 'signIn')
    expect(expectOk(await a.server('POST', '/v1/validate', { token }))).toMatchObject({ isValid: true })
  })

  it('lets B’s key enroll at A only as a separate credential of A', async () => {
    // The same device key may be enrolled by two tenants; each sees only its own credential.
    const userId = uniqueId('a-shared-key')
    const { credential } = await a.enroll(userId, { device: bDevice })
    expect(credential.userAuthenticatorId).not.toBe(bCredentialId)
    const underB = expectClientOk(
      await b.client('GET', `/v1/client/user-authenticators/in-app?publicKey=${encodeURIComponent(bDevice.publicKey)}`, b.tenantBasic),
    )
    expect(underB).toMatchObject({ userId: bUserId, userAuthenticatorId: bCredentialId })
  })
})

describe('no leaks', () => {
  it('never shows B’s user IDs or attributes in any answer A received', () => {
    expect(seenByA.length).toBeGreaterThan(20)
    for (const res of seenByA) {
      expect(res.body).not.toContain(bUserId)
      expect(res.body).not.toContain('b-private')
      expect(res.body).not.toContain(bCredentialId)
    }
  })
})
