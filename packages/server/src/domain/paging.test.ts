import { describe, expect, it } from 'vitest'
import { decodeCursor, encodeCursor } from './paging.ts'
import { ApiError } from './errors.ts'

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const refused = (cursor: string, options?: { uuid?: boolean }) => {
  try {
    decodeCursor(cursor, options)
  } catch (error) {
    return error instanceof ApiError && error.code === 'invalid_request'
  }
  return false
}

describe('decodeCursor', () => {
  it('reads back what encodeCursor wrote', () => {
    const at = new Date('2026-11-29T12:00:00.123Z')
    expect(decodeCursor(encodeCursor(at, 'user-1 🙂'))).toEqual({ at, id: 'user-1 🙂' })
    const id = '0b4f2d7e-3c1a-4e5b-8f6d-9a8b7c6d5e4f'
    expect(decodeCursor(encodeCursor(at, id), { uuid: true })).toEqual({ at, id })
  })

  it('refuses cursors no row could have produced, before they reach the database', () => {
    const at = '2026-01-01T00:00:00.000Z'
    for (const cursor of [
      'garbage',
      cursorOf([at]),
      cursorOf([at, 7]),
      cursorOf(['yesterday', 'x']),
      cursorOf(['-271821-04-20T00:00:00.000Z', 'x']),
      cursorOf(['+275760-09-13T00:00:00.000Z', 'x']),
      cursorOf([at, 'a\u0000b']),
      cursorOf([at, 'x\ud800y']),
      cursorOf([at, 'z'.repeat(256)]),
    ]) {
      expect(refused(cursor), cursor).toBe(true)
    }
    expect(refused(cursorOf([at, 'not-a-uuid']), { uuid: true })).toBe(true)
    expect(refused(cursorOf([at, 'not-a-uuid']))).toBe(false)
  })
})
