import type {
  ActionResponse,
  Authenticator,
  QueryUserActionsResponse,
  QueryUsersResponse,
  TrackRequest,
  TrackResponse,
  UpdateActionRequest,
  UpdateUserRequest,
  UpdateUserResponse,
  UserResponse,
  ValidateResponse,
  ActionState,
} from '@countersign/protocol'
import { CountersignError, type CountersignErrorCode } from './errors.ts'
import { backoffDelay, isRetryableStatus, MAX_RETRY_AFTER_MS, parseRetryAfter } from './retry.ts'
import { Webhooks } from './webhooks.ts'

/** This package's version, sent in `User-Agent: countersign-node/<version>`. */
export const VERSION = '0.1.0'

const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_RETRIES = 2

export interface CountersignOptions {
  /** The tenant's secret key. Sent as the HTTP Basic username; never put in an error. */
  secretKey: string
  /**
   * Base URL of the Server API, including `/v1`, e.g. `http://127.0.0.1:8080/v1`. A trailing
   * slash is ignored; a URL with no path gets `/v1` appended.
   */
  apiUrl: string
  /** Time allowed for each attempt, answer body included (ms). Default 10 000. */
  timeoutMs?: number
  /** How many times an idempotent call is repeated after a transient failure. Default 2. */
  retries?: number
  /** The `fetch` to use. Default: the global `fetch`, looked up at each call. */
  fetch?: typeof fetch
  /** Waits between retries. Default `setTimeout`; tests inject one that does not sleep. */
  sleep?: (ms: number) => Promise<void>
  /** The webhook endpoint's signing secret (`whsec_…`), for {@link Countersign.webhooks}. */
  webhookSecret?: string
  /** How far a webhook's signed timestamp may be from the local clock, either way (s). Default 300. */
  webhookToleranceSeconds?: number
}

export interface TrackParams {
  userId: string
  action: string
  /** Optional request fields; pass `idempotencyKey` to make the call safe to retry. */
  attributes?: TrackRequest
}

export interface ValidateChallengeParams {
  token: string
  /** When given, the token must belong to this user. */
  userId?: string
  /** When given, the token must be for this action code. */
  action?: string
}

export interface GetActionParams {
  userId: string
  action: string
  idempotencyKey: string
}

export interface UpdateActionParams extends GetActionParams {
  attributes: UpdateActionRequest
}

export interface QueryUserActionsParams {
  userId: string
  /** Start of the window (ISO 8601 or a `Date`); the server allows at most 30 days back. */
  fromDate?: string | Date
  /** Only these action codes. */
  actionCodes?: string[]
  /** Only actions in this state. */
  state?: ActionState
}

export interface GetUserParams {
  userId: string
}

export interface UpdateUserParams {
  userId: string
  /** Fields to set; omitted fields are left unchanged. */
  attributes: UpdateUserRequest
}

export type DeleteUserParams = GetUserParams
export type GetAuthenticatorsParams = GetUserParams

export interface QueryUsersParams {
  username?: string
  email?: string
  phoneNumber?: string
  /** Page size, 1 to 100 (server default 20). */
  limit?: number
  /** `lastEvaluatedUserId` of the previous page. */
  lastEvaluatedUserId?: string
}

export interface DeleteAuthenticatorParams {
  userId: string
  userAuthenticatorId: string
}

/** What {@link Countersign.validateChallenge} returns: `action` and `actionCode` carry the same value. */
export type ValidateChallengeResponse = ValidateResponse

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

interface Call {
  method: Method
  /** Path below the base URL, segments already encoded. */
  path: string
  query?: URLSearchParams
  body?: unknown
  /** Whether repeating the call cannot do anything twice; only such calls are retried. */
  idempotent: boolean
  /** Whether the caller needs a JSON answer (false: the answer body is ignored). */
  expectsBody: boolean
}

type Attempt =
  | { ok: true; body: unknown }
  | { ok: false; error: CountersignError; retryable: boolean; retryAfterMs?: number | undefined }

