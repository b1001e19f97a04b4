// Replay and races (issue 6): every single-use thing — an in-app challenge, a token at
// validate, a signing nonce (pending-push fetch and push-credential update), a push answer, a
// QR claim and answer, the hand-over of an approval's token to the initiating side — is tried
// twice in sequence and 50 times at once: exactly one attempt succeeds, every other one is a
// coded refusal. Enrollment with one token is checked for what the server does guarantee.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ErrorCode } from '@countersign/protocol'
import { createHarness, newDevice, type Harness, type TestDevice } from './support/harness.ts'
import { bearer, expectClientOk, expectError, expectOk, tenantApi, uniqueId, type Response, type TenantApi } from './support/api.ts'

const PARALLEL = 50

let h: Harness
let api: TenantApi

beforeAll(async () => {
  h = await createHarness()
  api = tenantApi(h, await h.newTenant())
})
afterAll(() => h.close())

/** Runs PARALLEL attempts at once. */
function race<T>(attempt: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: PARALLEL }, (_, i) => attempt(i)))
}

/** How many answers of each kind: `200`, or the status and error code. */
function tally(results: Response[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of results) {
    const key = r.statusCode === 200 ? '200' : `${r.statusCode} ${String(r.json().errorCode)}`
    counts[key] = (counts[key] ?? 0) + 1
  }
  return counts
}

/**
 * Exactly one answer is a 200; every other one is a coded refusal among `refusals` (no 5xx, no
 * stack trace). Returns the winner.
 */
function expectOneSuccess(results: Response[], refusals: Array<[number, ErrorCode]>): Response {
  const counts = tally(results)
  expect(counts['200'] ?? 0, JSON.stringify(counts)).toBe(1)
  const allowed = refusals.map(([status, code]) => `${status} ${code}`)
  for (const outcome of Object.keys(counts)) if (outcome !== '200') expect(allowed, JSON.stringify(counts)).toContain(outcome)
  for (const r of results) if (r.statusCode !== 200) expectError(r, r.statusCode, r.json().errorCode)
  return results.find((r) => r.statusCode === 200)!
}

/** A device answers only its own key's nonce: the publicKey query as the SDKs send it. */
const keyQuery = (device: TestDevice) => encodeURIComponent(Buffer.from(device.publicKey).toString('base64'))

async function actionState(userId: string, action: string, idempotencyKey: string): Promise<string> {
  return expectOk(await api.server('GET', `/v1/users/${encodeURIComponent(userId)}/actions/${action}/${idempotencyKey}`)).state
}

const validate = (token: string) => api.server('POST', '/v1/validate', { token })

async function authenticatorIdsOf(userId: string): Promise<string[]> {
  const listed = expectOk(await api.server('GET', `/v1/users/${encodeURIComponent(userId)}/authenticators`)) as Array<{ userAuthenticatorId: string }>
  return listed.map((c) => c.userAuthenticatorId)
}

// ---------------------------------------------------------------------------------------------

