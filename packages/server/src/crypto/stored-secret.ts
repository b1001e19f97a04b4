import { MissingEncryptionKeyError } from './tenant-keys.ts'
import { openWithEither, seal } from './secret-box.ts'

// Secrets the server must use, not just compare (webhook signing secrets, push-service private
// keys): sealed under COUNTERSIGN_ENCRYPTION_KEY when one is configured, otherwise stored as
// they are behind a marker byte, so a later start with a key can tell which rows to seal.
//
//   stored = 0x00 ‖ plaintext            (no encryption key)
//   stored = seal(key, plaintext, context) (starts with the secret box's version byte, 0x01)
const PLAIN = 0

/** The stored form of `plaintext`; `context` (tenant and row) must be given again to read it. */
export function storeSecret(plaintext: Uint8Array, context: string, encryptionKey: Uint8Array | undefined): Buffer {
  return encryptionKey ? seal(encryptionKey, plaintext, context) : Buffer.concat([Buffer.from([PLAIN]), plaintext])
}

/**
 * The plaintext of a stored secret; throws when it is sealed and the key is missing or wrong.
 * `previousKey` opens what was sealed before a rotation of the encryption key.
 */
export function readSecret(stored: Uint8Array, context: string, encryptionKey: Uint8Array | undefined, previousKey?: Uint8Array): Buffer {
  if (stored[0] === PLAIN) return Buffer.from(stored.subarray(1))
  if (!encryptionKey) throw new MissingEncryptionKeyError()
  return openWithEither(encryptionKey, previousKey, stored, context)
}

/** The context a webhook endpoint's signing secret is sealed under: it opens only for that endpoint. */
export function webhookSecretContext(tenantId: string, webhookId: string): string {
  return `${tenantId}:webhook:${webhookId}`
}

/** The context a tenant's push service configuration is sealed under. */
export function pushConfigContext(tenantId: string, provider: string): string {
  return `${tenantId}:push:${provider}`
}

/** Whether a stored secret is unencrypted. */
export function isPlainSecret(stored: Uint8Array): boolean {
  return stored[0] === PLAIN
}
