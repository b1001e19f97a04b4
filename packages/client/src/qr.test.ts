import decodeQR from 'qr/decode.js'
import { describe, expect, it } from 'vitest'
import { challengeIdFromQrPayload, qrModules, qrPayload, qrSvg } from './qr.ts'

const CHALLENGE_ID = '3f1c1e0a-9d1b-4e53-a1d5-6f0d2c7b8e11'

/**
 * Draws an SVG made by qrSvg into RGBA pixels, `scale` per module, from its background rect
 * and path alone (as a browser would paint it), so the test reads what a camera would see.
 */
function rasterise(svg: string, scale = 4): { width: number; height: number; data: Uint8ClampedArray } {
  const extent = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)?.[1])
  const light = /<rect [^>]*fill="([^"]+)"/.exec(svg)?.[1]
  expect(light).toBe('#fff')
  const d = /<path fill="#000" d="([^"]*)"/.exec(svg)?.[1] ?? ''
  const dark = new Set<string>()
  for (const [, x, y, run] of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    for (let i = 0; i < Number(run); i++) dark.add(`${Number(x) + i},${y}`)
  }
  expect(d.replace(/M(\d+) (\d+)h(\d+)v1h-\3z/g, '')).toBe('') // nothing but runs
  const width = extent * scale
  const data = new Uint8ClampedArray(width * width * 4)
  for (let py = 0; py < width; py++) {
    for (let px = 0; px < width; px++) {
      const value = dark.has(`${Math.floor(px / scale)},${Math.floor(py / scale)}`) ? 0 : 255
      data.set([value, value, value, 255], (py * width + px) * 4)
    }
  }
  return { width, height: width, data }
}

describe('qrPayload and challengeIdFromQrPayload', () => {
  it('is the challenge ID itself by default', () => {
    expect(qrPayload({ challengeId: CHALLENGE_ID })).toBe(CHALLENGE_ID)
    expect(challengeIdFromQrPayload(CHALLENGE_ID)).toBe(CHALLENGE_ID)
  })

  it.each([
    ['https://bank.example/qr', `https://bank.example/qr?challengeId=${CHALLENGE_ID}`],
    ['https://bank.example/qr?source=web', `https://bank.example/qr?source=web&challengeId=${CHALLENGE_ID}`],
    ['https://bank.example/qr?', `https://bank.example/qr?challengeId=${CHALLENGE_ID}`],
    ['examplebank://approve', `examplebank://approve?challengeId=${CHALLENGE_ID}`],
  ])('adds challengeId to %s, and reads it back', (baseUrl, expected) => {
    const payload = qrPayload({ challengeId: CHALLENGE_ID, baseUrl })
    expect(payload).toBe(expected)
    expect(challengeIdFromQrPayload(payload)).toBe(CHALLENGE_ID)
  })

  it('escapes an ID with URL characters', () => {
    const payload = qrPayload({ challengeId: 'a+b/c=d&e', baseUrl: 'https://bank.example/qr' })
    expect(payload).toBe('https://bank.example/qr?challengeId=a%2Bb%2Fc%3Dd%26e')
    expect(challengeIdFromQrPayload(payload)).toBe('a+b/c=d&e')
  })

  it('refuses a base URL that is not absolute or has a fragment', () => {
    expect(() => qrPayload({ challengeId: CHALLENGE_ID, baseUrl: '/qr' })).toThrow(TypeError)
    expect(() => qrPayload({ challengeId: CHALLENGE_ID, baseUrl: 'https://bank.example/#/qr' })).toThrow(TypeError)
    expect(() => qrPayload({ challengeId: '' })).toThrow(TypeError)
  })

  it.each(['https://bank.example/qr?other=1', 'https://bank.example/qr?challengeId=', 'two words', '', 'https://x/?challengeId=%E0'])(
    'finds no challenge ID in %j',
    (payload) => {
      expect(challengeIdFromQrPayload(payload)).toBeUndefined()
    },
  )

  it('ignores a fragment and other parameters', () => {
    expect(challengeIdFromQrPayload(` https://bank.example/qr?x=1&challengeId=${CHALLENGE_ID}#top \n`)).toBe(CHALLENGE_ID)
  })
})

describe('qrSvg', () => {
  it.each([
    ['a bare challenge ID', qrPayload({ challengeId: CHALLENGE_ID })],
    ['a link', qrPayload({ challengeId: CHALLENGE_ID, baseUrl: 'https://bank.example/qr' })],
  ])('draws %s as a code a scanner reads back', (_name, payload) => {
    const svg = qrSvg(payload)
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+" shape-rendering="crispEdges" role="img">/)
    expect(decodeQR(rasterise(svg))).toBe(payload)
  })

  it('keeps a quiet zone of four modules by default', () => {
    const modules = qrModules(CHALLENGE_ID)
    const svg = qrSvg(CHALLENGE_ID)
    expect(svg).toContain(`viewBox="0 0 ${modules.length + 8} ${modules.length + 8}"`)
    // The top-left finder pattern starts at (4, 4).
    expect(svg).toContain('d="M4 4h7v1h-7z')
    expect(qrSvg(CHALLENGE_ID, { margin: 0 })).toContain('d="M0 0h7v1h-7z')
  })

  it('takes a size, colours and a title, escaped', () => {
    const svg = qrSvg(CHALLENGE_ID, { size: 240, dark: '#123', light: 'white', title: 'Scan <me> & "sign in"' })
    expect(svg).toContain(' width="240" height="240"')
    expect(svg).toContain('<title>Scan &#60;me&#62; &#38; &#34;sign in&#34;</title>')
    expect(svg).toContain('<rect width=')
    expect(svg).toContain('fill="white"')
    expect(svg).toContain('<path fill="#123"')
    expect(qrSvg(CHALLENGE_ID, { dark: '"/><script>' })).not.toContain('<script>')
  })

  it('refuses an empty payload and a bad margin', () => {
    expect(() => qrSvg('')).toThrow(TypeError)
    expect(() => qrSvg(CHALLENGE_ID, { margin: -1 })).toThrow(RangeError)
    expect(() => qrSvg(CHALLENGE_ID, { margin: 1.5 })).toThrow(RangeError)
  })
})
