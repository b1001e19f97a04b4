// ECDSA signature and P-256 key encodings. Web Crypto signs in IEEE P1363 (r‖s, fixed width),
// while the wire carries DER (PROTOCOL.md §3, "Key and signature formats") because that is what
// Secure Enclave and Android Keystore produce. No Buffer, no node: imports: this runs on phones.

/** Bytes in each of r and s for P-256. */
const P256_SCALAR_BYTES = 32

/**
 * Converts an IEEE P1363 signature (r‖s, each half the same width) to a DER
 * `SEQUENCE { INTEGER r, INTEGER s }`, as a DER ECDSA verifier expects.
 *
 * @example
 * const der = p1363ToDer(new Uint8Array(await crypto.subtle.sign(alg, key, message)))
 */
export function p1363ToDer(signature: Uint8Array): Uint8Array {
  if (signature.length === 0 || signature.length % 2 !== 0) {
    throw new RangeError('A P1363 signature is r‖s with both halves the same width')
  }
  const half = signature.length / 2
  const r = derInteger(signature.subarray(0, half))
  const s = derInteger(signature.subarray(half))
  return concat(Uint8Array.of(0x30), derLength(r.length + s.length), r, s)
}

/**
 * Parses a DER ECDSA signature strictly and returns it as P1363 (r‖s, each `scalarBytes` wide).
 * Throws a RangeError for anything a strict DER parser would refuse: long-form lengths where a
 * short one fits, negative or zero integers, superfluous leading zeros, trailing bytes.
 *
 * @example
 * derToP1363(der)            // 64 bytes for P-256
 */
export function derToP1363(signature: Uint8Array, scalarBytes = P256_SCALAR_BYTES): Uint8Array {
  const reader = new DerReader(signature)
  reader.expectByte(0x30, 'SEQUENCE')
  const sequenceLength = reader.readLength()
  if (sequenceLength !== reader.remaining) throw new RangeError('DER SEQUENCE length does not match the signature')
  const r = reader.readPositiveInteger()
  const s = reader.readPositiveInteger()
  if (reader.remaining !== 0) throw new RangeError('Trailing bytes after the DER signature')

  const out = new Uint8Array(scalarBytes * 2)
  for (const [index, value] of [r, s].entries()) {
    if (value.length > scalarBytes) throw new RangeError('DER INTEGER is wider than the curve order')
    out.set(value, scalarBytes * (index + 1) - value.length)
  }
  return out
}

/** The 27 bytes that begin every uncompressed P-256 SubjectPublicKeyInfo, up to the point's X. */
const P256_SPKI_PREFIX = Uint8Array.of(
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
  0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
)
const P256_SPKI_LENGTH = P256_SPKI_PREFIX.length + 2 * P256_SCALAR_BYTES

/**
 * Whether `spki` has the shape of an uncompressed P-256 SubjectPublicKeyInfo (the only form the
 * server accepts). It does not check that the point lies on the curve; the server does.
 */
export function isP256Spki(spki: Uint8Array): boolean {
  return spki.length === P256_SPKI_LENGTH && P256_SPKI_PREFIX.every((byte, i) => spki[i] === byte)
}

/**
 * Wraps a raw uncompressed P-256 point (`04‖X‖Y`, 65 bytes) in a SubjectPublicKeyInfo. iOS
 * `SecKeyCopyExternalRepresentation` returns the raw point, while the wire wants SPKI.
 *
 * @example
 * const spki = p256SpkiFromPoint(base64ToBytes(await SecureEnclave.publicKey('in-app')))
 */
export function p256SpkiFromPoint(point: Uint8Array): Uint8Array {
  if (point.length !== 1 + 2 * P256_SCALAR_BYTES || point[0] !== 0x04) {
    throw new RangeError('Expected an uncompressed P-256 point: 0x04 followed by 64 bytes')
  }
  return concat(P256_SPKI_PREFIX, point.subarray(1))
}

/** A minimal, positive DER INTEGER holding the big-endian unsigned `value`. */
function derInteger(value: Uint8Array): Uint8Array {
  let start = 0
  while (start < value.length && value[start] === 0) start++
  if (start === value.length) throw new RangeError('An ECDSA signature never has r or s equal to zero')
  const magnitude = value.subarray(start)
  // A set high bit would read as negative: DER then needs one 0x00 in front.
  const pad = (magnitude[0] as number) & 0x80 ? 1 : 0
  const body = new Uint8Array(pad + magnitude.length)
  body.set(magnitude, pad)
  return concat(Uint8Array.of(0x02), derLength(body.length), body)
}

function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length)
  if (length <= 0xff) return Uint8Array.of(0x81, length)
  throw new RangeError('Signature too long')
}

class DerReader {
  private offset = 0
  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.offset
  }

  private readByte(): number {
    const byte = this.bytes[this.offset]
    if (byte === undefined) throw new RangeError('DER signature is truncated')
    this.offset++
    return byte
  }

  expectByte(expected: number, what: string): void {
    if (this.readByte() !== expected) throw new RangeError(`Expected a DER ${what}`)
  }

  readLength(): number {
    const first = this.readByte()
    if (first < 0x80) return first
    if (first === 0x81) {
      const length = this.readByte()
      // DER: the long form only where the short form cannot say it.
      if (length < 0x80) throw new RangeError('Non-minimal DER length')
      return length
    }
    throw new RangeError('Unsupported DER length')
  }

  readPositiveInteger(): Uint8Array {
    this.expectByte(0x02, 'INTEGER')
    const length = this.readLength()
    if (length === 0 || length > this.remaining) throw new RangeError('Bad DER INTEGER length')
    const value = this.bytes.subarray(this.offset, this.offset + length)
    this.offset += length
    const first = value[0] as number
    if (first & 0x80) throw new RangeError('Negative DER INTEGER')
    if (first === 0) {
      if (length === 1) throw new RangeError('An ECDSA signature never has r or s equal to zero')
      if (((value[1] as number) & 0x80) === 0) throw new RangeError('Non-minimal DER INTEGER')
      return value.subarray(1)
    }
    return value
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
