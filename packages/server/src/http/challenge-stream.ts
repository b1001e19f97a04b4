import type { FastifyReply, FastifyRequest } from 'fastify'
import type { OutOfBandState } from '@countersign/protocol'
import type { Deps } from '../domain/deps.ts'
import { followChallenge, isFinal } from '../domain/out-of-band.ts'

/** A comment line keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000
/** No stream outlives this, whatever the challenge's lifetime. */
const MAX_STREAM_MS = 20 * 60_000

export interface StreamedView {
  state: OutOfBandState
  body: Record<string, unknown>
}

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
  const first = await read()
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
  const send = (body: Record<string, unknown>) => raw.write(`event: state\ndata: ${JSON.stringify(body)}\n\n`)
  send(first.body)
  if (isFinal(first.state)) {
    raw.end()
    return
  }

  let closed = false
  let clientGone = false
  const unfollow = followChallenge(
    deps,
    target,
    first.state,
    async () => {
      const view = await read()
      return { state: view.state, accessToken: view.body.accessToken as string | undefined, body: view.body }
    },
    (view) => {
      send(view.body)
      if (isFinal(view.state)) close()
    },
  )
  const keepalive = setInterval(() => raw.write(': keepalive\n\n'), KEEPALIVE_MS)
  const deadline = setTimeout(() => close(), MAX_STREAM_MS)
  const untrack = trackStream(deps, close)
  function close(): void {
    if (closed) return
    closed = true
    unfollow()
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
