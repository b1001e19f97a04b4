// Reading command-line numbers the same way in every benchmark script.

/** A bad flag: the script prints it with its usage and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export function positiveNumber(flag: string, text: string, { allowZero = false } = {}): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !allowZero)) throw new UsageError(`${flag} must be a positive number (got "${text}")`)
  return value
}

export function positiveInteger(flag: string, text: string): number {
  const value = positiveNumber(flag, text)
  if (!Number.isInteger(value)) throw new UsageError(`${flag} must be a whole number (got "${text}")`)
  return value
}
