// The fault suite (issue 6, "Faults"): `countersign serve` as its own process on a PostgreSQL
// cluster of the suite's own, loaded with complete in-app flows, then
//   1. the database stopped for 10 s and started again: calls during the outage get 503 with
//      Retry-After (never a 500, never a hang), the same server process recovers, and nothing
//      is half-changed;
//   2. the server killed with SIGKILL under load, several times, and started again on the same
//      database: no challenge or token is spent twice, no verified action loses its state, and
//      no outbox event is lost (every committed event reaches the webhook receiver);
//   3. SIGTERM while verify requests are held inside the server: every request the server had
//      accepted gets its complete response, and the process exits 0 within SHUTDOWN_GRACE_MS.
// After each fault every interrupted flow is carried on from the step it reached, and the
// database is checked against what the flows saw (invariants.ts).
//
// Run: npm run test:faults   (needs the PostgreSQL server binaries; not the shared database)
// Exit status: 0 when every property held, 1 otherwise; the summary lists each violation.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { cliJson, countersignEnv, CountersignProcess, freePort, readiness } from './countersign-process.ts'
import { FlowBook, FlowClient, Load, PAYMENT_ACTION, SLOW_ACTION, isComplete, type FaultUser, type Flow, type Tenant } from './flows.ts'
import { CALL_TIMEOUT_MS, CallLog, HttpCalls, NoResponse, SplitRequest, type CallRecord, type ConnectionMode } from './http-calls.ts'
import { checkInvariants, outboxState } from './invariants.ts'
import { PostgresCluster } from './postgres-cluster.ts'
import { HOOK_PATH, Receiver, VERIFY_PATH } from './receiver.ts'

const USERS = 24
const WORKERS = 8
const LOAD_BEFORE_OUTAGE_MS = 4_000
const OUTAGE_MS = 10_000
const LOAD_AFTER_OUTAGE_MS = 4_000
/** The same process must answer again within this long after the database is back. */
const RECOVERY_LIMIT_MS = 15_000
const KILLS = 3
const SLOW_VERIFIES = 16
/** How long held verify requests stay in flight after SIGTERM. */
const HOLD_AFTER_SIGTERM_MS = 1_500
const SHUTDOWN_GRACE_MS = 8_000
/**
 * A delivery leased by a killed server is retried when its lease (60 s) runs out: the outbox
 * may take that long to drain after the last kill.
 */
const DRAIN_LIMIT_MS = 100_000
/** The whole run; past it the suite fails rather than hang CI. */
const RUN_LIMIT_MS = 240_000
const REPLAYS_PER_CHECK = 100

const started = performance.now()
const elapsed = () => ((performance.now() - started) / 1000).toFixed(1).padStart(5)
const say = (message: string) => console.log(`[${elapsed()}s] ${message}`)

/** Every property checked and every one violated, for the summary and the exit status. */
class Verdict {
  readonly violations: string[] = []
  checks = 0
  /** Database checks run (each checks every invariant), invariants checked in all, and held. */
  invariantPasses = 0
  invariantsChecked = 0
  invariantsHeld = 0
  /** Each fault injected, and whether no property was violated from its start to its checks' end. */
  readonly faults: Array<{ name: string; survived: boolean }> = []
  readonly counts: Array<[string, string | number]> = []

  /** Runs `phase` (a fault and its checks) and records whether the fault was survived. */
  async fault<T>(name: string, phase: () => Promise<T>): Promise<T> {
    const before = this.violations.length
    try {
      return await phase()
    } finally {
      this.faults.push({ name, survived: this.violations.length === before })
    }
  }

  expect(name: string, ok: boolean, detail = ''): void {
    this.checks++
    if (ok) return
    this.violations.push(detail ? `${name}: ${detail}` : name)
    say(`  VIOLATION ${name}${detail ? `: ${detail}` : ''}`)
  }

  count(name: string, value: string | number): void {
    this.counts.push([name, value])
    say(`  ${name}: ${value}`)
  }
}

interface Run {
  cluster: PostgresCluster
  receiver: Receiver
  tenant: Tenant
  users: FaultUser[]
  book: FlowBook
  calls: CallLog
  env: (settings?: Record<string, string>) => NodeJS.ProcessEnv
  logDir: string
  servers: CountersignProcess[]
  verdict: Verdict
}

