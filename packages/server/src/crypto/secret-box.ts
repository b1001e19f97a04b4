import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

// Secrets at rest: AES-256-GCM under a key from configuration, bound to the row they belong to
// (the additional data), so a sealed value copied to another tenant's row does not open.
//
//   sealed = version(1) ‖ iv(12) ‖ ciphertext ‖ tag(16)
const VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16

export const SEAL_OVERHEAD = 1 + IV_BYTES + TAG_BYTES

export class SecretBoxError extends Error {
  override name = 'SecretBoxError'
}

/** Encrypts `plaintext` for storage; `context` (e.g. the tenant ID) must be given again to open it. */
export function seal(key: Uint8Array, plaintext: Uint8Array, context: string): Buffer {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(context, 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([Buffer.from([VERSION]), iv, ciphertext, cipher.getAuthTag()])
}

/**
 * Opens with the current key or, failing that, the previous one (while a rotation of the
 * encryption key is under way); throws SecretBoxError when neither opens it.
 */
export function openWithEither(key: Uint8Array, previousKey: Uint8Array | undefined, sealed: Uint8Array, context: string): Buffer {
  try {
    return open(key, sealed, context)
  } catch (error) {
    if (!previousKey || !(error instanceof SecretBoxError)) throw error
    return open(previousKey, sealed, context)
  }
}

/** Decrypts a sealed value; throws SecretBoxError for a wrong key, context or tampered bytes. */
export function open(key: Uint8Array, sealed: Uint8Array, context: string): Buffer {
  if (sealed.length < SEAL_OVERHEAD || sealed[0] !== VERSION) throw new SecretBoxError('not a sealed value')
  const bytes = Buffer.from(sealed)
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(1, 1 + IV_BYTES))
  decipher.setAAD(Buffer.from(context, 'utf8'))
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES))
  try {
    return Buffer.concat([decipher.update(bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()])
  } catch {
    throw new SecretBoxError('the sealed value does not open with this key and context')
  }
}
