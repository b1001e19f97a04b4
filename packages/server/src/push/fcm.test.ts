import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { FcmConfig, FcmSender, fcmConfigFromServiceAccount, type FcmConfigInput, type FcmSenderOptions } from './fcm.ts'
import type { DeliveryResult, PushMessage } from './sender.ts'

// A local HTTP server stands in for Google: its token endpoint checks the RS256 assertion as
// Google's does (signature by the service account's key, grant type, scope, audience, an
// hour at most), and its messages:send checks the access token it issued, the project in the
// path and the message shape, answering with FCM's error bodies.

const PROJECT_ID = 'countersign-test'
const CLIENT_EMAIL = 'push@countersign-test.iam.gserviceaccount.com'
const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging'
const accountKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ACCOUNT_KEY_PEM = pem(accountKey.privateKey)
const DEVICE = `dGVzdC1kZXZpY2U:APA91b${'x'.repeat(140)}`
const UNINSTALLED = `dW5pbnN0YWxsZWQ:APA91b${'y'.repeat(140)}`
const MINUTE_MS = 60_000

/** The test's clock, shared by the senders and the fake Google. */
const clock = { ms: Date.UTC(2030, 0, 2, 3, 4, 5, 678) }
const now = () => clock.ms

interface FakeGoogle {
  origin: string
  tokenUri: string
  /** Assertions presented to the token endpoint, and whether each was granted. */
  tokenRequests: { assertion: string; granted: boolean }[]
  sends: { authorization: string | undefined; path: string | undefined; body: unknown; status: number }[]
  issuedTokens: string[]
  /** Revokes every access token issued so far, as a key rotation would. */
  revokeAccessTokens(): void
  /** Answer messages:send with nothing at all. */
  stallSends: boolean
  /** Refuse every access token at messages:send, even one just issued. */
  refuseAllAccessTokens: boolean
  close(): Promise<void>
}

const running: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((thing) => thing.close()))
})

async function startFakeGoogle(): Promise<FakeGoogle> {
  const registered = new Set([DEVICE])
  const validTokens = new Map<string, number>() // access token → expiry (ms)
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      if (req.method === 'POST' && req.url?.split('?')[0] === '/token') return issueToken(req, body, res)
      if (req.method === 'POST' && req.url?.startsWith('/v1/')) return sendMessage(req, body, res)
      reply(res, 404, { error: { code: 404, message: 'Not found', status: 'NOT_FOUND' } })
    })
  })

  function issueToken(req: IncomingMessage, body: string, res: ServerResponse) {
    const form = new URLSearchParams(body)
    const assertion = form.get('assertion') ?? ''
    const refusal = judgeAssertion(req, form, assertion)
    fake.tokenRequests.push({ assertion, granted: refusal === undefined })
    if (refusal !== undefined) return reply(res, 400, { error: refusal, error_description: 'Invalid JWT.' })
    const token = `ya29.${randomBytes(24).toString('base64url')}`
    validTokens.set(token, clock.ms + 3599_000)
    fake.issuedTokens.push(token)
    reply(res, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' })
  }

  /** Google's checks on a JWT-bearer grant; the OAuth error code when refused. */
  function judgeAssertion(req: IncomingMessage, form: URLSearchParams, assertion: string): string | undefined {
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return 'invalid_request'
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return 'unsupported_grant_type'
    const [header, claims] = assertion.split('.').slice(0, 2).map(decodePart) as [
      Record<string, unknown> | undefined,
      Record<string, unknown> | undefined,
    ]
    if (header?.alg !== 'RS256' || !claims || !hasValidSignature(assertion, accountKey.publicKey)) return 'invalid_grant'
    if (claims.iss !== CLIENT_EMAIL || claims.scope !== SCOPE || claims.aud !== fake.tokenUri) return 'invalid_grant'
    const { iat, exp } = claims
    if (typeof iat !== 'number' || typeof exp !== 'number') return 'invalid_grant'
    const nowS = clock.ms / 1000
    if (exp - iat > 3600 || exp <= nowS || iat > nowS + 60) return 'invalid_grant'
    return undefined
  }

  function sendMessage(req: IncomingMessage, body: string, res: ServerResponse) {
    const send = { authorization: req.headers.authorization, path: req.url, body: parseJson(body), status: 0 }
    fake.sends.push(send)
    if (fake.stallSends) return
    const answer = (status: number, error?: object) => {
      send.status = status
      const sent = { name: `projects/${PROJECT_ID}/messages/0:${Date.now()}` }
      reply(res, status, error ? { error: { code: status, ...error } } : sent)
    }
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1]
    const expiresAt = token === undefined ? undefined : validTokens.get(token)
    if (expiresAt === undefined || expiresAt <= clock.ms || fake.refuseAllAccessTokens) {
      return answer(401, { message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' })
    }
    if (req.url !== `/v1/projects/${PROJECT_ID}/messages:send`) {
      return answer(403, { message: 'Permission denied', status: 'PERMISSION_DENIED' })
    }
    const message = (send.body as { message?: Record<string, unknown> } | undefined)?.message
    const badShape = shapeProblem(req, message)
    if (badShape !== undefined) return answer(400, invalidArgument(badShape))
    const pushToken = message!.token as string
    if (!/^[\w:-]{100,}$/.test(pushToken)) {
      return answer(400, invalidArgument('The registration token is not a valid FCM registration token', 'message.token'))
    }
    if (!registered.has(pushToken)) {
      return answer(404, {
        message: 'Requested entity was not found.',
        status: 'NOT_FOUND',
        details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }],
      })
    }
    answer(200)
  }

  const fake: FakeGoogle = {
    origin: '',
    tokenUri: '',
    tokenRequests: [],
    sends: [],
    issuedTokens: [],
    stallSends: false,
    refuseAllAccessTokens: false,
    revokeAccessTokens: () => validTokens.clear(),
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  fake.tokenUri = `${fake.origin}/token`
  running.push(fake)
  return fake
}

