import type { FastifyReply, FastifyRequest } from 'fastify'
import type { OutOfBandState } from '@countersign/protocol'
import type { Deps } from '../domain/deps.ts'

/** How often a stream re-reads its challenge even without a notification (a missed NOTIFY, expiry). */
const RECHECK_MS = 5000
/** A comment line keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000
/** No stream outlives this, whatever the challenge's lifetime. */
const MAX_STREAM_MS = 20 * 60_000

export interface StreamedView {
  state: OutOfBandState
  body: Record<string, unknown>
}

const TERMINAL: ReadonlySet<OutOfBandState> = new Set(['approved', 'rejected', 'expired'])

/**
 * Streams a challenge's state to the initiating page as Server-Sent Events: one `state` event
 * now and one whenever it changes, each carrying the same body as the matching poll, until
 * the challenge is approved, rejected or expired. The first read happens before the stream
 * opens, so a refused request still gets a coded JSON error.
 */
export async function streamChallenge(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
  target: { tenantId: string; challengeId: string },
  read: () => Promise<StreamedView>,
): Promise<void> {
  let last = await read()
  reply.hijack()
  const raw = reply.raw
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-request-id': request.id,
    // Tell nginx-style proxies not to buffer the stream.
    'x-accel-buffering': 'no',
    // A stream's connection is not reused: it closes with the stream, so nothing lingers.
    connection: 'close',
  })
  const send = (view: StreamedView) => raw.write(`event: state\ndata: ${JSON.stringify(view.body)}\n\n`)
  send(last)
  if (TERMINAL.has(last.state)) {
    raw.end()
    return
  }

  let closed = false
  let clientGone = false
  let reading = false
  let again = false
  const refresh = async (): Promise<void> => {
    if (closed) return
    if (reading) {
      again = true
      return
    }
    reading = true
    try {
      do {
        again = false
        const next = await read()
        if (next.state !== last.state || next.body.accessToken !== undefined) {
          last = next
          send(next)
        }
        if (TERMINAL.has(last.state)) return close()
      } while (again && !closed)
    } catch (error) {
      deps.log.warn({ err: error, tenantId: target.tenantId }, 'challenge stream read failed')
    } finally {
      reading = false
    }
  }
  const stopWatching = deps.challengeWatch.watch(target.tenantId, target.challengeId, () => void refresh())
  const recheck = setInterval(() => void refresh(), RECHECK_MS)
  const keepalive = setInterval(() => raw.write(': keepalive\n\n'), KEEPALIVE_MS)
  const deadline = setTimeout(() => close(), MAX_STREAM_MS)
  const untrack = trackStream(deps, close)
  function close(): void {
    if (closed) return
    closed = true
    stopWatching()
    clearInterval(recheck)
    clearInterval(keepalive)
    clearTimeout(deadline)
    untrack()
    // `connection: close` above: the socket closes with the response. A client that left
    // may leave the socket half-open (seen on PostgreSQL timings): destroy it outright.
    if (clientGone) raw.destroy()
    else raw.end()
  }
  raw.on('close', () => {
    clientGone = !raw.writableFinished
    close()
  })
}

// Open streams per app (keyed by its deps), so closing the app ends them instead of waiting for them.
const openStreams = new WeakMap<object, Set<() => void>>()

function trackStream(owner: object, close: () => void): () => void {
  let set = openStreams.get(owner)
  if (!set) openStreams.set(owner, (set = new Set()))
  set.add(close)
  return () => set.delete(close)
}

/** Ends every open challenge stream of the app built on `deps`; call it from its preClose hook. */
export function endChallengeStreams(deps: object): void {
  for (const close of [...(openStreams.get(deps) ?? [])]) close()
}
