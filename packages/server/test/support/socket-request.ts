// One HTTP request over a real loopback socket, for what app.inject cannot do: a
// Server-Sent Events stream stays open, so the first complete event is the answer.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'

export interface SocketResponse {
  statusCode: number
  headers: IncomingHttpHeaders
  body: string
}

/**
 * Sends a request and reads until the response ends or its first event is complete, then
 * hangs up, as a page does that navigates away. A body is sent with its length (Node would
 * otherwise send a GET's body without one, and the server would read it as a second request).
 */
export function sendOverSocket(
  baseUrl: string,
  request: { method: string; url: string; headers: Record<string, string>; body?: string | Buffer | undefined },
  describe: string = `${request.method} ${request.url}`,
): Promise<SocketResponse> {
  const { hostname, port } = new URL(baseUrl)
  const length = request.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(request.body)) }
  const headers = { ...request.headers, ...length }
  return new Promise((resolve, reject) => {
    let settled = false
    const settle = (outcome: SocketResponse | Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      sent.destroy()
      if (outcome instanceof Error) reject(outcome)
      else resolve(outcome)
    }
    const sent = httpRequest({ host: hostname, port, method: request.method, path: request.url, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      const done = () => settle({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })
      const streaming = /^text\/event-stream/.test(res.headers['content-type'] ?? '')
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        if (streaming && Buffer.concat(chunks).includes('\n\n')) done()
      })
      res.on('end', done)
      res.on('error', (error) => settle(error))
    })
    const timer = setTimeout(() => settle(new Error(`no response (or no stream event) within 10 s: ${describe}`)), 10_000)
    sent.on('error', (error) => settle(error))
    sent.end(request.body)
  })
}