describe('an in-app challenge', () => {
  async function challenged(action = 'authorizePayment') {
    const userId = uniqueId('replay-in-app')
    const { device } = await api.enroll(userId)
    const tracked = await api.track(userId, action)
    expect(tracked.state).toBe('CHALLENGE_REQUIRED')
    const challengeId = await api.challenge(bearer(tracked.token))
    return { userId, device, tracked, challengeId }
  }

  it('verified twice in sequence: the replay is refused and the action completes once', async () => {
    const { userId, device, tracked, challengeId } = await challenged()
    expectClientOk(await api.verify(bearer(tracked.token), challengeId, device))
    expectError(await api.verify(bearer(tracked.token), challengeId, device), 409, 'invalid_action_state')
    expect(await actionState(userId, 'authorizePayment', tracked.idempotencyKey)).toBe('CHALLENGE_SUCCEEDED')
  })

  it('verified 50 times at once with the token: one succeeds', async () => {
    const { device, tracked, challengeId } = await challenged()
    const signature = device.sign(challengeId)
    const results = await race(() => api.verify(bearer(tracked.token), challengeId, device, signature))
    const winner = expectOneSuccess(results, [
      [409, 'challenge_consumed'],
      [409, 'invalid_action_state'],
    ])
    expect(expectOk(await validate(winner.json().token))).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED' })
  })

  it('verified 50 times at once with only the tenant ID: one action is recorded', async () => {
    const userId = uniqueId('replay-device-verify')
    const { device } = await api.enroll(userId)
    const challengeId = await api.challenge(api.tenantBasic, 'signIn')
    const signature = device.sign(challengeId)
    const results = await race(() => api.verify(api.tenantBasic, challengeId, device, signature))
    expectOneSuccess(results, [[409, 'challenge_consumed']])
    expect(expectOk(await api.server('GET', `/v1/users/${encodeURIComponent(userId)}/actions?codes=signIn`))).toHaveLength(1)
    expectError(await api.verify(api.tenantBasic, challengeId, device, signature), 409, 'challenge_consumed')
  })

  it('one challenge serves one verify across paths: used with a token, refused with the tenant ID', async () => {
    const userId = uniqueId('replay-cross-path')
    const { device } = await api.enroll(userId)
    const tracked = await api.track(userId, 'signIn')
    const challengeId = await api.challenge(bearer(tracked.token))
    expectClientOk(await api.verify(bearer(tracked.token), challengeId, device))
    expectError(await api.verify(api.tenantBasic, challengeId, device), 409, 'challenge_consumed')
  })

  it('50 different challenges of one token verified at once: the action completes once', async () => {
    const { device, tracked } = await challenged()
    const challengeIds = await Promise.all(Array.from({ length: PARALLEL }, () => api.challenge(bearer(tracked.token))))
    expect(new Set(challengeIds).size).toBe(PARALLEL)
    const results = await race((i) => api.verify(bearer(tracked.token), challengeIds[i]!, device))
    expectOneSuccess(results, [[409, 'invalid_action_state']])
  })
})

describe('a token at POST /v1/validate', () => {
  it('validated twice in sequence: the second is token_already_used', async () => {
    const userId = uniqueId('replay-validate')
    const { device } = await api.enroll(userId)
    const { token } = await api.completeFlow(userId, device)
    expect(expectOk(await validate(token))).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', userId })
    expect(expectOk(await validate(token))).toEqual({ isValid: false, error: 'token_already_used' })
  })

  it('validated 50 times at once: one is valid, 49 are token_already_used', async () => {
    const userId = uniqueId('replay-validate-race')
    const { device } = await api.enroll(userId)
    const { token } = await api.completeFlow(userId, device)
    const answers = (await race(() => validate(token))).map((r) => expectOk(r))
    expect(answers.filter((a) => a.isValid === true)).toHaveLength(1)
    expect(answers.filter((a) => a.isValid === false && a.error === 'token_already_used')).toHaveLength(PARALLEL - 1)
  })

  it('a track token that needs no challenge is read once too: one answer has the action, 49 are token_already_used', async () => {
    const tracked = await api.track(uniqueId('replay-validate-allow'), 'signIn')
    expect(tracked.state).not.toBe('CHALLENGE_REQUIRED')
    const answers = (await race(() => validate(tracked.token))).map((r) => expectOk(r))
    const used = answers.filter((a) => a.error === 'token_already_used')
    expect(used).toHaveLength(PARALLEL - 1)
    expect(answers.find((a) => a.error !== 'token_already_used')).toMatchObject({ state: tracked.state, idempotencyKey: tracked.idempotencyKey })
  })
})

