// What a device signs. Existing mobile SDKs fixed these formats; the server and our client
// SDK build them from here so the two never drift.

/** Seconds in one time bucket of the remove-credential message. */
export const TIME_BUCKET_SECONDS = 600

/** The bucket number signed to remove a credential: floor(unix seconds / 600). */
export function timeBucket(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TIME_BUCKET_SECONDS)
}

/**
 * The remove-credential messages accepted at `nowMs`: the current and previous bucket, each
 * as mobile SDKs render it (`2978333.0`) and as a plain integer (`2978333`).
 */
export function acceptedTimeBucketMessages(nowMs: number): string[] {
  const current = timeBucket(nowMs)
  return [current, current - 1].flatMap((bucket) => [`${bucket}.0`, `${bucket}`])
}

/** The message our SDK signs to remove a credential (the form mobile SDKs use). */
export function removeCredentialMessage(nowMs: number): string {
  return `${timeBucket(nowMs)}.0`
}