async function main(): Promise<number> {
  const verdict = new Verdict()
  const logDir = mkdtempSync(join(tmpdir(), 'countersign-fault-logs-'))
  const servers: CountersignProcess[] = []
  let cluster: PostgresCluster | undefined
  let receiver: Receiver | undefined
  let keepLogs = false

  let cleaning: Promise<void> | undefined
  // Runs once, however the run ends: no server process and no private database outlive it.
  const cleanUp = () =>
    (cleaning ??= (async () => {
      for (const server of servers) server.kill('SIGKILL')
      await Promise.all(servers.map((server) => server.exited))
      await receiver?.close()
      await cluster?.destroy()
      if (!keepLogs) rmSync(logDir, { recursive: true, force: true })
    })())
  const abort = (reason: string, status: number) => {
    say(`${reason}: cleaning up; server logs kept in ${logDir}`)
    keepLogs = true
    void cleanUp().finally(() => process.exit(status))
  }
  // Interrupted (Ctrl-C, CI cancelling the job): still stop the private database.
  process.once('SIGINT', () => abort('SIGINT', 130))
  process.once('SIGTERM', () => abort('SIGTERM', 143))
  const watchdog = setTimeout(() => abort(`run limit of ${RUN_LIMIT_MS / 1000} s exceeded`, 1), RUN_LIMIT_MS)
  watchdog.unref()

  try {
    say('setting up: private PostgreSQL cluster, webhook receiver, tenant')
    cluster = await PostgresCluster.create('countersign')
    receiver = await Receiver.start()
    say(`  PostgreSQL on 127.0.0.1:${cluster.port} (data in ${cluster.dir})`)
    const port = await freePort()
    const common: Record<string, string> = {
      DATABASE_URL: cluster.url,
      PORT: String(port),
      COUNTERSIGN_PUBLIC_URL: `http://127.0.0.1:${port}`,
      COUNTERSIGN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      WEBHOOK_POLL_MS: '250',
      WEBHOOK_TIMEOUT_MS: '2000',
    }
    const env = (settings: Record<string, string> = {}) => countersignEnv({ ...common, ...settings })
    const tenant = await cliJson<Tenant>(env(), 'tenants', 'create', '--name', 'fault suite')
    await Promise.all([
      cliJson(env(), 'webhooks', 'create', '--tenant', tenant.tenantId, '--url', receiver.url(HOOK_PATH)),
      cliJson(env(), 'actions', 'configure', '--tenant', tenant.tenantId, '--action', SLOW_ACTION, '--verification-webhook', receiver.url(VERIFY_PATH)),
    ])

    const run: Run = { cluster, receiver, tenant, users: [], book: new FlowBook(), calls: new CallLog(), env, logDir, servers, verdict }
    let server = await startServer(run, 'outage')
    say(`  countersign serve pid ${server.pid} on ${server.url}; enrolling ${USERS} users`)
    const enroller = new FlowClient(new HttpCalls(server.url, run.calls, 'keep-alive'), tenant)
    run.users = await Promise.all(Array.from({ length: USERS }, (_, i) => enroller.enroll(`fault-user-${i}`)))
    enroller.http.close()

    server = await verdict.fault(`PostgreSQL stopped for ${OUTAGE_MS / 1000} s`, () => databaseOutage(run, server))
    for (let round = 1; round <= KILLS; round++) {
      const killed = server
      server = await verdict.fault(`kill -9 under load #${round}`, () => crash(run, killed, round))
    }
    const drained = server
    await verdict.fault('SIGTERM with requests in flight', () => gracefulDrain(run, drained))
    await finalChecks(run)
  } catch (error) {
    verdict.expect('the suite ran to its end', false, error instanceof Error ? (error.stack ?? error.message) : String(error))
    if (cluster) console.log(`PostgreSQL log (tail):\n${cluster.logTail()}`)
  }
  clearTimeout(watchdog)

  keepLogs = verdict.violations.length > 0
  summarize(verdict, keepLogs ? logDir : null)
  await cleanUp()
  return verdict.violations.length === 0 ? 0 : 1
}

