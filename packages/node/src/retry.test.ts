import { describe, expect, it } from 'vitest'
import { backoffDelay, isRetryableStatus, parseRetryAfter } from './retry.ts'

describe('backoffDelay', () => {
  it('doubles each retry and jitters within [step/2, step]', () => {
    expect([0, 1, 2].map((retry) => backoffDelay(retry, () => 0))).toEqual([50, 100, 200])
    expect([0, 1, 2].map((retry) => backoffDelay(retry, () => 1))).toEqual([100, 200, 400])
    expect(backoffDelay(1, () => 0.5)).toBe(150)
  })

  it('stays in range with the default random source', () => {
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelay(0)
      expect(delay).toBeGreaterThanOrEqual(50)
      expect(delay).toBeLessThanOrEqual(100)
    }
  })
})

describe('isRetryableStatus', () => {
  it.each([408, 429, 500, 502, 503, 504])('retries %i', (status) => {
    expect(isRetryableStatus(status)).toBe(true)
  })
  it.each([200, 400, 401, 403, 404, 409, 410, 413, 422, 423])('does not retry %i', (status) => {
    expect(isRetryableStatus(status)).toBe(false)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z')

  it('reads delta seconds', () => {
    expect(parseRetryAfter('2', now)).toBe(2000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
  })

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:03 GMT', now)).toBe(3000)
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0)
  })

  it('reads the obsolete RFC 850 date form', () => {
    expect(parseRetryAfter('Wednesday, 01-Jan-25 00:00:05 GMT', now)).toBe(5000)
  })

  // Regression: V8's lenient Date.parse reads "-1" and "1.5" as dates in 2001.
  it('ignores an absent or unreadable header', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined()
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter('-1', now)).toBeUndefined()
    expect(parseRetryAfter('1.5', now)).toBeUndefined()
  })
})
