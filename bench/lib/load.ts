// The load: C workers, each running complete flows back to back (closed loop: a worker starts
// its next flow when the last one ends, as a pool of busy apps would). Only what completes
// inside the measured window counts, so the warm-up (JIT, connection pools, caches) and the
// tail of flows still in flight when the window closes do not skew the rate.
import { FlowError, NOT_REQUESTS, paymentBy, type BenchUser, type CountersignApi, type FlowKind, type FlowRecord } from './countersign.ts'
import type { UserPool } from './user-pool.ts'

/** Told after every call of a flow, successful or not, with its latency in ms. */
export type Observe = (call: string, ms: number, ok: boolean) => void

/**
 * One flow for `user`, whatever runs it (the server over HTTP, the floor in this process, the
 * peer): `flow` numbers it from 0 in the order flows start, and the result is what the
 * correctness check needs of a completed flow (nothing for the track flows).
 */
export type FlowRunner<U> = (user: U, flow: number, observe: Observe) => Promise<FlowRecord | void>

export interface LoadOptions {
  label: string
  /** The calls of a flow, in order: the latency columns. */
  calls: readonly string[]
  concurrency: number
  warmupMs: number
  durationMs: number
  /** The window also closes once this many flows have completed in it. */
  maxFlows: number
  signal: AbortSignal
  /** Called exactly when the measured window opens and closes (resource readings). */
  onWindowOpen(): void
  onWindowClose(): void
}

export interface LoadResult {
  measuredSeconds: number
  flows: number
  erroredFlows: number
  calls: number
  /** Successful calls' latencies in ms, for each call of the flow. */
  latencies: Record<string, number[]>
  errors: Record<string, number>
  warmup: { seconds: number; flows: number; erroredFlows: number }
  /** Why the window closed before its time, when the user pool ran out (see ExclusiveUsers). */
  endedEarly: string | null
  /**
   * Everything the run did, warm-up and the flows still in flight when the window closed
   * included, as the database saw it: for the correctness check (correctness.ts).
   */
  total: {
    flows: number
    erroredFlows: number
    /** Calls that answered 200, by call. */
    okCalls: Record<string, number>
    /** What each completed flow left behind. */
    records: FlowRecord[]
  }
}

type Phase = 'warm-up' | 'measured' | 'done'

class Recorder {
  phase: Phase = 'warm-up'
  windowOpenedAt = 0
  windowClosedAt = 0
  flows = 0
  erroredFlows = 0
  calls = 0
  warmupFlows = 0
  warmupErrors = 0
  endedEarly: string | null = null
  readonly latencies: Record<string, number[]>
  readonly errors: Record<string, number> = {}
  readonly total: LoadResult['total'] = { flows: 0, erroredFlows: 0, okCalls: {}, records: [] }

  constructor(calls: readonly string[]) {
    this.latencies = Object.fromEntries(calls.map((call) => [call, []]))
    this.total.okCalls = Object.fromEntries(calls.map((call) => [call, 0]))
  }

  call(call: string, ms: number, ok: boolean): void {
    if (ok) this.total.okCalls[call] = (this.total.okCalls[call] ?? 0) + 1
    if (this.phase !== 'measured') return
    if (!NOT_REQUESTS.has(call)) this.calls += 1
    // Failed calls are counted as errors, not mixed into the latency of successful ones.
    if (ok) this.latencies[call]?.push(ms)
  }

  flowDone(record: FlowRecord | void): void {
    this.total.flows += 1
    if (record) this.total.records.push(record)
    if (this.phase === 'warm-up') this.warmupFlows += 1
    else if (this.phase === 'measured') this.flows += 1
  }

  flowFailed(key: string): void {
    this.total.erroredFlows += 1
    if (this.phase === 'warm-up') this.warmupErrors += 1
    if (this.phase !== 'measured') return
    this.erroredFlows += 1
    this.errors[key] = (this.errors[key] ?? 0) + 1
  }
}

