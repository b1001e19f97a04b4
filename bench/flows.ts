// Complete verification flows per second, end to end over HTTP:
//   in-app: track (secret key) → challenge (Bearer) → verify (Bearer, P-256 signature) → validate;
//   push:   track → push (Bearer) → sign, pending, answer (the phone: tenant ID, P-256 key)
//           → verify (Bearer, the new token) → validate;
// and track alone, on an action without rules (track), with five (track-rules) or both in one
// window (track-paired), to show what rules cost.
// The server runs as its own process on PostgreSQL and/or PGlite; see bench/README.md.
//
//   npm run bench -- --db postgres --duration 30
//   npm run bench -- --flow both
//   npm run bench -- --db postgres --flow tracks
//   npm run bench -- --db postgres --flow track-paired
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { CountersignApi, FLOW_CALLS, FLOW_KINDS, isTrackFlow, newBenchUser, type BenchUser, type FlowKind } from './lib/countersign.ts'
import { enrollAll, runLoad, type LoadResult } from './lib/load.ts'
import { analyzeDatabase, recreateDatabase, redactUrl } from './lib/postgres.ts'
import { CpuMeter, RssSampler } from './lib/proc.ts'
import { ACTIONS_PER_HOUR_LIMIT, BENCH_RULES, describeSetup, setUpTrackFlow } from './lib/rule-set.ts'
import {
  errorRate,
  fileStamp,
  formatNotes,
  formatTable,
  runName,
  summarize,
  writeResultFile,
  type DatabaseResult,
} from './lib/report.ts'
import { configureTenant, createTenant, freePort, REPO_ROOT, ServerProcess, ServerStartError, serverEnv } from './lib/server.ts'
import { ExclusiveUsers, SharedUsers, type UserPool } from './lib/user-pool.ts'

type DatabaseKind = 'postgres' | 'pglite'

const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results')
/** More than this share of errored flows fails the run: a fast benchmark of failures is no result. */
const MAX_ERROR_RATE = 0.01
const ENROLL_PARALLEL = 16
/** PGlite is one connection inside the server process: more concurrency only queues. */
const DEFAULT_CONCURRENCY: Record<DatabaseKind, number> = { postgres: 32, pglite: 8 }
/**
 * The track flows measure what rules add to one call, so by default one track at a time: on a
 * saturated machine a track's latency is mostly waiting behind others (concurrency ÷
 * throughput), which would multiply the rules' cost by the queue. `--concurrency` raises it to
 * measure throughput instead.
 */
const TRACK_CONCURRENCY = 1
/**
 * Push-bombing limits of the push run's tenant, the highest TenantSettings allows (defaults 3
 * and 10). Users also take turns (ExclusiveUsers), so a user has one push in flight at a time,
 * and the load ends before any user reaches the hourly limit: `--users` × 1000 push flows per
 * database, warm-up included (each database starts empty).
 */
const PUSH_LIMITS = { pushMaxPending: 20, pushMaxPerHour: 1000 } as const
/** What `--flow` names beyond single flows. */
const FLOW_GROUPS: Record<string, readonly FlowKind[]> = {
  both: ['in-app', 'push'],
  tracks: ['track', 'track-rules'],
  all: FLOW_KINDS,
}

interface Options {
  databases: DatabaseKind[]
  flows: FlowKind[]
  warmupSeconds: number
  durationSeconds: number
  /** Undefined: the per-database default. */
  concurrency: number | undefined
  users: number
  maxFlows: number
  databaseUrl: string
  /** Leave a fresh PostgreSQL database without planner statistics (see analyzeDatabase). */
  skipAnalyze: boolean
  cpuProf: boolean
}