describe('a signing nonce', () => {
  async function pushDevice() {
    const userId = uniqueId('replay-nonce')
    const { device, credential } = await api.enroll(userId, { namespace: 'push', pushToken: 'fcm-token-replay-0' })
    return { userId, device, credentialId: credential.userAuthenticatorId as string }
  }
  /** …/push/challenge/sign: the nonce the device signs before fetching its pending challenge. */
  async function fetchNonce(device: TestDevice): Promise<string> {
    const res = await api.client('POST', `/v1/client/user-authenticators/push/challenge/sign?publicKey=${keyQuery(device)}`, api.tenantBasic)
    return expectClientOk(res).message
  }
  const fetchPending = (device: TestDevice, signature: string) =>
    api.client('GET', `/v1/client/user-authenticators/push/challenge?publicKey=${keyQuery(device)}`, api.tenantBasic, undefined, {
      'x-authsignal-signature': signature,
    })
  /** …/push/sign: the nonce the device signs before updating its credential. */
  async function updateNonce(device: TestDevice): Promise<string> {
    const signing = expectClientOk(await api.client('POST', `/v1/client/user-authenticators/push/sign?publicKey=${keyQuery(device)}`, api.tenantBasic))
    expect(signing.challengeId).toBe(signing.message)
    return signing.message
  }
  const patchCredential = (device: TestDevice, nonce: string, signature: string, pushToken: string) =>
    api.client('PATCH', '/v1/client/user-authenticators/push', api.tenantBasic, { challengeId: nonce, publicKey: device.publicKey, signature, pushToken })

  async function startPush(userId: string): Promise<string> {
    const tracked = await api.track(userId, 'authorizePayment')
    return expectClientOk(await api.client('POST', '/v1/client/challenge/push', bearer(tracked.token), {})).challengeId
  }

  it('a signed pending-push fetch, replayed: the nonce is spent by the first', async () => {
    const { userId, device, credentialId } = await pushDevice()
    const challengeId = await startPush(userId)
    const signature = device.sign(await fetchNonce(device))
    expect(expectClientOk(await fetchPending(device, signature))).toMatchObject({ userAuthenticatorId: credentialId, challengeId })
    expectError(await fetchPending(device, signature), 400, 'invalid_challenge')
    // Spent, it cannot be brought to the credential update either.
    const nonce = await fetchNonce(device)
    const spent = device.sign(nonce)
    expectClientOk(await fetchPending(device, spent))
    expectError(await patchCredential(device, nonce, spent, 'fcm-token-replay-x'), 400, 'invalid_challenge')
  })

  it('a signed pending-push fetch sent 50 times at once: one sees the challenge', async () => {
    const { userId, device } = await pushDevice()
    const challengeId = await startPush(userId)
    const signature = device.sign(await fetchNonce(device))
    const winner = expectOneSuccess(await race(() => fetchPending(device, signature)), [[400, 'invalid_challenge']])
    expect(winner.json().challengeId).toBe(challengeId)
    // The refused replays carried a good signature, so they count no failed attempt: 49 would
    // have locked the credential (after 10), and the answer below would be credential_locked.
    expect(expectClientOk(await answerChallenge('push', device, challengeId, true))).toEqual({ isVerified: true })
  })

  it('a replaced nonce is dead: signed before a new one was issued, it is refused', async () => {
    const { device } = await pushDevice()
    const first = device.sign(await fetchNonce(device))
    await fetchNonce(device)
    // Checked against the current nonce, the old one's signature is wrong (and counts as a failed attempt).
    expectError(await fetchPending(device, first), 401, 'invalid_signature')
  })

  it('a push-credential update, replayed: the second is refused', async () => {
    const { device, credentialId } = await pushDevice()
    const nonce = await updateNonce(device)
    const signature = device.sign(nonce)
    expect(expectClientOk(await patchCredential(device, nonce, signature, 'fcm-token-replay-1'))).toMatchObject({
      userAuthenticatorId: credentialId,
      pushToken: 'fcm-token-replay-1',
    })
    expectError(await patchCredential(device, nonce, signature, 'fcm-token-replay-2'), 400, 'invalid_challenge')
    // Spent, it cannot fetch the pending challenge either.
    expectError(await fetchPending(device, signature), 400, 'invalid_challenge')
  })

  it('50 push-credential updates with one signed nonce at once: one push token is stored', async () => {
    const { userId, device, credentialId } = await pushDevice()
    const nonce = await updateNonce(device)
    const signature = device.sign(nonce)
    const results = await race((i) => patchCredential(device, nonce, signature, `fcm-token-race-${i}`))
    const winner = expectOneSuccess(results, [[400, 'invalid_challenge']])
    const stored = winner.json().pushToken as string
    expect(stored).toBe(`fcm-token-race-${results.indexOf(winner)}`)
    expect(await authenticatorIdsOf(userId)).toEqual([credentialId])
    // The next update, with a fresh nonce and no push token, shows the winner's token was kept.
    const next = await updateNonce(device)
    const kept = await api.client('PATCH', '/v1/client/user-authenticators/push', api.tenantBasic, {
      challengeId: next,
      publicKey: device.publicKey,
      signature: device.sign(next),
    })
    expect(expectClientOk(kept).pushToken).toBe(stored)
  })
})

