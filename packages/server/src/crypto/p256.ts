import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto'

// A P-256 SubjectPublicKeyInfo with an uncompressed point is exactly these 27 bytes followed
// by the 64 bytes of X‖Y. Accepting only this shape refuses other curves, RSA, compressed
// points, explicit curve parameters and trailing garbage before any parser sees them.
const P256_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
  0x03, 0x42, 0x00, 0x04,
])
export const P256_SPKI_LENGTH = P256_SPKI_PREFIX.length + 64

/** A device public key, parsed once and cached: importing a key costs more than verifying. */
export interface DevicePublicKey {
  spki: Uint8Array
  /** SHA-256 of the SPKI bytes: how a credential is found within its tenant. */
  spkiHash: Uint8Array
  keyObject: KeyObject
}

export class InvalidPublicKeyError extends Error {
  override name = 'InvalidPublicKeyError'
}

const MAX_CACHED_KEYS = 20_000
const keyCache = new Map<string, DevicePublicKey>()

/**
 * Parses an X.509 SPKI holding a P-256 point; throws InvalidPublicKeyError for anything else,
 * including points that are not on the curve.
 * @example const key = parseP256PublicKey(fromBase64(body.publicKey))
 */
export function parseP256PublicKey(spki: Uint8Array): DevicePublicKey {
  if (spki.length !== P256_SPKI_LENGTH || !P256_SPKI_PREFIX.every((byte, i) => spki[i] === byte)) {
    throw new InvalidPublicKeyError('not an uncompressed P-256 SubjectPublicKeyInfo')
  }
  const cacheKey = Buffer.from(spki.buffer, spki.byteOffset, spki.length).toString('base64')
  const cached = keyCache.get(cacheKey)
  if (cached) return cached

  let keyObject: KeyObject
  try {
    // OpenSSL checks that the point lies on the curve while decoding.
    keyObject = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
  } catch {
    throw new InvalidPublicKeyError('point is not on P-256')
  }
  if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new InvalidPublicKeyError('not a P-256 key')
  }
  const key: DevicePublicKey = { spki: Uint8Array.from(spki), spkiHash: sha256(spki), keyObject }
  if (keyCache.size >= MAX_CACHED_KEYS) {
    // Evict the oldest entry; Map iterates in insertion order.
    keyCache.delete(keyCache.keys().next().value as string)
  }
  keyCache.set(cacheKey, key)
  return key
}

export type SignatureFormat = 'der' | 'p1363'

/**
 * Verifies an ECDSA-SHA256 signature over `message`. DER is parsed strictly by OpenSSL (a
 * BER or padded encoding fails), P1363 must be exactly 64 bytes.
 */
export function verifyP256Signature(
  key: DevicePublicKey,
  message: Uint8Array,
  signature: Uint8Array,
  format: SignatureFormat = 'der',
): boolean {
  if (format === 'p1363' && signature.length !== 64) return false
  if (format === 'der' && (signature.length < 8 || signature.length > 72)) return false
  try {
    return verify('sha256', message, { key: key.keyObject, dsaEncoding: format === 'der' ? 'der' : 'ieee-p1363' }, signature)
  } catch {
    return false
  }
}

export function sha256(bytes: Uint8Array | string): Uint8Array {
  return createHash('sha256').update(bytes).digest()
}
