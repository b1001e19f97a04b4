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
    return this.#send('POST', path, authorization, payload === undefined ? undefined : JSON.stringify(payload), {})
  }

  /**
   * POSTs `form` as application/x-www-form-urlencoded (an OAuth token request) and parses the
   * JSON answer.
   */
  postForm(path: string, authorization: string, form: URLSearchParams): Promise<JsonResponse> {
    return this.#send('POST', path, authorization, form.toString(), { 'content-type': 'application/x-www-form-urlencoded' })
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

  /**
   * POSTs `payload` as JSON to a Server-Sent Events endpoint on a connection of its own (a
   * stream holds its socket until it ends, so it must not take one of the pool's). Resolves
   * once the response headers arrive: with the stream when the status is 200, else with the
   * JSON error answer.
   */
  openEventStream(path: string, authorization: string, payload: object): Promise<EventStream | JsonResponse> {
    const body = JSON.stringify(payload)
    return new Promise((resolve, reject) => {
      const request = http.request(
        new URL(path, this.#base),
        {
          method: 'POST',
          agent: false,
          timeout: REQUEST_TIMEOUT_MS,
          headers: { authorization, accept: 'text/event-stream', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          if (response.statusCode === 200) {
            resolve(new EventStream(response))
            return
          }
          readJson(response, resolve, reject)
        },
      )
      sendGuarded(request, body, reject)
    })
  }

  #send(method: 'GET' | 'POST', path: string, authorization: string, body: string | undefined, headers: Record<string, string>): Promise<JsonResponse> {
    const url = new URL(path, this.#base)
    const framing: Record<string, string | number> = {}
    if (body !== undefined) Object.assign(framing, { 'content-type': headers['content-type'] ?? 'application/json', 'content-length': Buffer.byteLength(body) })
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
          readJson(response, resolve, reject)
        },
      )
      sendGuarded(request, body, reject)
    })
  }
}

/** One Server-Sent Event: its type, its data parsed as JSON, and when it arrived (performance.now()). */
export interface ServerEvent {
  event: string
  data: Record<string, unknown> | undefined
  receivedAt: number
}

/**
 * The events of an open `text/event-stream` response, read one at a time with `next`. Only
 * what the Countersign streams send is understood: `event:` and one `data:` line per event;
 * comment lines (keep-alives) are skipped.
 */
export class EventStream {
  readonly #response: http.IncomingMessage
  readonly #arrived: ServerEvent[] = []
  #waiting: { resolve: (event: ServerEvent) => void; reject: (error: Error) => void } | undefined
  #ended: Error | undefined
  #text = ''

  constructor(response: http.IncomingMessage) {
    this.#response = response
    response.setEncoding('utf8')
    response.on('data', (chunk: string) => this.#read(chunk))
    response.on('end', () => this.#end(new NetworkError('stream ended')))
    response.on('error', (error) => this.#end(asNetworkError(error)))
  }

  /** The next event; rejects when none arrives within `timeoutMs` or the stream ends first. */
  next(timeoutMs: number): Promise<ServerEvent> {
    const ready = this.#arrived.shift()
    if (ready) return Promise.resolve(ready)
    if (this.#ended) return Promise.reject(this.#ended)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined
        reject(new NetworkError('EVENT_TIMEOUT'))
      }, timeoutMs)
      this.#waiting = {
        resolve: (event) => {
          clearTimeout(timer)
          resolve(event)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      }
    })
  }

  close(): void {
    this.#response.destroy()
  }

  #read(chunk: string): void {
    const receivedAt = performance.now()
    this.#text += chunk
    let end: number
    while ((end = this.#text.indexOf('\n\n')) >= 0) {
      const block = this.#text.slice(0, end)
      this.#text = this.#text.slice(end + 2)
      let event = 'message'
      let data: string | undefined
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data = line.slice(5).trim()
      }
      if (data === undefined) continue // a comment (keep-alive)
      this.#deliver({ event, data: parseJson(Buffer.from(data, 'utf8')), receivedAt })
    }
  }

  #deliver(event: ServerEvent): void {
    const waiting = this.#waiting
    this.#waiting = undefined
    if (waiting) waiting.resolve(event)
    else this.#arrived.push(event)
  }

  #end(error: Error): void {
    this.#ended ??= error
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.reject(this.#ended)
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

/** Resolves with the response's status and JSON body once it has all arrived. */
function readJson(response: http.IncomingMessage, resolve: (answer: JsonResponse) => void, reject: (error: NetworkError) => void): void {
  const chunks: Buffer[] = []
  response.on('data', (chunk: Buffer) => chunks.push(chunk))
  response.on('end', () => resolve({ status: response.statusCode ?? 0, body: parseJson(Buffer.concat(chunks)) }))
  response.on('error', (error) => reject(asNetworkError(error)))
}

/** Sends the request's body; a timeout or a socket error rejects with a NetworkError. */
function sendGuarded(request: http.ClientRequest, body: string | undefined, reject: (error: NetworkError) => void): void {
  request.on('timeout', () => request.destroy(new NetworkError('ETIMEDOUT')))
  request.on('error', (error) => reject(asNetworkError(error)))
  request.end(body)
}
