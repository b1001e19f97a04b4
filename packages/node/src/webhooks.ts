import { CountersignError } from './errors.ts'

// Verifies a webhook delivery (PROTOCOL.md §5). The server signs every delivery twice over
// the same raw body (packages/server/src/crypto/webhook-signature.ts):
//
//   webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>
//                      (Standard Webhooks; key = the bytes of a `whsec_<base64>` secret, else
//                      the UTF-8 of the secret; several space-separated entries during rotation)
//   x-signature-v2:    t=<ts>,v2=<base64 HMAC-SHA256(utf8(secret), "<ts>.<body>") without '='>
//                      (what @authsignal/node checks)
//
// node:crypto is loaded on first use through process.getBuiltinModule rather than imported:
// this package imports nothing but its own modules, so the API client still loads on edge
// runtimes that have fetch but no node:crypto.

/** Default allowed distance between a delivery's signed timestamp and the local clock (s). */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300

const SECRET_PREFIX = 'whsec_'

/** Event types PROTOCOL.md §5 lists; a newer server may send others. */
export type WebhookEventType =
  | 'action.created'
  | 'action.state_changed'
  | 'authenticator.created'
  | 'authenticator.deleted'
  | 'push.created'
  | 'user.push_blocked'
  | (string & {})

/**
 * One webhook delivery. `id` names the event: deliveries are at least once, so a retry
 * repeats it and a handler should skip an `id` it has already processed.
 */
export interface WebhookEvent {
  version: number
  id: string
  /** The Countersign server that sent it (its public URL). */
  source: string
  /** When the event happened, ISO 8601. */
  time: string
  tenantId: string
  type: WebhookEventType
  data: Record<string, unknown>
}

/** Request headers as Node (`req.headers`), Express, Fastify or the Fetch API give them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>

export interface WebhooksOptions {
  /** The endpoint's signing secret (`whsec_…`), used when `verify` is not given one. */
  secret?: string | undefined
  /**
   * How far the signed timestamp may be from the local clock, either way (s). Default 300.
   * It cannot be turned off: it is what stops a captured delivery from being replayed later.
   */
  toleranceSeconds?: number | undefined
  /** The clock, in ms since the epoch. Default `Date.now`; tests inject a fixed one. */
  now?: (() => number) | undefined
}

export interface VerifyWebhookOptions extends WebhooksOptions {
  secret: string
}

/**
 * Checks a webhook delivery's signature and returns its event, available on the client as
 * `countersign.webhooks`. Pass the body exactly as received, before any JSON parsing.
 *
 * @example
 * app.post('/webhooks/countersign', express.raw({ type: 'application/json' }), (req, res) => {
 *   let event: WebhookEvent
 *   try {
 *     event = countersign.webhooks.verify(req.body.toString('utf8'), req.headers)
 *   } catch (e) {
 *     if (isCountersignError(e) && e.errorCode === 'invalid_webhook_signature') return res.sendStatus(400)
 *     throw e
 *   }
 *   if (event.type === 'action.state_changed') await onStateChanged(event.data)
 *   res.sendStatus(204)
 * })
 */
export class Webhooks {
  // Private: the secret must not show up in console.log(countersign) or JSON.stringify.
  readonly #secret: string | undefined
  readonly #toleranceSeconds: number
  readonly #now: () => number

  constructor(options: WebhooksOptions = {}) {
    const { secret, toleranceSeconds = DEFAULT_WEBHOOK_TOLERANCE_SECONDS, now = Date.now } = options
    if (secret !== undefined && (typeof secret !== 'string' || secret.length === 0)) {
      throw new TypeError('Countersign: webhookSecret must be a non-empty string')
    }
    if (!(Number.isFinite(toleranceSeconds) && toleranceSeconds > 0)) {
      throw new TypeError('Countersign: the webhook tolerance must be a positive number of seconds')
    }
    this.#secret = secret
    this.#toleranceSeconds = toleranceSeconds
    this.#now = now
  }

