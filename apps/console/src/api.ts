// The console's one way to the server: the Management API on the same origin, with the
// session cookie and the CSRF header on every request, and the server's error body kept.
import type { ErrorBody } from '@countersign/protocol'

/** Sent on every request. A page on another origin cannot add it without a CORS preflight, which the Management API never grants. */
const CONSOLE_HEADER = 'X-Countersign-Console'
export const MANAGEMENT = '/v1/management'

/** A refusal from the server (or no answer at all), with what the operator should read. */
export class ConsoleApiError extends Error {
  readonly status: number
  readonly errorCode: string
  /** The server's public description: what the console shows. */
  readonly description: string
  readonly details: Record<string, unknown> | undefined
  /** Seconds from Retry-After, on 429. */
  readonly retryAfter: number | undefined

  constructor(status: number, body: Partial<ErrorBody> | null, retryAfter?: number) {
    const description = body?.errorDescription ?? (status === 0 ? 'The server could not be reached. Check your connection and try again.' : `The server answered ${status}.`)
    super(description)
    this.name = 'ConsoleApiError'
    this.status = status
    this.errorCode = body?.errorCode ?? (status === 0 ? 'network_error' : 'unknown_error')
    this.description = description
    this.details = body?.details
    this.retryAfter = retryAfter
  }
}

/** Whether a thrown value is the server's refusal (works across bundles: no instanceof). */
export function isConsoleApiError(error: unknown): error is ConsoleApiError {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ConsoleApiError'
}

/** What an error says to the operator. */
export function describeError(error: unknown): string {
  if (isConsoleApiError(error)) return error.description
  return error instanceof Error ? error.message : 'Something went wrong.'
}

type Unauthorized = () => void
let onUnauthorized: Unauthorized = () => {}

/** Who is told when the session is gone (a 401 from any call but sign-in itself). */
export function setUnauthorizedHandler(handler: Unauthorized): void {
  onUnauthorized = handler
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
export type Query = Record<string, string | number | undefined>

/** `/v1/management` + path + the query's defined, non-empty values. */
export function managementUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(name, String(value))
  }
  const search = params.toString()
  return `${MANAGEMENT}${path}${search ? `?${search}` : ''}`
}

/** Encodes one path segment (user IDs may hold any printable text). */
export const segment = encodeURIComponent

/**
 * Calls the Management API and returns the JSON answer (undefined for 204).
 *
 * @example
 * const keys = await api<ApiKeyList>('GET', '/api-keys')
 */
export async function api<T>(method: Method, path: string, body?: unknown, options: { query?: Query; signal?: AbortSignal; expectUnauthorized?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { [CONSOLE_HEADER]: '1', accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(managementUrl(path, options.query), {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    })
  } catch (error) {
    if (options.signal?.aborted) throw error
    throw new ConsoleApiError(0, null)
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let parsed: unknown = null
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    parsed = null
  }
  if (!response.ok) {
    const retryAfter = Number(response.headers.get('retry-after'))
    const error = new ConsoleApiError(
      response.status,
      typeof parsed === 'object' && parsed !== null ? (parsed as Partial<ErrorBody>) : null,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    )
    if (response.status === 401 && !options.expectUnauthorized) onUnauthorized()
    throw error
  }
  return parsed as T
}
