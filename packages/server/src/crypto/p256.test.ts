import { createPublicKey, ECDH, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { InvalidPublicKeyError, P256_SPKI_LENGTH, parseP256PublicKey, sha256, verifyP256Signature } from './p256.ts'

const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex')
// SPKI for a compressed P-256 point: same algorithm identifier, a 34-byte BIT STRING (0x00 unused bits + 33-byte point).
const P256_COMPRESSED_SPKI_PREFIX = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex')
// SPKI whose BIT STRING holds the single byte 0x00: the SEC 1 encoding of the point at infinity.
const P256_INFINITY_SPKI = Buffer.from('3019301306072a8648ce3d020106082a8648ce3d03010703020000', 'hex')
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n

const spkiOf = (key: KeyObject): Buffer => key.export({ format: 'der', type: 'spki' })
const canDecode = (spki: Uint8Array): boolean => {
  try {
    createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
    return true
  } catch {
    return false
  }
}

function p256Pair() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  return { spki: spkiOf(publicKey), privateKey }
}

// Minimal DER for ECDSA-Sig-Value { r INTEGER, s INTEGER }, with optional long-form lengths.
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16)
  if (hex.length % 2) hex = `0${hex}`
  let bytes = Buffer.from(hex, 'hex')
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes])
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes])
}
function derSignature(r: bigint, s: bigint, { longFormSequenceLength = false } = {}): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)])
  const length = longFormSequenceLength ? [0x81, body.length] : [body.length]
  return Buffer.concat([Buffer.from([0x30, ...length]), body])
}
function scalarsOfP1363(p1363: Uint8Array): { r: bigint; s: bigint } {
  const hex = Buffer.from(p1363).toString('hex')
  return { r: BigInt(`0x${hex.slice(0, 64)}`), s: BigInt(`0x${hex.slice(64)}`) }
}
const p1363Of = (r: bigint, s: bigint): Buffer => Buffer.from(r.toString(16).padStart(64, '0') + s.toString(16).padStart(64, '0'), 'hex')

describe('parseP256PublicKey refuses', () => {
  const refuses = (spki: Uint8Array) => expect(() => parseP256PublicKey(spki)).toThrow(InvalidPublicKeyError)

  it('an RSA SPKI', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    refuses(spkiOf(publicKey))
  })

  it('a P-384 SPKI', () => {
    refuses(spkiOf(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey))
  })

  it('a secp256k1 SPKI, though it has the same length of point', () => {
    const spki = spkiOf(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey)
    expect(spki.subarray(-65)[0]).toBe(0x04)
    refuses(spki)
    // Same shape with the P-256 header swapped in is a point on the wrong curve.
    refuses(Buffer.concat([P256_SPKI_PREFIX, spki.subarray(-64)]))
  })

  it('a compressed P-256 point, which OpenSSL itself would accept', () => {
    const { spki } = p256Pair()
    const compressed = ECDH.convertKey(spki.subarray(P256_SPKI_PREFIX.length - 1), 'prime256v1', undefined, undefined, 'compressed')
    const compressedSpki = Buffer.concat([P256_COMPRESSED_SPKI_PREFIX, Buffer.from(compressed as Buffer)])
    expect(compressedSpki).toHaveLength(59)
    expect(canDecode(compressedSpki)).toBe(true)
    refuses(compressedSpki)
  })

  it('a point that is not on the curve (a flipped byte of Y)', () => {
    const spki = Buffer.from(p256Pair().spki)
    spki[spki.length - 1]! ^= 0x01
    refuses(spki)
  })

  it('a flipped byte of X', () => {
    const spki = Buffer.from(p256Pair().spki)
    spki[P256_SPKI_PREFIX.length]! ^= 0x80
    refuses(spki)
  })

  it('the point at infinity, in its SEC 1 encoding (which OpenSSL accepts) and as (0, 0)', () => {
    expect(canDecode(P256_INFINITY_SPKI)).toBe(true)
    refuses(P256_INFINITY_SPKI)
    refuses(Buffer.concat([P256_SPKI_PREFIX, Buffer.alloc(64)]))
  })

  it('truncated and extended bytes', () => {
    const { spki } = p256Pair()
    refuses(spki.subarray(0, spki.length - 1))
    refuses(spki.subarray(0, P256_SPKI_PREFIX.length))
    refuses(new Uint8Array(0))
    refuses(Buffer.concat([spki, Buffer.from([0x00])]))
    refuses(Buffer.concat([spki, spki]))
  })

  it('an explicit hybrid/other point-format byte in place of 0x04', () => {
    for (const format of [0x02, 0x03, 0x06, 0x07]) {
      const spki = Buffer.from(p256Pair().spki)
      spki[P256_SPKI_PREFIX.length - 1] = format
      refuses(spki)
    }
  })

  it('random 91 bytes behind the right prefix', () => {
    for (let i = 0; i < 20; i++) {
      const spki = Buffer.concat([P256_SPKI_PREFIX, randomBytes(64)])
      expect(spki).toHaveLength(P256_SPKI_LENGTH)
      refuses(spki)
    }
  })
})