async function startServer(run: Run, name: string, settings: Record<string, string> = {}): Promise<CountersignProcess> {
  const server = await CountersignProcess.start(run.env(settings), join(run.logDir, `${run.servers.length + 1}-${name}.log`))
  run.servers.push(server)
  return server
}

function client(run: Run, server: CountersignProcess, mode: ConnectionMode = 'keep-alive'): FlowClient {
  return new FlowClient(new HttpCalls(server.url, run.calls, mode, WORKERS * 2), run.tenant)
}

/** Carries every interrupted flow on from the step it reached, a few at a time. */
async function resumeFlows(run: Run, flowClient: FlowClient): Promise<number> {
  const pending = run.book.incomplete()
  let next = 0
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (next < pending.length) await flowClient.advance(pending[next++]!)
    }),
  )
  return pending.length
}

/** Presents spent challenges and used tokens of `flows` again: each must be refused. */
async function replay(run: Run, flowClient: FlowClient, flows: Flow[]): Promise<void> {
  const sample = flows.filter((flow) => flow.verify !== 'pending').slice(-REPLAYS_PER_CHECK)
  const accepted: string[] = []
  for (const flow of sample) {
    const verify = await flowClient.replayVerify(flow)
    if (verify instanceof NoResponse || verify.status !== 409) accepted.push(`flow ${flow.id} verify again → ${verify instanceof NoResponse ? verify.code : verify.status}`)
    if (flow.validate === 'pending') continue
    const validate = await flowClient.replayValidate(flow)
    if (validate instanceof NoResponse || validate.body?.isValid !== false || validate.body.error !== 'token_already_used') {
      accepted.push(`flow ${flow.id} validate again → ${validate instanceof NoResponse ? validate.code : JSON.stringify(validate.body)}`)
    }
  }
  run.verdict.expect('a spent challenge or used token presented again is refused (409 / token_already_used)', accepted.length === 0, accepted.slice(0, 3).join('; '))
  run.verdict.count('replays refused', `${sample.length} challenges, ${sample.filter((f) => f.validate !== 'pending').length} tokens`)
}

async function invariants(run: Run, when: string): Promise<void> {
  const db = new pg.Client({ connectionString: run.cluster.url })
  await db.connect()
  try {
    const results = await checkInvariants(db, run.tenant.tenantId, run.book.flows)
    for (const result of results) run.verdict.expect(`[${when}] ${result.name}`, result.ok, result.detail)
    run.verdict.invariantPasses++
    run.verdict.invariantsChecked += results.length
    run.verdict.invariantsHeld += results.filter((r) => r.ok).length
    say(`  ${results.filter((r) => r.ok).length}/${results.length} invariants hold ${when}`)
  } finally {
    await db.end()
  }
}

/** Calls no fault excuses: a 5xx other than 503, a 503 without Retry-After, a hang. */
function expectCleanCalls(run: Run, name: string, calls: CallRecord[], options: { check503Shape: boolean } = { check503Shape: true }): void {
  const errors = calls.filter((call) => call.status !== null && call.status >= 500 && call.status !== 503)
  run.verdict.expect(`${name}: no 5xx but 503`, errors.length === 0, errors.slice(0, 3).map((c) => `${c.step} ${c.status} ${c.errorCode}`).join('; '))
  if (options.check503Shape) {
    const bare503 = calls.filter((call) => call.status === 503 && (!/^[1-9]\d*$/.test(call.retryAfter ?? '') || call.errorCode !== 'service_unavailable'))
    run.verdict.expect(`${name}: every 503 is service_unavailable with Retry-After`, bare503.length === 0, bare503.slice(0, 3).map((c) => `${c.step} retry-after=${c.retryAfter} ${c.errorCode}`).join('; '))
  }
  const hung = calls.filter((call) => call.network === 'ETIMEDOUT')
  run.verdict.expect(`${name}: no call hangs past ${CALL_TIMEOUT_MS / 1000} s`, hung.length === 0, `${hung.length} timed out`)
}

function windowCalls(run: Run, ...windows: string[]): CallRecord[] {
  return run.calls.calls.filter((call) => windows.includes(call.window))
}

