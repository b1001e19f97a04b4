// HTTP for the Client API (PROTOCOL.md §1, §3): base URL, the two auth forms, JSON in and out,
// and the mapping of every failure to a Result. Only `fetch` and string operations: React
// Native's URL class is incomplete, so URLs are built by hand.
import { base64 } from '@scure/base'
import { clientFailure, failure, success, type Result } from './result.ts'

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>

/** How a request proves who it is for. */
export type Auth = { kind: 'tenant' } | { kind: 'bearer'; token: string }

export interface RequestSpec<T> {
  method: 'GET' | 'POST'
  /** Below the base URL, e.g. `/client/challenge`; a query string is already encoded. */
  path: string
  auth: Auth
  body?: unknown
  /** Checks the shape of a successful body; a mismatch becomes `api_error`. */
  accept: (body: unknown) => body is T
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
    private readonly tenantId: string,
    baseUrl: string,
    private readonly fetch: FetchLike,
  ) {
    this.baseUrl = normaliseBaseUrl(baseUrl)
    this.basicAuthorization = tenantBasicAuthorization(tenantId)
  }

  async request<T>(spec: RequestSpec<T>): Promise<Result<T>> {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: spec.auth.kind === 'bearer' ? `Bearer ${spec.auth.token}` : this.basicAuthorization,
      'X-Authsignal-Tenant-ID': this.tenantId,
    }
    const init: RequestInit = { method: spec.method, headers }
    if (spec.body !== undefined) {
      headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(spec.body)
    }

    let response: Response
    let text: string
    try {
      response = await this.fetch(`${this.baseUrl}${spec.path}`, init)
      text = await response.text()
    } catch (cause) {
      return clientFailure('network_error', { cause })
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
}

function errorFromResponse(status: number, body: unknown): Result<never> {
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