describe('parseP256PublicKey accepts a P-256 key', () => {
  it('round-trips an exported SPKI', () => {
    const { spki } = p256Pair()
    const key = parseP256PublicKey(spki)
    expect(Buffer.from(key.spki).equals(spki)).toBe(true)
    expect(key.spkiHash).toEqual(sha256(spki))
    expect(key.keyObject.asymmetricKeyType).toBe('ec')
    expect(key.keyObject.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(spkiOf(key.keyObject).equals(spki)).toBe(true)
  })

  it('keeps its own copy of the bytes and returns the cached key for the same SPKI', () => {
    const spki = Uint8Array.from(p256Pair().spki)
    const key = parseP256PublicKey(spki)
    const original = Uint8Array.from(spki)
    spki[spki.length - 1]! ^= 0x01
    expect(key.spki).toEqual(original)
    expect(parseP256PublicKey(Uint8Array.from(original))).toBe(key)
  })

  it('accepts a subarray view at a non-zero offset', () => {
    const { spki } = p256Pair()
    const backing = Buffer.concat([Buffer.from([1, 2, 3]), spki, Buffer.from([4])])
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 3, spki.length)
    expect(Buffer.from(parseP256PublicKey(view).spki).equals(spki)).toBe(true)
  })
})

describe('verifyP256Signature', () => {
  const { spki, privateKey } = p256Pair()
  const key = parseP256PublicKey(spki)
  const message = new TextEncoder().encode('challenge-id')
  const der = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' })
  const p1363 = sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' })

  it('verifies DER and P1363 signatures from the matching key', () => {
    expect(verifyP256Signature(key, message, der)).toBe(true)
    expect(verifyP256Signature(key, message, der, 'der')).toBe(true)
    expect(verifyP256Signature(key, message, p1363, 'p1363')).toBe(true)
  })

  it('refuses another message, another key and the wrong format', () => {
    expect(verifyP256Signature(key, new TextEncoder().encode('challenge-iD'), der)).toBe(false)
    expect(verifyP256Signature(parseP256PublicKey(p256Pair().spki), message, der)).toBe(false)
    expect(verifyP256Signature(key, message, p1363, 'der')).toBe(false)
    expect(verifyP256Signature(key, message, der, 'p1363')).toBe(false)
  })

  it('refuses DER with trailing garbage', () => {
    expect(verifyP256Signature(key, message, Buffer.concat([der, Buffer.from([0x00])]))).toBe(false)
    expect(verifyP256Signature(key, message, Buffer.concat([der, Buffer.from([0x05, 0x00])]))).toBe(false)
  })

  it('refuses BER encodings of a signature that verifies in DER', () => {
    const { r, s } = scalarsOfP1363(p1363)
    expect(verifyP256Signature(key, message, derSignature(r, s))).toBe(true) // the helper's DER is right
    // Long-form length of the SEQUENCE.
    expect(verifyP256Signature(key, message, derSignature(r, s, { longFormSequenceLength: true }))).toBe(false)
    // Long-form length of the first INTEGER.
    const rInt = derInteger(r)
    const longR = Buffer.concat([Buffer.from([0x02, 0x81]), rInt.subarray(1)])
    const body = Buffer.concat([longR, derInteger(s)])
    expect(verifyP256Signature(key, message, Buffer.concat([Buffer.from([0x30, body.length]), body]))).toBe(false)
    // A redundant leading zero on an INTEGER.
    const paddedR = Buffer.concat([Buffer.from([0x02, rInt.length - 1]), Buffer.from([0x00]), rInt.subarray(2)])
    const paddedBody = Buffer.concat([paddedR, derInteger(s)])
    expect(verifyP256Signature(key, message, Buffer.concat([Buffer.from([0x30, paddedBody.length]), paddedBody]))).toBe(false)
  })

  it('accepts a high-S signature (n - s): ECDSA malleability is valid per Wycheproof and not relied on here', () => {
    const { r, s } = scalarsOfP1363(p1363)
    const flipped = N - s
    expect(verifyP256Signature(key, message, derSignature(r, flipped))).toBe(true)
    expect(verifyP256Signature(key, message, p1363Of(r, flipped), 'p1363')).toBe(true)
  })

  it('refuses r = 0 or s = 0, and r or s = n', () => {
    const { r, s } = scalarsOfP1363(p1363)
    for (const [badR, badS] of [
      [0n, s],
      [r, 0n],
      [0n, 0n],
      [N, s],
      [r, N],
      [r + N, s],
    ] as const) {
      expect(verifyP256Signature(key, message, derSignature(badR, badS))).toBe(false)
      if (badR < 2n ** 256n) expect(verifyP256Signature(key, message, p1363Of(badR, badS), 'p1363')).toBe(false)
    }
  })

  it('refuses P1363 of the wrong length, without throwing', () => {
    expect(verifyP256Signature(key, message, p1363.subarray(0, 63), 'p1363')).toBe(false)
    expect(verifyP256Signature(key, message, Buffer.concat([p1363, Buffer.from([0])]), 'p1363')).toBe(false)
    expect(verifyP256Signature(key, message, Buffer.concat([Buffer.from([0]), p1363]), 'p1363')).toBe(false)
    expect(verifyP256Signature(key, message, new Uint8Array(0), 'p1363')).toBe(false)
  })

  it('refuses empty, short, oversized and random DER, without throwing', () => {
    expect(verifyP256Signature(key, message, new Uint8Array(0))).toBe(false)
    expect(verifyP256Signature(key, message, der.subarray(0, 7))).toBe(false)
    expect(verifyP256Signature(key, message, der.subarray(0, der.length - 1))).toBe(false)
    expect(verifyP256Signature(key, message, randomBytes(73))).toBe(false)
    for (let i = 0; i < 20; i++) expect(verifyP256Signature(key, message, randomBytes(8 + i * 3))).toBe(false)
  })
})