/** What FCM checks of a message before looking at the token; undefined when it is well formed. */
function shapeProblem(req: IncomingMessage, message: Record<string, unknown> | undefined): string | undefined {
  if (!req.headers['content-type']?.startsWith('application/json')) return 'Invalid JSON payload received.'
  if (!message || typeof message.token !== 'string') return 'Recipient of the message is not set.'
  const notification = message.notification as Record<string, unknown> | undefined
  if (typeof notification?.title !== 'string' || typeof notification.body !== 'string') return 'Invalid notification.'
  const data = message.data as Record<string, unknown> | undefined
  if (typeof data !== 'object' || data === null || !Object.values(data).every((v) => typeof v === 'string')) {
    return 'Invalid value at message.data: data values must be strings.'
  }
  // FCM reserves these data keys.
  if (Object.keys(data).some((key) => ['from', 'message_type'].includes(key) || /^(google|gcm)/.test(key))) {
    return 'Invalid data payload key.'
  }
  const android = message.android as Record<string, unknown> | undefined
  if (!['HIGH', 'NORMAL'].includes(android?.priority as string) || !/^\d+(\.\d+)?s$/.test(String(android?.ttl))) {
    return 'Invalid value at message.android.'
  }
  const apnsHeaders = (message.apns as { headers?: Record<string, unknown> } | undefined)?.headers
  if (!/^\d+$/.test(String(apnsHeaders?.['apns-expiration']))) return 'Invalid APNs headers.'
  return undefined
}

function invalidArgument(message: string, field?: string) {
  return {
    message,
    status: 'INVALID_ARGUMENT',
    details: [
      { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'INVALID_ARGUMENT' },
      ...(field
        ? [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description: message }] }]
        : []),
    ],
  }
}

function reply(res: ServerResponse, status: number, body: object) {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' })
  res.end(JSON.stringify(body))
}