/**
 * Server SDK for tenant backends: tracks actions, validates challenge tokens and manages
 * users and their authenticators over the Countersign Server API (secret key). Method names
 * and shapes follow `@authsignal/node`, so switching is a matter of changing the import.
 *
 * Every method rejects with a {@link CountersignError} on failure.
 *
 * @example
 * const countersign = new Countersign({
 *   secretKey: process.env.COUNTERSIGN_SECRET_KEY!,
 *   apiUrl: 'http://127.0.0.1:8080/v1',
 * })
 */
export class Countersign {
  /**
   * Verifies webhook deliveries with `webhookSecret` (or a secret passed to `verify`).
   *
   * @example
   * const event = countersign.webhooks.verify(rawBody, req.headers)
   */
  readonly webhooks: Webhooks

  // Private fields: the key must not show up in console.log(countersign) or JSON.stringify.
  readonly #secretKey: string
  readonly #authorization: string
  readonly #baseUrl: string
  readonly #timeoutMs: number
  readonly #retries: number
  readonly #fetch: typeof fetch
  readonly #sleep: (ms: number) => Promise<void>

  constructor(options: CountersignOptions) {
    const { secretKey, apiUrl, timeoutMs = DEFAULT_TIMEOUT_MS, retries = DEFAULT_RETRIES } = options
    if (typeof secretKey !== 'string' || secretKey.length === 0) {
      throw new TypeError('Countersign: secretKey is required')
    }
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new TypeError('Countersign: timeoutMs must be a positive number')
    }
    if (!(Number.isInteger(retries) && retries >= 0)) {
      throw new TypeError('Countersign: retries must be a non-negative integer')
    }
    this.#secretKey = secretKey
    this.#authorization = `Basic ${base64(`${secretKey}:`)}`
    this.#baseUrl = normaliseApiUrl(apiUrl)
    this.#timeoutMs = timeoutMs
    this.#retries = retries
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
    this.webhooks = new Webhooks({ secret: options.webhookSecret, toleranceSeconds: options.webhookToleranceSeconds })
  }

  /**
   * Tracks an action for a user and returns the decision: `state` (`ALLOW`, `BLOCK`,
   * `CHALLENGE_REQUIRED`, …) and a short-lived `token` for the device SDK. Creates the user on
   * first use. Retried after a transient failure only when `attributes.idempotencyKey` is given,
   * since without one a repeat would track a second action.
   *
   * @example
   * const { state, token } = await countersign.track({
   *   userId: 'user-42',
   *   action: 'authorizePayment',
   *   attributes: { idempotencyKey: paymentId, ipAddress: req.ip },
   * })
   * if (state === 'CHALLENGE_REQUIRED') return { challengeToken: token }
   */
  async track({ userId, action, attributes }: TrackParams): Promise<TrackResponse> {
    return (await this.#send({
      method: 'POST',
      path: `/users/${segment('userId', userId)}/actions/${segment('action', action)}`,
      body: attributes ?? {},
      idempotent: attributes?.idempotencyKey !== undefined,
      expectsBody: true,
    })) as TrackResponse
  }

  /**
   * Validates a token returned by the device after a challenge, and consumes it. Check
   * `isValid` and `state === 'CHALLENGE_SUCCEEDED'` before carrying out the action. A token
   * that does not validate is an answer (`isValid: false` with `error`), not a rejection.
   * Never retried: the first attempt may have consumed the token.
   *
   * The answer carries the action code as `action` (as `@authsignal/node` returns it) and as
   * `actionCode`.
   *
   * @example
   * const result = await countersign.validateChallenge({ token, userId: 'user-42', action: 'authorizePayment' })
   * if (!result.isValid || result.state !== 'CHALLENGE_SUCCEEDED') throw new Forbidden()
   */
  async validateChallenge({ token, userId, action }: ValidateChallengeParams): Promise<ValidateChallengeResponse> {
    const result = (await this.#send({
      method: 'POST',
      path: '/validate',
      body: { token, userId, action },
      idempotent: false,
      expectsBody: true,
    })) as ValidateResponse
    const actionCode = result.actionCode ?? result.action
    return actionCode === undefined ? result : { ...result, action: actionCode, actionCode }
  }

  /**
   * Reads one tracked action. Rejects with `errorCode: 'not_found'` (404) when there is no
   * such action, as `@authsignal/node` does.
   *
   * @example
   * const { state, rules } = await countersign.getAction({
   *   userId: 'user-42',
   *   action: 'authorizePayment',
   *   idempotencyKey,
   * })
   */
  async getAction({ userId, action, idempotencyKey }: GetActionParams): Promise<ActionResponse> {
    return (await this.#send({
      method: 'GET',
      path: actionPath(userId, action, idempotencyKey),
      idempotent: true,
      expectsBody: true,
    })) as ActionResponse
  }

  /**
   * Sets the state of a tracked action, e.g. after a manual review.
   *
   * @example
   * await countersign.updateAction({
   *   userId: 'user-42',
   *   action: 'authorizePayment',
   *   idempotencyKey,
   *   attributes: { state: 'REVIEW_SUCCEEDED' },
   * })
   */
  async updateAction({ userId, action, idempotencyKey, attributes }: UpdateActionParams): Promise<ActionResponse> {
    return (await this.#send({
      method: 'PATCH',
      path: actionPath(userId, action, idempotencyKey),
      body: { state: attributes.state },
      idempotent: true,
      expectsBody: true,
    })) as ActionResponse
  }

  /**
   * Lists a user's recent actions (the server's window is 30 days at most), optionally only
   * some action codes or one state.
   *
   * @example
   * const actions = await countersign.queryUserActions({
   *   userId: 'user-42',
   *   actionCodes: ['authorizePayment', 'changeEmail'],
   *   state: 'CHALLENGE_SUCCEEDED',
   * })
   */
  async queryUserActions({ userId, fromDate, actionCodes, state }: QueryUserActionsParams): Promise<QueryUserActionsResponse> {
    const query = new URLSearchParams()
    if (actionCodes !== undefined && actionCodes.length > 0) query.set('codes', actionCodes.join(','))
    if (fromDate !== undefined) query.set('fromDate', fromDate instanceof Date ? fromDate.toISOString() : fromDate)
    if (state !== undefined) query.set('state', state)
    return (await this.#send({
      method: 'GET',
      path: `/users/${segment('userId', userId)}/actions`,
      query,
      idempotent: true,
      expectsBody: true,
    })) as QueryUserActionsResponse
  }

  /**
   * Reads a user: enrollment, attributes and verification methods. Rejects with
   * `errorCode: 'not_found'` when the user has never been tracked.
   *
   * @example
   * const { isEnrolled, enrolledVerificationMethods } = await countersign.getUser({ userId: 'user-42' })
   */
  async getUser({ userId }: GetUserParams): Promise<UserResponse> {
    return (await this.#send({
      method: 'GET',
      path: `/users/${segment('userId', userId)}`,
      idempotent: true,
      expectsBody: true,
    })) as UserResponse
  }

  /**
   * Updates a user's attributes; omitted fields are left unchanged.
   *
   * @example
   * await countersign.updateUser({ userId: 'user-42', attributes: { email: 'ada@example.com' } })
   */
  async updateUser({ userId, attributes }: UpdateUserParams): Promise<UpdateUserResponse> {
    return (await this.#send({
      method: 'PATCH',
      path: `/users/${segment('userId', userId)}`,
      body: attributes,
      idempotent: true,
      expectsBody: true,
    })) as UpdateUserResponse
  }

  /**
   * Deletes a user with their authenticators and action history.
   *
   * @example
   * await countersign.deleteUser({ userId: 'user-42' })
   */
  async deleteUser({ userId }: DeleteUserParams): Promise<void> {
    await this.#send({
      method: 'DELETE',
      path: `/users/${segment('userId', userId)}`,
      idempotent: true,
      expectsBody: false,
    })
  }

  /**
   * Finds users by username, email or phone number, a page at a time.
   *
   * @example
   * let page = await countersign.queryUsers({ email: 'ada@example.com', limit: 50 })
   * while (page.lastEvaluatedUserId !== undefined) {
   *   page = await countersign.queryUsers({ email: 'ada@example.com', limit: 50, lastEvaluatedUserId: page.lastEvaluatedUserId })
   * }
   */
  async queryUsers(params: QueryUsersParams = {}): Promise<QueryUsersResponse> {
    const query = new URLSearchParams()
    const { username, email, phoneNumber, limit, lastEvaluatedUserId } = params
    if (username !== undefined) query.set('username', username)
    if (email !== undefined) query.set('email', email)
    if (phoneNumber !== undefined) query.set('phoneNumber', phoneNumber)
    if (limit !== undefined) query.set('limit', String(limit))
    if (lastEvaluatedUserId !== undefined) query.set('lastEvaluatedUserId', lastEvaluatedUserId)
    return (await this.#send({
      method: 'GET',
      path: '/users',
      query,
      idempotent: true,
      expectsBody: true,
    })) as QueryUsersResponse
  }

  /**
   * Lists a user's authenticators (enrolled devices).
   *
   * @example
   * const authenticators = await countersign.getAuthenticators({ userId: 'user-42' })
   * const locked = authenticators.filter((a) => a.isLocked)
   */
  async getAuthenticators({ userId }: GetAuthenticatorsParams): Promise<Authenticator[]> {
    return (await this.#send({
      method: 'GET',
      path: `/users/${segment('userId', userId)}/authenticators`,
      idempotent: true,
      expectsBody: true,
    })) as Authenticator[]
  }

  /**
   * Removes one of a user's authenticators, e.g. a lost phone.
   *
   * @example
   * await countersign.deleteAuthenticator({ userId: 'user-42', userAuthenticatorId })
   */
  async deleteAuthenticator({ userId, userAuthenticatorId }: DeleteAuthenticatorParams): Promise<void> {
    await this.#send({
      method: 'DELETE',
      path: `/users/${segment('userId', userId)}/authenticators/${segment('userAuthenticatorId', userAuthenticatorId)}`,
      idempotent: true,
      expectsBody: false,
    })
  }

  async #send(call: Call): Promise<unknown> {
    for (let retry = 0; ; retry++) {
      const attempt = await this.#attempt(call)
      if (attempt.ok) return attempt.body
      // The attempt before may have deleted it and lost the answer: gone is what was asked.
      if (retry > 0 && call.method === 'DELETE' && attempt.error.statusCode === 404) return undefined
      if (!call.idempotent || !attempt.retryable || retry >= this.#retries) throw attempt.error
      const delay = attempt.retryAfterMs ?? backoffDelay(retry)
      if (delay > MAX_RETRY_AFTER_MS) throw attempt.error
      await this.#sleep(delay)
    }
  }

  async #attempt(call: Call): Promise<Attempt> {
    const query = call.query?.toString() ?? ''
    const url = `${this.#baseUrl}${call.path}${query === '' ? '' : `?${query}`}`
    const headers: Record<string, string> = {
      Authorization: this.#authorization,
      Accept: 'application/json',
      'User-Agent': `countersign-node/${VERSION}`,
    }
    const init: RequestInit = { method: call.method, headers }
    if (call.body !== undefined) {
      headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(call.body)
    }

    const controller = new AbortController()
    init.signal = controller.signal
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs)
    let response: Response
    let text: string
    try {
      // The body is read under the same timer: a server can stall after the headers too.
      response = await untilAborted(this.#fetch(url, init), controller.signal)
      text = await untilAborted(response.text(), controller.signal)
    } catch (cause) {
      const error = controller.signal.aborted
        ? this.#error(0, 'timeout', `No answer from the Countersign API within ${this.#timeoutMs} ms`, cause)
        : this.#error(0, 'network_error', describeNetworkError(cause), cause)
      return { ok: false, error, retryable: true }
    } finally {
      clearTimeout(timer)
    }

    if (!response.ok) {
      const { status } = response
      const body = parseJson(text)
      const errorCode = errorCodeOf(body) ?? fallbackErrorCode(status)
      const description = errorDescriptionOf(body) ?? `Unexpected HTTP ${status} answer from the Countersign API`
      return {
        ok: false,
        error: this.#error(status, errorCode, description),
        retryable: isRetryableStatus(status),
        retryAfterMs:
          status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after')) : undefined,
      }
    }
    if (!call.expectsBody) return { ok: true, body: undefined }
    const body = parseJson(text)
    if (typeof body !== 'object' || body === null) {
      const description = `The Countersign API answered HTTP ${response.status} without the expected JSON body`
      return { ok: false, error: this.#error(response.status, 'invalid_response', description), retryable: false }
    }
    return { ok: true, body }
  }

  #error(statusCode: number, errorCode: CountersignErrorCode, description: string, cause?: unknown): CountersignError {
    return new CountersignError({ statusCode, errorCode, errorDescription: this.#redact(description), cause })
  }

  // Descriptions come from the server or from whatever `fetch` threw; neither should ever
  // contain the key, but an error message is the last place we can make sure of it.
  #redact(text: string): string {
    return [this.#secretKey, this.#authorization.slice('Basic '.length)].reduce(
      (redacted, secret) => redacted.split(secret).join('[redacted]'),
      text,
    )
  }
}

