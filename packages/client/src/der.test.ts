import { createPublicKey, generateKeyPairSync, sign, verify, webcrypto } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { derToP1363, isP256Spki, p1363ToDer, p256SpkiFromPoint } from './der.ts'

const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (byte) => parseInt(byte, 16))
const toHex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
const filled = (length: number, byte: number) => new Uint8Array(length).fill(byte)

describe('p1363ToDer', () => {
  it('encodes small positive integers minimally', () => {
    const p1363 = new Uint8Array(64)
    p1363[31] = 0x01
    p1363[63] = 0x7f
    expect(toHex(p1363ToDer(p1363))).toBe('300602010102017f')
  })

  it('prefixes 0x00 when the high bit is set', () => {
    const der = p1363ToDer(new Uint8Array([...filled(32, 0x80), ...filled(32, 0xff)]))
    expect(toHex(der)).toBe(`3046022100${'80'.repeat(32)}022100${'ff'.repeat(32)}`)
  })

  it('strips leading zero bytes, keeping one 0x00 only where the next byte has its high bit set', () => {
    const r = new Uint8Array(32)
    r.set([0x00, 0x00, 0x00, 0x90, 0x01], 0)
    r[31] = 0x02
    const s = new Uint8Array(32)
    s.set([0x00, 0x10], 0)
    s[31] = 0x03
    const der = p1363ToDer(new Uint8Array([...r, ...s]))
    const rBody = `0090${'01'}${'00'.repeat(26)}02` // 0x00 pad + 29 significant bytes
    const sBody = `10${'00'.repeat(29)}03` // 31 significant bytes, high bit clear
    expect(toHex(der)).toBe(`30${(2 + rBody.length / 2 + 2 + sBody.length / 2).toString(16)}021e${rBody}021f${sBody}`)
    expect(derToP1363(der)).toEqual(new Uint8Array([...r, ...s]))
  })

  it('produces the 72-byte maximum for P-256', () => {
    expect(p1363ToDer(filled(64, 0xff))).toHaveLength(72)
  })

  it('refuses odd lengths and zero scalars', () => {
    expect(() => p1363ToDer(new Uint8Array(63))).toThrow(RangeError)
    expect(() => p1363ToDer(new Uint8Array(0))).toThrow(RangeError)
    expect(() => p1363ToDer(new Uint8Array([...new Uint8Array(32), ...filled(32, 1)]))).toThrow(RangeError)
  })

  it('round-trips any non-zero r and s through derToP1363', () => {
    const scalar = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((bytes) => bytes.some((byte) => byte !== 0))
    fc.assert(
      fc.property(scalar, scalar, (r, s) => {
        const p1363 = new Uint8Array([...r, ...s])
        expect(derToP1363(p1363ToDer(p1363))).toEqual(p1363)
      }),
    )
  })
})

describe('against node:crypto', () => {
  it('a Web Crypto signature converted to DER verifies with dsaEncoding der', async () => {
    const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', pair.publicKey))
    const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
    for (let i = 0; i < 50; i++) {
      const message = new TextEncoder().encode(`challenge-${i}`)
      const p1363 = new Uint8Array(
        await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, message),
      )
      const der = p1363ToDer(p1363)
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true)
      // And the other way: our strict parser accepts what we produce and recovers r‖s.
      expect(derToP1363(der)).toEqual(p1363)
    }
  })

  it('derToP1363 accepts what OpenSSL produces, and OpenSSL accepts the P1363 it yields', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    for (let i = 0; i < 50; i++) {
      const message = Buffer.from(`message-${i}`)
      const der = new Uint8Array(sign('sha256', message, { key: privateKey, dsaEncoding: 'der' }))
      const p1363 = derToP1363(der)
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, p1363)).toBe(true)
      expect(p1363ToDer(p1363)).toEqual(der)
    }
  })
})

describe('derToP1363 is strict', () => {
  const valid = p1363ToDer(new Uint8Array([...filled(32, 0x11), ...filled(32, 0x22)]))

  it.each([
    ['not a SEQUENCE', hex('3106020101020101')],
    ['SEQUENCE length too long', hex('3007020101020101')],
    ['trailing bytes', hex('300602010102010100')],
    ['negative INTEGER', hex('3006020181020101')],
    ['zero INTEGER', hex('3006020100020101')],
    ['superfluous leading zero', hex('300702020001020101')],
    ['empty INTEGER', hex('30050200020101')],
    ['long-form length for a short value', hex('308106020101020101')],
    ['truncated', valid.subarray(0, valid.length - 1)],
    ['r wider than 32 bytes', hex(`302502210101${'00'.repeat(31)}020101`)],
    ['empty input', new Uint8Array(0)],
  ])('refuses %s', (_name, der) => {
    expect(() => derToP1363(der)).toThrow(RangeError)
  })
})

describe('P-256 SPKI', () => {
  it('recognises Web Crypto SPKI exports and rebuilds them from the raw point', async () => {
    const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', pair.publicKey))
    const raw = new Uint8Array(await webcrypto.subtle.exportKey('raw', pair.publicKey))
    expect(isP256Spki(spki)).toBe(true)
    expect(p256SpkiFromPoint(raw)).toEqual(spki)
  })

  it('refuses other shapes', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
    expect(isP256Spki(new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })))).toBe(false)
    expect(isP256Spki(new Uint8Array(91))).toBe(false)
    expect(() => p256SpkiFromPoint(new Uint8Array(33))).toThrow(RangeError)
  })
})