/** RS256 checked with node:crypto, not fast-jwt. */
function hasValidSignature(jwt: string, publicKey: KeyObject): boolean {
  const parts = jwt.split('.')
  if (parts.length !== 3) return false
  return verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2]!, 'base64url'))
}

function decodePart(part: string): unknown {
  return parseJson(Buffer.from(part, 'base64url').toString('utf8'))
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

function newSender(google: FakeGoogle, config: Partial<FcmConfigInput> = {}, options: FcmSenderOptions = {}): FcmSender {
  const sender = new FcmSender(
    { projectId: PROJECT_ID, clientEmail: CLIENT_EMAIL, privateKey: ACCOUNT_KEY_PEM, ...config },
    { now, tokenUri: google.tokenUri, endpoint: google.origin, ...options },
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

/** A result never carries the account key, an assertion or an access token. */
function expectNoSecrets(results: DeliveryResult[], google: FakeGoogle) {
  const text = JSON.stringify(results)
  expect(text).not.toContain(ACCOUNT_KEY_PEM.split('\n')[1])
  for (const { assertion } of google.tokenRequests) expect(text).not.toContain(assertion)
  for (const token of google.issuedTokens) expect(text).not.toContain(token)
}

async function withClock<T>(ms: number, run: () => Promise<T>): Promise<T> {
  const saved = clock.ms
  clock.ms = ms
  try {
    return await run()
  } finally {
    clock.ms = saved
  }
}

describe('FcmSender', () => {
  it('gets an access token with a signed assertion and sends the message FCM expects', async () => {
    const google = await startFakeGoogle()
    const expiresAt = new Date(clock.ms + 5 * MINUTE_MS)

    const result = await newSender(google).send(message({ expiresAt }))

    expect(result).toEqual({ provider: 'fcm', status: 'sent', statusCode: 200 })
    expect(google.tokenRequests).toEqual([{ assertion: expect.any(String), granted: true }])
    const claims = decodePart(google.tokenRequests[0]!.assertion.split('.')[1]!)
    const iat = Math.floor(clock.ms / 1000)
    expect(claims).toEqual({ iss: CLIENT_EMAIL, scope: SCOPE, aud: google.tokenUri, iat, exp: iat + 3600 })
    expect(google.sends).toHaveLength(1)
    expect(google.sends[0]).toEqual({
      authorization: `Bearer ${google.issuedTokens[0]}`,
      path: `/v1/projects/${PROJECT_ID}/messages:send`,
      status: 200,
      body: {
        message: {
          token: DEVICE,
          notification: { title: 'Approve sign-in?', body: 'Chrome on macOS, Lisbon' },
          data: { challengeId: 'ch_5f2c', actionCode: 'signIn' },
          android: { priority: 'HIGH', ttl: '300s' },
          apns: { headers: { 'apns-expiration': String(Math.floor(expiresAt.getTime() / 1000)) } },
        },
      },
    })
    expectNoSecrets([result], google)
  })

  it('asks for one access token for many sends, and a new one shortly before it expires', async () => {
    const google = await startFakeGoogle()
    const sender = newSender(google)
    const start = clock.ms
    const concurrent = await Promise.all([sender.send(message()), sender.send(message()), sender.send(message())])
    expect(concurrent.map((r) => r.status)).toEqual(['sent', 'sent', 'sent'])
    expect((await sender.send(message())).status).toBe('sent')
    // Google grants 3599 s; the token is kept until five minutes before that.
    await withClock(start + 54 * MINUTE_MS, async () => expect((await sender.send(message())).status).toBe('sent'))
    expect(google.tokenRequests).toHaveLength(1)

    await withClock(start + 55 * MINUTE_MS, async () => expect((await sender.send(message())).status).toBe('sent'))
    expect(google.tokenRequests).toHaveLength(2)
    expect(google.sends.at(-1)!.authorization).toBe(`Bearer ${google.issuedTokens[1]}`)
  })

  it('marks the token invalid on UNREGISTERED and on INVALID_ARGUMENT about the token', async () => {
    const google = await startFakeGoogle()
    const sender = newSender(google)
    const results = [await sender.send(message({ pushToken: UNINSTALLED })), await sender.send(message({ pushToken: 'garbage' }))]
    expect(results).toEqual([
      { provider: 'fcm', status: 'failed', statusCode: 404, error: 'UNREGISTERED', invalidToken: true },
      { provider: 'fcm', status: 'failed', statusCode: 400, error: 'INVALID_ARGUMENT', invalidToken: true },
    ])
    expectNoSecrets(results, google)
  })

  it('keeps the token when INVALID_ARGUMENT is about the message, not the token', async () => {
    const google = await startFakeGoogle()
    // Regression: a reserved data key must not make every device re-register.
    const result = await newSender(google).send(message({ data: { from: 'bank' } }))
    expect(result).toEqual({ provider: 'fcm', status: 'failed', statusCode: 400, error: 'INVALID_ARGUMENT' })
  })

  it('on 401 gets a new access token and sends once more', async () => {
    const google = await startFakeGoogle()
    const sender = newSender(google)
    await sender.send(message())
    google.revokeAccessTokens()

    expect(await sender.send(message())).toEqual({ provider: 'fcm', status: 'sent', statusCode: 200 })
    expect(google.sends.map((s) => s.status)).toEqual([200, 401, 200])
    expect(google.tokenRequests).toHaveLength(2)
    expect(google.sends[2]!.authorization).toBe(`Bearer ${google.issuedTokens[1]}`)
  })

  it('sends refused together with 401 share one new access token', async () => {
    const google = await startFakeGoogle()
    const sender = newSender(google)
    await sender.send(message())
    google.revokeAccessTokens()
    const results = await Promise.all([sender.send(message()), sender.send(message()), sender.send(message())])
    expect(results.map((r) => r.status)).toEqual(['sent', 'sent', 'sent'])
    expect(google.tokenRequests).toHaveLength(2)
  })

  it('retries a 401 only once', async () => {
    const google = await startFakeGoogle()
    google.refuseAllAccessTokens = true
    const result = await newSender(google).send(message())
    expect(result).toEqual({ provider: 'fcm', status: 'failed', statusCode: 401, error: 'UNAUTHENTICATED' })
    expect(google.tokenRequests).toHaveLength(2)
    expect(google.sends.map((s) => s.status)).toEqual([401, 401])
    expectNoSecrets([result], google)
  })

  it('reports a refused grant with its OAuth error code and sends nothing', async () => {
    const google = await startFakeGoogle()
    const otherKey = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)
    const results = [
      await newSender(google, { privateKey: otherKey }).send(message()),
      await newSender(google, { clientEmail: 'someone@else.iam.gserviceaccount.com' }).send(message()),
      // Google checks the audience: an assertion meant for another endpoint is refused.
      await newSender(google, {}, { tokenUri: `${google.origin}/token?other` }).send(message()),
    ]
    for (const result of results) expect(result).toEqual({ provider: 'fcm', status: 'failed', error: 'invalid_grant' })
    expect(google.tokenRequests.map((r) => r.granted)).toEqual([false, false, false])
    expect(google.sends).toHaveLength(0)
    expectNoSecrets(results, google)
  })

  it('fails with network_error when Google cannot be reached, for the token or for the send', async () => {
    const google = await startFakeGoogle()
    const sender = newSender(google)
    expect((await sender.send(message())).status).toBe('sent')
    await google.close()
    // The access token is cached, so this is the send failing.
    expect(await sender.send(message())).toEqual({ provider: 'fcm', status: 'failed', error: 'network_error' })
    // A new sender must first ask for a token: that fails too.
    expect(await newSender(google).send(message())).toEqual({ provider: 'fcm', status: 'failed', error: 'network_error' })
  })

  it('fails with network_error when FCM does not answer within the timeout', async () => {
    const google = await startFakeGoogle()
    google.stallSends = true
    const started = Date.now()
    const result = await newSender(google, {}, { timeoutMs: 300 }).send(message())
    expect(result).toEqual({ provider: 'fcm', status: 'failed', error: 'network_error' })
    expect(google.sends).toHaveLength(1)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('refuses an expired message and sends after close() without a request', async () => {
    const google = await startFakeGoogle()
    const sender = newSender(google)
    const expired = await sender.send(message({ expiresAt: new Date(clock.ms) }))
    expect(expired).toEqual({ provider: 'fcm', status: 'failed', error: 'message_expired' })
    await sender.close()
    expect(await sender.send(message())).toMatchObject({ status: 'failed', error: 'sender_closed' })
    expect(google.tokenRequests).toHaveLength(0)
    expect(google.sends).toHaveLength(0)
  })
})

describe('FcmSender addresses', () => {
  const config = { projectId: PROJECT_ID, clientEmail: CLIENT_EMAIL, privateKey: ACCOUNT_KEY_PEM }

  it('ignores an endpoint in stored configuration and sends only to Google', async () => {
    const requested: string[] = []
    const fetchSpy: typeof fetch = async (input) => {
      requested.push(String(input))
      const body = requested.length === 1 ? { access_token: 'ya29.test', expires_in: 3599 } : { name: 'm' }
      return new Response(JSON.stringify(body), { status: 200 })
    }
    // Regression: configuration a tenant stores must not send the access token to another host (SSRF).
    const stored = FcmConfig.parse({ ...config, endpoint: 'http://127.0.0.1:5432' })
    expect(stored).not.toHaveProperty('endpoint')
    expect((await new FcmSender(stored, { now, fetch: fetchSpy }).send(message())).status).toBe('sent')
    expect(requested).toEqual([
      'https://oauth2.googleapis.com/token',
      `https://fcm.googleapis.com/v1/projects/${PROJECT_ID}/messages:send`,
    ])
  })

  it('refuses plain-HTTP overrides except to loopback', () => {
    expect(() => new FcmSender(config, { endpoint: 'http://fcm.example.com' })).toThrow('https://')
    expect(() => new FcmSender(config, { tokenUri: 'http://oauth2.example.com/token' })).toThrow('https://')
    expect(() => new FcmSender(config, { endpoint: 'http://127.0.0.1:9' })).not.toThrow()
  })
})

describe('fcmConfigFromServiceAccount', () => {
  const serviceAccount = {
    type: 'service_account',
    project_id: PROJECT_ID,
    private_key_id: 'f3a1',
    private_key: ACCOUNT_KEY_PEM,
    client_email: CLIENT_EMAIL,
    client_id: '1234567890',
    token_uri: 'https://oauth2.googleapis.com/token',
  }

  it('reads a service-account key file', () => {
    expect(fcmConfigFromServiceAccount(serviceAccount)).toEqual({
      projectId: PROJECT_ID,
      clientEmail: CLIENT_EMAIL,
      privateKey: ACCOUNT_KEY_PEM,
      tokenUri: 'https://oauth2.googleapis.com/token',
    })
  })

  it('refuses a wrong key file, naming the field and never quoting the key', () => {
    const ecKey = pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)
    const cases: [object, string][] = [
      [{ ...serviceAccount, private_key: ecKey }, 'privateKey'],
      [{ ...serviceAccount, type: 'authorized_user' }, 'type'],
      [{ ...serviceAccount, client_email: undefined }, 'client_email'],
      // Regression: the signed assertion goes to token_uri; a key file must not send it to another host.
      [{ ...serviceAccount, token_uri: 'https://oauth2.example.com/token' }, 'tokenUri'],
      [{ ...serviceAccount, token_uri: 'http://oauth2.googleapis.com/token' }, 'tokenUri'],
    ]
    for (const [json, field] of cases) {
      let message = ''
      try {
        fcmConfigFromServiceAccount(json)
      } catch (error) {
        message = (error as Error).message
      }
      expect(message).toContain(field)
      expect(message).not.toContain(ACCOUNT_KEY_PEM.split('\n')[1])
      expect(message).not.toContain(ecKey.split('\n')[1])
    }
  })
})