function windowFlows(run: Run, window: string): Flow[] {
  return run.book.flows.filter((flow) => flow.window === window)
}

async function databaseOutage(run: Run, server: CountersignProcess): Promise<CountersignProcess> {
  const { verdict, calls, cluster } = run
  say(`phase 1: database outage — ${WORKERS} workers of in-app flows, PostgreSQL stopped for ${OUTAGE_MS / 1000} s`)
  const flowClient = client(run, server)
  calls.window = 'before'
  const load = new Load(flowClient, run.book, { users: run.users, action: PAYMENT_ACTION, workers: WORKERS, window: () => calls.window })
  await sleep(LOAD_BEFORE_OUTAGE_MS)

  calls.window = 'outage'
  await cluster.stop('fast')
  say(`  PostgreSQL stopped (fast shutdown) after ${windowFlows(run, 'before').length} flows`)
  await sleep(OUTAGE_MS)
  await cluster.start()
  const backAt = performance.now()
  calls.window = 'recovery'
  say('  PostgreSQL started again')
  while ((await readiness(server.url)) !== 200 && performance.now() - backAt < RECOVERY_LIMIT_MS) await sleep(50)
  const recoveryMs = performance.now() - backAt
  calls.window = 'after'
  await sleep(LOAD_AFTER_OUTAGE_MS)
  await load.stop()
  flowClient.http.close()

  verdict.expect('the server answered again without a restart', server.running && recoveryMs < RECOVERY_LIMIT_MS, `ready after ${recoveryMs.toFixed(0)} ms`)
  const all = windowCalls(run, 'before', 'outage', 'recovery', 'after')
  expectCleanCalls(run, 'outage', all)
  const dropped = all.filter((call) => call.network !== null)
  verdict.expect('outage: no connection dropped (the server stayed up)', dropped.length === 0, dropped.slice(0, 3).map((c) => `${c.step} ${c.network}`).join('; '))
  const during = windowCalls(run, 'outage')
  const unavailable = during.filter((call) => call.status === 503)
  const other = during.filter((call) => call.status !== 200 && call.status !== 503)
  verdict.expect('outage: calls during the outage get 200 (no database needed) or 503', other.length === 0, other.slice(0, 3).map((c) => `${c.step} ${c.status} ${c.errorCode}`).join('; '))
  verdict.expect('outage: the outage was observed (503s seen)', unavailable.length > 0)
  const slowest = Math.max(0, ...during.map((call) => call.endedAt - call.sentAt))
  const afterFlows = windowFlows(run, 'after')
  const afterFailed = afterFlows.filter((flow) => !isComplete(flow))
  verdict.expect('outage: every flow started after recovery completes', afterFailed.length === 0, afterFailed.slice(0, 3).map((f) => f.failures.join(', ')).join('; '))

  const interrupted = run.book.incomplete().length
  const resumeClient = client(run, server)
  const resumed = await resumeFlows(run, resumeClient)
  resumeClient.http.close()
  const summary = (window: string) => {
    const flows = windowFlows(run, window)
    return `${flows.length} (${flows.filter((f) => f.failures.length === 0).length} uninterrupted)`
  }
  verdict.count('flows before the outage', summary('before'))
  verdict.count('flows during the outage', summary('outage'))
  verdict.count('flows while recovering', summary('recovery'))
  verdict.count('flows after recovery', summary('after'))
  verdict.count('calls during the outage', `${during.length}: ${unavailable.length} × 503 with Retry-After ${[...new Set(unavailable.map((c) => c.retryAfter))].join('/')}, ${during.filter((c) => c.status === 200).length} × 200, slowest ${slowest.toFixed(0)} ms`)
  verdict.count('database back → server ready', `${recoveryMs.toFixed(0)} ms (same pid ${server.pid})`)
  verdict.count('interrupted flows carried on after recovery', `${resumed} (of ${interrupted})`)
  await invariants(run, 'after the outage')
  return server
}

