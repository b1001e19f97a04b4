import { randomBytes, timingSafeEqual } from 'node:crypto'
import { sha256 } from './p256.ts'

export type ApiKeyType = 'secret' | 'management'

const PREFIX: Record<ApiKeyType, string> = { secret: 'cs_sk', management: 'cs_mk' }

/** A freshly issued API key: the full value is shown once; only `hash` is stored. */
export interface IssuedApiKey {
  keyId: string
  type: ApiKeyType
  value: string
  hash: Uint8Array
}

/**
 * Issues `cs_sk_<tenantId>.<keyId>.<secret>`: the tenant and key ID let the server find the
 * row without scanning, the 256-bit secret is stored only as its SHA-256 hash.
 * @example const key = issueApiKey(tenantId, 'secret'); store(key.keyId, key.hash); show(key.value)
 */
export function issueApiKey(tenantId: string, type: ApiKeyType): IssuedApiKey {
  const keyId = commandLineSafeId()
  const secret = randomBytes(32).toString('base64url')
  return { keyId, type, value: `${PREFIX[type]}_${tenantId}.${keyId}.${secret}`, hash: sha256(secret) }
}

/** 72 random bits, base64url, never starting with '-': `countersign keys revoke <keyId>` would read that as an option. */
function commandLineSafeId(): string {
  for (;;) {
    const id = randomBytes(9).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

export interface PresentedApiKey {
  type: ApiKeyType
  tenantId: string
  keyId: string
  secretHash: Uint8Array
}

// The tenant part must be a real UUID: the lookup casts it to the uuid column, which refuses anything else.
const KEY_PATTERN =
  /^(cs_sk|cs_mk)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{43})$/

/** Splits a presented key into its lookup parts; null when it is not shaped like one of ours. */
export function parseApiKey(value: string): PresentedApiKey | null {
  const match = KEY_PATTERN.exec(value)
  if (!match) return null
  const [, prefix, tenantId, keyId, secret] = match as unknown as [string, string, string, string, string]
  return { type: prefix === 'cs_sk' ? 'secret' : 'management', tenantId, keyId, secretHash: sha256(secret) }
}

/** Constant-time equality of two hashes (lengths are public). */
export function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/** A console session's cookie value, `<tenantId>.<sessionId>.<secret>`: only `hash` is stored. */
export interface IssuedSession {
  sessionId: string
  value: string
  hash: Uint8Array
}

export function issueSession(tenantId: string): IssuedSession {
  const sessionId = randomBytes(12).toString('base64url')
  const secret = randomBytes(32).toString('base64url')
  return { sessionId, value: `${tenantId}.${sessionId}.${secret}`, hash: sha256(secret) }
}

const SESSION_PATTERN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/

export function parseSession(value: string): { tenantId: string; sessionId: string; secretHash: Uint8Array } | null {
  const match = SESSION_PATTERN.exec(value)
  if (!match) return null
  const [, tenantId, sessionId, secret] = match as unknown as [string, string, string, string]
  return { tenantId, sessionId, secretHash: sha256(secret) }
}
