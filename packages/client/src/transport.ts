// HTTP for the Client API (PROTOCOL.md §1, §3): base URL, the two auth forms, JSON in and out,
// and the mapping of every failure to a Result. Only `fetch` and string operations: React
// Native's URL class is incomplete, so URLs are built by hand.
import { base64 } from '@scure/base'
import { clientFailure, failure, success, type Failure, type Result } from './result.ts'

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>

/** How a request proves who it is for. */
export type Auth = { kind: 'tenant' } | { kind: 'bearer'; token: string }

export interface RequestSpec<T> {
  method: 'GET' | 'POST' | 'PATCH'
  /** Below the base URL, e.g. `/client/challenge`; a query string is already encoded. */
  path: string
  auth: Auth
  body?: unknown
  /** Extra request headers, e.g. `X-Authsignal-Signature`. */
  headers?: Record<string, string>
  /** Cancels the request; the result is then `aborted`. */
  signal?: AbortSignal | undefined
  /** Checks the shape of a successful body; a mismatch becomes `api_error`. */
  accept: (body: unknown) => body is T
}

/** A POST whose answer is a stream of Server-Sent Events. */
export interface EventStreamSpec {
  path: string
  auth: Auth
  body: unknown
  signal?: AbortSignal | undefined
}

/**
 * Normalises a base URL to end in `/v1` (the Client API root), with no trailing slash.
 *
 * @example
 * normaliseBaseUrl('http://127.0.0.1:8080')     // 'http://127.0.0.1:8080/v1'
 * normaliseBaseUrl('https://auth.example/v1/') // 'https://auth.example/v1'
 */
export function normaliseBaseUrl(baseUrl: string): string {
  const trimmed = baseUrl.trim().replace(/\/+$/, '')
  if (!/^https?:\/\/[^/]+/i.test(trimmed)) throw new TypeError('baseUrl must be an http(s) URL')
  return trimmed.endsWith('/v1') ? trimmed : `${trimmed}/v1`
}

/** `Basic base64(tenantId + ':')`: the tenant form of Client API auth, standard base64. */
export function tenantBasicAuthorization(tenantId: string): string {
  return `Basic ${base64.encode(new TextEncoder().encode(`${tenantId}:`))}`
}

export class Transport {
  readonly baseUrl: string
  private readonly basicAuthorization: string

  constructor(
    readonly tenantId: string,
    baseUrl: string,
    private readonly fetch: FetchLike,
  ) {
    this.baseUrl = normaliseBaseUrl(baseUrl)
    this.basicAuthorization = tenantBasicAuthorization(tenantId)
  }

  async request<T>(spec: RequestSpec<T>): Promise<Result<T>> {
    const init = this.init(spec.method, spec.auth, 'application/json', spec.body, spec.headers, spec.signal)
    let response: Response
    let text: string
    try {
      response = await this.fetch(`${this.baseUrl}${spec.path}`, init)
      text = await response.text()
    } catch (cause) {
      return clientFailure(spec.signal?.aborted ? 'aborted' : 'network_error', { cause })
    }

    const body = parseJson(text)
    // As the existing browser SDK does: any body with an `error` key is an error.
    if (response.ok && !hasErrorKey(body)) {
      if (spec.accept(body)) return success(body)
      // The path without its query: a message never carries a key.
      const endpoint = spec.path.split('?')[0] ?? spec.path
      return failure('api_error', `Unexpected response from ${endpoint}`, { status: response.status })
    }
    return errorFromResponse(response.status, body)
  }

  /**
   * Opens a Server-Sent Events stream. `data` is the stream's body, or undefined when this
   * runtime or the path in between cannot stream (fetch without a readable body, as in React
   * Native; a proxy or an older server answering something else; a connection that failed):
   * the caller then polls, and a poll reports a network that is really down. A coded error
   * from the server (an expired token, an unknown challenge) and an abort are failures.
   */
  async openEventStream(spec: EventStreamSpec): Promise<Result<ReadableStream<Uint8Array> | undefined>> {
    const init = this.init('POST', spec.auth, 'text/event-stream', spec.body, undefined, spec.signal)
    let response: Response
    try {
      response = await this.fetch(`${this.baseUrl}${spec.path}`, init)
    } catch (cause) {
      return spec.signal?.aborted ? clientFailure('aborted', { cause }) : success(undefined)
    }
    const contentType = response.headers.get('content-type') ?? ''
    if (response.ok && /^text\/event-stream\b/i.test(contentType) && typeof response.body?.getReader === 'function') {
      return success(response.body)
    }
    let text = ''
    try {
      text = await response.text()
    } catch (cause) {
      if (spec.signal?.aborted) return clientFailure('aborted', { cause })
    }
    if (response.ok) return success(undefined)
    const error = errorFromResponse(response.status, parseJson(text))
    // Not a Countersign answer (a 404 from a proxy or an older server): polling may still work.
    return error.errorCode === 'api_error' ? success(undefined) : error
  }

  private init(
    method: string,
    auth: Auth,
    accept: string,
    body: unknown,
    extraHeaders: Record<string, string> | undefined,
    signal: AbortSignal | undefined,
  ): RequestInit {
    const headers: Record<string, string> = {
      Accept: accept,
      Authorization: auth.kind === 'bearer' ? `Bearer ${auth.token}` : this.basicAuthorization,
      'X-Authsignal-Tenant-ID': this.tenantId,
      ...extraHeaders,
    }
    const init: RequestInit = { method, headers }
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    if (signal) init.signal = signal
    return init
  }
}

function errorFromResponse(status: number, body: unknown): Failure {
  if (isRecord(body)) {
    const code = stringOr(body.errorCode) ?? stringOr(body.error)
    if (code) {
      const description = stringOr(body.errorDescription) ?? stringOr(body.error) ?? code
      return failure(code, description, { status })
    }
  }
  // Not a Countersign error body: most likely a proxy, or a baseUrl that points elsewhere.
  const hint = status === 404 ? ': endpoint not found, check baseUrl' : ''
  return failure('api_error', `Unexpected HTTP ${status}${hint}`, { status })
}

function parseJson(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

function hasErrorKey(body: unknown): boolean {
  return isRecord(body) && Object.hasOwn(body, 'error')
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Whether `body` is an object whose listed fields are non-empty strings. */
export function hasStrings(body: unknown, ...keys: string[]): body is Record<string, unknown> {
  return isRecord(body) && keys.every((key) => typeof body[key] === 'string' && body[key] !== '')
}
