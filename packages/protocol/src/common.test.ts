import { describe, expect, it } from 'vitest'
import { CustomData, isStorableJson, isStorableText, MAX_CUSTOM_DEPTH } from './common.ts'

describe('isStorableText', () => {
  it('accepts any well-formed Unicode, surrogate pairs included', () => {
    for (const text of ['', 'plain', 'é', '🙂', 'a🙂b', '\u{10ffff}', '\ufffd', '\u0001']) expect(isStorableText(text), text).toBe(true)
  })

  it('refuses NUL and lone surrogates, which PostgreSQL text and jsonb cannot hold (found by fuzzing)', () => {
    for (const text of ['\u0000', 'a\u0000b', '\ud800', 'a\udc00', '\udc00\ud800', '🙂'.slice(0, 1), `x${'🙂'.slice(1)}`]) {
      expect(isStorableText(text), JSON.stringify(text)).toBe(false)
    }
  })
})

describe('isStorableJson and CustomData', () => {
  const nested = (depth: number): unknown => {
    let value: unknown = 1
    for (let i = 0; i < depth; i++) value = [value]
    return value
  }

  it('accepts custom data nested up to the limit and refuses one level more', () => {
    expect(CustomData.safeParse({ a: nested(MAX_CUSTOM_DEPTH - 1) }).success).toBe(true)
    expect(CustomData.safeParse({ a: nested(MAX_CUSTOM_DEPTH) }).success).toBe(false)
  })

  it('answers false, without overflowing its own stack, for nesting deep enough to break JSON.stringify (found by fuzzing)', () => {
    expect(isStorableJson(nested(200_000), MAX_CUSTOM_DEPTH)).toBe(false)
  })

  it('looks at nested keys and strings too', () => {
    expect(isStorableJson({ a: [{ b: 'ok' }] }, 8)).toBe(true)
    expect(isStorableJson({ a: [{ 'b\u0000': 'ok' }] }, 8)).toBe(false)
    expect(isStorableJson({ a: [{ b: '\ud800' }] }, 8)).toBe(false)
  })
})