async function crash(run: Run, server: CountersignProcess, round: number): Promise<CountersignProcess> {
  const { verdict, calls } = run
  say(`phase 2.${round}: kill -9 under load, then a start on the same database`)
  const window = `crash-${round}`
  calls.window = window
  const flowClient = client(run, server)
  const load = new Load(flowClient, run.book, { users: run.users, action: PAYMENT_ACTION, workers: WORKERS, window: () => calls.window })
  await sleep(1_500 + Math.random() * 1_500)
  const killedAt = performance.now()
  server.kill('SIGKILL')
  load.halt()
  const exit = await server.exited
  await load.stop()
  flowClient.http.close()
  verdict.expect(`crash ${round}: the server died of SIGKILL`, exit.signal === 'SIGKILL', `exit ${exit.code ?? exit.signal}`)

  const roundCalls = windowCalls(run, window)
  expectCleanCalls(run, `crash ${round}`, roundCalls)
  const early = roundCalls.filter((call) => call.network !== null && call.endedAt < killedAt)
  verdict.expect(`crash ${round}: no connection dropped before the kill`, early.length === 0, early.slice(0, 3).map((c) => `${c.step} ${c.network}`).join('; '))
  const inFlight = roundCalls.filter((call) => call.sentAt < killedAt && call.endedAt >= killedAt && call.network !== null)
  const flows = windowFlows(run, window)

  const restarted = await startServer(run, `restart-${round}`)
  calls.window = `restart-${round}`
  const interrupted = run.book.incomplete()
  const uncertain = interrupted.filter((flow) => flow.uncertain.size > 0).length
  const resumeClient = client(run, restarted)
  await resumeFlows(run, resumeClient)
  verdict.count(
    `kill -9 #${round}`,
    `${flows.length} flows, killed with ${inFlight.length} calls in flight (${inFlight.map((c) => c.step).sort().join(',') || 'none'}); ` +
      `restarted as pid ${restarted.pid}; ${interrupted.length} flows carried on (${uncertain} with an unanswered step)`,
  )
  await replay(run, resumeClient, flows)
  resumeClient.http.close()
  await invariants(run, `after kill -9 #${round}`)
  return restarted
}

/** The server's request log: the address of every request it received (fastify's "incoming request"). */
function receivedFrom(log: string): Set<string> {
  const addresses = new Set<string>()
  for (const line of log.split('\n')) {
    if (!line.includes('"incoming request"')) continue
    try {
      const entry = JSON.parse(line) as { req?: { remoteAddress?: string } }
      if (entry.req?.remoteAddress) addresses.add(entry.req.remoteAddress)
    } catch {
      // not a log line of ours
    }
  }
  return addresses
}

