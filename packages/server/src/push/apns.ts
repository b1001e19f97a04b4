import { createPrivateKey } from 'node:crypto'
import { connect, constants as http2, type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2'
import { createSigner } from 'fast-jwt'
import { z } from 'zod'
import type { DeliveryResult, PushMessage, PushSender } from './sender.ts'

// Apple Push Notification service over its HTTP/2 provider API, authenticated with a provider
// token (a JWT signed by the team's .p8 key). Apple documents the wire format in "Sending
// notification requests to APNs" and "Establishing a token-based connection to APNs".

const ORIGINS = {
  production: 'https://api.push.apple.com',
  sandbox: 'https://api.sandbox.push.apple.com',
} as const

/** APNs refuses a provider token older than an hour, and more than one new token per 20 minutes. */
const PROVIDER_TOKEN_REFRESH_MS = 50 * 60_000
/** APNs refuses larger payloads with 413 PayloadTooLarge. */
const MAX_PAYLOAD_BYTES = 4096
/** An APNs answer is a short JSON reason; anything longer is not one. */
const MAX_RESPONSE_BYTES = 16_384
const DEFAULT_TIMEOUT_MS = 10_000

/**
 * A tenant's APNs settings. Parse with `ApnsConfig.parse(…)`; the sender does so itself. It
 * holds no address: stored configuration must not be able to send requests (and the provider
 * token) anywhere but Apple. Tests point the sender elsewhere through {@link ApnsSenderOptions}.
 * @example const config = ApnsConfig.parse({ teamId, keyId, privateKey: readFileSync(p8, 'utf8'), topic: 'com.example.bank' })
 */
export const ApnsConfig = z.object({
  /** The Apple Developer team that owns the key (10 characters, from the membership page). */
  teamId: z.string().regex(/^[A-Z0-9]{10}$/, 'must be the 10-character Apple team ID'),
  /** The ID of the APNs auth key (10 characters, shown beside the key in the developer portal). */
  keyId: z.string().regex(/^[A-Z0-9]{10}$/, 'must be the 10-character key ID'),
  /** PEM of the .p8 auth key: an EC P-256 private key. A literal `\n` (as env files store it) is read as a newline. */
  privateKey: z
    .string()
    .transform((pem) => pem.replaceAll('\\n', '\n'))
    .refine(isP256PrivateKey, 'must be the PEM of an EC P-256 private key (the .p8 file)'),
  /** The app's bundle ID; APNs delivers only to devices of this app. */
  topic: z.string().regex(/^[A-Za-z0-9.-]{1,255}$/, 'must be the app bundle ID'),
  /** Which APNs: apps built for development receive only from the sandbox. */
  environment: z.enum(['production', 'sandbox']).default('production'),
  /** Sets `mutable-content` so a Notification Service Extension may rewrite the notification. */
  mutableContent: z.boolean().default(false),
  /** Sets `content-available` so the app is also woken in the background. */
  contentAvailable: z.boolean().default(false),
})
export type ApnsConfig = z.output<typeof ApnsConfig>
export type ApnsConfigInput = z.input<typeof ApnsConfig>

export interface ApnsSenderOptions {
  /** Clock (ms since the epoch): provider-token age and message expiry are read from it. */
  now?: () => number
  /** How long one request may take, connecting included, before it counts as a network error. */
  timeoutMs?: number
  /** Replaces the environment's APNs origin (tests). https:// only: requests carry the provider token. */
  origin?: string
  /** PEM of the CA certificates to trust instead of the system's (tests with a self-signed server). */
  ca?: string
}

/** What one HTTP/2 exchange with APNs gave: an answer, or no answer at all. */
type Exchange = { kind: 'answered'; status: number; body: string } | { kind: 'network_error' }

/**
 * Sends alert notifications through APNs over one HTTP/2 connection, reused across sends and
 * reopened when Apple closes it.
 * @example
 * const apns = new ApnsSender({ teamId, keyId, privateKey, topic: 'com.example.bank' })
 * const result = await apns.send({ pushToken, title, body, data: { challengeId }, expiresAt })
 * await apns.close()
 */
export class ApnsSender implements PushSender {
  readonly provider = 'apns' as const
  /** The APNs origin requests go to. */
  readonly origin: string
  private readonly config: ApnsConfig
  private readonly now: () => number
  private readonly timeoutMs: number
  private readonly ca: string | undefined
  private readonly sign: (claims: { iss: string; iat: number }) => string
  private session: ClientHttp2Session | undefined
  private providerToken: { jwt: string; issuedAtMs: number } | undefined
  private closed = false

  /**
   * Throws a ZodError (naming the field, never quoting the key) when the config is invalid, and
   * an Error when `options.origin` is not an https:// URL.
   */
  constructor(config: ApnsConfigInput, options: ApnsSenderOptions = {}) {
    this.config = ApnsConfig.parse(config)
    this.origin = options.origin === undefined ? ORIGINS[this.config.environment] : httpsOrigin(options.origin)
    this.ca = options.ca
    this.now = options.now ?? Date.now
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.sign = createSigner({ key: this.config.privateKey, algorithm: 'ES256', kid: this.config.keyId })
  }

  async send(message: PushMessage): Promise<DeliveryResult> {
    if (this.closed) return failed('sender_closed')
    // The token becomes part of the request path: anything but hex could reach another path.
    if (!/^[0-9a-fA-F]{32,200}$/.test(message.pushToken)) {
      return { ...failed('invalid_push_token'), invalidToken: true }
    }
    const expiresAtMs = message.expiresAt.getTime()
    if (!(expiresAtMs > this.now())) return failed('message_expired')

    const payload = JSON.stringify({
      // Custom data first, so a data key named `aps` cannot replace the alert.
      ...message.data,
      aps: {
        alert: { title: message.title, body: message.body },
        sound: 'default',
        ...(this.config.mutableContent ? { 'mutable-content': 1 } : {}),
        ...(this.config.contentAvailable ? { 'content-available': 1 } : {}),
      },
    })
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) return failed('payload_too_large')

    const headers = {
      ':method': 'POST',
      ':path': `/3/device/${message.pushToken}`,
      'apns-topic': this.config.topic,
      'apns-push-type': 'alert',
      'apns-priority': '10',
      'apns-expiration': String(Math.floor(expiresAtMs / 1000)),
      'content-type': 'application/json',
    }

    let jwt = this.currentProviderToken()
    let exchange = await this.exchange({ ...headers, authorization: `bearer ${jwt}` }, payload)
    if (exchange.kind === 'answered' && exchange.status === 403) {
      const reason = reasonOf(exchange.body)
      if (reason === 'ExpiredProviderToken' || reason === 'InvalidProviderToken') {
        // One retry with a new token. Only a send still holding the refused token discards it,
        // so many sends refused at once mint one new token, not one each (APNs answers
        // TooManyProviderTokenUpdates to a provider that changes tokens too often).
        if (this.providerToken?.jwt === jwt) this.providerToken = undefined
        jwt = this.currentProviderToken()
        exchange = await this.exchange({ ...headers, authorization: `bearer ${jwt}` }, payload)
      }
    }
    return resultOf(exchange)
  }

  /** Closes the HTTP/2 connection once requests in flight have finished; later sends fail with `sender_closed`. */
  async close(): Promise<void> {
    this.closed = true
    const session = this.session
    this.session = undefined
    if (!session || session.destroyed) return
    await new Promise<void>((resolve) => {
      // Requests in flight are bounded by their own timeout; a connection still stuck in its
      // handshake is not, so it is destroyed after the same time.
      const timer = setTimeout(() => session.destroy(), this.timeoutMs)
      session.close(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  private currentProviderToken(): string {
    const now = this.now()
    if (!this.providerToken || now - this.providerToken.issuedAtMs >= PROVIDER_TOKEN_REFRESH_MS) {
      const iat = Math.floor(now / 1000)
      this.providerToken = { jwt: this.sign({ iss: this.config.teamId, iat }), issuedAtMs: now }
    }
    return this.providerToken.jwt
  }

  /** The open session, or a new one. A session is dropped as soon as it errors, closes or is told to go away. */
  private connection(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session
    const session = connect(this.origin, this.ca === undefined ? {} : { ca: this.ca })
    const forget = () => {
      if (this.session === session) this.session = undefined
    }
    // Without an 'error' listener a lost connection would crash the process; the request on it
    // sees the failure itself.
    session.on('error', forget)
    session.on('goaway', forget)
    session.on('close', forget)
    this.session = session
    return session
  }

  /**
   * One request and its answer. A request APNs did not process (its stream refused, or not
   * sent because the connection had just closed) is sent once more.
   */
  private async exchange(headers: OutgoingHttpHeaders, payload: string): Promise<Exchange> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const outcome = await this.request(headers, payload)
      if (outcome !== 'not_processed') return outcome
    }
    return { kind: 'network_error' }
  }

  private request(headers: OutgoingHttpHeaders, payload: string): Promise<Exchange | 'not_processed'> {
    const session = this.connection()
    return new Promise((resolve) => {
      let stream: ClientHttp2Stream
      try {
        stream = session.request(headers)
      } catch {
        // The session closed between the check and the request (GOAWAY, stream IDs used up).
        if (this.session === session) this.session = undefined
        resolve('not_processed')
        return
      }
      let status: number | undefined
      const chunks: Buffer[] = []
      let received = 0
      let settled = false
      const settle = (outcome: Exchange | 'not_processed') => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(outcome)
      }
      const timer = setTimeout(() => {
        stream.close(http2.NGHTTP2_CANCEL)
        // No answer in time: the connection may have died without closing (a NAT or load
        // balancer forgot it), and would swallow every later request too. Later requests go to
        // a new connection; those already on this one finish or time out.
        if (this.session === session) this.session = undefined
        if (session.connecting) session.destroy()
        else session.close()
        settle({ kind: 'network_error' })
      }, this.timeoutMs)

      stream.on('response', (responseHeaders) => {
        status = Number(responseHeaders[':status'])
      })
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received <= MAX_RESPONSE_BYTES) chunks.push(chunk)
      })
      stream.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        settle(status === undefined ? { kind: 'network_error' } : { kind: 'answered', status, body })
      })
      // A stream reset with REFUSED_STREAM was never processed (RFC 9113 §8.7): safe to send again.
      const settleUnanswered = () => {
        const refused = status === undefined && stream.rstCode === http2.NGHTTP2_REFUSED_STREAM
        settle(refused ? 'not_processed' : { kind: 'network_error' })
      }
      stream.on('error', settleUnanswered)
      stream.on('close', settleUnanswered)
      stream.end(payload)
    })
  }
}

