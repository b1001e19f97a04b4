import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { acceptedTimeBucketMessages, removeCredentialMessage, TIME_BUCKET_SECONDS, timeBucket } from './messages.ts'

// PROTOCOL.md's example bucket: 2978333 × 600 s.
const BUCKET = 2978333
const BUCKET_START_MS = BUCKET * 600 * 1000

describe('timeBucket', () => {
  it('is floor(unix seconds / 600)', () => {
    expect(TIME_BUCKET_SECONDS).toBe(600)
    expect(timeBucket(BUCKET_START_MS)).toBe(BUCKET)
    expect(timeBucket(BUCKET_START_MS + 599_999)).toBe(BUCKET)
    expect(timeBucket(BUCKET_START_MS + 600_000)).toBe(BUCKET + 1)
    expect(timeBucket(BUCKET_START_MS - 1)).toBe(BUCKET - 1)
    expect(timeBucket(0)).toBe(0)
  })

  it('matches integer arithmetic for any millisecond, at bucket edges too', () => {
    const exact = (ms: number) => Number(BigInt(ms) / 1000n / 600n)
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 45n }), (big) => {
        const ms = Number(big)
        expect(timeBucket(ms)).toBe(exact(ms))
      }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50_000_000 }), fc.integer({ min: -1, max: 1 }), (bucket, offset) => {
        const ms = bucket * 600_000 + offset
        expect(timeBucket(ms)).toBe(exact(ms))
      }),
    )
  })
})

describe('acceptedTimeBucketMessages', () => {
  it('holds the current and previous bucket, each with and without .0', () => {
    const messages = acceptedTimeBucketMessages(BUCKET_START_MS + 123_456)
    expect(messages).toHaveLength(4)
    expect(new Set(messages)).toEqual(new Set(['2978333.0', '2978333', '2978332.0', '2978332']))
  })

  it('moves on at the bucket boundary', () => {
    expect(acceptedTimeBucketMessages(BUCKET_START_MS - 1)).not.toContain('2978333.0')
    expect(acceptedTimeBucketMessages(BUCKET_START_MS)).toContain('2978333.0')
    expect(acceptedTimeBucketMessages(BUCKET_START_MS + 600_000)).toContain('2978333.0')
    expect(acceptedTimeBucketMessages(BUCKET_START_MS + 1_200_000)).not.toContain('2978333.0')
    expect(acceptedTimeBucketMessages(BUCKET_START_MS + 1_200_000)).not.toContain('2978333')
  })
})

describe('removeCredentialMessage', () => {
  it('renders the bucket as mobile SDKs do, with .0', () => {
    expect(removeCredentialMessage(BUCKET_START_MS)).toBe('2978333.0')
    expect(removeCredentialMessage(BUCKET_START_MS + 599_999)).toBe('2978333.0')
  })

  it('is accepted in its own bucket and the next one, not later', () => {
    const signedAt = BUCKET_START_MS + 599_999
    const message = removeCredentialMessage(signedAt)
    expect(acceptedTimeBucketMessages(signedAt)).toContain(message)
    expect(acceptedTimeBucketMessages(signedAt + 600_000)).toContain(message)
    expect(acceptedTimeBucketMessages(signedAt + 1_200_000)).not.toContain(message)
  })
})