const USAGE = `Usage: npm run bench -- [options]
  --db postgres|pglite|both   databases to run against (default both)
  --flow <flow>               flows to measure, each on its own fresh database (default in-app):
                              in-app, push, track, track-rules, track-paired; both (in-app
                              and push), tracks (track and track-rules), all
  --duration <s>              measured seconds per database and flow (default 15)
  --warmup <s>                unmeasured seconds before that (default 3)
  --concurrency <n>           concurrent flows (default 32 on postgres, 8 on pglite; 1 for the
                              track flows)
  --users <n>                 enrolled users, one device each (default 200; for push and the
                              track flows at least --concurrency: such a user is in one flow
                              at a time)
  --max-flows <n>             also stop after this many measured flows (default: no limit)
  --database-url <url>        PostgreSQL database to drop and recreate
                              (default postgres://postgres@127.0.0.1:5432/countersign_bench)
  --skip-analyze              do not ANALYZE the PostgreSQL database after enrolling users
                              (measures a database without planner statistics)
  --cpu-prof                  write a V8 CPU profile of the server to bench/results/`

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string', default: 'both' },
      flow: { type: 'string', default: 'in-app' },
      duration: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '3' },
      concurrency: { type: 'string' },
      users: { type: 'string', default: '200' },
      'max-flows': { type: 'string' },
      'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/countersign_bench' },
      'skip-analyze': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  if (!['postgres', 'pglite', 'both'].includes(values.db)) throw new UsageError(`--db must be postgres, pglite or both (got "${values.db}")`)
  const flows: FlowKind[] | undefined = (FLOW_KINDS as string[]).includes(values.flow) ? [values.flow as FlowKind] : FLOW_GROUPS[values.flow]?.slice()
  if (!flows) throw new UsageError(`--flow must be one of ${[...FLOW_KINDS, ...Object.keys(FLOW_GROUPS)].join(', ')} (got "${values.flow}")`)
  const databases: DatabaseKind[] = values.db === 'both' ? ['postgres', 'pglite'] : [values.db as DatabaseKind]
  const concurrency = values.concurrency === undefined ? undefined : positiveInteger('--concurrency', values.concurrency)
  const users = positiveInteger('--users', values.users)
  // Push and track users take turns (ExclusiveUsers): a user is in one flow at a time.
  const mostConcurrent = (flow: FlowKind) => Math.max(...databases.map((kind) => concurrency ?? defaultConcurrency(kind, flow)))
  const short = flows.filter((flow) => flow !== 'in-app' && users < mostConcurrent(flow))
  if (short.length > 0) {
    const most = Math.max(...short.map(mostConcurrent))
    throw new UsageError(`--users must be at least the concurrency (${most}) for ${short.join(', ')}: a user of these flows is in one flow at a time`)
  }
  return {
    databases,
    flows,
    warmupSeconds: positiveNumber('--warmup', values.warmup, { allowZero: true }),
    durationSeconds: positiveNumber('--duration', values.duration),
    concurrency,
    users,
    maxFlows: values['max-flows'] === undefined ? Number.POSITIVE_INFINITY : positiveInteger('--max-flows', values['max-flows']),
    databaseUrl: values['database-url'],
    skipAnalyze: values['skip-analyze'],
    cpuProf: values['cpu-prof'],
  }
}

class UsageError extends Error {
  override name = 'UsageError'
}

function positiveNumber(flag: string, text: string, { allowZero = false } = {}): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !allowZero)) throw new UsageError(`${flag} must be a positive number (got "${text}")`)
  return value
}

function positiveInteger(flag: string, text: string): number {
  const value = positiveNumber(flag, text)
  if (!Number.isInteger(value)) throw new UsageError(`${flag} must be a whole number (got "${text}")`)
  return value
}

/** Where the server keeps its data for one run, and how to remove it afterwards. */
interface Storage {
  env: Record<string, string>
  cleanup(): void
}