function actionPath(userId: string, action: string, idempotencyKey: string): string {
  return `/users/${segment('userId', userId)}/actions/${segment('action', action)}/${segment('idempotencyKey', idempotencyKey)}`
}

/**
 * One encoded path segment. `.` and `..` are refused: the WHATWG URL parser inside `fetch`
 * resolves them (also as `%2E`), so a userId of `..` would turn
 * `DELETE /users/../authenticators/x` into `DELETE /authenticators/x`. An empty segment would
 * likewise address a different resource (`GET /users/` instead of one user).
 */
function segment(name: string, value: string): string {
  if (value === undefined || value === null) {
    throw new CountersignError({ statusCode: 0, errorCode: 'invalid_argument', errorDescription: `${name} is required` })
  }
  const text = String(value)
  if (text === '' || text === '.' || text === '..') {
    throw new CountersignError({
      statusCode: 0,
      errorCode: 'invalid_argument',
      errorDescription: `${name} cannot be empty, "." or ".." (not representable in a URL path)`,
    })
  }
  return encodeURIComponent(text)
}

function normaliseApiUrl(apiUrl: string): string {
  // Messages never echo apiUrl: a secret pasted into the wrong option must not reach a log.
  let url: URL
  try {
    url = new URL(apiUrl)
  } catch {
    throw new TypeError('Countersign: apiUrl must be an absolute http(s) URL, e.g. http://127.0.0.1:8080/v1')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError('Countersign: apiUrl must be an http(s) URL')
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('Countersign: apiUrl must not contain credentials; pass the key as secretKey')
  }
  if (url.search !== '' || url.hash !== '') {
    throw new TypeError('Countersign: apiUrl must not have a query or fragment')
  }
  const path = url.pathname.replace(/\/+$/, '')
  return `${url.origin}${path === '' ? '/v1' : path}`
}

