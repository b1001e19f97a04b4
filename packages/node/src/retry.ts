// When a failed attempt may be repeated, and how long to wait first. Whether a *call* may be
// repeated at all (is it idempotent?) is decided per method in countersign.ts.

/** Longest `Retry-After` the SDK waits for; a longer one ends the call with the error instead. */
export const MAX_RETRY_AFTER_MS = 5_000

/** First back-off step; each further retry doubles it. */
const BASE_DELAY_MS = 100

/**
 * Delay before retry number `retry` (0 for the first retry): exponential back-off with
 * "equal jitter", i.e. within [50, 100] ms, then [100, 200] ms, [200, 400] ms, …
 * Jitter keeps many backends that failed together from retrying in lockstep.
 *
 * @example
 * backoffDelay(1, () => 1) // 200
 */
export function backoffDelay(retry: number, random: () => number = Math.random): number {
  const step = BASE_DELAY_MS * 2 ** retry
  return Math.round(step / 2 + (random() * step) / 2)
}

/**
 * Statuses worth repeating an idempotent call for: the server (or a proxy in front of it)
 * was overloaded, restarting or timed out. 4xx answers other than 408 and 429 are final.
 *
 * @example
 * isRetryableStatus(503) // true
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599)
}

/**
 * Milliseconds a `Retry-After` header asks to wait, from either of its forms (delta seconds
 * or an HTTP date); `undefined` when absent or unreadable.
 *
 * @example
 * parseRetryAfter('2') // 2000
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // Only an HTTP date (IMF-fixdate or RFC 850, both in GMT): V8's lenient Date.parse would
  // otherwise read "-1" or "1.5" as dates in 2001.
  if (!/^[A-Za-z]{3,9}, [\w -]+ \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined
  const date = Date.parse(text)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}
