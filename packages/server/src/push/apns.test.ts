import { generateKeyPairSync, randomUUID, verify, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect as connectTcp, createServer, type Socket } from 'node:net'
import { constants, createSecureServer, type IncomingHttpHeaders, type ServerHttp2Session } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ApnsConfig, ApnsSender, type ApnsConfigInput, type ApnsSenderOptions } from './apns.ts'
import type { DeliveryResult, PushMessage } from './sender.ts'

// A local HTTP/2 TLS server stands in for APNs and makes the checks Apple documents: the
// provider token's ES256 signature, kid, iss and age; the path, topic, push type, priority and
// expiration headers; the payload size; and whether the device token is known.

const TLS_CERT = readFileSync(new URL('./testdata/loopback-tls-cert.pem', import.meta.url), 'utf8')
const TLS_KEY = readFileSync(new URL('./testdata/loopback-tls-key.pem', import.meta.url), 'utf8')
const TEAM_ID = 'TEAM123456'
const KEY_ID = 'KEY9876543'
const TOPIC = 'com.example.countersign'
const authKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const AUTH_KEY_PEM = pem(authKey.privateKey)
const DEVICE = 'a'.repeat(64)
const UNINSTALLED = 'b'.repeat(64)
const OTHER_APP = 'c'.repeat(64)
const THROTTLED = 'd'.repeat(64)
const STALLED = 'e'.repeat(64)
const UNKNOWN = 'f'.repeat(64)
const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000

/** The test's clock, shared by the senders and the fake APNs (plus `skewMs` on Apple's side). */
const clock = { ms: Date.UTC(2030, 0, 2, 3, 4, 5, 678) }
const now = () => clock.ms

interface ReceivedRequest {
  headers: IncomingHttpHeaders
  jwt: string | undefined
  jwtHeader: unknown
  claims: unknown
  payload: unknown
  status: number | undefined
}

interface FakeApns {
  origin: string
  requests: ReceivedRequest[]
  sessions: ServerHttp2Session[]
  /** How far Apple's clock is ahead of ours. */
  skewMs: number
  /** Reset the next request with REFUSED_STREAM, as a server over its stream limit does. */
  refuseNextStream: boolean
  streamsRefused: number
  close(): Promise<void>
}

const running: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((thing) => thing.close()))
})

