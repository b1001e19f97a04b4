// JSON over HTTP with every call recorded: when it was sent and answered, the status, the error
// code, Retry-After, or how it failed without an answer. The fault checks read this log.
import http from 'node:http'
import net from 'node:net'

/** No call may take longer: a request the server neither answers nor refuses is a hang. */
export const CALL_TIMEOUT_MS = 10_000

export interface CallRecord {
  /** What the call was for: a flow step, a replay, a probe. */
  step: string
  /** The flow it belongs to, if any. */
  flowId: number | null
  /** The run's label at the moment the call was sent (e.g. "outage"). */
  window: string
  sentAt: number
  endedAt: number
  /** null when no response arrived. */
  status: number | null
  errorCode: string | null
  retryAfter: string | null
  /** ECONNREFUSED, ECONNRESET, ETIMEDOUT, …: how the call failed without a complete response. */
  network: string | null
  /** The loopback address the call's connection came from, when it had one of its own. */
  localAddress: string | null
}

export interface Reply {
  status: number
  body: Record<string, unknown> | undefined
}

/** A call that got no complete response. */
export class NoResponse extends Error {
  override name = 'NoResponse'
  constructor(readonly code: string) {
    super(`no response: ${code}`)
  }
}

/** Every call of the run, and the label calls sent now are filed under. */
export class CallLog {
  readonly calls: CallRecord[] = []
  window = 'setup'
}

/**
 * How connections are made. `keep-alive`: a pool, as a backend's HTTP client has.
 * `own-address`: a new connection per call, each from a loopback address of its own
 * (127.1.x.y), so the server's request log says exactly which calls it received.
 */
export type ConnectionMode = 'keep-alive' | 'own-address'

let nextAddress = 1

function uniqueLoopbackAddress(): string {
  const n = nextAddress++
  if (n >= 254 ** 3) throw new Error('out of loopback addresses')
  return `127.${Math.floor(n / 254 ** 2) + 1}.${(Math.floor(n / 254) % 254) + 1}.${(n % 254) + 1}`
}

export class HttpCalls {
  readonly #agent: http.Agent | undefined
  readonly #base: string

  constructor(
    baseUrl: string,
    readonly log: CallLog,
    readonly mode: ConnectionMode,
    sockets = 16,
  ) {
    this.#base = baseUrl
    this.#agent = mode === 'keep-alive' ? new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets }) : undefined
  }

  /** POSTs `payload` as JSON; resolves with any status, throws NoResponse when none came. */
  post(step: string, flowId: number | null, path: string, authorization: string, payload: object): Promise<Reply> {
    return this.#send(step, flowId, 'POST', path, authorization, JSON.stringify(payload))
  }

  get(step: string, flowId: number | null, path: string, authorization: string): Promise<Reply> {
    return this.#send(step, flowId, 'GET', path, authorization, undefined)
  }

  close(): void {
    this.#agent?.destroy()
  }

  #send(step: string, flowId: number | null, method: string, path: string, authorization: string, body: string | undefined): Promise<Reply> {
    const localAddress = this.mode === 'own-address' ? uniqueLoopbackAddress() : null
    const record: CallRecord = {
      step,
      flowId,
      window: this.log.window,
      sentAt: performance.now(),
      endedAt: 0,
      status: null,
      errorCode: null,
      retryAfter: null,
      network: null,
      localAddress,
    }
    this.log.calls.push(record)
    const headers: Record<string, string | number> = { authorization }
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    return new Promise<Reply>((resolve, reject) => {
      let settled = false
      const fail = (code: string) => {
        if (settled) return
        settled = true
        record.endedAt = performance.now()
        record.network = code
        reject(new NoResponse(code))
      }
      const request = http.request(
        `${this.#base}${path}`,
        {
          method,
          headers,
          timeout: CALL_TIMEOUT_MS,
          ...(this.#agent ? { agent: this.#agent } : { agent: false, localAddress: localAddress! }),
        },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          // A body cut short (the connection dropped mid-response) is no response.
          response.on('aborted', () => fail('ECONNRESET'))
          response.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.name))
          response.on('end', () => {
            if (settled) return
            if (!response.complete) return fail('ECONNRESET')
            settled = true
            const parsed = parseJson(Buffer.concat(chunks))
            record.endedAt = performance.now()
            record.status = response.statusCode ?? 0
            const code = parsed?.errorCode ?? parsed?.error
            record.errorCode = typeof code === 'string' ? code : null
            const retryAfter = response.headers['retry-after']
            record.retryAfter = typeof retryAfter === 'string' ? retryAfter : null
            resolve({ status: record.status, body: parsed })
          })
        },
      )
      request.on('timeout', () => {
        fail('ETIMEDOUT')
        request.destroy()
      })
      request.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.name))
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

export interface RawReply {
  status: number
  headers: Record<string, string>
  body: Record<string, unknown> | undefined
}

/**
 * A request whose first bytes are sent now and the rest later, on a connection of its own:
 * sent across SIGTERM, it is one the server had started to receive when it began to close.
 */
export class SplitRequest {
  readonly #response: Promise<Buffer>

  private constructor(
    private readonly socket: net.Socket,
    private readonly rest: string,
  ) {
    const chunks: Buffer[] = []
    this.#response = new Promise((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => chunks.push(chunk))
      socket.on('end', () => resolve(Buffer.concat(chunks)))
      socket.on('error', reject)
      socket.setTimeout(CALL_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })))
    })
    // Handled when finish() is awaited; until then an early reset must not be unhandled.
    this.#response.catch(() => {})
  }

  /** Connects and sends the request line and the Host header. */
  static async begin(baseUrl: string, method: string, path: string, headers: Record<string, string>, payload: object): Promise<SplitRequest> {
    const url = new URL(baseUrl)
    const socket = net.connect(Number(url.port), url.hostname)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    const body = JSON.stringify(payload)
    const rest =
      Object.entries({ ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), connection: 'close' })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') + `\r\n${body}`
    socket.write(`${method} ${path} HTTP/1.1\r\nhost: ${url.host}\r\n`)
    return new SplitRequest(socket, rest)
  }

  /** Sends the rest of the request and reads the whole response (the server closes the connection). */
  async finish(): Promise<RawReply | NoResponse> {
    this.socket.write(this.rest)
    let raw: Buffer
    try {
      raw = await this.#response
    } catch (error) {
      return new NoResponse((error as NodeJS.ErrnoException).code ?? 'ECONNRESET')
    }
    const text = raw.toString('utf8')
    const split = text.indexOf('\r\n\r\n')
    const status = /^HTTP\/1\.1 (\d{3})/.exec(text)
    if (split < 0 || !status) return new NoResponse(raw.length === 0 ? 'ECONNRESET' : 'EPROTO')
    const headers: Record<string, string> = {}
    for (const line of text.slice(0, split).split('\r\n').slice(1)) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    const length = Number(headers['content-length'] ?? Number.NaN)
    const body = Buffer.from(text.slice(split + 4), 'utf8')
    // A body shorter than its Content-Length was cut off.
    if (Number.isFinite(length) && body.length < length) return new NoResponse('ECONNRESET')
    return { status: Number(status[1]), headers, body: parseJson(body) }
  }
}
