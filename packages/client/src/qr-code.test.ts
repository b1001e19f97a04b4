import { signedDecisionMessage } from '@countersign/protocol'
import { describe, expect, it } from 'vitest'
import { CountersignClient } from './client.ts'
import type { OutOfBandState, QrCodeChallenge } from './index.ts'
import { MemoryKeyStore } from './memory-key-store.ts'
import { errorBody, fakeFetch, stateEvent, verifiesOnServer, type Handler } from './testing/fake-fetch.ts'

const TENANT = 'tenant_123'
const BASIC = `Basic ${Buffer.from(`${TENANT}:`).toString('base64')}`
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5)

function setup(handler: Handler, keyStore = new MemoryKeyStore(), now = () => NOW) {
  const server = fakeFetch(handler)
  const client = new CountersignClient({ tenantId: TENANT, baseUrl: 'http://127.0.0.1:8080', keyStore, fetch: server.fetch, now })
  return { client, keyStore, requests: server.requests }
}

async function qrKey() {
  const keyStore = new MemoryKeyStore()
  const { publicKey } = await keyStore.create('qr-code', { userAuthenticationRequired: false })
  return { keyStore, publicKey: Buffer.from(publicKey).toString('base64') }
}

const claim = {
  success: true,
  userId: 'user_1',
  actionCode: 'signIn',
  ipAddress: '203.0.113.9',
  userAgent: 'Firefox',
  custom: { browser: 'Firefox on Linux' },
  verificationCodeRequired: false,
  signedDecisionRequired: false,
  challengeExpiresAt: '2026-01-02T03:14:05.000Z',
}

describe('qr.claimChallenge and qr.updateChallenge (the phone)', () => {
  it('claims with a signature over the challenge ID and returns the details with the ID', async () => {
    const { keyStore, publicKey } = await qrKey()
    const { client, requests } = setup(() => ({ body: claim }), keyStore)
    const claimed = await client.qr.claimChallenge({ challengeId: 'qr-1' })
    expect(claimed).toEqual({ data: { ...claim, challengeId: 'qr-1' } })
    const [request] = requests
    expect(`${request?.method} ${request?.path}`).toBe('POST /v1/client/user-authenticators/qr-code/challenge/claim')
    expect(request?.headers.Authorization).toBe(BASIC)
    expect(request?.body).toEqual({ challengeId: 'qr-1', publicKey, signature: expect.any(String) })
    expect(verifiesOnServer(publicKey, 'qr-1', request?.body?.signature)).toBe(true)
  })

  it('takes a 200 that is not a successful claim as api_error', async () => {
    const { keyStore } = await qrKey()
    const { client } = setup(() => ({ body: { success: false } }), keyStore)
    expect((await client.qr.claimChallenge({ challengeId: 'qr-1' })).errorCode).toBe('api_error')
  })

  it('passes a refused claim on', async () => {
    const { keyStore } = await qrKey()
    const { client } = setup(() => ({ status: 409, body: errorBody('challenge_consumed') }), keyStore)
    expect((await client.qr.claimChallenge({ challengeId: 'qr-1' })).errorCode).toBe('challenge_consumed')
  })

  it('answers an anonymous login with a v2 decision whose idempotency key is null', async () => {
    const { keyStore, publicKey } = await qrKey()
    const { client, requests } = setup((request) => (request.path.endsWith('/claim') ? { body: claim } : { body: { isVerified: true } }), keyStore)
    const claimed = await client.qr.claimChallenge({ challengeId: 'qr-1' })
    expect(await client.qr.updateChallenge({ challenge: claimed.data!, approved: true })).toEqual({ data: { isVerified: true } })
    const answer = requests[1]
    expect(`${answer?.method} ${answer?.path}`).toBe('POST /v1/client/user-authenticators/qr-code/challenge')
    expect(answer?.body).toMatchObject({ challengeId: 'qr-1', publicKey, approved: true, signatureVersion: 2, signatureFormat: 'p1363', verificationCode: null })
    const message = signedDecisionMessage({ tenantId: TENANT, challengeId: 'qr-1', action: 'signIn', idempotencyKey: null, decision: 'approved', verificationCode: null, transaction: null })
    expect(verifiesOnServer(publicKey, message, answer?.body?.signature, 'p1363')).toBe(true)
  })
})

/** A server for the page's side: creates QR challenges and streams (or polls) their state. */
function pageServer(states: (challengeId: string, request: { path: string }) => { chunks: string[]; hold?: boolean } | unknown) {
  let created = 0
  const handler: Handler = (request) => {
    if (request.path === '/v1/client/challenge/qr-code') {
      created += 1
      return { body: { challengeId: `qr-${created}`, expiresAt: new Date(NOW + 600_000).toISOString(), deviceCode: `device-code-${created}`, verificationCode: '07' } }
    }
    const answer = states(String(request.body?.challengeId), request)
    if (request.path.endsWith('/stream') && answer && typeof answer === 'object' && 'chunks' in answer) return { events: answer as { chunks: string[] } }
    return { body: answer }
  }
  return handler
}

const view = (state: OutOfBandState, extra: Record<string, unknown> = {}) => ({
  isClaimed: state !== 'unclaimed' && state !== 'expired',
  isConsumed: state === 'approved' || state === 'rejected' || state === 'expired',
  isVerified: state === 'approved',
  state,
  ...extra,
})