async function gracefulDrain(run: Run, previous: CountersignProcess): Promise<void> {
  const { verdict, calls, receiver } = run
  say('phase 3: graceful shutdown — SIGTERM with verify requests in flight')
  calls.window = 'idle-stop'
  const idleStop = performance.now()
  previous.kill('SIGTERM')
  const idleExit = await previous.exited
  verdict.expect('an idle server exits 0 on SIGTERM', idleExit.code === 0, `exit ${idleExit.code ?? idleExit.signal} after ${(idleExit.at - idleStop).toFixed(0)} ms`)

  // At info level the server logs every request it receives, with the address it came from;
  // each call below comes from an address of its own, so the log says which calls it accepted.
  const server = await startServer(run, 'drain', { LOG_LEVEL: 'info' })
  const flowClient = client(run, server, 'own-address')
  calls.window = 'drain'
  receiver.hold()
  const load = new Load(flowClient, run.book, { users: run.users, action: PAYMENT_ACTION, workers: WORKERS, window: () => calls.window })
  const slow = Array.from({ length: SLOW_VERIFIES }, (_, i) => run.book.start('drain', run.users[i % run.users.length]!, SLOW_ACTION))
  const slowDone = Promise.all(slow.map((flow) => flowClient.advance(flow)))
  const deadline = performance.now() + 20_000
  while (receiver.held < SLOW_VERIFIES && performance.now() < deadline) await sleep(20)
  verdict.expect('drain: the slow verify requests are in flight inside the server', receiver.held === SLOW_VERIFIES, `${receiver.held} held`)

  // A request the server has begun to receive when SIGTERM comes, completed after it.
  const split = await SplitRequest.begin(server.url, 'POST', '/v1/validate', { authorization: `Basic ${Buffer.from(`${run.tenant.secretKey}:`).toString('base64')}` }, { token: 'not-a-token' })
  // A request on a later connection answered means the server has read the earlier bytes:
  // the half-sent request is under way inside it (not an idle connection that close() drops).
  verdict.expect('drain: the server answers while the request is half sent', (await readiness(server.url)) === 200)

  const sigtermAt = performance.now()
  server.kill('SIGTERM')
  calls.window = 'draining'
  say(`  SIGTERM sent with ${receiver.held} verify requests held, a request half sent and ${WORKERS} workers running`)
  const release = setTimeout(() => receiver.release(), HOLD_AFTER_SIGTERM_MS)
  await sleep(300)
  const late = await split.finish()
  const exit = await server.exited
  clearTimeout(release)
  receiver.release()
  load.halt()
  await load.stop()
  await slowDone
  flowClient.http.close()

  const exitMs = exit.at - sigtermAt
  verdict.expect(`drain: the server exits 0 within SHUTDOWN_GRACE_MS (${SHUTDOWN_GRACE_MS} ms)`, exit.code === 0 && exitMs < SHUTDOWN_GRACE_MS, `exit ${exit.code ?? exit.signal} after ${exitMs.toFixed(0)} ms`)
  const slowOk = slow.filter((flow) => flow.verify === 'ok')
  verdict.expect('drain: every held verify got its 200 and token', slowOk.length === SLOW_VERIFIES, slow.filter((f) => f.verify !== 'ok').map((f) => f.failures.join(',')).slice(0, 3).join('; '))

  verdict.expect('drain: a request begun before SIGTERM and finished after it gets a complete response', !(late instanceof NoResponse), late instanceof NoResponse ? late.code : '')
  if (!(late instanceof NoResponse)) {
    const coded = late.status !== 503 || (late.body?.errorCode === 'service_unavailable' && /^[1-9]\d*$/.test(late.headers['retry-after'] ?? ''))
    verdict.expect(
      'drain: a request refused while closing gets a coded 503 with Retry-After',
      coded,
      `${late.status} retry-after=${late.headers['retry-after'] ?? 'none'} body=${JSON.stringify(late.body)}`,
    )
    verdict.count('request half sent across SIGTERM', `${late.status} ${JSON.stringify(late.body)}`)
  }

  const received = receivedFrom(server.log())
  const drainCalls = windowCalls(run, 'drain', 'draining')
  verdict.expect('drain: the request log names the calls received', received.size > 0)
  const cutOff = drainCalls.filter((call) => call.status === null && call.localAddress !== null && received.has(call.localAddress))
  verdict.expect(
    'drain: every request the server accepted got a complete response',
    cutOff.length === 0,
    cutOff.slice(0, 3).map((c) => `${c.step} from ${c.localAddress}: ${c.network}`).join('; '),
  )
  // A 503 while closing is the split request's property above: one violation per fault, not one per call.
  expectCleanCalls(run, 'drain', drainCalls, { check503Shape: false })
  const afterSigterm = drainCalls.filter((call) => call.sentAt >= sigtermAt)
  const acceptedInFlight = drainCalls.filter((call) => call.sentAt < sigtermAt && call.endedAt >= sigtermAt && call.status !== null)
  const refused = drainCalls.filter((call) => call.status === null)
  const refusedCodes = [...new Set(refused.map((call) => call.network))].join('/')
  verdict.count(
    'SIGTERM drain',
    `${acceptedInFlight.length} calls in flight answered (${slow.filter((f) => f.verify === 'ok').length} of ${SLOW_VERIFIES} held verifies), ` +
      `${afterSigterm.length} sent after SIGTERM, ${refused.length} never accepted (${refusedCodes || 'none'}), exit ${exit.code ?? exit.signal} after ${exitMs.toFixed(0)} ms`,
  )
}