describe('a push answer', () => {
  async function pushChallenge() {
    const userId = uniqueId('replay-push')
    const { device } = await api.enroll(userId, { namespace: 'push', pushToken: 'fcm-token-answer' })
    const tracked = await api.track(userId, 'authorizePayment')
    const challengeId = expectClientOk(await api.client('POST', '/v1/client/challenge/push', bearer(tracked.token), {})).challengeId as string
    return { userId, device, tracked, challengeId }
  }

  it('approved twice in sequence: the second approval and a later denial are challenge_consumed', async () => {
    const { userId, device, tracked, challengeId } = await pushChallenge()
    expect(expectClientOk(await answerChallenge('push', device, challengeId, true))).toEqual({ isVerified: true })
    expectError(await answerChallenge('push', device, challengeId, true), 409, 'challenge_consumed')
    expectError(await answerChallenge('push', device, challengeId, false), 409, 'challenge_consumed')
    expect(await actionState(userId, 'authorizePayment', tracked.idempotencyKey)).toBe('CHALLENGE_SUCCEEDED')
  })

  it('one signed approval sent 50 times at once: one is recorded', async () => {
    const { userId, device, tracked, challengeId } = await pushChallenge()
    const signature = device.sign(challengeId)
    const results = await race(() => answerChallenge('push', device, challengeId, true, signature))
    expect(expectOneSuccess(results, [[409, 'challenge_consumed']]).json()).toEqual({ isVerified: true })
    expect(await actionState(userId, 'authorizePayment', tracked.idempotencyKey)).toBe('CHALLENGE_SUCCEEDED')
  })
})

function answerChallenge(namespace: 'push' | 'qr-code', device: TestDevice, challengeId: string, approved: boolean, signature?: string) {
  return api.client('POST', `/v1/client/user-authenticators/${namespace}/challenge`, api.tenantBasic, {
    challengeId,
    publicKey: device.publicKey,
    signature: signature ?? device.sign(challengeId),
    approved,
    verificationCode: null,
  })
}