describe('qr.challenge (the page)', () => {
  it('creates the challenge, reports its states, and resolves with the token', async () => {
    const { client, requests } = setup(
      pageServer(() => ({ chunks: [stateEvent(view('unclaimed')), stateEvent(view('claimed')), stateEvent(view('approved', { accessToken: 'login-token' }))], hold: true })),
    )
    const seen: Array<[OutOfBandState, QrCodeChallenge]> = []
    const result = await client.qr.challenge({ action: 'signIn', custom: { browser: 'Firefox' }, onStateChange: (state, challenge) => seen.push([state, challenge]) })

    expect(result).toEqual({ data: { challengeId: 'qr-1', token: 'login-token' } })
    const shown = { challengeId: 'qr-1', expiresAt: new Date(NOW + 600_000).toISOString(), verificationCode: '07' }
    // The page never sees the device code: it is the SDK's secret for following the challenge.
    expect(seen).toEqual([
      ['unclaimed', shown],
      ['claimed', shown],
      ['approved', shown],
    ])
    const [create, stream] = requests
    expect(create?.headers.Authorization).toBe(BASIC)
    expect(create?.body).toEqual({ action: 'signIn', custom: { browser: 'Firefox' } })
    expect(stream?.path).toBe('/v1/client/verify/qr-code/stream')
    expect(stream?.headers.Authorization).toBe(BASIC)
    expect(stream?.body).toEqual({ challengeId: 'qr-1', deviceCode: 'device-code-1' })
  })

  it('creates with the token as Bearer when given one, and still follows with tenant auth', async () => {
    const { client, requests } = setup(pageServer(() => ({ chunks: [stateEvent(view('approved', { accessToken: 'x' }))] })))
    client.setToken('ignored')
    await client.qr.challenge({ token: 'track-token', onStateChange: () => undefined })
    expect(requests[0]?.headers.Authorization).toBe('Bearer track-token')
    expect(requests[0]?.body).toEqual({})
    expect(requests[1]?.headers.Authorization).toBe(BASIC)
  })

  it('never takes the token from setToken: without one it is an anonymous login', async () => {
    const { client, requests } = setup(pageServer(() => ({ chunks: [stateEvent(view('approved', { accessToken: 'x' }))] })))
    client.setToken('a-token-for-something-else')
    await client.qr.challenge({ action: 'signIn', onStateChange: () => undefined })
    expect(requests[0]?.headers.Authorization).toBe(BASIC)
  })

  it('rejects with challenge_rejected when the phone denies', async () => {
    const { client } = setup(pageServer(() => view('rejected')))
    const result = await client.qr.challenge({ action: 'signIn', stream: false, pollIntervalMs: 1, onStateChange: () => undefined })
    expect(result.errorCode).toBe('challenge_rejected')
  })

  it('replaces an unscanned code on time, and leaves a claimed one alone', async () => {
    let polls = 0
    const { client, requests } = setup(
      pageServer((challengeId) => {
        if (challengeId !== 'qr-2') return view('unclaimed')
        polls += 1
        return polls < 10 ? view('claimed') : view('approved', { accessToken: 'late-token' })
      }),
    )
    const refreshes: string[] = []
    const states: string[] = []
    const result = await client.qr.challenge({
      action: 'signIn',
      stream: false,
      pollIntervalMs: 5,
      refreshIntervalMs: 20,
      onRefresh: (next, previous) => refreshes.push(`${previous.challengeId}→${next.challengeId}`),
      onStateChange: (state, challenge) => states.push(`${challenge.challengeId}:${state}`),
    })
    expect(result.data).toEqual({ challengeId: 'qr-2', token: 'late-token' })
    expect(refreshes).toEqual(['qr-1→qr-2'])
    expect(states).toEqual(['qr-1:unclaimed', 'qr-2:unclaimed', 'qr-2:claimed', 'qr-2:approved'])
    expect(requests.filter((r) => r.path === '/v1/client/challenge/qr-code')).toHaveLength(2)
  })

  it('shows a new code when one expires unanswered', async () => {
    let clock = NOW
    const { client } = setup(
      pageServer((challengeId) => {
        clock += 60_000
        return challengeId === 'qr-1' ? view('expired') : view('approved', { accessToken: 't2' })
      }),
      new MemoryKeyStore(),
      () => clock,
    )
    const result = await client.qr.challenge({ action: 'signIn', stream: false, onStateChange: () => undefined })
    expect(result.data).toEqual({ challengeId: 'qr-2', token: 't2' })
  })

  it('does not spin when codes expire as soon as they are made', async () => {
    const { client, requests } = setup(pageServer(() => view('expired')))
    const result = await client.qr.challenge({ action: 'signIn', stream: false, onStateChange: () => undefined })
    expect(result.errorCode).toBe('challenge_expired')
    expect(requests.filter((r) => r.path === '/v1/client/challenge/qr-code')).toHaveLength(1)
  })

  it('stops on abort with aborted', async () => {
    const { client } = setup(pageServer(() => ({ chunks: [stateEvent(view('unclaimed'))], hold: true })))
    const controller = new AbortController()
    const result = client.qr.challenge({ action: 'signIn', signal: controller.signal, onStateChange: () => setTimeout(() => controller.abort(), 5) })
    expect((await result).errorCode).toBe('aborted')
  })

  it('passes the server’s refusal to create on', async () => {
    const { client } = setup(() => ({ status: 400, body: errorBody('invalid_request') }))
    const result = await client.qr.challenge({ onStateChange: () => undefined })
    expect(result).toMatchObject({ errorCode: 'invalid_request', status: 400 })
  })
})
