import { generateKeyPairSync, sign } from 'node:crypto'
import { signedDecisionMessage } from '@countersign/protocol'
import { describe, expect, it } from 'vitest'
import { CountersignClient } from './client.ts'
import type { KeyStore } from './key-store.ts'
import { MemoryKeyStore } from './memory-key-store.ts'
import type { OutOfBandState } from './index.ts'
import { errorBody, fakeFetch, stateEvent, verifiesOnServer, type Handler } from './testing/fake-fetch.ts'

const TENANT = 'tenant_123'
const BASIC = `Basic ${Buffer.from(`${TENANT}:`).toString('base64')}`

function setup(handler: Handler, keyStore: KeyStore = new MemoryKeyStore()) {
  const server = fakeFetch(handler)
  const client = new CountersignClient({ tenantId: TENANT, baseUrl: 'http://127.0.0.1:8080', keyStore, fetch: server.fetch })
  return { client, keyStore, requests: server.requests }
}

async function pushKey(keyStore: KeyStore = new MemoryKeyStore()) {
  const { publicKey } = await keyStore.create('push', { userAuthenticationRequired: false })
  return { keyStore, publicKey: Buffer.from(publicKey).toString('base64') }
}

/** A KeyStore over node:crypto that signs in DER, as Secure Enclave and Android Keystore do. */
function derKeyStore(): KeyStore {
  const keys = new Map<string, ReturnType<typeof generateKeyPairSync>>()
  return {
    signatureFormat: 'der',
    async create(namespace) {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      keys.set(namespace, pair)
      return { publicKey: new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' })) }
    },
    async getPublicKey(namespace) {
      const pair = keys.get(namespace)
      return pair && new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' }))
    },
    async sign(namespace, message) {
      return new Uint8Array(sign('sha256', message, { key: keys.get(namespace)!.privateKey, dsaEncoding: 'der' }))
    },
    async delete(namespace) {
      keys.delete(namespace)
    },
  }
}

const credential = { userAuthenticatorId: 'ua_1', userId: 'user_1', verificationMethod: 'PUSH', createdAt: '2026-01-01T00:00:00.000Z', verifiedAt: '2026-01-01T00:00:00.000Z' }
const pending = {
  userAuthenticatorId: 'ua_1',
  challengeId: 'c5d8a1f2-0000-4000-8000-000000000001',
  userId: 'user_1',
  actionCode: 'authorizePayment',
  idempotencyKey: 'idem-1',
  transaction: { amount: 100, currency: 'EUR', payee: 'ACME Ltd' },
  verificationCodeRequired: true,
  signedDecisionRequired: false,
}
const v2Message = (overrides: Partial<Parameters<typeof signedDecisionMessage>[0]> = {}) =>
  signedDecisionMessage({
    tenantId: TENANT,
    challengeId: pending.challengeId,
    action: pending.actionCode,
    idempotencyKey: pending.idempotencyKey,
    decision: 'approved',
    verificationCode: '42',
    transaction: pending.transaction,
    ...overrides,
  })

/** The phone's side of the server: a nonce, the pending challenge, and the answer. */
const phoneServer =
  (body: unknown = pending): Handler =>
  (request) => {
    if (request.path.endsWith('/challenge/sign')) return { body: { message: 'nonce-abc' } }
    if (request.method === 'GET' && request.path.endsWith('/challenge')) return { body }
    if (request.method === 'POST' && request.path.endsWith('/challenge')) return { body: { isVerified: request.body?.approved === true } }
    return { status: 404, body: errorBody('not_found') }
  }

describe('push.addCredential', () => {
  it('registers a push key with the push token', async () => {
    const { client, keyStore, requests } = setup(() => ({ body: credential }))
    const result = await client.push.addCredential({ token: 't', pushToken: 'fcm-1', devicePlatform: 'android' })
    expect(result).toEqual({ data: credential })
    expect(requests[0]?.url).toBe('http://127.0.0.1:8080/v1/client/user-authenticators/push')
    expect(requests[0]?.headers.Authorization).toBe('Bearer t')
    expect(requests[0]?.body).toMatchObject({ pushToken: 'fcm-1', devicePlatform: 'android' })
    // Its own key, apart from the in-app one.
    expect(await keyStore.getPublicKey('push')).toBeDefined()
    expect(await keyStore.getPublicKey('in-app')).toBeUndefined()
  })
})

describe('push.getChallenge', () => {
  it('signs the server’s nonce and sends it as X-Authsignal-Signature', async () => {
    const { keyStore, publicKey } = await pushKey()
    const { client, requests } = setup(phoneServer(), keyStore)
    const result = await client.push.getChallenge()
    expect(result).toEqual({ data: pending })

    const [nonce, fetched] = requests
    expect(nonce?.method).toBe('POST')
    expect(nonce?.path).toBe('/v1/client/user-authenticators/push/challenge/sign')
    expect(nonce?.body).toBeUndefined()
    expect(nonce?.headers).not.toHaveProperty('Content-Type')
    expect(nonce?.headers.Authorization).toBe(BASIC)
    expect(Buffer.from(nonce?.query.get('publicKey') ?? '', 'base64url').toString()).toBe(publicKey)
    expect(fetched?.method).toBe('GET')
    expect(fetched?.path).toBe('/v1/client/user-authenticators/push/challenge')
    expect(fetched?.query.get('publicKey')).toBe(nonce?.query.get('publicKey'))
    expect(verifiesOnServer(publicKey, 'nonce-abc', fetched?.headers['X-Authsignal-Signature'])).toBe(true)
  })

  it('asks the key store with the get_challenge reason', async () => {
    const reasons: string[] = []
    const keyStore = new MemoryKeyStore({ confirmUser: async ({ reason }) => (reasons.push(reason), true) })
    await keyStore.create('push', { userAuthenticationRequired: true })
    const { client } = setup(phoneServer(), keyStore)
    await client.push.getChallenge()
    expect(reasons).toEqual(['get_challenge'])
  })

  it('is undefined when nothing is pending', async () => {
    const { keyStore } = await pushKey()
    const { client } = setup(phoneServer({ userAuthenticatorId: 'ua_1' }), keyStore)
    expect(await client.push.getChallenge()).toEqual({ data: undefined })
  })

  it('needs a push key, and sends nothing without one', async () => {
    const { client, requests } = setup(phoneServer())
    expect((await client.push.getChallenge()).errorCode).toBe('credential_not_found')
    expect(requests).toHaveLength(0)
  })

  it('passes a failed nonce request on, without fetching unsigned', async () => {
    const { keyStore } = await pushKey()
    const { client, requests } = setup(() => ({ status: 401, body: errorBody('invalid_credential') }), keyStore)
    expect((await client.push.getChallenge()).errorCode).toBe('invalid_credential')
    expect(requests).toHaveLength(1)
  })
})

describe('push.updateChallenge', () => {
  it('always signs a v2 decision over the challenge details, in the store’s format', async () => {
    const { keyStore, publicKey } = await pushKey()
    const { client, requests } = setup(phoneServer(), keyStore)
    const result = await client.push.updateChallenge({ challenge: pending, approved: true, verificationCode: ' 42 ' })
    expect(result).toEqual({ data: { isVerified: true } })
    expect(requests).toHaveLength(1)
    const [answer] = requests
    expect(answer?.path).toBe('/v1/client/user-authenticators/push/challenge')
    expect(answer?.headers.Authorization).toBe(BASIC)
    expect(answer?.body).toMatchObject({
      challengeId: pending.challengeId,
      publicKey,
      approved: true,
      verificationCode: '42',
      signatureVersion: 2,
      signatureFormat: 'p1363',
    })
    expect(answer?.body).not.toHaveProperty('reportFraud')
    expect(verifiesOnServer(publicKey, v2Message(), answer?.body?.signature, 'p1363')).toBe(true)
    // Not over other details, nor over the challenge ID alone (v1).
    expect(verifiesOnServer(publicKey, v2Message({ transaction: { ...pending.transaction, amount: 1 } }), answer?.body?.signature, 'p1363')).toBe(false)
    expect(verifiesOnServer(publicKey, v2Message({ decision: 'denied' }), answer?.body?.signature, 'p1363')).toBe(false)
  })

  it('sends DER from a DER key store, and a denial with reportFraud', async () => {
    const { keyStore, publicKey } = await pushKey(derKeyStore())
    const { client, requests } = setup(phoneServer(), keyStore)
    const result = await client.push.updateChallenge({ challenge: pending, approved: false, reportFraud: true })
    expect(result).toEqual({ data: { isVerified: false } })
    expect(requests[0]?.body).toMatchObject({ approved: false, verificationCode: null, signatureFormat: 'der', reportFraud: true })
    expect(verifiesOnServer(publicKey, v2Message({ decision: 'denied', verificationCode: null }), requests[0]?.body?.signature, 'der')).toBe(true)
  })

  it('signs null for an absent idempotency key and transaction', async () => {
    const { keyStore, publicKey } = await pushKey()
    const { client, requests } = setup(phoneServer(), keyStore)
    await client.push.updateChallenge({ challenge: { challengeId: 'c1', actionCode: 'signIn' }, approved: true })
    const message = signedDecisionMessage({ tenantId: TENANT, challengeId: 'c1', action: 'signIn', idempotencyKey: null, decision: 'approved', verificationCode: null, transaction: null })
    expect(verifiesOnServer(publicKey, message, requests[0]?.body?.signature, 'p1363')).toBe(true)
  })

  it('with only the challenge ID, fetches the pending challenge to sign its details', async () => {
    const { keyStore, publicKey } = await pushKey()
    const { client, requests } = setup(phoneServer(), keyStore)
    const result = await client.push.updateChallenge({ challengeId: pending.challengeId, approved: true, verificationCode: '42' })
    expect(result.data).toEqual({ isVerified: true })
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/client/user-authenticators/push/challenge/sign',
      'GET /v1/client/user-authenticators/push/challenge',
      'POST /v1/client/user-authenticators/push/challenge',
    ])
    expect(verifiesOnServer(publicKey, v2Message(), requests[2]?.body?.signature, 'p1363')).toBe(true)
  })

  it('refuses a challenge ID that is not the pending one', async () => {
    const { keyStore } = await pushKey()
    const { client, requests } = setup(phoneServer(), keyStore)
    expect((await client.push.updateChallenge({ challengeId: 'other', approved: true })).errorCode).toBe('challenge_not_found')
    expect(requests).toHaveLength(2)
    expect((await client.push.updateChallenge({ challengeId: 'other', challenge: pending, approved: true })).errorCode).toBe('challenge_not_found')
  })

  it('passes the server’s refusal on', async () => {
    const { keyStore } = await pushKey()
    const { client } = setup(() => ({ status: 400, body: errorBody('invalid_verification_code') }), keyStore)
    const result = await client.push.updateChallenge({ challenge: pending, approved: true, verificationCode: '11' })
    expect(result).toMatchObject({ errorCode: 'invalid_verification_code', status: 400 })
  })

  it('reports a cancelled prompt as user_cancelled and sends nothing', async () => {
    const keyStore = new MemoryKeyStore({ confirmUser: async ({ reason }) => reason !== 'approve_challenge' })
    await keyStore.create('push', { userAuthenticationRequired: true })
    const { client, requests } = setup(phoneServer(), keyStore)
    expect((await client.push.updateChallenge({ challenge: pending, approved: true })).errorCode).toBe('user_cancelled')
    expect(requests).toHaveLength(0)
  })
})