describe('a QR claim and its answer', () => {
  async function qrDevice() {
    const userId = uniqueId('replay-qr')
    const { device } = await api.enroll(userId, { namespace: 'qr-code' })
    return { userId, device }
  }
  const createQr = async () => expectClientOk(await api.client('POST', '/v1/client/challenge/qr-code', api.tenantBasic, { action: 'signIn' }))
  const claim = (device: TestDevice, challengeId: string, signature?: string) =>
    api.client('POST', '/v1/client/user-authenticators/qr-code/challenge/claim', api.tenantBasic, {
      challengeId,
      publicKey: device.publicKey,
      signature: signature ?? device.sign(challengeId),
    })

  it('claimed twice in sequence: the second is challenge_consumed', async () => {
    const { device } = await qrDevice()
    const { challengeId } = await createQr()
    expect(expectClientOk(await claim(device, challengeId))).toMatchObject({ success: true })
    expectError(await claim(device, challengeId), 409, 'challenge_consumed')
  })

  it('one signed claim sent 50 times at once: one claims it', async () => {
    const { device } = await qrDevice()
    const { challengeId } = await createQr()
    const signature = device.sign(challengeId)
    expectOneSuccess(await race(() => claim(device, challengeId, signature)), [[409, 'challenge_consumed']])
  })

  it('50 devices of 50 users claiming one code at once: one claims it, the others learn nothing', async () => {
    const devices = await Promise.all(Array.from({ length: PARALLEL }, () => qrDevice()))
    const { challengeId, deviceCode } = await createQr()
    const results = await race((i) => claim(devices[i]!.device, challengeId))
    const winner = expectOneSuccess(results, [
      [409, 'challenge_consumed'],
      [400, 'invalid_challenge'],
    ])
    const claimer = devices[results.indexOf(winner)]!
    expect(winner.json().userId).toBe(claimer.userId)
    const polled = expectClientOk(await api.client('POST', '/v1/client/verify/qr-code', api.tenantBasic, { challengeId, deviceCode }))
    expect(polled).toMatchObject({ isClaimed: true, isConsumed: false, state: 'claimed' })
  })

  it('the claimed code approved twice, then 50 times at once on another code: one approval each', async () => {
    const { device, userId } = await qrDevice()
    const first = await createQr()
    expectClientOk(await claim(device, first.challengeId))
    expect(expectClientOk(await answerChallenge('qr-code', device, first.challengeId, true))).toEqual({ isVerified: true })
    expectError(await answerChallenge('qr-code', device, first.challengeId, true), 409, 'challenge_consumed')

    const second = await createQr()
    expectClientOk(await claim(device, second.challengeId))
    const signature = device.sign(second.challengeId)
    const results = await race(() => answerChallenge('qr-code', device, second.challengeId, true, signature))
    expectOneSuccess(results, [[409, 'challenge_consumed']])
    // Two sign-ins, one per code.
    expect(expectOk(await api.server('GET', `/v1/users/${encodeURIComponent(userId)}/actions?codes=signIn`))).toHaveLength(2)
  })
})

describe('the hand-over of an approval’s token to the initiating side', () => {
  it('push: polled twice, then 50 times at once on another approval: one poll gets the token each time', async () => {
    const userId = uniqueId('replay-handover-push')
    const { device } = await api.enroll(userId, { namespace: 'push', pushToken: 'fcm-token-handover' })
    const approvedPush = async () => {
      const tracked = await api.track(userId, 'authorizePayment')
      const challengeId = expectClientOk(await api.client('POST', '/v1/client/challenge/push', bearer(tracked.token), {})).challengeId as string
      expectClientOk(await answerChallenge('push', device, challengeId, true))
      return { token: tracked.token, challengeId }
    }
    const poll = (token: string, challengeId: string) => api.client('POST', '/v1/client/verify/push', bearer(token), { challengeId })

    const first = await approvedPush()
    const handed = expectClientOk(await poll(first.token, first.challengeId))
    expect(handed).toMatchObject({ isVerified: true, isConsumed: true, accessToken: expect.any(String) })
    expect(expectClientOk(await poll(first.token, first.challengeId))).toEqual({ isVerified: true, isConsumed: true, state: 'approved' })

    const second = await approvedPush()
    const polls = (await race(() => poll(second.token, second.challengeId))).map((r) => expectClientOk(r))
    expect(polls.every((p) => p.isVerified === true && p.state === 'approved')).toBe(true)
    const tokens = polls.filter((p) => p.accessToken !== undefined).map((p) => p.accessToken as string)
    expect(tokens).toHaveLength(1)
    // The handed-over token is itself single-use.
    expect(expectOk(await validate(tokens[0]!))).toMatchObject({ isValid: true, verificationMethod: 'PUSH' })
    expect(expectOk(await validate(tokens[0]!))).toEqual({ isValid: false, error: 'token_already_used' })
  })

  it('QR code: polled twice, then 50 times at once on another approval: one poll gets the token each time', async () => {
    const userId = uniqueId('replay-handover-qr')
    const { device } = await api.enroll(userId, { namespace: 'qr-code' })
    const approvedQr = async () => {
      const created = expectClientOk(await api.client('POST', '/v1/client/challenge/qr-code', api.tenantBasic, { action: 'signIn' }))
      expectClientOk(
        await api.client('POST', '/v1/client/user-authenticators/qr-code/challenge/claim', api.tenantBasic, {
          challengeId: created.challengeId,
          publicKey: device.publicKey,
          signature: device.sign(created.challengeId),
        }),
      )
      expectClientOk(await answerChallenge('qr-code', device, created.challengeId, true))
      return created as { challengeId: string; deviceCode: string }
    }
    const poll = (qr: { challengeId: string; deviceCode: string }) => api.client('POST', '/v1/client/verify/qr-code', api.tenantBasic, qr)

    const first = await approvedQr()
    expect(expectClientOk(await poll(first))).toMatchObject({ isVerified: true, accessToken: expect.any(String) })
    expect(expectClientOk(await poll(first))).toEqual({ isClaimed: true, isConsumed: true, isVerified: true, state: 'approved' })

    const second = await approvedQr()
    const polls = (await race(() => poll(second))).map((r) => expectClientOk(r))
    expect(polls.every((p) => p.isVerified === true)).toBe(true)
    const tokens = polls.filter((p) => p.accessToken !== undefined).map((p) => p.accessToken as string)
    expect(tokens).toHaveLength(1)
    expect(expectOk(await validate(tokens[0]!))).toMatchObject({ isValid: true, userId, verificationMethod: 'QR_CODE' })
  })
})

