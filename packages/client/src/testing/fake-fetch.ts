// A fetch that records requests and answers from a handler, for unit tests of request shapes.
// Test support only: nothing in the package's entry points imports it.
import { createPublicKey, verify } from 'node:crypto'
import type { FetchLike } from '../transport.ts'

export interface RecordedRequest {
  method: string
  url: string
  /** The path below the origin, without the query. */
  path: string
  query: URLSearchParams
  headers: Record<string, string>
  body: Record<string, unknown> | undefined
  signal: AbortSignal | undefined
}

export interface Answer {
  status?: number
  /** JSON-encoded unless `raw` is given. */
  body?: unknown
  raw?: string
  contentType?: string
  /** An event stream: the chunks are sent one by one; `hold` keeps the stream open after them. */
  events?: { chunks: string[]; hold?: boolean }
}

export type Handler = (request: RecordedRequest) => Answer | Promise<Answer>

export function fakeFetch(handler: Handler): { fetch: FetchLike; requests: RecordedRequest[] } {
  const requests: RecordedRequest[] = []
  const fetch: FetchLike = async (url, init) => {
    const parsed = new URL(url)
    const request: RecordedRequest = {
      method: init.method ?? 'GET',
      url,
      path: parsed.pathname,
      query: parsed.searchParams,
      headers: { ...(init.headers as Record<string, string>) },
      body: typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined,
      signal: init.signal ?? undefined,
    }
    requests.push(request)
    if (request.signal?.aborted) throw new DOMException('aborted', 'AbortError')
    const answer = await handler(request)
    if (answer.events) return eventStreamResponse(answer.events.chunks, answer.events.hold ?? false, request.signal)
    const text = answer.raw ?? (answer.body === undefined ? '' : JSON.stringify(answer.body))
    return new Response(text, { status: answer.status ?? 200, headers: { 'Content-Type': answer.contentType ?? 'application/json' } })
  }
  return { fetch, requests }
}

function eventStreamResponse(chunks: string[], hold: boolean, signal: AbortSignal | undefined): Response {
  const encoder = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk))
      if (!hold) controller.close()
      signal?.addEventListener('abort', () => {
        try {
          controller.error(new DOMException('aborted', 'AbortError'))
        } catch {
          // already closed
        }
      })
    },
  })
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream; charset=utf-8' } })
}

/** An SSE `state` event carrying `body`, as the server writes it. */
export const stateEvent = (body: unknown): string => `event: state\ndata: ${JSON.stringify(body)}\n\n`

export const errorBody = (code: string, description = `about ${code}`) => ({ error: code, errorCode: code, errorDescription: description })

/** Checks a signature the way the server does: base64 ECDSA-SHA256 under the base64 SPKI. */
export function verifiesOnServer(publicKey: unknown, message: string, signature: unknown, format: 'der' | 'p1363' = 'der'): boolean {
  const key = createPublicKey({ key: Buffer.from(String(publicKey), 'base64'), format: 'der', type: 'spki' })
  return verify('sha256', Buffer.from(message), { key, dsaEncoding: format === 'der' ? 'der' : 'ieee-p1363' }, Buffer.from(String(signature), 'base64'))
}