describe('push.updateCredential', () => {
  it('signs the nonce from …/push/sign and PATCHes the credential', async () => {
    const { keyStore, publicKey } = await pushKey()
    const updated = { userAuthenticatorId: 'ua_1', userId: 'user_1', lastVerifiedAt: '2026-01-01T00:00:00.000Z', pushToken: 'fcm-2' }
    const { client, requests } = setup((request) => {
      if (request.path.endsWith('/push/sign')) return { body: { challengeId: 'n1', message: 'nonce-1' } }
      return { body: updated }
    }, keyStore)
    expect(await client.push.updateCredential({ pushToken: 'fcm-2', resetExpiry: true })).toEqual({ data: updated })
    const [nonce, patch] = requests
    expect(`${nonce?.method} ${nonce?.path}`).toBe('POST /v1/client/user-authenticators/push/sign')
    expect(nonce?.body).toBeUndefined()
    expect(`${patch?.method} ${patch?.path}`).toBe('PATCH /v1/client/user-authenticators/push')
    expect(patch?.headers.Authorization).toBe(BASIC)
    expect(patch?.body).toEqual({ challengeId: 'n1', publicKey, signature: expect.any(String), pushToken: 'fcm-2', resetExpiry: true })
    expect(verifiesOnServer(publicKey, 'nonce-1', patch?.body?.signature)).toBe(true)

    await client.push.updateCredential({ resetExpiry: false })
    // resetExpiry only ever as true; an omitted push token keeps the stored one.
    expect(requests[3]?.body).toEqual({ challengeId: 'n1', publicKey, signature: expect.any(String) })
  })
})

