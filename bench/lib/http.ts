// A minimal JSON-over-HTTP client on node:http. The benchmark needs one thing fetch does not
// give without an extra dependency: a connection pool we size ourselves (keep-alive, about one
// socket per worker), so every request reuses a warm loopback connection and we measure the
// server, not TCP handshakes.
import http from 'node:http'

export interface JsonResponse {
  status: number
  /** Parsed JSON body; undefined when the body was empty or not JSON. */
  body: Record<string, unknown> | undefined
}

/** A request that never got a response (connection refused or reset, timeout). */
export class NetworkError extends Error {
  override name = 'NetworkError'
  constructor(
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`network error: ${code}`, options)
  }
}

const REQUEST_TIMEOUT_MS = 30_000

export class JsonClient {
  readonly #agent: http.Agent
  readonly #base: URL

  /** @example new JsonClient('http://127.0.0.1:8080/v1', 32) */
  constructor(baseUrl: string, maxSockets: number) {
    this.#base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`)
    this.#agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets })
  }

  /**
   * POSTs `payload` as JSON to `path` (relative to the base URL, no leading slash); without a
   * payload the POST has no body and no content type, as the phone's body-less POSTs are sent.
   */
  post(path: string, authorization: string, payload?: object): Promise<JsonResponse> {
    return this.#send('POST', path, authorization, payload, {})
  }

  /** GETs `path` with extra request `headers` (e.g. a device signature) and parses the JSON answer. */
  get(path: string, authorization: string, headers: Record<string, string> = {}): Promise<JsonResponse> {
    return this.#send('GET', path, authorization, undefined, headers)
  }

  /** GETs `path` and returns only the status (readiness polling). */
  getStatus(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const request = http.get(new URL(path, this.#base), { agent: this.#agent, timeout: 2_000 }, (response) => {
        response.resume()
        response.on('end', () => resolve(response.statusCode ?? 0))
      })
      request.on('timeout', () => request.destroy(new NetworkError('ETIMEDOUT')))
      request.on('error', (error) => reject(asNetworkError(error)))
    })
  }

  close(): void {
    this.#agent.destroy()
  }

  #send(method: 'GET' | 'POST', path: string, authorization: string, payload: object | undefined, headers: Record<string, string>): Promise<JsonResponse> {
    const body = payload === undefined ? undefined : JSON.stringify(payload)
    const url = new URL(path, this.#base)
    const framing: Record<string, string | number> = {}
    if (body !== undefined) Object.assign(framing, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    // A body-less POST says so: without a length node:http would send it chunked.
    else if (method === 'POST') framing['content-length'] = 0
    return new Promise((resolve, reject) => {
      const request = http.request(
        url,
        {
          method,
          agent: this.#agent,
          timeout: REQUEST_TIMEOUT_MS,
          headers: { ...headers, authorization, ...framing },
        },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: parseJson(Buffer.concat(chunks)) }))
          response.on('error', (error) => reject(asNetworkError(error)))
        },
      )
      request.on('timeout', () => request.destroy(new NetworkError('ETIMEDOUT')))
      request.on('error', (error) => reject(asNetworkError(error)))
      request.end(body)
    })
  }
}

function parseJson(bytes: Buffer): Record<string, unknown> | undefined {
  if (bytes.length === 0) return undefined
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'))
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function asNetworkError(error: Error): NetworkError {
  if (error instanceof NetworkError) return error
  return new NetworkError((error as NodeJS.ErrnoException).code ?? error.name, { cause: error })
}