async function startFakeApns(): Promise<FakeApns> {
  // Device token → the topic (app) it belongs to; UNINSTALLED is known but unregistered.
  const devices = new Map([
    [DEVICE, TOPIC],
    [OTHER_APP, 'com.example.other'],
    [THROTTLED, TOPIC],
    [STALLED, TOPIC],
  ])
  const sessions: ServerHttp2Session[] = []
  const requests: ReceivedRequest[] = []
  const server = createSecureServer({ cert: TLS_CERT, key: TLS_KEY })
  const fake: FakeApns = {
    origin: '',
    requests,
    sessions,
    skewMs: 0,
    refuseNextStream: false,
    streamsRefused: 0,
    async close() {
      for (const session of sessions) session.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
  server.on('session', (session) => sessions.push(session))
  server.on('stream', (stream, headers) => {
    // Streams reset by either side emit 'error'; the tests look at results, not at these.
    stream.on('error', () => {})
    if (fake.refuseNextStream) {
      fake.refuseNextStream = false
      fake.streamsRefused++
      stream.close(constants.NGHTTP2_REFUSED_STREAM)
      return
    }
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => {
      const body = Buffer.concat(chunks)
      const request = readRequest(headers, body)
      requests.push(request)
      const answer = judge(request, body, clock.ms + fake.skewMs)
      if (answer === 'stall') return
      request.status = answer.status
      stream.respond({ ':status': answer.status, 'apns-id': randomUUID(), 'content-type': 'application/json' })
      stream.end(answer.reason === undefined ? undefined : JSON.stringify({ reason: answer.reason, timestamp: clock.ms }))
    })
  })

  /** APNs' checks, in the order it makes them; each refusal carries Apple's reason. */
  function judge(request: ReceivedRequest, body: Buffer, appleNow: number): { status: number; reason?: string } | 'stall' {
    const { headers, jwt } = request
    if (jwt === undefined) return { status: 403, reason: 'MissingProviderToken' }
    if (!hasValidSignature(jwt, authKey.publicKey)) return { status: 403, reason: 'InvalidProviderToken' }
    const header = request.jwtHeader as { alg?: unknown; kid?: unknown }
    const claims = request.claims as { iss?: unknown; iat?: unknown }
    if (header.alg !== 'ES256' || header.kid !== KEY_ID || claims.iss !== TEAM_ID || !Number.isInteger(claims.iat)) {
      return { status: 403, reason: 'InvalidProviderToken' }
    }
    const iatMs = (claims.iat as number) * 1000
    if (appleNow - iatMs > HOUR_MS) return { status: 403, reason: 'ExpiredProviderToken' }
    if (iatMs > appleNow + MINUTE_MS) return { status: 403, reason: 'InvalidProviderToken' }
    if (headers[':method'] !== 'POST') return { status: 405, reason: 'MethodNotAllowed' }
    const token = /^\/3\/device\/([0-9a-fA-F]+)$/.exec(headers[':path'] ?? '')?.[1]
    if (token === undefined) return { status: 404, reason: 'BadPath' }
    const topic = headers['apns-topic']
    if (typeof topic !== 'string' || topic === '') return { status: 400, reason: 'MissingTopic' }
    if (headers['apns-push-type'] !== 'alert') return { status: 400, reason: 'InvalidPushType' }
    const priority = headers['apns-priority']
    if (priority !== undefined && priority !== '5' && priority !== '10') return { status: 400, reason: 'BadPriority' }
    if (!/^\d+$/.test(String(headers['apns-expiration']))) return { status: 400, reason: 'BadExpirationDate' }
    if (body.length === 0) return { status: 400, reason: 'PayloadEmpty' }
    if (body.length > 4096) return { status: 413, reason: 'PayloadTooLarge' }
    if (token === UNINSTALLED) return { status: 410, reason: 'Unregistered' }
    const appTopic = devices.get(token)
    if (appTopic === undefined) return { status: 400, reason: 'BadDeviceToken' }
    if (appTopic !== topic) return { status: 400, reason: 'DeviceTokenNotForTopic' }
    if (token === THROTTLED) return { status: 429, reason: 'TooManyRequests' }
    if (token === STALLED) return 'stall'
    return { status: 200 }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  running.push(fake)
  return fake
}

function readRequest(headers: IncomingHttpHeaders, body: Buffer): ReceivedRequest {
  const jwt = /^bearer (\S+)$/.exec(String(headers.authorization ?? ''))?.[1]
  const [header, claims] = (jwt ?? '').split('.')
  return {
    headers,
    jwt,
    jwtHeader: parseJson(Buffer.from(header ?? '', 'base64url').toString('utf8')),
    claims: parseJson(Buffer.from(claims ?? '', 'base64url').toString('utf8')),
    payload: parseJson(body.toString('utf8')),
    status: undefined,
  }
}

/** ES256 as JWS defines it: the raw r‖s signature over `header.claims`, checked with node:crypto, not fast-jwt. */
function hasValidSignature(jwt: string, publicKey: KeyObject): boolean {
  const parts = jwt.split('.')
  if (parts.length !== 3) return false
  const signature = Buffer.from(parts[2]!, 'base64url')
  return verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string
}

function newSender(apns: FakeApns, config: Partial<ApnsConfigInput> = {}, options: ApnsSenderOptions = {}): ApnsSender {
  const sender = new ApnsSender(
    { teamId: TEAM_ID, keyId: KEY_ID, privateKey: AUTH_KEY_PEM, topic: TOPIC, ...config },
    { now, origin: apns.origin, ca: TLS_CERT, ...options },
  )
  running.push(sender)
  return sender
}

function message(overrides: Partial<PushMessage> = {}): PushMessage {
  return {
    pushToken: DEVICE,
    title: 'Approve sign-in?',
    body: 'Chrome on macOS, Lisbon',
    data: { challengeId: 'ch_5f2c', actionCode: 'signIn' },
    expiresAt: new Date(clock.ms + 5 * MINUTE_MS),
    ...overrides,
  }
}

/** A result never carries the auth key or a provider token. */
function expectNoSecrets(results: DeliveryResult[], apns: FakeApns) {
  const text = JSON.stringify(results)
  const keyBody = AUTH_KEY_PEM.split('\n')[1]!
  expect(text).not.toContain(keyBody)
  for (const { jwt } of apns.requests) if (jwt) expect(text).not.toContain(jwt)
}

const distinctTokens = (apns: FakeApns) => new Set(apns.requests.map((r) => r.jwt)).size

describe('ApnsSender', () => {
  it('sends an alert APNs accepts: ES256 provider token, headers and payload as Apple documents them', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns)
    const expiresAt = new Date(clock.ms + 5 * MINUTE_MS)

    const result = await sender.send(message({ expiresAt }))

    expect(result).toEqual({ provider: 'apns', status: 'sent', statusCode: 200 })
    expect(apns.requests).toHaveLength(1)
    const [request] = apns.requests
    expect(request!.headers[':method']).toBe('POST')
    expect(request!.headers[':path']).toBe(`/3/device/${DEVICE}`)
    expect(request!.headers['apns-topic']).toBe(TOPIC)
    expect(request!.headers['apns-push-type']).toBe('alert')
    expect(request!.headers['apns-priority']).toBe('10')
    expect(request!.headers['apns-expiration']).toBe(String(Math.floor(expiresAt.getTime() / 1000)))
    expect(request!.headers['apns-collapse-id']).toBeUndefined()
    expect(request!.jwtHeader).toMatchObject({ alg: 'ES256', kid: KEY_ID })
    expect(request!.claims).toEqual({ iss: TEAM_ID, iat: Math.floor(clock.ms / 1000) })
    expect(request!.payload).toEqual({
      challengeId: 'ch_5f2c',
      actionCode: 'signIn',
      aps: { alert: { title: 'Approve sign-in?', body: 'Chrome on macOS, Lisbon' }, sound: 'default' },
    })
    expectNoSecrets([result], apns)
  })

  it('adds mutable-content and content-available when configured', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns, { mutableContent: true, contentAvailable: true })
    expect((await sender.send(message())).status).toBe('sent')
    expect(apns.requests[0]!.payload).toMatchObject({ aps: { 'mutable-content': 1, 'content-available': 1 } })
  })

  it('reuses one connection and one provider token across sends, sequential and concurrent', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns)
    for (let i = 0; i < 3; i++) expect((await sender.send(message())).status).toBe('sent')
    const concurrent = await Promise.all([sender.send(message()), sender.send(message()), sender.send(message())])
    expect(concurrent.map((r) => r.status)).toEqual(['sent', 'sent', 'sent'])
    expect(apns.requests).toHaveLength(6)
    expect(apns.sessions).toHaveLength(1)
    expect(distinctTokens(apns)).toBe(1)
  })

  it('mints a new provider token once the old one is 50 minutes old, not before', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns)
    const start = clock.ms
    try {
      await sender.send(message())
      clock.ms = start + 49 * MINUTE_MS
      await sender.send(message())
      clock.ms = start + 50 * MINUTE_MS
      await sender.send(message())
    } finally {
      clock.ms = start
    }
    const [first, second, third] = apns.requests
    expect(second!.jwt).toBe(first!.jwt)
    expect(third!.jwt).not.toBe(first!.jwt)
    expect(third!.claims).toEqual({ iss: TEAM_ID, iat: Math.floor((start + 50 * MINUTE_MS) / 1000) })
    expect(apns.requests.map((r) => r.status)).toEqual([200, 200, 200])
  })

  it('marks the token invalid on 410 Unregistered, 400 BadDeviceToken and 400 DeviceTokenNotForTopic', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns)
    const results = [
      await sender.send(message({ pushToken: UNINSTALLED })),
      await sender.send(message({ pushToken: UNKNOWN })),
      await sender.send(message({ pushToken: OTHER_APP })),
    ]
    expect(results).toEqual([
      { provider: 'apns', status: 'failed', statusCode: 410, error: 'Unregistered', invalidToken: true },
      { provider: 'apns', status: 'failed', statusCode: 400, error: 'BadDeviceToken', invalidToken: true },
      { provider: 'apns', status: 'failed', statusCode: 400, error: 'DeviceTokenNotForTopic', invalidToken: true },
    ])
    expectNoSecrets(results, apns)
  })

  it('reports any other refusal with its reason and keeps the token', async () => {
    const apns = await startFakeApns()
    const result = await newSender(apns).send(message({ pushToken: THROTTLED }))
    expect(result).toEqual({ provider: 'apns', status: 'failed', statusCode: 429, error: 'TooManyRequests' })
  })

  it('on 403 ExpiredProviderToken mints a new token and sends once more', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns)
    const start = clock.ms
    try {
      await sender.send(message())
      // 40 minutes on, our cached token is not due for refresh, but Apple's clock runs 25
      // minutes ahead, so to Apple it is over an hour old.
      clock.ms = start + 40 * MINUTE_MS
      apns.skewMs = 25 * MINUTE_MS
      const result = await sender.send(message())
      expect(result).toEqual({ provider: 'apns', status: 'sent', statusCode: 200 })
    } finally {
      clock.ms = start
    }
    expect(apns.requests.map((r) => r.status)).toEqual([200, 403, 200])
    expect(apns.requests[1]!.jwt).toBe(apns.requests[0]!.jwt)
    expect(apns.requests[2]!.jwt).not.toBe(apns.requests[1]!.jwt)
    expect(apns.requests[2]!.claims).toEqual({ iss: TEAM_ID, iat: Math.floor((start + 40 * MINUTE_MS) / 1000) })
  })

  it('sends refused at the same time share one new provider token', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns)
    const start = clock.ms
    try {
      await sender.send(message())
      clock.ms = start + 40 * MINUTE_MS
      apns.skewMs = 25 * MINUTE_MS
      const results = await Promise.all([sender.send(message()), sender.send(message()), sender.send(message())])
      expect(results.map((r) => r.status)).toEqual(['sent', 'sent', 'sent'])
    } finally {
      clock.ms = start
    }
    expect(apns.requests.filter((r) => r.status === 403)).toHaveLength(3)
    // APNs answers TooManyProviderTokenUpdates to a provider that changes tokens too often.
    expect(distinctTokens(apns)).toBe(2)
  })

  it('retries a refused provider token only once: a wrong key or key ID stays refused', async () => {
    const apns = await startFakeApns()
    const wrongKey = newSender(apns, { privateKey: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey) })
    expect(await wrongKey.send(message())).toEqual({
      provider: 'apns',
      status: 'failed',
      statusCode: 403,
      error: 'InvalidProviderToken',
    })
    expect(apns.requests).toHaveLength(2)

    const wrongKeyId = newSender(apns, { keyId: 'KEY0000000' })
    expect(await wrongKeyId.send(message())).toMatchObject({ status: 'failed', statusCode: 403, error: 'InvalidProviderToken' })
    expect(apns.requests).toHaveLength(4)

    const wrongTeam = newSender(apns, { teamId: 'TEAM000000' })
    expect(await wrongTeam.send(message())).toMatchObject({ status: 'failed', statusCode: 403, error: 'InvalidProviderToken' })
    expect(apns.requests).toHaveLength(6)
  })

  it('refuses without a request a push token that is not hex, an oversized payload and an expired message', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns)
    // Regression: a token is part of the path; one with `/` or `?` must not reach another path.
    expect(await sender.send(message({ pushToken: `${DEVICE}/../../../1/x` }))).toEqual({
      provider: 'apns',
      status: 'failed',
      error: 'invalid_push_token',
      invalidToken: true,
    })
    expect(await sender.send(message({ pushToken: `${DEVICE}?x=1` }))).toMatchObject({ error: 'invalid_push_token' })
    expect(await sender.send(message({ data: { note: 'x'.repeat(4000) } }))).toEqual({
      provider: 'apns',
      status: 'failed',
      error: 'payload_too_large',
    })
    expect(await sender.send(message({ expiresAt: new Date(clock.ms) }))).toMatchObject({ error: 'message_expired' })
    expect(apns.requests).toHaveLength(0)
  })

  it('keeps the alert when custom data has a key named aps', async () => {
    const apns = await startFakeApns()
    await newSender(apns).send(message({ data: { aps: 'overwrite', challengeId: 'ch_1' } }))
    expect(apns.requests[0]!.payload).toMatchObject({ challengeId: 'ch_1', aps: { alert: { title: 'Approve sign-in?' } } })
  })

  it('opens a new connection when APNs closes the old one, gracefully or not', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns)
    expect((await sender.send(message())).status).toBe('sent')

    await new Promise<void>((resolve) => apns.sessions[0]!.close(() => resolve())) // GOAWAY, as Apple sends before maintenance
    expect((await sender.send(message())).status).toBe('sent')
    expect(apns.sessions).toHaveLength(2)

    apns.sessions[1]!.destroy() // connection lost without a GOAWAY
    // Let the client see the FIN; a request racing it would fail with network_error, which is
    // right but not what this test is about.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect((await sender.send(message())).status).toBe('sent')
    expect(apns.sessions).toHaveLength(3)
  })

  it('sends once more a request APNs refused unprocessed (REFUSED_STREAM)', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns)
    apns.refuseNextStream = true
    expect(await sender.send(message())).toEqual({ provider: 'apns', status: 'sent', statusCode: 200 })
    expect(apns.streamsRefused).toBe(1)
    expect(apns.requests).toHaveLength(1)
  })

  it('fails an unanswered request with network_error after the timeout; the next goes on a new connection', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns, {}, { timeoutMs: 300 })
    const started = Date.now()
    const result = await sender.send(message({ pushToken: STALLED }))
    expect(result).toEqual({ provider: 'apns', status: 'failed', error: 'network_error' })
    expect(Date.now() - started).toBeLessThan(5_000)
    expect((await sender.send(message())).status).toBe('sent')
    expect(apns.sessions).toHaveLength(2)
  })

  it('recovers from a connection that died without closing', async () => {
    const apns = await startFakeApns()
    const proxy = await startProxy(apns)
    const sender = newSender(apns, {}, { origin: proxy.origin, timeoutMs: 300 })
    expect((await sender.send(message())).status).toBe('sent')
    proxy.blackHoleOpenConnections()
    expect(await sender.send(message())).toEqual({ provider: 'apns', status: 'failed', error: 'network_error' })
    expect((await sender.send(message())).status).toBe('sent')
    expect(apns.requests).toHaveLength(2)
  })

  it('fails with network_error when the server is unreachable or its certificate is not trusted', async () => {
    const apns = await startFakeApns()
    const untrusting = newSender(apns, {}, { ca: undefined })
    expect(await untrusting.send(message())).toEqual({ provider: 'apns', status: 'failed', error: 'network_error' })
    expect(apns.requests).toHaveLength(0)

    const unreachable = newSender(apns, {}, { origin: `https://127.0.0.1:${await closedPort()}` })
    expect(await unreachable.send(message())).toEqual({ provider: 'apns', status: 'failed', error: 'network_error' })
    // Once the server is reachable again, the next send connects anew.
    expect((await newSender(apns).send(message())).status).toBe('sent')
  })

  it('close() ends the connection; sends after it fail with sender_closed', async () => {
    const apns = await startFakeApns()
    const sender = newSender(apns)
    await sender.send(message())
    const serverSessionClosed = new Promise<void>((resolve) => apns.sessions[0]!.once('close', () => resolve()))
    await sender.close()
    await serverSessionClosed
    expect(await sender.send(message())).toEqual({ provider: 'apns', status: 'failed', error: 'sender_closed' })
    expect(apns.requests).toHaveLength(1)
  })

  it('talks to the APNs of its environment, wherever stored configuration says to go', () => {
    const base = { teamId: TEAM_ID, keyId: KEY_ID, privateKey: AUTH_KEY_PEM, topic: TOPIC }
    expect(new ApnsSender(base).origin).toBe('https://api.push.apple.com')
    expect(new ApnsSender({ ...base, environment: 'sandbox' }).origin).toBe('https://api.sandbox.push.apple.com')
    // Regression: configuration a tenant stores must not send the provider token to another host (SSRF).
    const stored = ApnsConfig.parse({ ...base, origin: 'https://127.0.0.1:8443', ca: TLS_CERT })
    expect(stored).not.toHaveProperty('origin')
    expect(stored).not.toHaveProperty('ca')
    expect(new ApnsSender(stored).origin).toBe('https://api.push.apple.com')
  })

  it('refuses a bad configuration, naming the field and never quoting the key', () => {
    const base = { teamId: TEAM_ID, keyId: KEY_ID, privateKey: AUTH_KEY_PEM, topic: TOPIC }
    const rsaPem = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)
    const p384Pem = pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey)
    for (const privateKey of [rsaPem, p384Pem, 'not a key']) {
      const error = captureError(() => new ApnsSender({ ...base, privateKey }))
      expect(error.message).toContain('privateKey')
      expect(error.message).not.toContain(privateKey.split('\n')[1])
    }
    expect(captureError(() => new ApnsSender({ ...base, teamId: 'short' })).message).toContain('teamId')
    expect(() => new ApnsSender(base, { origin: 'http://127.0.0.1:8443' })).toThrow('https://')
    // The key as an env file stores it, with `\n` escapes, is accepted.
    expect(() => new ApnsSender({ ...base, privateKey: AUTH_KEY_PEM.replaceAll('\n', '\\n') })).not.toThrow()
  })
})

function captureError(fn: () => unknown): Error {
  try {
    fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a throw')
}

/**
 * A TCP relay to the fake APNs whose open connections can be made to swallow everything
 * without closing, as a connection forgotten by a NAT does.
 */
async function startProxy(apns: FakeApns): Promise<{ origin: string; blackHoleOpenConnections(): void }> {
  const upstreamPort = Number(new URL(apns.origin).port)
  const pairs: [Socket, Socket][] = []
  const server = createServer((client) => {
    const upstream = connectTcp(upstreamPort, '127.0.0.1')
    client.pipe(upstream).pipe(client)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    pairs.push([client, upstream])
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  running.push({
    async close() {
      for (const pair of pairs) for (const socket of pair) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  })
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    blackHoleOpenConnections() {
      for (const [client, upstream] of pairs.splice(0)) {
        client.unpipe(upstream)
        upstream.unpipe(client)
        client.on('data', () => {})
        upstream.pause()
        running.push({ close: async () => void [client.destroy(), upstream.destroy()] })
      }
    },
  }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
