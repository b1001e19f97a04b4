// Cursors for pages of a time-ordered list: the (time, ID) of the last item shown, opaque to callers.
import { ApiError } from './errors.ts'

export interface Page<T> {
  items: T[]
  nextCursor?: string
}

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url')
}

/** Throws 400 invalid_request for a cursor this server did not make. */
export function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(at)) && id.length <= 255)
      return { at: new Date(at), id }
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
