// A real HTTP server on loopback that webhook deliveries (and action.verify calls) reach over a
// socket: it keeps every request as received, raw body included, and answers per path as the
// test says — a status, a redirect, or no answer at all (a receiver that hangs).
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { registerSecret } from './log-secrets.ts'

export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  /** The body exactly as sent: signatures are over these bytes. */
  rawBody: string
  receivedAt: number
}

/** What the receiver does with a request: answer with a status (and headers), or never answer. */
export type Answer = number | { status: number; headers?: Record<string, string> } | 'hang'
export type Responder = (request: ReceivedRequest, countOnPath: number) => Answer

export interface WebhookReceiver {
  port: number
  /** `http://127.0.0.1:<port><path>` */
  url(path: string): string
  /** Every request so far, or those to one path. */
  requests(path?: string): ReceivedRequest[]
  /** Sets how requests to `path` are answered (default 204). `countOnPath` is 1 for the first. */
  answer(path: string, responder: Answer | Responder): void
  /** Resolves once `predicate` holds for the requests so far; rejects after `timeoutMs`. */
  waitFor(predicate: (requests: ReceivedRequest[]) => boolean, timeoutMs: number): Promise<ReceivedRequest[]>
  close(): Promise<void>
}

export async function startReceiver(options: { port?: number } = {}): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = []
  const responders = new Map<string, Responder>()
  const hanging = new Set<ServerResponse>()

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawBody: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
      }
      received.push(request)
      // The delivery's signatures (x-signature-v2, webhook-signature): never to be logged.
      for (const [name, value] of Object.entries(req.headers)) {
        if (!name.includes('signature') || typeof value !== 'string') continue
        // `t=<ts>,v2=<sig>` and `v1,<sig>`: the signatures without their labels.
        for (const part of value.split(/[,\s]/)) registerSecret(part.replace(/^[a-z0-9]+=/, ''), `a webhook ${name} value`)
      }
      const count = received.filter((r) => r.path === request.path).length
      const answer = (responders.get(request.path) ?? (() => 204))(request, count)
      if (answer === 'hang') {
        hanging.add(res)
        return
      }
      const { status, headers = {} } = typeof answer === 'number' ? { status: answer } : answer
      res.writeHead(status, headers).end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests: (path) => (path === undefined ? [...received] : received.filter((r) => r.path === path)),
    answer(path, responder) {
      responders.set(path, typeof responder === 'function' ? responder : () => responder)
    },
    async waitFor(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`webhook receiver: condition not met within ${timeoutMs} ms (${received.length} requests)`)
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      return [...received]
    },
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A loopback port nothing listens on (bound, then released): connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
