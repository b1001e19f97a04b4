// How both API clients talk to the server: one authenticated request, retried when repeating
// it cannot do anything twice, with every failure turned into a CountersignError. Internal:
// `Countersign` (secret key) and `CountersignManagement` (management key) each hold one.
import { CountersignError, type CountersignErrorCode, type CountersignErrorDetails } from './errors.ts'
import { backoffDelay, isRetryableStatus, MAX_RETRY_AFTER_MS, parseRetryAfter } from './retry.ts'

/** This package's version, sent in `User-Agent: countersign-node/<version>`. */
export const VERSION = '0.1.0'

const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_RETRIES = 2

/** The connection options both clients take, beside their key. */
export interface TransportOptions {
  /**
   * Base URL of the API, including `/v1`, e.g. `http://127.0.0.1:8080/v1`. A trailing slash is
   * ignored; a URL with no path gets `/v1` appended.
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
}

/** Who is constructing the transport, so a refusal names the right class and option. */
export interface TransportOwner {
  /** Class name, e.g. `Countersign`. */
  client: string
  /** Name of the key option, e.g. `secretKey`. */
  keyOption: string
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

export interface Call {
  method: Method
  /** Path below the base URL, segments already encoded with {@link segment}. */
  path: string
  query?: URLSearchParams
  body?: unknown
  /** Whether repeating the call cannot do anything twice; only such calls are retried. */
  idempotent: boolean
  /** Whether the caller needs a JSON answer (false: the answer body is ignored). */
  expectsBody: boolean
  /** Whether a JSON object answer has the shape the caller needs; else `invalid_response`. */
  accepts?: (body: object) => boolean
}

type Attempt =
  | { ok: true; body: unknown }
  | { ok: false; error: CountersignError; retryable: boolean; retryAfterMs?: number | undefined }

/**
 * Sends calls with HTTP Basic auth (the key as username, empty password) and maps every
 * failure to a {@link CountersignError}.
 *
 * @example
 * const transport = new Transport('sk_…', { apiUrl }, { client: 'Countersign', keyOption: 'secretKey' })
 * const user = await transport.send({ method: 'GET', path: '/users/u1', idempotent: true, expectsBody: true })
 */
export class Transport {
  // Private fields: the key must not show up in console.log(client) or JSON.stringify.
  readonly #key: string
  readonly #authorization: string
  readonly #baseUrl: string
  readonly #timeoutMs: number
  readonly #retries: number
  readonly #fetch: typeof fetch
  readonly #sleep: (ms: number) => Promise<void>

  constructor(key: string, options: TransportOptions, owner: TransportOwner) {
    const { apiUrl, timeoutMs = DEFAULT_TIMEOUT_MS, retries = DEFAULT_RETRIES } = options
    // Messages never echo a value: a key pasted into the wrong option must not reach a log.
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError(`${owner.client}: ${owner.keyOption} is required`)
    }
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new TypeError(`${owner.client}: timeoutMs must be a positive number`)
    }
    if (!(Number.isInteger(retries) && retries >= 0)) {
      throw new TypeError(`${owner.client}: retries must be a non-negative integer`)
    }
    this.#key = key
    this.#authorization = `Basic ${base64(`${key}:`)}`
    this.#baseUrl = normaliseApiUrl(apiUrl, owner)
    this.#timeoutMs = timeoutMs
    this.#retries = retries
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
  }

  /** The answer's JSON body (`undefined` when `expectsBody` is false); rejects with a CountersignError. */
  async send(call: Call): Promise<unknown> {
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
        ? this.#error(0, 'timeout', `No answer from the Countersign API within ${this.#timeoutMs} ms`, undefined, cause)
        : this.#error(0, 'network_error', describeNetworkError(cause), undefined, cause)
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
        error: this.#error(status, errorCode, description, detailsOf(body)),
        retryable: isRetryableStatus(status),
        retryAfterMs:
          status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after')) : undefined,
      }
    }
    if (!call.expectsBody) return { ok: true, body: undefined }
    const body = parseJson(text)
    if (typeof body !== 'object' || body === null || (call.accepts !== undefined && !call.accepts(body))) {
      const description = `The Countersign API answered HTTP ${response.status} without the expected JSON body`
      return { ok: false, error: this.#error(response.status, 'invalid_response', description), retryable: false }
    }
    return { ok: true, body }
  }

  #error(
    statusCode: number,
    errorCode: CountersignErrorCode,
    description: string,
    details?: Record<string, unknown>,
    cause?: unknown,
  ): CountersignError {
    return new CountersignError({
      statusCode,
      errorCode,
      errorDescription: this.#redact(description),
      details: details === undefined ? undefined : (this.#redactAll(details) as CountersignErrorDetails),
      cause,
    })
  }

  // Descriptions come from the server or from whatever `fetch` threw; neither should ever
  // contain the key, but an error message is the last place we can make sure of it.
  #redact(text: string): string {
    return [this.#key, this.#authorization.slice('Basic '.length)].reduce(
      (redacted, secret) => redacted.split(secret).join('[redacted]'),
      text,
    )
  }

  /** `value` with the key redacted from every string in it (details are JSON, so no cycles). */
  #redactAll(value: unknown): unknown {
    if (typeof value === 'string') return this.#redact(value)
    if (Array.isArray(value)) return value.map((item) => this.#redactAll(item))
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [this.#redact(key), this.#redactAll(item)]))
    }
    return value
  }
}

/**
 * One encoded path segment. `.` and `..` are refused: the WHATWG URL parser inside `fetch`
 * resolves them (also as `%2E`), so a userId of `..` would turn
 * `DELETE /users/../authenticators/x` into `DELETE /authenticators/x`. An empty segment would
 * likewise address a different resource (`GET /users/` instead of one user).
 *
 * @example
 * `/users/${segment('userId', 'ada/admin')}` // '/users/ada%2Fadmin'
 */
export function segment(name: string, value: string): string {
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

function normaliseApiUrl(apiUrl: string, { client, keyOption }: TransportOwner): string {
  // Messages never echo apiUrl: a secret pasted into the wrong option must not reach a log.
  let url: URL
  try {
    url = new URL(apiUrl)
  } catch {
    throw new TypeError(`${client}: apiUrl must be an absolute http(s) URL, e.g. http://127.0.0.1:8080/v1`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`${client}: apiUrl must be an http(s) URL`)
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(`${client}: apiUrl must not contain credentials; pass the key as ${keyOption}`)
  }
  if (url.search !== '' || url.hash !== '') {
    throw new TypeError(`${client}: apiUrl must not have a query or fragment`)
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

/** The error body's `details` when it is an object (invalid_rule_condition: message, position, line, column). */
function detailsOf(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const { details } = body as { details?: unknown }
  return typeof details === 'object' && details !== null && !Array.isArray(details) ? (details as Record<string, unknown>) : undefined
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