describe('push.challenge and push.verify (the initiating page)', () => {
  it('starts a push with the token as Bearer', async () => {
    const started = { challengeId: 'c1', expiresAt: '2026-01-01T00:05:00.000Z', verificationCode: '07', deliveryResults: [] }
    const { client, requests } = setup(() => ({ body: started }))
    client.setToken('track-token')
    expect(await client.push.challenge({ action: 'authorizePayment', userAuthenticatorId: 'ua_1' })).toEqual({ data: started })
    expect(requests[0]?.path).toBe('/v1/client/challenge/push')
    expect(requests[0]?.headers.Authorization).toBe('Bearer track-token')
    expect(requests[0]?.body).toEqual({ action: 'authorizePayment', userAuthenticatorId: 'ua_1' })
  })

  it('needs a token', async () => {
    const { client, requests } = setup(() => ({ body: {} }))
    expect((await client.push.challenge()).errorCode).toBe('token_not_set')
    expect((await client.push.verify({ challengeId: 'c1' })).errorCode).toBe('token_not_set')
    expect((await client.push.waitForResult({ challengeId: 'c1' })).errorCode).toBe('token_not_set')
    expect(requests).toHaveLength(0)
  })

  it('hands the access token over as token', async () => {
    const { client, requests } = setup(() => ({ body: { isVerified: true, isConsumed: true, accessToken: 'new-token', state: 'approved' } }))
    expect(await client.push.verify({ token: 't', challengeId: 'c1' })).toEqual({
      data: { isVerified: true, isConsumed: true, state: 'approved', token: 'new-token' },
    })
    expect(requests[0]?.path).toBe('/v1/client/verify/push')
    expect(requests[0]?.body).toEqual({ challengeId: 'c1' })
    // verify does not replace the page's token.
    expect(await client.getToken()).toBeUndefined()
  })
})

