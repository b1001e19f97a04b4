import type { ConditionErrorDetails, ErrorCode } from '@countersign/protocol'

/**
 * Codes this SDK raises itself, for failures that never produced a server answer (or produced
 * one it could not read). They never collide with the server registry in `packages/protocol`.
 */
export type SdkErrorCode =
  /** The request did not reach the server or its answer was cut off. `statusCode` is 0. */
  | 'network_error'
  /** An attempt took longer than `timeoutMs`. `statusCode` is 0. */
  | 'timeout'
  /** The server answered, but not with the JSON this method expects. */
  | 'invalid_response'
  /** The SDK refused to send the call (e.g. a path segment that HTTP cannot carry). `statusCode` is 0. */
  | 'invalid_argument'
  /**
   * A webhook delivery's signature is missing, malformed, outside the time tolerance or wrong
   * (`webhooks.verify`). Answer the request with a 4xx and do not act on it. `statusCode` is 0.
   */
  | 'invalid_webhook_signature'

/**
 * A server code from the registry, an SDK code, or a code a newer server sends that this
 * version does not know yet (hence the open `string`).
 */
export type CountersignErrorCode = ErrorCode | SdkErrorCode | (string & {})

/**
 * Structured facts the server sends with some refusals, as it sent them. For
 * `invalid_rule_condition`: the CEL compiler's `message`, and where the condition went wrong
 * (`position` counts characters from 0; `line` and `column` from 1). A condition that names a
 * value list that does not exist has only `message`.
 */
export type CountersignErrorDetails = Readonly<Partial<ConditionErrorDetails> & Record<string, unknown>>

// Symbol.for, not a module-local symbol: two copies of this package in one process (or an
// error crossing a realm) must still recognise each other's errors.
const brand = Symbol.for('countersign.error')

export interface CountersignErrorInit {
  /** HTTP status of the answer; 0 when there was no answer (network error, timeout, refused call). */
  statusCode: number
  errorCode: CountersignErrorCode
  errorDescription?: string | undefined
  /** The error body's `details`, when the server sent any. */
  details?: CountersignErrorDetails | undefined
  cause?: unknown
}

/**
 * Every failure of a `Countersign` or `CountersignManagement` call: a server error answer, a
 * network error, a timeout, or an answer the SDK could not read. Branch on `errorCode`, not on
 * the message.
 *
 * `cause` holds the underlying error (e.g. the `TypeError` thrown by `fetch`); it is not part
 * of `message` and, like the standard `Error#cause`, is not enumerable.
 *
 * @example
 * try {
 *   await countersign.getUser({ userId })
 * } catch (e) {
 *   if (isCountersignError(e) && e.errorCode === 'not_found') return null
 *   throw e
 * }
 */
export class CountersignError extends Error {
  override readonly name = 'CountersignError'
  /** HTTP status of the answer; 0 when there was none (`network_error`, `timeout`, `invalid_argument`). */
  readonly statusCode: number
  /** Stable machine-readable code: the server's `errorCode`, or one of {@link SdkErrorCode}. */
  readonly errorCode: CountersignErrorCode
  /** Human-readable description, safe to log; never contains the secret key. */
  readonly errorDescription: string | undefined
  /**
   * Structured facts about the refusal, for the codes that have them; `undefined` otherwise.
   * For `invalid_rule_condition`: `message`, `position`, `line`, `column` (see
   * {@link CountersignErrorDetails}). Never contains the key.
   */
  readonly details: CountersignErrorDetails | undefined

  constructor(init: CountersignErrorInit) {
    super(formatMessage(init), init.cause === undefined ? undefined : { cause: init.cause })
    this.statusCode = init.statusCode
    this.errorCode = init.errorCode
    this.errorDescription = init.errorDescription
    this.details = init.details
    // A symbol key is skipped by JSON.stringify and util.inspect's default output stays tidy.
    Object.defineProperty(this, brand, { value: true })
  }
}

/**
 * Whether `value` is a {@link CountersignError}. Works without `instanceof`, so it also
 * recognises errors from another copy of this package or another realm.
 *
 * @example
 * catch (e) {
 *   if (isCountersignError(e) && e.errorCode === 'too_many_requests') await backOff()
 * }
 */
export function isCountersignError(value: unknown): value is CountersignError {
  return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true
}

function formatMessage({ statusCode, errorCode, errorDescription }: CountersignErrorInit): string {
  const status = statusCode > 0 ? ` (HTTP ${statusCode})` : ''
  const description = errorDescription !== undefined && errorDescription.length > 0 ? `: ${errorDescription}` : ''
  return `${errorCode}${status}${description}`
}