/** Settles like `promise`, or rejects as soon as `signal` aborts, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

function parseJson(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  // `errorCode` is ours; `error` alone is what the hosted service's older answers carry.
  const { errorCode, error } = body as { errorCode?: unknown; error?: unknown }
  if (typeof errorCode === 'string' && errorCode !== '') return errorCode
  if (typeof error === 'string' && error !== '') return error
  return undefined
}

function errorDescriptionOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const { errorDescription } = body as { errorDescription?: unknown }
  return typeof errorDescription === 'string' && errorDescription !== '' ? errorDescription : undefined
}

/** A code for an error answer without a Countersign error body, e.g. from a proxy. */
function fallbackErrorCode(status: number): CountersignErrorCode {
  switch (status) {
    case 400:
      return 'invalid_request'
    case 401:
      return 'unauthorized'
    case 403:
      return 'forbidden'
    case 404:
      return 'not_found'
    case 409:
      return 'conflict'
    case 413:
      return 'payload_too_large'
    case 415:
      return 'unsupported_media_type'
    case 429:
      return 'too_many_requests'
    case 502:
    case 503:
    case 504:
      return 'service_unavailable'
    default:
      return status >= 500 ? 'internal_error' : 'invalid_response'
  }
}

function describeNetworkError(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause)
  // undici says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, …) is one level down.
  const inner = cause instanceof Error ? (cause.cause as { code?: unknown } | undefined) : undefined
  const code = typeof inner?.code === 'string' ? `: ${inner.code}` : ''
  return `Could not reach the Countersign API (${message}${code})`
}

function base64(text: string): string {
  // btoa takes Latin-1 only; encode as UTF-8 first. No Buffer, so this also runs on edge runtimes.
  let binary = ''
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte)
  return btoa(binary)
}