  /**
   * The event in `rawBody` when the headers carry a valid signature for it, made with
   * `secret` (default: the secret given to the constructor) within the tolerance of now.
   * Standard Webhooks headers are checked when present, else `x-signature-v2`.
   *
   * @throws CountersignError `invalid_webhook_signature` for a missing, malformed, stale or
   * wrong signature; `invalid_argument` without a secret or a string body.
   * @example
   * const event = countersign.webhooks.verify(await request.text(), request.headers)
   */
  verify(rawBody: string, headers: WebhookHeaders, secret?: string): WebhookEvent {
    const key = secret ?? this.#secret
    if (typeof key !== 'string' || key.length === 0) {
      throw invalidArgument('No webhook secret: pass webhookSecret to the constructor or a secret to verify()')
    }
    if (typeof rawBody !== 'string') {
      // The usual mistake: a body-parsing middleware ran first. Re-serialising cannot help,
      // the signature is over the exact bytes the server sent.
      throw invalidArgument('rawBody must be the request body as received, as a string, before JSON parsing')
    }
    const signed = readSignedHeaders(headers)
    const timestamp = parseTimestamp(signed.timestamp)
    const nowSeconds = Math.floor(this.#now() / 1000)
    // Both directions: a timestamp from the future would let a captured delivery be replayed
    // for longer than the tolerance.
    if (Math.abs(nowSeconds - timestamp) > this.#toleranceSeconds) {
      throw invalidSignature(`The webhook timestamp is more than ${this.#toleranceSeconds} s from now`)
    }
    const expected =
      signed.scheme === 'standard'
        ? hmacBase64(standardWebhooksKey(key), `${signed.id}.${signed.timestamp}.${rawBody}`)
        : hmacBase64(utf8(key), `${signed.timestamp}.${rawBody}`).replace(/=+$/, '')
    // Every candidate is compared, match or not, so timing does not tell which one matched.
    const matched = signed.signatures.reduce((found, candidate) => constantTimeEqual(candidate, expected) || found, false)
    if (!matched) throw invalidSignature('The webhook signature does not match')
    return parseEvent(rawBody)
  }
}

/**
 * {@link Webhooks.verify} without a client, e.g. in a function that only receives webhooks.
 *
 * @example
 * const event = verifyWebhook(rawBody, req.headers, { secret: process.env.COUNTERSIGN_WEBHOOK_SECRET! })
 */
export function verifyWebhook(rawBody: string, headers: WebhookHeaders, options: VerifyWebhookOptions): WebhookEvent {
  return new Webhooks(options).verify(rawBody, headers)
}

interface SignedHeaders {
  scheme: 'standard' | 'authsignal'
  id: string
  timestamp: string
  signatures: string[]
}

function readSignedHeaders(headers: WebhookHeaders): SignedHeaders {
  const standard = headerValues(headers, 'webhook-signature')
  if (standard.length > 0) {
    const ids = headerValues(headers, 'webhook-id')
    const timestamps = headerValues(headers, 'webhook-timestamp')
    if (ids.length !== 1 || ids[0] === '' || timestamps.length !== 1) {
      throw invalidSignature('webhook-signature needs exactly one webhook-id and webhook-timestamp header')
    }
    // `v1,<sig>` entries separated by spaces; a Fetch Headers object joins repeated headers
    // with ", ", hence the trailing comma trimmed. Other versions (v1a, …) are skipped.
    const signatures = standard
      .flatMap((value) => value.split(/\s+/))
      .map((entry) => entry.replace(/,$/, ''))
      .filter((entry) => entry.startsWith('v1,'))
      .map((entry) => entry.slice('v1,'.length))
    if (signatures.length === 0) throw invalidSignature('webhook-signature has no v1 signature')
    return { scheme: 'standard', id: ids[0]!, timestamp: timestamps[0]!, signatures }
  }

  const authsignal = headerValues(headers, 'x-signature-v2')
  if (authsignal.length > 0) {
    const timestamps: string[] = []
    const signatures: string[] = []
    for (const item of authsignal.join(',').split(',')) {
      const separator = item.indexOf('=')
      const name = item.slice(0, separator).trim()
      const value = item.slice(separator + 1).trim()
      if (separator > 0 && name === 't') timestamps.push(value)
      if (separator > 0 && name === 'v2') signatures.push(value)
    }
    if (timestamps.length !== 1 || signatures.length === 0) {
      throw invalidSignature('x-signature-v2 needs one t= and at least one v2= entry')
    }
    return { scheme: 'authsignal', id: '', timestamp: timestamps[0]!, signatures }
  }

  throw invalidSignature('No webhook signature header (webhook-signature or x-signature-v2)')
}

/** Every value of one header, matched case-insensitively. */
function headerValues(headers: WebhookHeaders, name: string): string[] {
  // Duck-typed, not instanceof: a Headers from another fetch implementation (or another copy
  // of undici) is still a Headers. A plain object's header values are never functions.
  if (typeof (headers as Headers).get === 'function') {
    const value = (headers as Headers).get(name)
    return value === null ? [] : [value]
  }
  const values: string[] = []
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() !== name || value === undefined) continue
    values.push(...(Array.isArray(value) ? value : [value]))
  }
  return values
}

