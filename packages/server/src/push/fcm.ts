import { createPrivateKey } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { z } from 'zod'
import type { DeliveryResult, PushMessage, PushSender } from './sender.ts'

// Firebase Cloud Messaging through its HTTP v1 API, authorised by a service account: the
// account's key signs an assertion that Google's OAuth 2.0 token endpoint exchanges for a
// short-lived access token (RFC 7523 JWT-bearer grant, as Google's client libraries do it).

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging'
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
/** Google refuses an assertion valid for longer than an hour. */
const ASSERTION_LIFETIME_S = 3600
/** Renew an access token this long before it expires, as Google's libraries do, so none expires in flight. */
const ACCESS_TOKEN_MARGIN_S = 300
const DEFAULT_TIMEOUT_MS = 10_000

const FCM_ORIGIN = 'https://fcm.googleapis.com'

/**
 * A tenant's FCM settings; see also {@link fcmConfigFromServiceAccount}. The sender parses its
 * config itself. Stored configuration can name no address but Google's (the token endpoint
 * receives the signed assertion; FCM, the access token); tests point the sender elsewhere
 * through {@link FcmSenderOptions}.
 * @example const config = FcmConfig.parse({ projectId: 'bank-prod', clientEmail, privateKey })
 */
export const FcmConfig = z.object({
  /** The Firebase project the app is registered in. It becomes part of the request path. */
  projectId: z.string().regex(/^[a-z0-9][a-z0-9.:-]{0,99}$/, 'must be a Google Cloud project ID'),
  /** The service account's email (`client_email`); the issuer of the assertion. */
  clientEmail: z.email(),
  /** PEM of the service account's RSA key (`private_key`). A literal `\n` (as env files store it) is read as a newline. */
  privateKey: z
    .string()
    .transform((pem) => pem.replaceAll('\\n', '\n'))
    .refine(isRsaPrivateKey, 'must be the PEM of an RSA private key of at least 2048 bits (private_key)'),
  /** Google's OAuth 2.0 token endpoint (`token_uri`); also the assertion's audience. */
  tokenUri: z
    .url()
    .refine(isGoogleTokenUri, 'must be an https:// URL on oauth2.googleapis.com or accounts.google.com')
    .default('https://oauth2.googleapis.com/token'),
})
export type FcmConfig = z.output<typeof FcmConfig>
export type FcmConfigInput = z.input<typeof FcmConfig>

/** The fields of a service-account key file (JSON) that FCM needs. */
const ServiceAccount = z.object({
  type: z.literal('service_account'),
  project_id: z.string(),
  client_email: z.string(),
  private_key: z.string(),
  token_uri: z.string().optional(),
})

/**
 * Builds an FCM config from a service-account key file as the Google Cloud console downloads
 * it. Throws a ZodError naming the missing or invalid field (never quoting the key).
 * @example const config = fcmConfigFromServiceAccount(JSON.parse(readFileSync('service-account.json', 'utf8')))
 */
export function fcmConfigFromServiceAccount(json: unknown): FcmConfig {
  const account = ServiceAccount.parse(json)
  return FcmConfig.parse({
    projectId: account.project_id,
    clientEmail: account.client_email,
    privateKey: account.private_key,
    tokenUri: account.token_uri,
  })
}

export interface FcmSenderOptions {
  /** Clock (ms since the epoch): assertion times, access-token expiry and message TTL are read from it. */
  now?: () => number
  /** How long one HTTP request may take before it counts as a network error. */
  timeoutMs?: number
  /** fetch to use instead of the global one. */
  fetch?: typeof fetch
  /** Replaces the token endpoint, and so the assertion's audience (tests). */
  tokenUri?: string
  /** Replaces the FCM origin, https://fcm.googleapis.com (tests). */
  endpoint?: string
}

const TokenResponse = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().int().positive(),
})

/** Google's error body (google.rpc.Status). */
const ErrorResponse = z.object({
  error: z.object({
    status: z.string().optional(),
    message: z.string().optional(),
    details: z.array(z.unknown()).optional(),
  }),
})

