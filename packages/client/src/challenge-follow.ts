// The initiating page follows a push or QR challenge until the phone answers (PROTOCOL.md §3,
// and the [ext] streams `POST /verify/push/stream`, `/verify/qr-code/stream`). It reads the
// Server-Sent Events stream, whose `state` events carry the same body as a poll, and falls
// back to polling the plain endpoint when streaming is not available: a runtime whose fetch
// has no readable body (React Native), a proxy or server that does not stream, a stream that
// ends before the challenge does.
import type { OutOfBandState } from '@countersign/protocol'
import { serverSentEvents } from './event-stream.ts'
import { clientFailure, success, type Failure, type Result } from './result.ts'
import { isRecord, type Auth, type Transport } from './transport.ts'

/** Where a challenge stands, and the token an approval earned (handed out once). */
export interface ChallengeView {
  state: OutOfBandState
  token?: string
}

/** Default time between polls, as the browser SDK polls QR codes. */
export const DEFAULT_POLL_INTERVAL_MS = 3000
/** Consecutive transient poll failures (network, 5xx, 429) tolerated before giving up. */
const MAX_TRANSIENT_FAILURES = 3

const STATES: readonly OutOfBandState[] = ['unclaimed', 'claimed', 'approved', 'rejected', 'expired']

export function isTerminal(state: OutOfBandState): boolean {
  return state === 'approved' || state === 'rejected' || state === 'expired'
}

/**
 * The view of a poll or stream body (`VerifyPushResponse` or `VerifyQrResponse`). Countersign
 * sends `state`; without it (another server) the state is derived from the flags as the
 * browser SDK derives it. Undefined for a body of another shape.
 */
export function challengeView(body: unknown): ChallengeView | undefined {
  if (!isRecord(body) || typeof body.isVerified !== 'boolean' || typeof body.isConsumed !== 'boolean') return undefined
  let state: OutOfBandState
  if (typeof body.state === 'string' && (STATES as readonly string[]).includes(body.state)) state = body.state as OutOfBandState
  else if (body.isVerified) state = 'approved'
  else if (body.isConsumed) state = body.isClaimed === false ? 'expired' : 'rejected'
  else state = body.isClaimed === true ? 'claimed' : 'unclaimed'
  const view: ChallengeView = { state }
  if (typeof body.accessToken === 'string' && body.accessToken !== '') view.token = body.accessToken
  return view
}

export interface FollowSpec {
  /** The SSE endpoint, e.g. `/client/verify/push/stream`. */
  streamPath: string
  /** The poll endpoint, e.g. `/client/verify/push`. */
  pollPath: string
  auth: Auth
  /** The body of both: `{ challengeId }` or `{ challengeId, deviceCode }`. */
  body: Record<string, unknown>
  signal?: AbortSignal | undefined
  /** Try the stream first (default); false polls from the start. */
  stream?: boolean | undefined
  pollIntervalMs?: number | undefined
  /** A state the caller already reported (e.g. `unclaimed` right after creation). */
  initialState?: OutOfBandState | undefined
  /** Called for each change of state, and for any view that carries a token. */
  onView(view: ChallengeView): void
}

/**
 * Follows a challenge until it is approved, rejected or expired, and returns that view. A
 * failure is the server's coded refusal (e.g. `invalid_challenge`, `expired_token`),
 * `aborted`, or the last of several transient poll failures in a row.
 */
export async function followChallenge(transport: Transport, spec: FollowSpec): Promise<Result<ChallengeView>> {
  let last = spec.initialState
  const observe = (view: ChallengeView): void => {
    if (view.state === last && view.token === undefined) return
    last = view.state
    spec.onView(view)
  }

  if (spec.stream !== false) {
    const streamed = await followStream(transport, spec, observe)
    if (streamed !== undefined) return streamed
  }
  return followPolls(transport, spec, observe)
}

/** The stream's terminal view, a failure, or undefined to go on by polling. */
async function followStream(
  transport: Transport,
  spec: FollowSpec,
  observe: (view: ChallengeView) => void,
): Promise<Result<ChallengeView> | undefined> {
  const opened = await transport.openEventStream({ path: spec.streamPath, auth: spec.auth, body: spec.body, signal: spec.signal })
  if (opened.error !== undefined) return opened
  if (!opened.data) return undefined
  const events = serverSentEvents(opened.data)
  try {
    for (;;) {
      let next: IteratorResult<{ event: string; data: string }>
      try {
        next = await events.next()
      } catch (cause) {
        if (spec.signal?.aborted) return clientFailure('aborted', { cause })
        return undefined // the connection broke: polling picks up from here
      }
      if (next.done) break
      if (next.value.event !== 'state') continue
      const view = challengeView(parseJson(next.value.data))
      if (!view) continue
      // Outside the read's try: an exception from the page's callback is the page's, not a broken stream.
      observe(view)
      if (isTerminal(view.state)) return success(view)
    }
  } finally {
    // Closes the connection when we stop before the server does.
    await events.return(undefined)
  }
  return spec.signal?.aborted ? clientFailure('aborted') : undefined
}

async function followPolls(transport: Transport, spec: FollowSpec, observe: (view: ChallengeView) => void): Promise<Result<ChallengeView>> {
  const interval = spec.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS
  let transientFailures = 0
  for (;;) {
    const polled = await transport.request({
      method: 'POST',
      path: spec.pollPath,
      auth: spec.auth,
      body: spec.body,
      signal: spec.signal,
      accept: (body): body is Record<string, unknown> => challengeView(body) !== undefined,
    })
    if (polled.error !== undefined) {
      if (!isTransient(polled) || ++transientFailures >= MAX_TRANSIENT_FAILURES) return polled
    } else {
      transientFailures = 0
      const view = challengeView(polled.data) as ChallengeView // accept checked it
      observe(view)
      if (isTerminal(view.state)) return success(view)
    }
    await sleep(interval, spec.signal)
    if (spec.signal?.aborted) return clientFailure('aborted')
  }
}

function isTransient(failure: Failure): boolean {
  return (
    failure.errorCode === 'network_error' ||
    failure.errorCode === 'too_many_requests' ||
    (failure.status !== undefined && failure.status >= 500)
  )
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** Waits `ms`, or less if `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