/** Runs the closed-loop load of `flow` and returns what the measured window saw. */
export async function runLoad<U>(flow: FlowRunner<U>, users: UserPool<U>, options: LoadOptions): Promise<LoadResult> {
  const recorder = new Recorder(options.calls)
  const startedAt = performance.now()

  let closeTimer: NodeJS.Timeout | undefined
  const closeWindow = () => {
    if (recorder.phase !== 'measured') return
    recorder.phase = 'done'
    recorder.windowClosedAt = performance.now()
    clearTimeout(closeTimer)
    options.onWindowClose()
  }
  const openTimer = setTimeout(() => {
    recorder.phase = 'measured'
    recorder.windowOpenedAt = performance.now()
    options.onWindowOpen()
    closeTimer = setTimeout(closeWindow, options.durationMs)
  }, options.warmupMs)
  /** Ends the load now (Ctrl-C, or no user may take another flow); the window closes if open. */
  const stop = () => {
    clearTimeout(openTimer)
    closeWindow()
    recorder.phase = 'done'
  }
  options.signal.addEventListener('abort', stop, { once: true })
  const progress = startProgress(options.label, recorder)

  let started = 0
  const worker = async () => {
    while (recorder.phase !== 'done') {
      const user = users.take()
      if (user === undefined) {
        recorder.endedEarly ??= `every user has had as many flows as ${users.limit ?? 'allowed'}`
        stop()
        break
      }
      try {
        recorder.flowDone(await flow(user, started++, (call, ms, ok) => recorder.call(call, ms, ok)))
        if (recorder.flows >= options.maxFlows) closeWindow()
      } catch (error) {
        recorder.flowFailed(errorKey(error))
      } finally {
        users.release(user)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker))
  } finally {
    clearInterval(progress)
    options.signal.removeEventListener('abort', stop)
  }
  options.signal.throwIfAborted()
  if (recorder.windowOpenedAt === 0) throw new Error(`[${options.label}] the load ended during the warm-up: ${recorder.endedEarly ?? 'no reason'}`)

  return {
    measuredSeconds: (recorder.windowClosedAt - recorder.windowOpenedAt) / 1000,
    flows: recorder.flows,
    erroredFlows: recorder.erroredFlows,
    calls: recorder.calls,
    latencies: recorder.latencies,
    errors: recorder.errors,
    warmup: {
      seconds: (recorder.windowOpenedAt - startedAt) / 1000,
      flows: recorder.warmupFlows,
      erroredFlows: recorder.warmupErrors,
    },
    endedEarly: recorder.endedEarly,
    total: recorder.total,
  }
}

/** Prints, every second, the flows so far in the current phase and the rate over the last second. */
function startProgress(label: string, recorder: Recorder): NodeJS.Timeout {
  // The rate comes from all completed flows, so it stays right across the warm-up → measured switch.
  const completed = () => recorder.warmupFlows + recorder.flows
  let last = { completed: completed(), at: performance.now() }
  return setInterval(() => {
    const now = { completed: completed(), at: performance.now() }
    const rate = (now.completed - last.completed) / ((now.at - last.at) / 1000)
    last = now
    if (recorder.phase === 'done') return
    const measured = recorder.phase === 'measured'
    const flows = measured ? recorder.flows : recorder.warmupFlows
    const errors = measured ? recorder.erroredFlows : recorder.warmupErrors
    process.stderr.write(
      `[${label}] ${recorder.phase.padEnd(8)} ${String(flows).padStart(7)} flows  ${rate.toFixed(0).padStart(5)} flows/s  errors ${errors}\n`,
    )
  }, 1000)
}

/**
 * Enrolls every user's device, `parallel` at a time, printing progress.
 * Enrollment is setup, not measurement: it runs before the server's numbers are read.
 */
export async function enrollAll(api: CountersignApi, users: BenchUser[], flow: FlowKind, parallel: number, signal: AbortSignal): Promise<void> {
  let next = 0
  let done = 0
  let lastPrinted = performance.now()
  const report = () => process.stderr.write(`  enrolled ${done}/${users.length} users\n`)
  const worker = async () => {
    while (next < users.length) {
      signal.throwIfAborted()
      const user = users[next++]!
      await api.enroll(user, flow)
      done += 1
      if (performance.now() - lastPrinted >= 1000 && done < users.length) {
        lastPrinted = performance.now()
        report()
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, users.length) }, worker))
  report()
}

/** Flows of `kind` against the server, each with a payment of its own. */
export function serverFlow(api: CountersignApi, kind: FlowKind): FlowRunner<BenchUser> {
  switch (kind) {
    case 'in-app':
      return (user, flow, observe) => api.inAppFlow(user, randomAmount(), observe, flow)
    case 'push':
      return (user, flow, observe) => api.pushFlow(user, randomAmount(), observe, flow)
    case 'push-stream':
      return (user, flow, observe) => api.pushStreamFlow(user, randomAmount(), observe, flow)
    case 'track':
    case 'track-rules':
      return (user, flow, observe) => api.trackFlow(user, paymentBy(user, randomAmount()), observe, flow)
    case 'track-paired':
      return (user, flow, observe) => api.pairedTrackFlow(user, paymentBy(user, randomAmount()), observe, flow)
    default: {
      const unknown: never = kind
      throw new Error(`no flow ${String(unknown)}`)
    }
  }
}

/** A payment amount, so each track carries custom data as a real integration's would. */
export function randomAmount(): number {
  return 1 + Math.floor(Math.random() * 5_000)
}

function errorKey(error: unknown): string {
  if (error instanceof FlowError) return error.key
  // Anything else is a bug in the benchmark itself; keep it visible rather than crash the run.
  return `bench ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`
}
