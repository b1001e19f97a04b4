import { hkdfSync, randomBytes } from 'node:crypto'
import { openWithEither, seal } from './secret-box.ts'

/**
 * Keys a tenant's tokens and challenges are authenticated with, derived from one 256-bit
 * secret the server generates per tenant and never hands out (it is not the API secret).
 */
export interface TenantKeys {
  /** HS256 key for the tenant's tokens. */
  tokenKey: Buffer
  /** HMAC-SHA256 key for self-authenticating in-app challenge IDs. */
  challengeKey: Buffer
  /** Signs the synchronous action.verify webhook; the operator's receiver holds a copy. */
  verificationWebhookKey: Buffer
}

export function generateTenantSecret(): Buffer {
  return randomBytes(32)
}

export function deriveTenantKeys(secret: Uint8Array): TenantKeys {
  const derive = (purpose: string) => Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), purpose, 32))
  return {
    tokenKey: derive('countersign token v1'),
    challengeKey: derive('countersign in-app challenge v1'),
    verificationWebhookKey: derive('countersign verification webhook v1'),
  }
}

const SECRET_BYTES = 32

/** How a tenant secret is stored: sealed under the encryption key when there is one. */
export function protectTenantSecret(secret: Uint8Array, tenantId: string, encryptionKey: Uint8Array | undefined): Buffer {
  return encryptionKey ? seal(encryptionKey, secret, tenantId) : Buffer.from(secret)
}

/** Whether a stored tenant secret is still plain bytes (stored before an encryption key was set). */
export function isPlainTenantSecret(stored: Uint8Array): boolean {
  return stored.length === SECRET_BYTES
}

export class MissingEncryptionKeyError extends Error {
  override name = 'MissingEncryptionKeyError'
  constructor() {
    super(
      'Tenant secrets in this database are encrypted, but COUNTERSIGN_ENCRYPTION_KEY is not set. Start with the key they were encrypted under.',
    )
  }
}

/**
 * The tenant secret from its stored form. `previousKey`, during a rotation of the encryption
 * key, opens what was sealed before it (never seals).
 */
export function revealTenantSecret(
  stored: Uint8Array,
  tenantId: string,
  encryptionKey: Uint8Array | undefined,
  previousKey?: Uint8Array,
): Buffer {
  if (isPlainTenantSecret(stored)) return Buffer.from(stored)
  if (!encryptionKey) throw new MissingEncryptionKeyError()
  return openWithEither(encryptionKey, previousKey, stored, tenantId)
}