describe('push.waitForResult', () => {
  const unclaimed = { isVerified: false, isConsumed: false, state: 'unclaimed' }
  const approved = { isVerified: true, isConsumed: true, state: 'approved', accessToken: 'new-token' }

  it('reads the event stream until the answer', async () => {
    const { client, requests } = setup(() => ({
      events: { chunks: [': hello\n\n', stateEvent(unclaimed), 'event: other\ndata: {}\n\n', stateEvent(approved).slice(0, 20), stateEvent(approved).slice(20)], hold: true },
    }))
    const states: OutOfBandState[] = []
    const result = await client.push.waitForResult({ token: 't', challengeId: 'c1', onStateChange: (s) => states.push(s) })
    expect(result).toEqual({ data: { challengeId: 'c1', token: 'new-token' } })
    expect(states).toEqual(['unclaimed', 'approved'])
    expect(requests).toHaveLength(1)
    expect(requests[0]?.path).toBe('/v1/client/verify/push/stream')
    expect(requests[0]?.method).toBe('POST')
    expect(requests[0]?.headers).toMatchObject({ Accept: 'text/event-stream', Authorization: 'Bearer t', 'Content-Type': 'application/json' })
    expect(requests[0]?.body).toEqual({ challengeId: 'c1' })
  })

  it.each([
    ['rejected', { isVerified: false, isConsumed: true, state: 'rejected' }, 'challenge_rejected'],
    ['expired', { isVerified: false, isConsumed: true, state: 'expired' }, 'challenge_expired'],
    ['approved without its token (handed out already)', { isVerified: true, isConsumed: true, state: 'approved' }, 'token_already_issued'],
  ])('ends %s with a coded failure', async (_name, body, code) => {
    const { client } = setup(() => ({ events: { chunks: [stateEvent(body)] } }))
    expect((await client.push.waitForResult({ token: 't', challengeId: 'c1' })).errorCode).toBe(code)
  })

  it.each([
    ['the stream endpoint is missing (a bare 404)', { status: 404, raw: 'Not Found', contentType: 'text/plain' }],
    ['the answer is not an event stream', { body: unclaimed }],
  ])('polls when %s', async (_name, streamAnswer) => {
    let polls = 0
    const { client, requests } = setup((request) => {
      if (request.path.endsWith('/stream')) return streamAnswer
      return { body: ++polls < 3 ? unclaimed : approved }
    })
    const states: OutOfBandState[] = []
    const result = await client.push.waitForResult({ token: 't', challengeId: 'c1', pollIntervalMs: 1, onStateChange: (s) => states.push(s) })
    expect(result.data?.token).toBe('new-token')
    expect(states).toEqual(['unclaimed', 'approved'])
    expect(requests.map((r) => r.path)).toEqual(['/v1/client/verify/push/stream', ...Array(3).fill('/v1/client/verify/push')])
  })

  it('polls on after the stream ends early, and rides out a transient failure', async () => {
    let polls = 0
    const { client } = setup((request) => {
      if (request.path.endsWith('/stream')) return { events: { chunks: [stateEvent(unclaimed)] } }
      polls += 1
      if (polls === 1) return { status: 503, body: errorBody('service_unavailable') }
      return { body: approved }
    })
    expect((await client.push.waitForResult({ token: 't', challengeId: 'c1', pollIntervalMs: 1 })).data?.token).toBe('new-token')
    expect(polls).toBe(2)
  })

  it('gives up after repeated transient failures', async () => {
    const { client, requests } = setup(() => ({ status: 503, body: errorBody('service_unavailable') }))
    const result = await client.push.waitForResult({ token: 't', challengeId: 'c1', pollIntervalMs: 1, stream: false })
    expect(result.errorCode).toBe('service_unavailable')
    expect(requests).toHaveLength(3)
  })

  it('returns the server’s refusal of the stream at once', async () => {
    const { client, requests } = setup(() => ({ status: 401, body: errorBody('expired_token') }))
    expect((await client.push.waitForResult({ token: 't', challengeId: 'c1' })).errorCode).toBe('expired_token')
    expect(requests).toHaveLength(1)
  })

  it('stops on abort, streaming or polling', async () => {
    const streaming = setup(() => ({ events: { chunks: [stateEvent(unclaimed)], hold: true } }))
    const controller = new AbortController()
    const waiting = streaming.client.push.waitForResult({ token: 't', challengeId: 'c1', signal: controller.signal, onStateChange: () => controller.abort() })
    expect((await waiting).errorCode).toBe('aborted')

    const polling = setup(() => ({ body: unclaimed }))
    const later = new AbortController()
    const polled = polling.client.push.waitForResult({ token: 't', challengeId: 'c1', signal: later.signal, stream: false, pollIntervalMs: 60_000 })
    setTimeout(() => later.abort(), 10)
    expect((await polled).errorCode).toBe('aborted')
  })
})
