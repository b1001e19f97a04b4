// What every SDK method resolves to. Like the official mobile SDKs, methods never throw for an
// API, network or key-store failure: the caller branches on `error` / `errorCode`.

/**
 * Either `data`, or `error` (a message fit to log, never holding a token, key or signature)
 * with a stable `errorCode`.
 *
 * @example
 * const result = await client.inapp.verify()
 * if (result.error !== undefined) return showFailure(result.errorCode)
 * await sendToBackend(result.data.token)
 */
export type Result<T> = Success<T> | Failure

export interface Success<T> {
  data: T
  error?: undefined
  errorCode?: undefined
  status?: undefined
  cause?: undefined
}

export interface Failure {
  data?: undefined
  /** Human-readable: the server's `errorDescription`, or the SDK's own explanation. */
  error: string
  /** A server error code (PROTOCOL.md §1, e.g. `invalid_signature`) or a {@link ClientErrorCode}. */
  errorCode: string
  /** The HTTP status, when the failure is a server answer. */
  status?: number
  /** The underlying exception (network or key store), for logging. */
  cause?: unknown
}

/** Codes the SDK itself produces, beside the server's own. */
export const clientErrorCodes = {
  /** `fetch` threw: offline, DNS, TLS, CORS refused, aborted. */
  network_error: 'The server could not be reached.',
  /** The server answered with something that is not a Countersign response (wrong baseUrl?). */
  api_error: 'The server gave an unexpected answer.',
  /** The key store failed (its message says why). */
  key_store_error: 'The device key store failed.',
  /** The user declined the biometric, passcode or app confirmation for a signature. */
  user_cancelled: 'The user cancelled.',
  /** addCredential was called with no token, and none was set with setToken. */
  token_not_set: 'No token: pass one or call setToken first.',
  /** verify or removeCredential needs a device key, and there is none for this namespace. */
  credential_not_found: 'This device has no credential.',
  /** The call was cancelled through its AbortSignal. */
  aborted: 'The operation was cancelled.',
  /** The user denied the push or QR request on their phone. */
  challenge_rejected: 'The request was denied on the phone.',
  /** The challenge was approved, but its token was already handed to another poll or stream. */
  token_already_issued: 'The approval’s token was already handed out.',
  /** updateChallenge was given a challenge ID that is not this device's pending challenge. */
  challenge_not_found: 'This device has no such pending challenge.',
} as const

export type ClientErrorCode = keyof typeof clientErrorCodes

export function success<T>(data: T): Success<T> {
  return { data }
}

export function failure(errorCode: string, error: string, extra: { status?: number; cause?: unknown } = {}): Failure {
  const result: Failure = { error, errorCode }
  if (extra.status !== undefined) result.status = extra.status
  if (extra.cause !== undefined) result.cause = extra.cause
  return result
}

export function clientFailure(errorCode: ClientErrorCode, extra: { cause?: unknown; error?: string } = {}): Failure {
  return failure(errorCode, extra.error ?? clientErrorCodes[errorCode], { cause: extra.cause })
}