type AccessToken = { token: string; refreshAtMs: number }
/** The outcome of getting an access token: one, or the result to report instead of sending. */
type AccessTokenOutcome = { ok: true; accessToken: AccessToken } | { ok: false; result: DeliveryResult }
type Exchange = { kind: 'answered'; status: number; body: string } | { kind: 'network_error' }

/**
 * Sends notifications through FCM's HTTP v1 API, caching the OAuth 2.0 access token until
 * shortly before it expires.
 * @example
 * const fcm = new FcmSender(fcmConfigFromServiceAccount(serviceAccountJson))
 * const result = await fcm.send({ pushToken, title, body, data: { challengeId }, expiresAt })
 */
export class FcmSender implements PushSender {
  readonly provider = 'fcm' as const
  private readonly config: FcmConfig
  private readonly now: () => number
  private readonly timeoutMs: number
  private readonly fetch: typeof fetch
  private readonly tokenUri: string
  private readonly endpoint: string
  private readonly sign: (claims: Record<string, string | number>) => string
  private accessToken: AccessToken | undefined
  /** The token request in flight, shared by every send that needs a token meanwhile. */
  private pendingAccessToken: Promise<AccessTokenOutcome> | undefined
  private closed = false

  /**
   * Throws a ZodError (naming the field, never quoting the key) when the config is invalid, and
   * an Error when `options.tokenUri` or `options.endpoint` is neither https:// nor loopback.
   */
  constructor(config: FcmConfigInput, options: FcmSenderOptions = {}) {
    this.config = FcmConfig.parse(config)
    this.tokenUri = options.tokenUri === undefined ? this.config.tokenUri : secureUrl(options.tokenUri).href
    this.endpoint = secureUrl(options.endpoint ?? FCM_ORIGIN).origin
    this.now = options.now ?? Date.now
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.fetch = options.fetch ?? fetch
    this.sign = createSigner({ key: this.config.privateKey, algorithm: 'RS256' })
  }

  async send(message: PushMessage): Promise<DeliveryResult> {
    if (this.closed) return failed('sender_closed')
    const expiresAtMs = message.expiresAt.getTime()
    const now = this.now()
    if (!(expiresAtMs > now)) return failed('message_expired')

    const body = JSON.stringify({
      message: {
        token: message.pushToken,
        notification: { title: message.title, body: message.body },
        data: message.data,
        android: { priority: 'HIGH', ttl: `${Math.floor((expiresAtMs - now) / 1000)}s` },
        apns: { headers: { 'apns-expiration': String(Math.floor(expiresAtMs / 1000)) } },
      },
    })

    let outcome = await this.currentAccessToken()
    if (!outcome.ok) return outcome.result
    let exchange = await this.post(outcome.accessToken.token, body)
    if (exchange.kind === 'answered' && exchange.status === 401) {
      // One retry with a new token. Only a send still holding the refused token discards it,
      // so sends refused together share one token request.
      if (this.accessToken === outcome.accessToken) this.accessToken = undefined
      outcome = await this.currentAccessToken()
      if (!outcome.ok) return outcome.result
      exchange = await this.post(outcome.accessToken.token, body)
    }
    return resultOf(exchange)
  }

  /** Forgets the access token; later sends fail with `sender_closed`. fetch keeps no connection of ours to close. */
  async close(): Promise<void> {
    this.closed = true
    this.accessToken = undefined
  }

  private currentAccessToken(): Promise<AccessTokenOutcome> {
    if (this.accessToken && this.now() < this.accessToken.refreshAtMs) {
      return Promise.resolve({ ok: true, accessToken: this.accessToken })
    }
    this.pendingAccessToken ??= this.requestAccessToken().finally(() => {
      this.pendingAccessToken = undefined
    })
    return this.pendingAccessToken
  }

