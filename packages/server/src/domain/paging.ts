// Cursors for pages of a time-ordered list: the (time, ID) of the last item shown, opaque to callers.
import { ApiError } from './errors.ts'

export interface Page<T> {
  items: T[]
  nextCursor?: string
}

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url')
}

// Times PostgreSQL can store (years 1 to 9999): a cursor's time is compared with a column.
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z')
const LATEST = Date.parse('9999-12-31T23:59:59.999Z')
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * Throws 400 invalid_request for a cursor this server did not make: not the shape it writes,
 * a time outside what the database stores, or an ID no row could have (text PostgreSQL
 * refuses, like NUL or a lone surrogate; not a UUID where the list's IDs are UUIDs).
 */
export function decodeCursor(cursor: string, options: { uuid?: boolean } = {}): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof at === 'string' && typeof id === 'string') {
      const time = Date.parse(at)
      const storable = id.length <= 255 && !id.includes('\u0000') && !/\p{Cs}/u.test(id)
      if (time >= EARLIEST && time <= LATEST && storable && (!options.uuid || UUID.test(id))) return { at: new Date(time), id }
    }
  } catch {
    // Falls through to the refusal below.
  }
  throw new ApiError('invalid_request', 'cursor is not one this server returned')
}

/** A page of `limit` items from `rows` (fetched with limit + 1), with the cursor for the next. */
export function pageOf<R, T>(rows: R[], limit: number, toItem: (row: R) => T, cursorOf: (row: R) => string): Page<T> {
  const items = rows.slice(0, limit).map(toItem)
  const last = rows.length > limit ? rows[limit - 1] : undefined
  return { items, ...(last !== undefined ? { nextCursor: cursorOf(last) } : {}) }
}