function parseTimestamp(text: string): number {
  // Digits only: parseInt would read "1700000000abc" or "1.7e9" as a time.
  if (!/^\d{1,15}$/.test(text)) throw invalidSignature('The webhook timestamp is not unix seconds')
  return Number(text)
}

/**
 * The Standard Webhooks HMAC key, derived exactly as the server does: the bytes a
 * `whsec_<canonical padded base64>` secret encodes, otherwise the UTF-8 of the whole secret.
 */
function standardWebhooksKey(secret: string): Uint8Array {
  if (secret.startsWith(SECRET_PREFIX)) {
    const encoded = secret.slice(SECRET_PREFIX.length)
    try {
      const binary = atob(encoded)
      // atob forgives whitespace and missing padding; accept only the one exact spelling.
      if (binary.length > 0 && btoa(binary) === encoded) return Uint8Array.from(binary, (c) => c.charCodeAt(0))
    } catch {
      // Not base64: the secret is used as text, as the server does.
    }
  }
  return utf8(secret)
}

function hmacBase64(key: Uint8Array, message: string): string {
  return nodeCrypto().createHmac('sha256', key).update(utf8(message)).digest('base64')
}

function constantTimeEqual(candidate: string, expected: string): boolean {
  const a = utf8(candidate)
  const b = utf8(expected)
  // timingSafeEqual needs equal lengths; the length of a signature is no secret.
  return a.length === b.length && nodeCrypto().timingSafeEqual(a, b)
}

function nodeCrypto() {
  const crypto = globalThis.process?.getBuiltinModule?.('node:crypto')
  if (crypto === undefined) {
    throw new CountersignError({
      statusCode: 0,
      errorCode: 'invalid_argument',
      errorDescription: 'Verifying webhooks needs node:crypto (Node 20.16 or later, or a runtime with process.getBuiltinModule)',
    })
  }
  return crypto
}

function parseEvent(rawBody: string): WebhookEvent {
  let event: unknown
  try {
    event = JSON.parse(rawBody)
  } catch {
    event = undefined
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new CountersignError({
      statusCode: 0,
      errorCode: 'invalid_response',
      errorDescription: 'The webhook is signed but its body is not a JSON object',
    })
  }
  return event as WebhookEvent
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

function invalidSignature(description: string): CountersignError {
  return new CountersignError({ statusCode: 0, errorCode: 'invalid_webhook_signature', errorDescription: description })
}

function invalidArgument(description: string): CountersignError {
  return new CountersignError({ statusCode: 0, errorCode: 'invalid_argument', errorDescription: description })
}