function resultOf(exchange: Exchange): DeliveryResult {
  if (exchange.kind === 'network_error') return failed('network_error')
  const { status } = exchange
  if (status === 200) return { provider: 'apns', status: 'sent', statusCode: status }
  const reason = reasonOf(exchange.body)
  // 410: the app was uninstalled or the token expired. BadDeviceToken: not a token of this
  // environment; DeviceTokenNotForTopic: a token of another app.
  const invalidToken =
    status === 410 || (status === 400 && (reason === 'BadDeviceToken' || reason === 'DeviceTokenNotForTopic'))
  return {
    provider: 'apns',
    status: 'failed',
    statusCode: status,
    error: reason ?? `http_${status}`,
    ...(invalidToken ? { invalidToken: true } : {}),
  }
}

/** APNs' `reason`, when the body is APNs JSON; it is a CamelCase word, so nothing else is passed on. */
function reasonOf(body: string): string | undefined {
  try {
    const reason: unknown = (JSON.parse(body) as { reason?: unknown } | null)?.reason
    return typeof reason === 'string' && /^[A-Za-z]{1,64}$/.test(reason) ? reason : undefined
  } catch {
    return undefined
  }
}

function failed(error: string): DeliveryResult {
  return { provider: 'apns', status: 'failed', error }
}

function httpsOrigin(value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined
  if (url?.protocol !== 'https:') throw new Error('The APNs origin must be an https:// URL')
  return url.origin
}

function isP256PrivateKey(pem: string): boolean {
  try {
    const key = createPrivateKey(pem)
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
  } catch {
    return false
  }
}
