// The real official browser SDK, @authsignal/browser, against a listening Countersign server
// (PROTOCOL.md §3, "What the existing browser SDK relies on"). The SDK runs in Node with the
// few page globals of support/browser-page.ts (window.btoa, document.cookie/location, a `ws`
// WebSocket, and a fetch that keeps a browser's CORS rules). The phone's side is plain HTTP
// over the same socket, signed with node:crypto, as the mobile SDKs send it.
import type { AddressInfo } from 'node:net'
import { Authsignal } from '@authsignal/browser'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { basicAuth, createHarness, type Harness, type TestDevice } from './support/harness.ts'
import { expectOk, tenantApi, uniqueId, type TenantApi } from './support/api.ts'
import { installBrowserPage, type BrowserPage, type RecordedRequest } from './support/browser-page.ts'

const PAGE_ORIGIN = 'https://shop.example'

let h: Harness
let api: TenantApi
let page: BrowserPage
let serverOrigin: string

beforeAll(async () => {
  h = await createHarness()
  api = tenantApi(h, await h.newTenant())
  await h.app.listen({ host: '127.0.0.1', port: 0 })
  serverOrigin = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`
  page = installBrowserPage(PAGE_ORIGIN)
})
afterAll(async () => {
  page?.restore()
  await h?.close()
})

/** What a page does on load: `new Authsignal({ tenantId, baseUrl })`. */
function openPage(options: { onTokenExpired?: () => void } = {}): Authsignal {
  return new Authsignal({ tenantId: api.tenant.tenantId, baseUrl: `${serverOrigin}/v1`, ...options })
}

/** The page's requests since `mark`, to one Client API path, preflights included. */
function sentTo(mark: number, path: string): RecordedRequest[] {
  return page.requests.slice(mark).filter((r) => new URL(r.url).pathname === `/v1/client/${path}`)
}

/** The browser SDK's tenant Basic form (helpers.ts buildHeaders): base64(encodeURIComponent(tenantId)), no colon. */
const pageTenantBasic = () => `Basic ${Buffer.from(encodeURIComponent(api.tenant.tenantId)).toString('base64')}`

async function validate(token: string): Promise<Record<string, unknown>> {
  return expectOk(await api.server('POST', '/v1/validate', { token }))
}

// ---------------------------------------------------------------------------------------------
// The phone: Client API calls as the Android SDK sends them, over the socket.

interface Phone {
  /** Nonce, signature, pending push challenge (AuthsignalPush getChallenge). */
  pendingPush(): Promise<Record<string, unknown>>
  claim(challengeId: string): Promise<Record<string, unknown>>
  answer(namespace: 'push' | 'qr-code', challengeId: string, approved: boolean): Promise<Record<string, unknown>>
}

function phoneOf(device: TestDevice): Phone {
  const authorization = basicAuth(api.tenant.tenantId)
  const queryKey = Buffer.from(device.publicKey).toString('base64')
  const call = async (method: string, path: string, body?: object, headers: Record<string, string> = {}) => {
    const response = await page.nodeFetch(`${serverOrigin}/v1/client/${path}`, {
      method,
      headers: { authorization, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    const json = (await response.json()) as Record<string, unknown>
    expect(response.status, `phone ${method} ${path}: ${JSON.stringify(json)}`).toBe(200)
    return json
  }
  return {
    async pendingPush() {
      const { message } = await call('POST', `user-authenticators/push/challenge/sign?publicKey=${queryKey}`)
      return call('GET', `user-authenticators/push/challenge?publicKey=${queryKey}`, undefined, { 'x-authsignal-signature': device.sign(message as string) })
    },
    claim: (challengeId) =>
      call('POST', 'user-authenticators/qr-code/challenge/claim', { publicKey: device.publicKey, challengeId, signature: device.sign(challengeId) }),
    answer: (namespace, challengeId, approved) =>
      call('POST', `user-authenticators/${namespace}/challenge`, {
        publicKey: device.publicKey,
        challengeId,
        signature: device.sign(challengeId),
        approved,
        verificationCode: null,
      }),
  }
}

// ---------------------------------------------------------------------------------------------

describe('@authsignal/browser push (Push in src/push.ts over src/api/push-api-client.ts)', () => {
  it('challenge with the page’s token, verify until approved; the token comes back as `token`', async () => {
    const userId = uniqueId('browser-push')
    const { device } = await api.enroll(userId, { namespace: 'push', pushToken: 'apns-device-token', devicePlatform: 'ios' })
    const payment = await api.track(userId, 'authorizePayment')
    expect(payment.state).toBe('CHALLENGE_REQUIRED')

    const authsignal = openPage()
    authsignal.setToken(payment.token)
    const mark = page.requests.length
    const started = await authsignal.push.challenge({ action: 'authorizePayment' })
    expect(started.error, started.errorDescription).toBeUndefined()
    const challengeId = started.data!.challengeId
    expect(challengeId).toEqual(expect.any(String))

    // The page polls at its own pace: pending until the phone answers.
    const waiting = await authsignal.push.verify({ challengeId })
    expect(waiting.error).toBeUndefined()
    expect(waiting.data).toMatchObject({ isVerified: false, isConsumed: false })

    const phone = phoneOf(device)
    expect(await phone.pendingPush()).toMatchObject({ challengeId, userId, actionCode: 'authorizePayment', idempotencyKey: payment.idempotencyKey })
    expect(await phone.answer('push', challengeId, true)).toEqual({ isVerified: true })

    const approved = await vi.waitFor(
      async () => {
        const result = await authsignal.push.verify({ challengeId })
        if (!result.data?.isVerified) throw new Error(`not approved yet: ${JSON.stringify(result)}`)
        return result
      },
      { timeout: 5000, interval: 50 },
    )
    // handleApiResponse renames accessToken to token (the SDK's PushVerifyResponse type still says accessToken).
    expect(approved.error).toBeUndefined()
    expect(approved.data).toMatchObject({ isVerified: true, isConsumed: true, token: expect.any(String) })
    expect(approved.data).not.toHaveProperty('accessToken')
    const { token } = approved.data as unknown as { token: string }
    expect(await validate(token)).toMatchObject({
      isValid: true,
      state: 'CHALLENGE_SUCCEEDED',
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey: payment.idempotencyKey,
      verificationMethod: 'PUSH',
    })

    // On the wire: a CORS preflight, then Bearer with {action}; verify Bearer with {challengeId}.
    const challengeCalls = sentTo(mark, 'challenge/push')
    expect(challengeCalls.map((r) => r.method)).toEqual(['OPTIONS', 'POST'])
    expect(challengeCalls[1]!.headers).toMatchObject({ authorization: `Bearer ${payment.token}`, origin: PAGE_ORIGIN, 'content-type': 'application/json' })
    expect(JSON.parse(challengeCalls[1]!.body!)).toEqual({ action: 'authorizePayment' })
    const verifyCalls = sentTo(mark, 'verify/push').filter((r) => r.method === 'POST')
    expect(verifyCalls.every((r) => r.headers.authorization === `Bearer ${payment.token}` && r.body === JSON.stringify({ challengeId }))).toBe(true)
  })

  it('a denial: the page sees consumed and not verified, and gets no token', async () => {
    const userId = uniqueId('browser-push-deny')
    const { device } = await api.enroll(userId, { namespace: 'push', pushToken: 'fcm-device-token' })
    const payment = await api.track(userId, 'authorizePayment')
    const authsignal = openPage()
    authsignal.setToken(payment.token)
    const challengeId = (await authsignal.push.challenge({ action: 'authorizePayment' })).data!.challengeId
    const phone = phoneOf(device)
    expect((await phone.pendingPush()).challengeId).toBe(challengeId)
    expect(await phone.answer('push', challengeId, false)).toEqual({ isVerified: false })

    const denied = await authsignal.push.verify({ challengeId })
    expect(denied.error).toBeUndefined()
    expect(denied.data).toMatchObject({ isVerified: false, isConsumed: true })
    expect(denied.data).not.toHaveProperty('token')
  })

  // src/api/helpers.ts handleTokenExpired: errorCode "expired_token" calls the page's onTokenExpired.
  it('an expired token: the error reaches the page and onTokenExpired fires', async () => {
    const userId = uniqueId('browser-push-expired')
    await api.enroll(userId, { namespace: 'push', pushToken: 'fcm-device-token' })
    const payment = await api.track(userId, 'authorizePayment')
    const onTokenExpired = vi.fn()
    const authsignal = openPage({ onTokenExpired })
    authsignal.setToken(payment.token)
    const challengeId = (await authsignal.push.challenge({ action: 'authorizePayment' })).data!.challengeId
    h.clock.advance(601_000)
    const late = await authsignal.push.verify({ challengeId })
    expect(late.data).toBeUndefined()
    expect(late.errorCode).toBe('expired_token')
    expect(late.error).toEqual(expect.any(String))
    expect(onTokenExpired).toHaveBeenCalledTimes(1)
  })
})

describe('@authsignal/browser QR code, REST polling (src/qr-code/rest-qr-handler.ts)', () => {
  it('without a token: claimed, then approved with the token; create and poll with tenant Basic', async () => {
    const userId = uniqueId('browser-qr-poll')
    const { device } = await api.enroll(userId, { namespace: 'qr-code' })
    const authsignal = openPage()
    authsignal.setToken('') // a login page: no token
    const states: Array<{ state: string; token: string | undefined }> = []
    const mark = page.requests.length
    const created = await authsignal.qrCode.challenge({
      action: 'signInWithQr',
      custom: { location: 'Front desk' },
      polling: true,
      pollInterval: 50,
      onStateChange: (state, token) => states.push({ state, token }),
    })
    try {
      expect(created.error).toBeUndefined()
      const challengeId = created.data!.challengeId
      expect(created.data).toMatchObject({ challengeId: expect.any(String), expiresAt: expect.any(String) })

      const phone = phoneOf(device)
      expect(await phone.claim(challengeId)).toMatchObject({ success: true, actionCode: 'signInWithQr', custom: { location: 'Front desk' } })
      await vi.waitFor(() => expect(states.map((s) => s.state)).toContain('claimed'), { timeout: 5000, interval: 20 })
      expect(await phone.answer('qr-code', challengeId, true)).toEqual({ isVerified: true })
      await vi.waitFor(() => expect(states.at(-1)?.state).toBe('approved'), { timeout: 5000, interval: 20 })

      const token = states.at(-1)!.token
      expect(token).toEqual(expect.any(String))
      expect(await validate(token!)).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', userId, actionCode: 'signInWithQr', verificationMethod: 'QR_CODE' })

      // On the wire: the tenant form with no colon for both calls; a deviceCode in every poll.
      const createCalls = sentTo(mark, 'challenge/qr-code').filter((r) => r.method === 'POST')
      expect(createCalls).toHaveLength(1)
      expect(createCalls[0]!.headers.authorization).toBe(pageTenantBasic())
      expect(JSON.parse(createCalls[0]!.body!)).toEqual({ action: 'signInWithQr', custom: { location: 'Front desk' } })
      const polls = sentTo(mark, 'verify/qr-code').filter((r) => r.method === 'POST')
      expect(polls.length).toBeGreaterThan(1)
      for (const poll of polls) {
        expect(poll.headers.authorization).toBe(pageTenantBasic())
        expect(JSON.parse(poll.body!)).toEqual({ challengeId, deviceCode: expect.any(String) })
      }
    } finally {
      authsignal.qrCode.disconnect()
    }
  })

  it('with the page’s token: create with Bearer; claimed, then rejected', async () => {
    const userId = uniqueId('browser-qr-reject')
    const { device } = await api.enroll(userId, { namespace: 'qr-code' })
    const payment = await api.track(userId, 'authorizePayment')
    const authsignal = openPage()
    authsignal.setToken(payment.token)
    const states: string[] = []
    const mark = page.requests.length
    const created = await authsignal.qrCode.challenge({ action: 'authorizePayment', polling: true, pollInterval: 50, onStateChange: (state) => states.push(state) })
    try {
      expect(created.error).toBeUndefined()
      const challengeId = created.data!.challengeId
      expect(sentTo(mark, 'challenge/qr-code').find((r) => r.method === 'POST')!.headers.authorization).toBe(`Bearer ${payment.token}`)

      const phone = phoneOf(device)
      expect(await phone.claim(challengeId)).toMatchObject({ success: true, actionCode: 'authorizePayment', idempotencyKey: payment.idempotencyKey })
      await vi.waitFor(() => expect(states).toContain('claimed'), { timeout: 5000, interval: 20 })
      expect(await phone.answer('qr-code', challengeId, false)).toEqual({ isVerified: false })
      await vi.waitFor(() => expect(states.at(-1)).toBe('rejected'), { timeout: 5000, interval: 20 })

      const action = expectOk(await api.server('GET', `/v1/users/${encodeURIComponent(userId)}/actions/authorizePayment/${payment.idempotencyKey}`))
      expect(action.state).toBe('CHALLENGE_FAILED')
    } finally {
      authsignal.qrCode.disconnect()
    }
  })
})

describe('@authsignal/browser QR code, WebSocket mode (src/api/websocket-client.ts)', () => {
  it('without a token: the authsignal-ws handshake, CHALLENGE_CREATED, then claimed and approved with accessToken', async () => {
    const userId = uniqueId('browser-qr-ws')
    const { device } = await api.enroll(userId, { namespace: 'qr-code' })
    const authsignal = openPage()
    authsignal.setToken('')
    const states: Array<{ state: string; accessToken: string | undefined }> = []
    const opened = page.sockets.length
    const created = await authsignal.qrCode.challenge({
      action: 'signInWithQr',
      custom: { location: 'Front desk' },
      onStateChange: (state, accessToken) => states.push({ state, accessToken }),
    })
    try {
      expect(created.error).toBeUndefined()
      const challengeId = created.data!.challengeId
      expect(created.data).toMatchObject({ challengeId: expect.any(String), expiresAt: expect.any(String) })

      // The URL is the base URL with http→ws and v1→ws-v1-challenge; the server chose authsignal-ws.
      const [socket] = page.sockets.slice(opened)
      expect(socket).toBeDefined()
      expect(socket!.url).toBe(`${serverOrigin.replace('http://', 'ws://')}/ws-v1-challenge`)
      expect(socket!.protocols).toEqual(['authsignal-ws', `x.authsignal.tenant.${api.tenant.tenantId}`])
      expect(socket!.socket.protocol).toBe('authsignal-ws')

      const phone = phoneOf(device)
      expect(await phone.claim(challengeId)).toMatchObject({ success: true, custom: { location: 'Front desk' } })
      await vi.waitFor(() => expect(states.map((s) => s.state)).toEqual(['claimed']), { timeout: 5000, interval: 20 })
      expect(await phone.answer('qr-code', challengeId, true)).toEqual({ isVerified: true })
      await vi.waitFor(() => expect(states.at(-1)?.state).toBe('approved'), { timeout: 5000, interval: 20 })

      // WebSocket mode hands accessToken to onStateChange as it came (no renaming).
      const accessToken = states.at(-1)!.accessToken
      expect(accessToken).toEqual(expect.any(String))
      expect(await validate(accessToken!)).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', userId, actionCode: 'signInWithQr', verificationMethod: 'QR_CODE' })
    } finally {
      authsignal.qrCode.disconnect()
    }
  })

  it('with the page’s token: the token subprotocol, then claimed and rejected', async () => {
    const userId = uniqueId('browser-qr-ws-reject')
    const { device } = await api.enroll(userId, { namespace: 'qr-code' })
    const payment = await api.track(userId, 'authorizePayment')
    const authsignal = openPage()
    authsignal.setToken(payment.token)
    const states: string[] = []
    const opened = page.sockets.length
    const created = await authsignal.qrCode.challenge({ action: 'authorizePayment', onStateChange: (state) => states.push(state) })
    try {
      expect(created.error).toBeUndefined()
      const challengeId = created.data!.challengeId
      expect(page.sockets[opened]!.protocols).toEqual(['authsignal-ws', `x.authsignal.token.${payment.token}`])
      expect(page.sockets[opened]!.socket.protocol).toBe('authsignal-ws')

      const phone = phoneOf(device)
      expect(await phone.claim(challengeId)).toMatchObject({ success: true, idempotencyKey: payment.idempotencyKey })
      await vi.waitFor(() => expect(states).toEqual(['claimed']), { timeout: 5000, interval: 20 })
      expect(await phone.answer('qr-code', challengeId, false)).toEqual({ isVerified: false })
      await vi.waitFor(() => expect(states).toEqual(['claimed', 'rejected']), { timeout: 5000, interval: 20 })
    } finally {
      authsignal.qrCode.disconnect()
    }
  })

  // QrCode.refresh → WebSocketClient.refreshQrCodeChallenge: a new CREATE_CHALLENGE on the same socket.
  it('refresh() creates a new code on the same socket; the new code is the one that completes', async () => {
    const userId = uniqueId('browser-qr-ws-refresh')
    const { device } = await api.enroll(userId, { namespace: 'qr-code' })
    const authsignal = openPage()
    authsignal.setToken('')
    const refreshed: string[] = []
    const states: Array<{ state: string; accessToken: string | undefined }> = []
    const opened = page.sockets.length
    const first = await authsignal.qrCode.challenge({
      action: 'signInWithQr',
      onRefresh: (challengeId) => refreshed.push(challengeId),
      onStateChange: (state, accessToken) => states.push({ state, accessToken }),
    })
    try {
      expect(first.error).toBeUndefined()
      // A person presses "new code" a few seconds later.
      h.clock.advance(3000)
      await authsignal.qrCode.refresh({ custom: { location: 'Side door' } })
      expect(refreshed).toHaveLength(1)
      const challengeId = refreshed[0]!
      expect(challengeId).not.toBe(first.data!.challengeId)
      expect(page.sockets.length - opened, 'one socket for both codes').toBe(1)

      const phone = phoneOf(device)
      expect(await phone.claim(challengeId)).toMatchObject({ success: true, custom: { location: 'Side door' } })
      expect(await phone.answer('qr-code', challengeId, true)).toEqual({ isVerified: true })
      await vi.waitFor(() => expect(states.at(-1)?.state).toBe('approved'), { timeout: 5000, interval: 20 })
      expect(await validate(states.at(-1)!.accessToken!)).toMatchObject({ isValid: true, userId })
    } finally {
      authsignal.qrCode.disconnect()
    }
  })

  // WebSocketClient.createQrCodeChallenge waits for CHALLENGE_CREATED with no timeout and no
  // error path, and onclose only clears its handlers: a socket the server closes leaves the
  // page's refresh() (and its QR code) waiting forever.
  it('refresh() right after challenge() (a page updating its custom data) still gets its new code', async () => {
    const authsignal = openPage()
    authsignal.setToken('')
    const refreshed: string[] = []
    const first = await authsignal.qrCode.challenge({ action: 'signInWithQr', onRefresh: (challengeId) => refreshed.push(challengeId), onStateChange: () => undefined })
    try {
      expect(first.error).toBeUndefined()
      const outcome = await Promise.race([
        authsignal.qrCode.refresh({ custom: { basket: '3 items' } }).then(
          () => 'refreshed',
          (error: unknown) => `failed: ${String(error)}`,
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 3 s'), 3000)),
      ])
      expect(outcome).toBe('refreshed')
      expect(refreshed).toHaveLength(1)
    } finally {
      authsignal.qrCode.disconnect()
    }
  })
})
