import { createHmac, randomBytes } from 'node:crypto'

// Webhook deliveries carry two signatures over the same body (PROTOCOL.md §5):
//
//   x-signature-v2:    t=<ts>,v2=<base64 HMAC-SHA256(utf8(secret), "<ts>.<body>") without '='>
//   webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<ts>.<body>")>   (Standard Webhooks)
//
// The first is byte for byte what @authsignal/node's Webhook.constructEvent checks: it keys
// the HMAC with the secret string as given, whatever its form. The second follows the
// Standard Webhooks convention: a `whsec_` secret is base64 of the key bytes. @countersign/node
// (packages/node/src/webhooks.ts) verifies both and must derive keys exactly as here.

const SECRET_PREFIX = 'whsec_'

/** What identifies one delivery attempt in its signature. */
export interface WebhookSignatureInput {
  /** The event ID, repeated by every retry of the same event (`webhook-id`). */
  id: string
  /** When this attempt is signed, unix seconds (integer). */
  timestamp: number
}

/**
 * The signature headers for one delivery of `body` (the exact bytes sent, as a string):
 * `x-signature-v2` for existing Authsignal SDKs, and the Standard Webhooks trio
 * `webhook-id`, `webhook-timestamp`, `webhook-signature`.
 *
 * @example
 * const body = JSON.stringify(envelope)
 * await fetch(url, {
 *   method: 'POST',
 *   body,
 *   headers: { 'content-type': 'application/json', ...signWebhook(secret, body, { id: envelope.id, timestamp: now }) },
 * })
 */
export function signWebhook(secret: string, body: string, input: WebhookSignatureInput): Record<string, string> {
  if (typeof secret !== 'string' || secret.length === 0) throw new TypeError('signWebhook: secret is required')
  const { id, timestamp } = input
  // A fractional or negative time would sign a `t=` that no verifier parses back the same way.
  if (!(Number.isSafeInteger(timestamp) && timestamp >= 0)) {
    throw new TypeError('signWebhook: timestamp must be a non-negative integer (unix seconds)')
  }
  const t = String(timestamp)
  // Authsignal's verifier strips one '=': SHA-256's 32 bytes always leave exactly one.
  const v2 = createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('base64').replace(/=+$/, '')
  const v1 = createHmac('sha256', standardWebhooksKey(secret)).update(`${id}.${t}.${body}`, 'utf8').digest('base64')
  return {
    'x-signature-v2': `t=${t},v2=${v2}`,
    'webhook-id': id,
    'webhook-timestamp': t,
    'webhook-signature': `v1,${v1}`,
  }
}

/**
 * A new signing secret: `whsec_` and the standard base64 of 32 random bytes, the Standard
 * Webhooks form. Shown to the tenant once.
 *
 * @example
 * const secret = generateWebhookSecret() // 'whsec_' and 44 base64 characters
 */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`
}

/**
 * The Standard Webhooks HMAC key: the bytes a `whsec_<base64>` secret encodes, otherwise (no
 * prefix, or a remainder that is not canonical padded base64) the UTF-8 bytes of the whole
 * secret, so a secret brought from elsewhere in any form still signs.
 */
function standardWebhooksKey(secret: string): Buffer {
  if (secret.startsWith(SECRET_PREFIX)) {
    const encoded = secret.slice(SECRET_PREFIX.length)
    const key = Buffer.from(encoded, 'base64')
    // Buffer decoding skips what it does not understand; accept only the one exact spelling.
    if (key.length > 0 && key.toString('base64') === encoded) return key
  }
  return Buffer.from(secret, 'utf8')
}
