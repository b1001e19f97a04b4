import { errorCodes, type ErrorCode } from '@countersign/protocol'

/**
 * A refusal with a stable wire code, the public message sent to the caller and an internal
 * detail that is logged but never sent. Anything thrown that is not an ApiError becomes a
 * generic 500.
 * @example throw new ApiError('challenge_consumed', 'This challenge has already been used', { challenge: 'nonce…' })
 */
export class ApiError extends Error {
  override name = 'ApiError'
  readonly status: number
  constructor(
    readonly code: ErrorCode,
    message: string = errorCodes[code].description,
    readonly detail?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
    /** Facts safe to send with the refusal (a CEL error's position); never a secret. */
    readonly publicDetails?: Record<string, unknown>,
  ) {
    super(message)
    this.status = errorCodes[code].status
  }
}

export function assertNever(value: never): never {
  throw new Error(`Unhandled case: ${String(value)}`)
}
