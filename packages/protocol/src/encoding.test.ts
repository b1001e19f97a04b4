import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromBase64, toBase64, toBase64Url, utf8 } from './encoding.ts'

const bytes = (...values: number[]) => Uint8Array.from(values)

describe('fromBase64 accepts every form existing SDKs send', () => {
  it.each([
    ['standard, padded', 'AQ==', bytes(1)],
    ['standard, padded, with + and /', '+/8=', bytes(0xfb, 0xff)],
    ['standard, unpadded', 'AQ', bytes(1)],
    ['standard, unpadded, with + and /', '+/8', bytes(0xfb, 0xff)],
    ['base64url, padded', '-_8=', bytes(0xfb, 0xff)],
    ['base64url, unpadded', '-_8', bytes(0xfb, 0xff)],
    ['a whole group, no padding needed', 'AQID', bytes(1, 2, 3)],
    ['two padding characters', 'AAE=', bytes(0, 1)],
    ['the empty string (no bytes; callers refuse by length)', '', bytes()],
  ])('%s: %s', (_label, text, expected) => {
    expect(fromBase64(text)).toEqual(expected)
  })

  it('round-trips any bytes in all four spellings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
        const standard = toBase64(data)
        const url = toBase64Url(data)
        const padding = '='.repeat((4 - (url.length % 4)) % 4)
        for (const spelling of [standard, standard.replace(/=+$/, ''), url, url + padding]) {
          expect(fromBase64(spelling)).toEqual(data)
        }
      }),
    )
  })
})

describe('fromBase64 returns null', () => {
  it.each([
    ['a space (a + turned into a space in a query string is the caller’s to restore)', 'A Q=='],
    ['a trailing newline', 'AQID\n'],
    ['a leading space', ' AQID'],
    ['a dot', 'AQ.D'],
    ['a percent-escape', 'AQ%3D%3D'],
    ['non-ASCII', 'AQIé'],
    ['both alphabets at once', '+_8'],
    ['both alphabets at once, padded', '-/8='],
    ['padding in the middle', 'AQ==AQ=='],
    ['only padding', '===='],
    ['one padding character too few', 'AQ='],
    ['one padding character too many', 'AQI=='],
    ['a single character (bad length)', 'A'],
    ['five characters (bad length)', 'AAAAA'],
    ['non-zero padding bits, padded', 'AR=='],
    ['non-zero padding bits, unpadded', 'AR'],
    ['non-zero padding bits in a two-byte tail', 'AAF='],
    ['non-zero padding bits, base64url', '-_9'],
  ])('for %s', (_label, text) => {
    expect(fromBase64(text)).toBeNull()
  })
})

describe('toBase64 / toBase64Url', () => {
  it('writes standard base64 with padding', () => {
    expect(toBase64(bytes())).toBe('')
    expect(toBase64(bytes(1))).toBe('AQ==')
    expect(toBase64(bytes(0xfb, 0xff))).toBe('+/8=')
    expect(toBase64(utf8('Countersign'))).toBe('Q291bnRlcnNpZ24=')
  })

  it('writes base64url without padding', () => {
    expect(toBase64Url(bytes())).toBe('')
    expect(toBase64Url(bytes(1))).toBe('AQ')
    expect(toBase64Url(bytes(0xfb, 0xff))).toBe('-_8')
    expect(toBase64Url(utf8('Countersign'))).toBe('Q291bnRlcnNpZ24')
  })

  it('agrees with Node for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
        expect(toBase64(data)).toBe(Buffer.from(data).toString('base64'))
        expect(toBase64Url(data)).toBe(Buffer.from(data).toString('base64url'))
      }),
    )
  })
})

describe('utf8', () => {
  it('encodes text as UTF-8', () => {
    expect(utf8('é€')).toEqual(bytes(0xc3, 0xa9, 0xe2, 0x82, 0xac))
  })
})