describe('enrollment with one token', () => {
  const add = (token: string, device: TestDevice) =>
    api.client('POST', '/v1/client/user-authenticators/in-app', bearer(token), { publicKey: device.publicKey, deviceName: 'Pixel 8', devicePlatform: 'android' })

  it('a first-device token enrolls one device: 50 different keys at once, one is added', async () => {
    // Without add:authenticators a token may add only a user's first authenticator; the
    // enrollment locks the user's row, so 50 at once cannot all be "first".
    const userId = uniqueId('replay-enroll-first')
    const tracked = await api.track(userId, 'signIn')
    const results = await race(() => add(tracked.token, newDevice()))
    expectOneSuccess(results, [[403, 'forbidden']])
    expect(await authenticatorIdsOf(userId)).toHaveLength(1)
  })

  it('one key is enrolled once: the same key 50 times at once with an add:authenticators token, one is added', async () => {
    const userId = uniqueId('replay-enroll-same-key')
    const tracked = await api.track(userId, 'addAuthenticator', { scope: 'add:authenticators' })
    const device = newDevice()
    expectOneSuccess(await race(() => add(tracked.token, device)), [[409, 'conflict']])
    expect(await authenticatorIdsOf(userId)).toHaveLength(1)
  })

  it('one approval adds one device: 50 different keys at once with the approved token, one is added and the token is spent', async () => {
    // A second device needs the addAuthenticator action completed by an enrolled one; the
    // token that then adds a device is spent by it, like a validated one.
    const userId = uniqueId('replay-enroll-add')
    const first = await api.enroll(userId)
    const tracked = await api.track(userId, 'addAuthenticator', { scope: 'add:authenticators' })
    expect(tracked.state).toBe('CHALLENGE_REQUIRED')
    expectError(await add(tracked.token, newDevice()), 409, 'invalid_action_state')
    const challengeId = await api.challenge(bearer(tracked.token))
    const approved = expectClientOk(await api.verify(bearer(tracked.token), challengeId, first.device)).token as string

    expectOneSuccess(await race(() => add(approved, newDevice())), [[401, 'invalid_token']])
    expect(await authenticatorIdsOf(userId)).toHaveLength(2)
    // Spent: neither another device nor a validation gets anything from it.
    expectError(await add(approved, newDevice()), 401, 'invalid_token')
    expect(expectOk(await validate(approved))).toMatchObject({ isValid: false, error: 'token_already_used' })
  })
})