async function prepareStorage(kind: DatabaseKind, options: Options): Promise<Storage> {
  if (kind === 'postgres') {
    await recreateDatabase(options.databaseUrl)
    return { env: { DATABASE_URL: options.databaseUrl }, cleanup: () => {} }
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-bench-'))
  return {
    env: { COUNTERSIGN_DATA_DIR: path.join(dir, 'data') },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** One flow on one database: fresh storage → tenant → server → enrolled users → load → results. */
async function benchRun(kind: DatabaseKind, flow: FlowKind, options: Options, stamp: string, signal: AbortSignal): Promise<DatabaseResult> {
  const concurrency = options.concurrency ?? defaultConcurrency(kind, flow)
  const label = `${kind} ${flow}`
  process.stderr.write(`\n[${label}] preparing ${kind === 'postgres' ? redactUrl(options.databaseUrl) : 'a fresh PGlite directory'}\n`)
  const storage = await prepareStorage(kind, options)
  let server: ServerProcess | undefined
  let api: CountersignApi | undefined
  try {
    const env = serverEnv(await freePort(), storage.env)
    const tenant = await createTenant(env)
    if (flow === 'push') await configureTenant(env, tenant.tenantId, PUSH_LIMITS)
    const client = new CountersignApi(tenant, concurrency)
    api = client
    // One directory per run: V8 writes one profile per thread (the main thread is the one with
    // TID 0 in its name; tsx's module loader runs in a second thread), so a fixed name would clash.
    const profileDir = path.join(RESULTS_DIR, `${runName(flow, kind)}-${stamp}.cpuprofiles`)
    const nodeArgs = options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []
    const logPath = path.join(RESULTS_DIR, `${runName(flow, kind)}-${stamp}.server.log`)
    server = await ServerProcess.start(env, { nodeArgs, logPath, ready: () => client.readiness() })
    process.stderr.write(`[${label}] server pid ${server.pid} at ${tenant.apiUrl}; enrolling ${options.users} users\n`)

    const users: BenchUser[] = Array.from({ length: options.users }, (_, i) => newBenchUser(i))
    await enrollAll(client, users, flow, ENROLL_PARALLEL, signal)
    if (isTrackFlow(flow)) {
      process.stderr.write(`[${label}] configuring ${describeSetup(flow)}\n`)
      await setUpTrackFlow(tenant, client, flow)
    }
    const pool = userPool(flow, users)
    if (kind === 'postgres' && !options.skipAnalyze) {
      // PGlite cannot be reached from here while the server holds it (and has no autovacuum).
      process.stderr.write(`[${label}] ANALYZE (planner statistics, as on a live database)\n`)
      await analyzeDatabase(options.databaseUrl)
    }

    process.stderr.write(
      `[${label}] ${concurrency} workers: ${options.warmupSeconds} s warm-up, then ${options.durationSeconds} s measured` +
        `${Number.isFinite(options.maxFlows) ? ` or ${options.maxFlows} flows` : ''}\n`,
    )
    const cpu = new CpuMeter(server.pid, kind === 'postgres' ? 'postgres' : null)
    const rss = new RssSampler(server.pid)
    let load: LoadResult
    let maxRss: number
    try {
      load = await runLoad(client, pool, {
        label,
        flow,
        concurrency,
        warmupMs: options.warmupSeconds * 1000,
        durationMs: options.durationSeconds * 1000,
        maxFlows: options.maxFlows,
        signal,
        onWindowOpen: () => cpu.open(),
        onWindowClose: () => cpu.close(),
      })
    } finally {
      maxRss = rss.stop()
    }
    if (options.cpuProf) process.stderr.write(`[${label}] CPU profiles are written to ${path.relative(process.cwd(), profileDir)} when the server exits\n`)

    return {
      database: kind,
      flow,
      concurrency,
      users: options.users,
      measuredSeconds: Math.round(load.measuredSeconds * 100) / 100,
      flows: load.flows,
      erroredFlows: load.erroredFlows,
      flowsPerSecond: round1(load.flows / load.measuredSeconds),
      calls: load.calls,
      callsPerSecond: round1(load.calls / load.measuredSeconds),
      latencyMs: Object.fromEntries(Object.entries(load.latencies).map(([call, samples]) => [call, summarize(samples)])),
      errors: load.errors,
      warmup: { seconds: round1(load.warmup.seconds), flows: load.warmup.flows, erroredFlows: load.warmup.erroredFlows },
      cpuPercent: cpu.result,
      serverMaxRssMb: round1(maxRss / 2 ** 20),
      endedEarly: load.endedEarly,
    }
  } catch (error) {
    if (error instanceof ServerStartError) process.stderr.write(`[${label}] ${error.message}; server output:\n${error.output}\n`)
    throw error
  } finally {
    api?.close()
    await server?.stop()
    storage.cleanup()
  }
}

function defaultConcurrency(kind: DatabaseKind, flow: FlowKind): number {
  return isTrackFlow(flow) ? TRACK_CONCURRENCY : DEFAULT_CONCURRENCY[kind]
}

/**
 * Who takes the next flow. In-app: anyone, at random. Push: users in turn, within the tenant's
 * hourly push limit. Track: users in turn too, so every user's history grows alike, and never
 * beyond the velocity rule's limit, which would turn tracks into BLOCKs; every track flow
 * shares the pattern, so they compare.
 */
function userPool(flow: FlowKind, users: BenchUser[]): UserPool {
  switch (flow) {
    case 'in-app':
      return new SharedUsers(users)
    case 'push':
      return new ExclusiveUsers(users, PUSH_LIMITS.pushMaxPerHour)
    case 'track':
    case 'track-rules':
    case 'track-paired':
      // A paired flow is two of the user's actions.
      return new ExclusiveUsers(users, Math.floor(ACTIONS_PER_HOUR_LIMIT / FLOW_CALLS[flow].length), 'the rule set allows per user and hour (velocity.actions1h)')
    default: {
      const unknown: never = flow
      throw new Error(`no flow ${String(unknown)}`)
    }
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const startedAt = new Date()
  const stamp = fileStamp(startedAt)
  mkdirSync(RESULTS_DIR, { recursive: true })
  // Ctrl-C stops the load and still runs the cleanup below (server stopped, temp dir removed).
  const interrupt = new AbortController()
  process.once('SIGINT', () => interrupt.abort(new Error('interrupted')))
  process.once('SIGTERM', () => interrupt.abort(new Error('terminated')))

  const results: DatabaseResult[] = []
  for (const kind of options.databases) {
    for (const flow of options.flows) {
      const result = await benchRun(kind, flow, options, stamp, interrupt.signal)
      results.push(result)
      const file = writeResultFile(RESULTS_DIR, stamp, {
        startedAt: startedAt.toISOString(),
        config: {
          flow,
          concurrency: result.concurrency,
          users: options.users,
          // What the run set on its tenant; null: the defaults.
          tenantSettings: flow === 'push' ? PUSH_LIMITS : null,
          // The active rules of the tracked action; null: none.
          rules: flow === 'track-rules' || flow === 'track-paired' ? BENCH_RULES : null,
          warmupSeconds: options.warmupSeconds,
          durationSeconds: options.durationSeconds,
          maxFlows: Number.isFinite(options.maxFlows) ? options.maxFlows : null,
          database: kind === 'postgres' ? redactUrl(options.databaseUrl) : 'pglite (temporary directory)',
          databasePoolSize: process.env.DATABASE_POOL_SIZE ?? 'server default',
          analyzedAfterSetup: kind === 'postgres' && !options.skipAnalyze,
          cpuProfile: options.cpuProf,
        },
        results: result,
      })
      process.stderr.write(`[${kind} ${flow}] results written to ${path.relative(process.cwd(), file)}\n`)
    }
  }

  const tables = options.flows.map((flow) => `${flow}:\n${formatTable(flow, results.filter((r) => r.flow === flow))}`)
  process.stdout.write(`\n${tables.join('\n\n')}\n\n${formatNotes(results)}\n`)
  const failing = results.filter((r) => errorRate(r) > MAX_ERROR_RATE)
  for (const r of failing) process.stderr.write(`[${r.database} ${r.flow}] ${(errorRate(r) * 100).toFixed(2)}% of flows errored (limit ${MAX_ERROR_RATE * 100}%)\n`)
  return failing.length === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}\n`)
    else process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(error instanceof UsageError ? 2 : 1)
  },
)