async function finalChecks(run: Run): Promise<void> {
  const { verdict, calls, receiver, cluster, tenant } = run
  say('final: start again, finish every flow, drain the outbox, check everything')
  calls.window = 'final'
  const server = await startServer(run, 'final')
  const flowClient = client(run, server)
  const resumed = await resumeFlows(run, flowClient)
  const slow = windowFlows(run, 'drain').filter((flow) => flow.action === SLOW_ACTION)
  verdict.expect('final: the tokens of the drained verifies validate', slow.every((flow) => flow.validate === 'valid'), slow.filter((f) => f.validate !== 'valid').map((f) => f.failures.join(',')).slice(0, 3).join('; '))
  await replay(run, flowClient, run.book.flows)
  flowClient.http.close()
  verdict.count('flows carried on after the drain', resumed)

  const db = new pg.Client({ connectionString: cluster.url })
  await db.connect()
  try {
    const drainStarted = performance.now()
    let state = await outboxState(db, tenant.tenantId, receiver)
    while ((state.undelivered.length > 0 || state.unrecorded > 0) && performance.now() - drainStarted < DRAIN_LIMIT_MS) {
      await sleep(500)
      state = await outboxState(db, tenant.tenantId, receiver)
    }
    verdict.expect('outbox: every committed event was delivered', state.undelivered.length === 0, `${state.undelivered.length} of ${state.events} never delivered, e.g. ${state.undelivered.slice(0, 3).join(', ')}`)
    verdict.expect('outbox: every delivery is recorded as delivered', state.unrecorded === 0, `${state.unrecorded} not recorded`)
    verdict.expect('outbox: nothing was delivered that was not committed', state.unknown.length === 0, state.unknown.slice(0, 3).join(', '))
    const duplicates = [...receiver.delivered.values()].filter((n) => n > 1).length
    verdict.count('outbox', `${state.events} events committed, all delivered (${receiver.deliveries} deliveries, ${duplicates} events more than once) in ${((performance.now() - drainStarted) / 1000).toFixed(1)} s of draining`)
  } finally {
    await db.end()
  }
  await invariants(run, 'at the end')

  const stopAt = performance.now()
  server.kill('SIGTERM')
  const exit = await server.exited
  verdict.expect('final: the server exits 0 on SIGTERM', exit.code === 0, `exit ${exit.code ?? exit.signal} after ${(exit.at - stopAt).toFixed(0)} ms`)

  const unhandled = run.servers.flatMap((s) => s.log().split('\n').filter((line) => line.includes('"unhandled error"') || line.includes('"unhandled framework error"')))
  verdict.expect('no server logged an unhandled error (a 500)', unhandled.length === 0, unhandled.slice(0, 2).join('\n'))
  const flows = run.book.flows
  verdict.count('flows in all', `${flows.length} (${flows.filter((f) => f.failures.length === 0).length} uninterrupted, ${flows.filter((f) => f.failures.length > 0).length} carried on after a fault)`)
  verdict.count(
    'unanswered calls that had committed (found spent when the flow was carried on)',
    `${flows.filter((f) => f.verify === 'committed').length} verifies, ${flows.filter((f) => f.validate === 'committed').length} validates`,
  )
  verdict.count('calls in all', calls.calls.length)
}

function summarize(verdict: Verdict, logDir: string | null): void {
  const wall = ((performance.now() - started) / 1000).toFixed(1)
  console.log('\n==> Fault suite summary')
  for (const [name, value] of verdict.counts) console.log(`  ${name}: ${value}`)
  const survived = verdict.faults.filter((fault) => fault.survived)
  console.log(`  faults survived: ${survived.length} of ${verdict.faults.length}`)
  for (const fault of verdict.faults) console.log(`    ${fault.survived ? 'survived' : 'FAILED  '}  ${fault.name}`)
  console.log(`  invariants checked: ${verdict.invariantsChecked} (${verdict.invariantsHeld} held) in ${verdict.invariantPasses} database checks`)
  console.log(`  properties checked: ${verdict.checks}, violated: ${verdict.violations.length}`)
  console.log(`  wall time: ${wall} s`)
  if (verdict.violations.length > 0) {
    console.log('\nViolations:')
    for (const violation of verdict.violations) console.log(`  - ${violation}`)
    if (logDir) console.log(`\nServer logs kept in ${logDir}`)
  }
  console.log(verdict.violations.length === 0 ? '\nFAULTS: PASS' : '\nFAULTS: FAIL')
}

// Exit rather than wait for the event loop: after a failure, load workers may still be running.
process.exit(await main())