  private async requestAccessToken(): Promise<AccessTokenOutcome> {
    const iat = Math.floor(this.now() / 1000)
    const assertion = this.sign({
      iss: this.config.clientEmail,
      scope: SCOPE,
      aud: this.tokenUri,
      iat,
      exp: iat + ASSERTION_LIFETIME_S,
    })
    const exchange = await this.exchange(this.tokenUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: GRANT_TYPE, assertion }).toString(),
    })
    if (exchange.kind === 'network_error') return { ok: false, result: failed('network_error') }

    const granted = exchange.status === 200 ? TokenResponse.safeParse(parseJson(exchange.body)) : undefined
    if (!granted?.success) {
      // Google answers a refused grant with an OAuth error code (`invalid_grant` for a revoked
      // key or a skewed clock); its description is left out, being free text.
      const code = (parseJson(exchange.body) as { error?: unknown } | undefined)?.error
      const known = typeof code === 'string' && /^[a-z_]{1,64}$/.test(code)
      return { ok: false, result: failed(known ? code : 'token_request_failed') }
    }
    const lifetimeS = granted.data.expires_in
    const accessToken = {
      token: granted.data.access_token,
      refreshAtMs: this.now() + Math.max(lifetimeS - ACCESS_TOKEN_MARGIN_S, lifetimeS / 2) * 1000,
    }
    this.accessToken = accessToken
    return { ok: true, accessToken }
  }

  private post(accessToken: string, body: string): Promise<Exchange> {
    return this.exchange(`${this.endpoint}/v1/projects/${this.config.projectId}/messages:send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body,
    })
  }

  private async exchange(url: string, init: RequestInit): Promise<Exchange> {
    try {
      const response = await this.fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) })
      return { kind: 'answered', status: response.status, body: await response.text() }
    } catch {
      // Refused connection, TLS failure, timeout, reset mid-body: FCM gave no answer.
      return { kind: 'network_error' }
    }
  }
}

function resultOf(exchange: Exchange): DeliveryResult {
  if (exchange.kind === 'network_error') return failed('network_error')
  const { status } = exchange
  if (status === 200) return { provider: 'fcm', status: 'sent', statusCode: status }
  const parsed = ErrorResponse.safeParse(parseJson(exchange.body))
  const error = parsed.success ? parsed.data.error : { details: [] }
  const details = (error.details ?? []).filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
  // FCM names the cause in FcmError.errorCode (UNREGISTERED, SENDER_ID_MISMATCH, QUOTA_EXCEEDED…);
  // the canonical status (NOT_FOUND, INVALID_ARGUMENT…) is coarser.
  const errorCode = details.map((d) => d.errorCode).find((c) => typeof c === 'string')
  const code = [errorCode, error.status].find((c): c is string => typeof c === 'string' && /^[A-Z_]{1,64}$/.test(c))
  // INVALID_ARGUMENT also covers a bad payload (a reserved data key, say); only one about the
  // token means the device must re-register.
  const aboutToken =
    details.some((d) => Array.isArray(d.fieldViolations) && d.fieldViolations.some(isTokenViolation)) ||
    /registration token/i.test(error.message ?? '')
  const invalidToken = errorCode === 'UNREGISTERED' || (status === 400 && code === 'INVALID_ARGUMENT' && aboutToken)
  return {
    provider: 'fcm',
    status: 'failed',
    statusCode: status,
    error: code ?? `http_${status}`,
    ...(invalidToken ? { invalidToken: true } : {}),
  }
}

function isTokenViolation(violation: unknown): boolean {
  return (violation as { field?: unknown } | null)?.field === 'message.token'
}

function failed(error: string): DeliveryResult {
  return { provider: 'fcm', status: 'failed', error }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function isGoogleTokenUri(value: string): boolean {
  const url = new URL(value)
  return url.protocol === 'https:' && ['oauth2.googleapis.com', 'accounts.google.com'].includes(url.hostname)
}

/** An https:// URL, or http:// to loopback (tests): plain HTTP elsewhere would expose the assertion or the access token. */
function secureUrl(value: string): URL {
  if (URL.canParse(value)) {
    const url = new URL(value)
    if (url.protocol === 'https:') return url
    if (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return url
  }
  throw new Error('FCM URLs must be https:// (http:// only to loopback)')
}

function isRsaPrivateKey(pem: string): boolean {
  try {
    const key = createPrivateKey(pem)
    return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048
  } catch {
    return false
  }
}
