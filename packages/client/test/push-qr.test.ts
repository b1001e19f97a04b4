// Push and QR code end to end over a real socket: the phone (@countersign/client with a
// MemoryKeyStore), the page that starts the request (@countersign/client, streaming or
// polling) and the backend (@countersign/node), against the server on the run's database.
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Countersign } from '@countersign/node'
import { createHarness, type Harness } from '../../server/test/support/harness.ts'
import { CountersignClient, MemoryKeyStore, type FetchLike, type OutOfBandState } from '../src/index.ts'
import { challengeIdFromQrPayload, qrPayload, qrSvg } from '../src/qr.ts'

let h: Harness
let apiUrl: string

beforeAll(async () => {
  h = await createHarness()
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  apiUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/v1`
})
afterAll(() => h.close())

let users = 0
const newUserId = (prefix: string) => `${prefix}-${++users}-${Math.random().toString(36).slice(2, 8)}`

interface Tenant {
  tenantId: string
  backend: Countersign
  client(options?: { fetch?: FetchLike }): CountersignClient
}

async function tenant(settings: Parameters<Harness['newTenant']>[0] = {}): Promise<Tenant> {
  const created = await h.newTenant(settings)
  return {
    tenantId: created.tenantId,
    backend: new Countersign({ secretKey: created.secretKey, apiUrl }),
    client: (options = {}) =>
      new CountersignClient({ tenantId: created.tenantId, baseUrl: apiUrl, keyStore: new MemoryKeyStore(), ...options }),
  }
}

/** A phone enrolled in `namespace` for a new user. */
async function enrolledPhone(t: Tenant, namespace: 'push' | 'qr-code' | 'device', userId = newUserId(namespace)) {
  const phone = t.client()
  const enrollment = await t.backend.track({ userId, action: 'addAuthenticator', attributes: { scope: 'add:authenticators' } })
  const ns = namespace === 'qr-code' ? phone.qr : namespace === 'device' ? phone.device : phone.push
  const added = namespace === 'push'
    ? await phone.push.addCredential({ token: enrollment.token, pushToken: 'fcm-token-1', deviceName: 'Test phone', devicePlatform: 'android' })
    : await ns.addCredential({ token: enrollment.token, deviceName: 'Test phone' })
  expect(added.error).toBeUndefined()
  return { phone, userId, credential: added.data! }
}

/** Resolves once `states` has received `state`; rejects after 10 s. */
function reached(states: OutOfBandState[], state: OutOfBandState): Promise<void> {
  const deadline = Date.now() + 10_000
  return new Promise((resolve, reject) => {
    const check = () => {
      if (states.includes(state)) resolve()
      else if (Date.now() > deadline) reject(new Error(`never reached ${state}; saw ${states.join(', ')}`))
      else setTimeout(check, 5)
    }
    check()
  })
}

describe('push', () => {
  it('the phone approves; the waiting page gets a token the backend validates', async () => {
    const t = await tenant()
    const { phone, userId, credential } = await enrolledPhone(t, 'push')
    const transaction = { amount: 120.5, currency: 'EUR', payee: 'ACME Ltd' }
    const tracked = await t.backend.track({ userId, action: 'authorizePayment', attributes: { transaction } })
    expect(tracked.state).toBe('CHALLENGE_REQUIRED')

    const paths: string[] = []
    const page = t.client({
      fetch: (url, init) => {
        paths.push(new URL(url).pathname)
        return fetch(url, init)
      },
    })
    page.setToken(tracked.token)
    const started = await page.push.challenge()
    expect(started.error).toBeUndefined()
    expect(started.data?.deliveryResults).toEqual([{ userAuthenticatorId: credential.userAuthenticatorId, provider: 'none', status: 'skipped' }])
    expect(started.data?.verificationCode).toBeUndefined()

    const states: OutOfBandState[] = []
    const waiting = page.push.waitForResult({ challengeId: started.data!.challengeId, onStateChange: (s) => states.push(s) })
    await reached(states, 'unclaimed')

    const pending = await phone.push.getChallenge()
    expect(pending.data).toMatchObject({
      challengeId: started.data!.challengeId,
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey: tracked.idempotencyKey,
      transaction,
      verificationCodeRequired: false,
    })
    const answered = await phone.push.updateChallenge({ challenge: pending.data!, approved: true })
    expect(answered).toEqual({ data: { isVerified: true } })

    const result = await waiting
    expect(result.error).toBeUndefined()
    expect(states).toEqual(['unclaimed', 'approved'])
    // Streamed: one request to the event stream, no polls.
    expect(paths).toEqual(['/v1/client/challenge/push', '/v1/client/verify/push/stream'])
    const validation = await t.backend.validateChallenge({ token: result.data!.token, userId, action: 'authorizePayment' })
    expect(validation).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', verificationMethod: 'PUSH', idempotencyKey: tracked.idempotencyKey })
    // Nothing is pending any more.
    expect(await phone.push.getChallenge()).toEqual({ data: undefined })
  })

  it('the phone denies; the page gets challenge_rejected and the action fails', async () => {
    const t = await tenant()
    const { phone, userId } = await enrolledPhone(t, 'push')
    const tracked = await t.backend.track({ userId, action: 'authorizePayment' })
    const page = t.client()
    const started = await page.push.challenge({ token: tracked.token })
    const waiting = page.push.waitForResult({ token: tracked.token, challengeId: started.data!.challengeId })

    // With only the ID the phone fetches the pending challenge itself.
    const answered = await phone.push.updateChallenge({ challengeId: started.data!.challengeId, approved: false })
    expect(answered).toEqual({ data: { isVerified: false } })
    expect((await waiting).errorCode).toBe('challenge_rejected')
    const action = await t.backend.getAction({ userId, action: 'authorizePayment', idempotencyKey: tracked.idempotencyKey })
    expect(action.state).toBe('CHALLENGE_FAILED')
  })

  it('signs v2 over the transaction the phone showed: a signature over other details is refused', async () => {
    const t = await tenant({ requireSignedDecision: true })
    const { phone, userId } = await enrolledPhone(t, 'push')
    const transaction = { amount: 9800, currency: 'EUR', payee: 'DE89 3704 0044 0532 0130 00' }
    const tracked = await t.backend.track({ userId, action: 'changePayout', attributes: { transaction } })
    const page = t.client()
    const started = await page.push.challenge({ token: tracked.token })
    const { data: challenge } = await phone.push.getChallenge()
    expect(challenge).toMatchObject({ transaction, signedDecisionRequired: true })

    // A phone that showed (and signed) a different payee: the server rebuilds the message
    // from its own record, so the signature does not verify and nothing is recorded.
    const tampered = await phone.push.updateChallenge({ challenge: { ...challenge!, transaction: { ...transaction, payee: 'GB33 BUKB 2020 1555 5555 55' } }, approved: true })
    expect(tampered.errorCode).toBe('invalid_signature')
    const forgedAction = await phone.push.updateChallenge({ challenge: { ...challenge!, actionCode: 'signIn' }, approved: true })
    expect(forgedAction.errorCode).toBe('invalid_signature')
    expect((await page.push.verify({ token: tracked.token, challengeId: started.data!.challengeId })).data).toMatchObject({ state: 'unclaimed' })

    const approved = await phone.push.updateChallenge({ challenge: challenge!, approved: true })
    expect(approved).toEqual({ data: { isVerified: true } })
    const verified = await page.push.verify({ token: tracked.token, challengeId: started.data!.challengeId })
    expect(verified.data).toMatchObject({ isVerified: true, isConsumed: true, state: 'approved', token: expect.any(String) })
    expect(await t.backend.validateChallenge({ token: verified.data!.token! })).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED' })
  })

  it('number matching: a wrong code fails the request; the right one approves it', async () => {
    const t = await tenant({ numberMatching: true })
    const { phone, userId } = await enrolledPhone(t, 'push')
    const page = t.client()

    const first = await t.backend.track({ userId, action: 'authorizePayment' })
    const started = await page.push.challenge({ token: first.token })
    expect(started.data?.verificationCode).toMatch(/^\d{2}$/)
    const waiting = page.push.waitForResult({ token: first.token, challengeId: started.data!.challengeId })
    const { data: challenge } = await phone.push.getChallenge()
    expect(challenge?.verificationCodeRequired).toBe(true)
    const wrong = String((Number(started.data!.verificationCode) + 1) % 100).padStart(2, '0')
    expect((await phone.push.updateChallenge({ challenge: challenge!, approved: true, verificationCode: wrong })).errorCode).toBe('invalid_verification_code')
    expect((await waiting).errorCode).toBe('challenge_rejected')

    const second = await t.backend.track({ userId, action: 'authorizePayment' })
    const again = await page.push.challenge({ token: second.token })
    const { data: next } = await phone.push.getChallenge()
    const answered = await phone.push.updateChallenge({ challenge: next!, approved: true, verificationCode: ` ${again.data!.verificationCode!} ` })
    expect(answered).toEqual({ data: { isVerified: true } })
    const result = await page.push.waitForResult({ token: second.token, challengeId: again.data!.challengeId })
    expect(await t.backend.validateChallenge({ token: result.data!.token })).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED' })
  })

  it('falls back to polling when the stream cannot be opened', async () => {
    const t = await tenant()
    const { phone, userId } = await enrolledPhone(t, 'push')
    const tracked = await t.backend.track({ userId, action: 'authorizePayment' })
    const paths: string[] = []
    // As in React Native: fetch cannot stream, so the stream request fails.
    const noStreams: FetchLike = async (url, init) => {
      paths.push(new URL(url).pathname)
      if (url.endsWith('/stream')) throw new TypeError('streaming is not supported')
      return fetch(url, init)
    }
    const page = t.client({ fetch: noStreams })
    const started = await page.push.challenge({ token: tracked.token })
    const states: OutOfBandState[] = []
    const waiting = page.push.waitForResult({ token: tracked.token, challengeId: started.data!.challengeId, pollIntervalMs: 20, onStateChange: (s) => states.push(s) })
    await reached(states, 'unclaimed')
    await phone.push.updateChallenge({ challenge: (await phone.push.getChallenge()).data!, approved: true })
    const result = await waiting
    expect(result.data?.token).toEqual(expect.any(String))
    expect(states).toEqual(['unclaimed', 'approved'])
    expect(paths).toContain('/v1/client/verify/push/stream')
    expect(paths.filter((p) => p === '/v1/client/verify/push').length).toBeGreaterThanOrEqual(2)
  })

  it('stops waiting on abort', async () => {
    const t = await tenant()
    const { userId } = await enrolledPhone(t, 'push')
    const tracked = await t.backend.track({ userId, action: 'authorizePayment' })
    const page = t.client()
    const started = await page.push.challenge({ token: tracked.token })
    const controller = new AbortController()
    const states: OutOfBandState[] = []
    const waiting = page.push.waitForResult({ token: tracked.token, challengeId: started.data!.challengeId, signal: controller.signal, onStateChange: (s) => states.push(s) })
    await reached(states, 'unclaimed')
    controller.abort()
    expect((await waiting).errorCode).toBe('aborted')
  })

  it('updates the push token with a signed nonce', async () => {
    const t = await tenant({ pushCredentialTtlDays: 30 })
    const { phone, credential } = await enrolledPhone(t, 'push')
    const updated = await phone.push.updateCredential({ pushToken: 'fcm-token-2', resetExpiry: true })
    expect(updated.data).toMatchObject({ userAuthenticatorId: credential.userAuthenticatorId, pushToken: 'fcm-token-2', expiresAt: expect.any(String) })
    const kept = await phone.push.updateCredential()
    expect(kept.data).toMatchObject({ pushToken: 'fcm-token-2' })
    expect((await phone.push.getCredential()).data?.userAuthenticatorId).toBe(credential.userAuthenticatorId)
    expect(await phone.push.removeCredential()).toEqual({ data: true })
    expect((await phone.push.getChallenge()).errorCode).toBe('credential_not_found')
  })
})

describe('QR code', () => {
  it('anonymous login: the page shows a code, the phone scans, claims and approves; the page gets the phone user’s token', async () => {
    const t = await tenant()
    const { phone, userId } = await enrolledPhone(t, 'qr-code')
    const page = t.client()
    const states: Array<[OutOfBandState, string]> = []
    let svg = ''
    let scanned: Promise<void> | undefined

    const result = await page.qr.challenge({
      action: 'signIn',
      custom: { browser: 'Firefox on Linux' },
      onStateChange: (state, challenge) => {
        states.push([state, challenge.challengeId])
        if (state !== 'unclaimed') return
        const payload = qrPayload({ challengeId: challenge.challengeId, baseUrl: 'https://bank.example/qr' })
        svg = qrSvg(payload)
        // The phone "scans" the code.
        scanned = (async () => {
          const challengeId = challengeIdFromQrPayload(payload)!
          const claimed = await phone.qr.claimChallenge({ challengeId })
          expect(claimed.data).toMatchObject({ success: true, userId, actionCode: 'signIn', custom: { browser: 'Firefox on Linux' }, verificationCodeRequired: false })
          expect(claimed.data).not.toHaveProperty('idempotencyKey')
          const answered = await phone.qr.updateChallenge({ challenge: claimed.data!, approved: true })
          expect(answered).toEqual({ data: { isVerified: true } })
        })()
      },
    })

    await scanned
    expect(result.error).toBeUndefined()
    expect(svg).toMatch(/^<svg /)
    const ids = new Set(states.map(([, id]) => id))
    expect(ids.size).toBe(1)
    expect(states.map(([state]) => state)).toEqual(['unclaimed', 'claimed', 'approved'])
    const validation = await t.backend.validateChallenge({ token: result.data!.token })
    expect(validation).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', userId, action: 'signIn', verificationMethod: 'QR_CODE' })
  })

  it('the phone denies: challenge_rejected', async () => {
    const t = await tenant()
    const { phone } = await enrolledPhone(t, 'qr-code')
    const work: Array<Promise<unknown>> = []
    const result = await t.client().qr.challenge({
      action: 'signIn',
      stream: false,
      pollIntervalMs: 20,
      onStateChange: (state, challenge) => {
        if (state !== 'unclaimed') return
        work.push((async () => {
          const claimed = await phone.qr.claimChallenge({ challengeId: challenge.challengeId })
          await phone.qr.updateChallenge({ challenge: claimed.data!, approved: false })
        })())
      },
    })
    await Promise.all(work)
    expect(result.errorCode).toBe('challenge_rejected')
  })

  it('number matching, for a tracked action with a token: the page shows the code, the phone types it', async () => {
    const t = await tenant({ numberMatching: true })
    const { phone, userId } = await enrolledPhone(t, 'qr-code')
    const tracked = await t.backend.track({ userId, action: 'authorizePayment', attributes: { transaction: { amount: 5 } } })
    let shownCode: string | undefined
    let scanned: Promise<void> | undefined
    const result = await t.client().qr.challenge({
      token: tracked.token,
      onStateChange: (state, challenge) => {
        if (state !== 'unclaimed') return
        shownCode = challenge.verificationCode
        scanned = (async () => {
          const claimed = await phone.qr.claimChallenge({ challengeId: challenge.challengeId })
          expect(claimed.data).toMatchObject({ verificationCodeRequired: true, idempotencyKey: tracked.idempotencyKey, transaction: { amount: 5 } })
          await phone.qr.updateChallenge({ challenge: claimed.data!, approved: true, verificationCode: shownCode })
        })()
      },
    })
    await scanned
    expect(shownCode).toMatch(/^\d{2}$/)
    expect(await t.backend.validateChallenge({ token: result.data!.token, userId, action: 'authorizePayment' })).toMatchObject({
      isValid: true,
      idempotencyKey: tracked.idempotencyKey,
    })
  })

  it('replaces an unscanned code before it expires, and a phone can answer the new one', async () => {
    const t = await tenant()
    const { phone } = await enrolledPhone(t, 'qr-code')
    const shown: string[] = []
    const refreshed: Array<[string, string]> = []
    const work: Array<Promise<unknown>> = []
    const result = await t.client().qr.challenge({
      action: 'signIn',
      refreshIntervalMs: 150,
      onRefresh: (challenge, previous) => refreshed.push([previous.challengeId, challenge.challengeId]),
      onStateChange: (state, challenge) => {
        if (state !== 'unclaimed') return
        shown.push(challenge.challengeId)
        if (shown.length < 3) return
        work.push((async () => {
          const claimed = await phone.qr.claimChallenge({ challengeId: challenge.challengeId })
          await phone.qr.updateChallenge({ challenge: claimed.data!, approved: true })
        })())
      },
    })
    await Promise.all(work)
    expect(result.data?.challengeId).toBe(shown[2])
    expect(new Set(shown).size).toBe(3)
    expect(refreshed).toEqual([
      [shown[0], shown[1]],
      [shown[1], shown[2]],
    ])
  })

  it('refuses a QR code without an action or token, with the server’s code', async () => {
    const t = await tenant()
    const result = await t.client().qr.challenge({ onStateChange: () => undefined })
    expect(result.errorCode).toBe('invalid_request')
  })
})

describe('legacy device namespace', () => {
  it('answers push and QR with one shared credential', async () => {
    const t = await tenant()
    const { phone, userId } = await enrolledPhone(t, 'device')
    const tracked = await t.backend.track({ userId, action: 'authorizePayment' })
    const page = t.client()
    const started = await page.push.challenge({ token: tracked.token })
    const { data: challenge } = await phone.device.getChallenge()
    expect(challenge?.challengeId).toBe(started.data!.challengeId)
    expect(await phone.device.updateChallenge({ challenge: challenge!, approved: true })).toEqual({ data: { isVerified: true } })
    expect((await page.push.waitForResult({ token: tracked.token, challengeId: started.data!.challengeId })).data?.token).toEqual(expect.any(String))

    const work: Array<Promise<unknown>> = []
    const login = await page.qr.challenge({
      action: 'signIn',
      onStateChange: (state, qr) => {
        if (state !== 'unclaimed') return
        work.push((async () => {
          const claimed = await phone.device.claimChallenge({ challengeId: qr.challengeId })
          await phone.device.updateChallenge({ challenge: claimed.data!, approved: true })
        })())
      },
    })
    await Promise.all(work)
    expect(await t.backend.validateChallenge({ token: login.data!.token })).toMatchObject({ isValid: true, userId })

    const verified = await phone.device.verify({ action: 'signIn' })
    expect(await t.backend.validateChallenge({ token: verified.data!.token })).toMatchObject({ isValid: true, userId, verificationMethod: 'DEVICE' })
  })
})
