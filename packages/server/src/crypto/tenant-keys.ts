import { hkdfSync, randomBytes } from 'node:crypto'

/**
 * Keys a tenant's tokens and challenges are authenticated with, derived from one 256-bit
 * secret the server generates per tenant and never hands out (it is not the API secret).
 */
export interface TenantKeys {
  /** HS256 key for the tenant's tokens. */
  tokenKey: Buffer
  /** HMAC-SHA256 key for self-authenticating in-app challenge IDs. */
  challengeKey: Buffer
}

export function generateTenantSecret(): Buffer {
  return randomBytes(32)
}

export function deriveTenantKeys(secret: Uint8Array): TenantKeys {
  const derive = (purpose: string) => Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), purpose, 32))
  return { tokenKey: derive('countersign token v1'), challengeKey: derive('countersign in-app challenge v1') }
}
