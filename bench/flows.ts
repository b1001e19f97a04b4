// Complete verification flows per second, end to end over HTTP:
//   in-app: track (secret key) → challenge (Bearer) → verify (Bearer, P-256 signature) → validate;
//   push:   track → push (Bearer) → sign, pending, answer (the phone: tenant ID, P-256 key)
//           → verify (Bearer, the new token) → validate;
// and track alone, on an action without rules (track), with five (track-rules) or both in one
// window (track-paired), to show what rules cost.
// The server runs as its own process on PostgreSQL and/or PGlite, or as several processes on
// one PostgreSQL (--nodes); beside it, on request, the in-app flow's floor (its SQL and crypto
// without HTTP, --floor) and a peer (oidc-provider's token endpoint, --peer). See bench/README.md.
//
//   npm run bench -- --db postgres --duration 30
//   npm run bench -- --flow both
//   npm run bench -- --db postgres --flow tracks
//   npm run bench -- --db postgres --flow track-paired
//   npm run bench -- --db postgres --floor --peer
//   npm run bench -- --db postgres --nodes 3 --flow all-push --redis
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { checkCorrectness, type CorrectnessReport } from './lib/correctness.ts'
import { CountersignApi, FLOW_CALLS, FLOW_KINDS, isPushFlow, isTrackFlow, newBenchUser, type BenchUser, type FlowKind } from './lib/countersign.ts'
import { Floor, serverPoolSize } from './lib/floor.ts'
import { enrollAll, randomAmount, runLoad, serverFlow, type LoadResult } from './lib/load.ts'
import { formatPeer, runPeer } from './lib/peer.ts'
import { positiveInteger, positiveNumber, UsageError } from './lib/options.ts'
import { analyzeDatabase, recreateDatabase, redactUrl } from './lib/postgres.ts'
import { CpuMeter, RssSampler, type CpuBreakdown } from './lib/proc.ts'
import { ACTIONS_PER_HOUR_LIMIT, BENCH_RULES, describeSetup, setUpTrackFlow } from './lib/rule-set.ts'
import {
  errorRate,
  fileStamp,
  formatNotes,
  formatTable,
  resultLabel,
  runName,
  summarize,
  writeJsonFile,
  writeResultFile,
  type DatabaseResult,
} from './lib/report.ts'
import {
  buildServerBundle,
  configureTenant,
  createTenant,
  freePort,
  REPO_ROOT,
  SERVER_BUNDLE,
  ServerProcess,
  ServerStartError,
  serverEnv,
  type BenchTenant,
} from './lib/server.ts'
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
  'all-push': ['push', 'push-stream'],
  tracks: ['track', 'track-rules'],
  all: FLOW_KINDS,
}
/** The Redis database the nodes share with --redis: one of its own, away from anything else on the machine. */
const BENCH_REDIS_URL = 'redis://127.0.0.1:6379/14'
/**
 * Each node holds a pool of DATABASE_POOL_SIZE connections and two listening ones; PostgreSQL's
 * default max_connections (100) is shared with everything else on the machine.
 */
const MAX_NODES = 6

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
  /** Run the server from its production bundle (npm run build:server) instead of its sources through tsx. */
  bundle: boolean
  /** Server processes sharing one PostgreSQL database. */
  nodes: number
  /** The nodes share request limits through Redis (BENCH_REDIS_URL). */
  redis: boolean
  /** Also run the in-app flow's floor on PostgreSQL (floor.ts). */
  floor: boolean
  /** Also drive the peer, oidc-provider's token endpoint (peer.ts). */
  peer: boolean
}

const USAGE = `Usage: npm run bench -- [options]
  --db postgres|pglite|both   databases to run against (default both)
  --flow <flow>               flows to measure, each on its own fresh database (default in-app):
                              in-app, push, push-stream, track, track-rules, track-paired;
                              both (in-app and push), all-push (push and push-stream),
                              tracks (track and track-rules), all
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
  --cpu-prof                  write a V8 CPU profile of the server to bench/results/
  --bundle                    run the server from its production bundle (built first: npm run build:server)
  --nodes <n>                 server processes on one PostgreSQL database (default 1, at most
                              ${MAX_NODES}; PGlite runs one); each flow's calls go to different nodes
  --redis                     the nodes share request limits through Redis (${BENCH_REDIS_URL})
  --floor                     also run the in-app flow's floor on PostgreSQL: the same SQL and
                              crypto in this process, without HTTP; prints server ÷ floor
  --peer                      also drive oidc-provider's token endpoint (client credentials)
                              at the same concurrency and duration, as a reference`

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
      bundle: { type: 'boolean', default: false },
      nodes: { type: 'string', default: '1' },
      redis: { type: 'boolean', default: false },
      floor: { type: 'boolean', default: false },
      peer: { type: 'boolean', default: false },
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
  const nodes = positiveInteger('--nodes', values.nodes)
  if (nodes > MAX_NODES) throw new UsageError(`--nodes must be at most ${MAX_NODES}: each node holds ${serverPoolSize() + 2} PostgreSQL connections`)
  if (values.floor && !(databases.includes('postgres') && flows.includes('in-app'))) {
    throw new UsageError('--floor needs the in-app flow on PostgreSQL (--db postgres or both, --flow in-app, both or all)')
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
    bundle: values.bundle,
    nodes,
    redis: values.redis,
    floor: values.floor,
    peer: values.peer,
  }
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

/**
 * The environment of each of `count` nodes on `database`: a port each, one public URL for all
 * (the issuer of every token, which every node must accept; behind a load balancer it would be
 * the balancer's, here the first node's) and, with `redis`, the shared Redis.
 */
async function nodeEnvs(count: number, database: Record<string, string>, redis: boolean): Promise<NodeJS.ProcessEnv[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  const [first] = ports
  const shared = { ...database, ...(count > 1 ? { COUNTERSIGN_PUBLIC_URL: `http://127.0.0.1:${first}` } : {}), ...(redis ? { REDIS_URL: BENCH_REDIS_URL } : {}) }
  return [...ports].map((port) => serverEnv(port, shared))
}

/**
 * The environment of the CLI commands run before the nodes start: a node's, without Redis,
 * which they do not use (and with which they do not exit: the CLI leaves its Redis client open).
 */
function cliEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { REDIS_URL: _redis, ...rest } = env
  return rest
}

/** A node's own API URL (the tenant's apiUrl names the shared public URL). */
function apiUrlOf(env: NodeJS.ProcessEnv): string {
  return `http://127.0.0.1:${env.PORT}/v1`
}

/**
 * One flow on one database: fresh storage → tenant → server nodes → enrolled users → load →
 * results, and on PostgreSQL for the in-app and push flows the correctness check.
 */
async function benchRun(kind: DatabaseKind, flow: FlowKind, options: Options, stamp: string, signal: AbortSignal): Promise<DatabaseResult> {
  const concurrency = options.concurrency ?? defaultConcurrency(kind, flow)
  const nodes = kind === 'postgres' ? options.nodes : 1
  const label = `${resultLabel({ database: kind, nodes, redis: options.redis })} ${flow}`
  process.stderr.write(`\n[${label}] preparing ${kind === 'postgres' ? redactUrl(options.databaseUrl) : 'a fresh PGlite directory'}\n`)
  const storage = await prepareStorage(kind, options)
  const servers: ServerProcess[] = []
  let api: CountersignApi | undefined
  try {
    const envs = await nodeEnvs(nodes, storage.env, options.redis)
    const tenant = await createTenant(cliEnv(envs[0]!))
    if (isPushFlow(flow)) await configureTenant(cliEnv(envs[0]!), tenant.tenantId, PUSH_LIMITS)
    const client = new CountersignApi(tenant, concurrency, envs.map(apiUrlOf))
    api = client
    const name = `${runName(flow, kind, { nodes })}-${stamp}`
    // One directory per run: V8 writes one profile per thread (the main thread is the one with
    // TID 0 in its name; tsx's module loader runs in a second thread), so a fixed name would clash.
    const profileDir = path.join(RESULTS_DIR, `${name}.cpuprofiles`)
    const nodeArgs = options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []
    for (const [node, env] of envs.entries()) {
      const logPath = path.join(RESULTS_DIR, `${name}${nodes > 1 ? `-node${node + 1}` : ''}.server.log`)
      const server = await ServerProcess.start(env, {
        nodeArgs,
        logPath,
        ready: () => client.readiness(node),
        ...(options.bundle ? { command: [SERVER_BUNDLE, 'serve'] } : {}),
      })
      servers.push(server)
      process.stderr.write(`[${label}] server${nodes > 1 ? ` node ${node + 1}` : ''} pid ${server.pid} at ${apiUrlOf(env)}\n`)
    }
    process.stderr.write(`[${label}] enrolling ${options.users} users\n`)

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

    announceLoad(label, concurrency, options, nodes > 1 ? `, each flow's calls spread over the ${nodes} nodes` : '')
    const pids = servers.map((server) => server.pid)
    const { load, cpu, maxRss } = await measure(pids, kind === 'postgres' ? 'postgres' : null, (onWindowOpen, onWindowClose) =>
      runLoad(serverFlow(client, flow), pool, { ...loadOptions(label, flow, concurrency, options, signal), onWindowOpen, onWindowClose }),
    )
    if (options.cpuProf) process.stderr.write(`[${label}] CPU profiles are written to ${path.relative(process.cwd(), profileDir)} when the server exits\n`)

    let correctness: CorrectnessReport | null = null
    if (kind === 'postgres' && (flow === 'in-app' || isPushFlow(flow))) {
      process.stderr.write(`[${label}] checking the database and single use${nodes > 1 ? ' across nodes' : ''}\n`)
      correctness = await checkCorrectness(options.databaseUrl, tenant.tenantId, flow, load, client, users)
    }
    return { ...resultOf(kind, flow, concurrency, options.users, load, cpu, maxRss), nodes, redis: options.redis, correctness }
  } catch (error) {
    if (error instanceof ServerStartError) process.stderr.write(`[${label}] ${error.message}; server output:\n${error.output}\n`)
    throw error
  } finally {
    api?.close()
    await Promise.all(servers.map((server) => server.stop()))
    storage.cleanup()
  }
}

/**
 * The in-app flow's floor on PostgreSQL: a fresh database with its users enrolled through the
 * server as for the server's run, then the server stopped and the same load run by Floor in
 * this process, at the same concurrency, over a pool of the server's size.
 */
async function floorRun(options: Options, stamp: string, signal: AbortSignal): Promise<DatabaseResult> {
  const flow = 'in-app'
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY.postgres
  const label = `postgres floor ${flow}`
  process.stderr.write(`\n[${label}] preparing ${redactUrl(options.databaseUrl)}\n`)
  await recreateDatabase(options.databaseUrl)
  const env = serverEnv(await freePort(), { DATABASE_URL: options.databaseUrl })
  const tenant = await createTenant(env)
  const users: BenchUser[] = Array.from({ length: options.users }, (_, i) => newBenchUser(i))
  await enrollThroughServer(label, env, tenant, users, path.join(RESULTS_DIR, `${runName(flow, 'postgres', { floor: true })}-${stamp}.server.log`), signal)
  if (!options.skipAnalyze) await analyzeDatabase(options.databaseUrl)

  const floor = await Floor.open(options.databaseUrl, tenant, serverPoolSize())
  try {
    announceLoad(label, concurrency, options, `, in this process over a pool of ${serverPoolSize()} connections`)
    const { load, cpu, maxRss } = await measure([process.pid], 'postgres', (onWindowOpen, onWindowClose) =>
      runLoad((user, _flow, observe) => floor.inAppFlow(user, randomAmount(), observe), new SharedUsers(users), {
        ...loadOptions(label, flow, concurrency, options, signal),
        onWindowOpen,
        onWindowClose,
      }),
    )
    return { ...resultOf('postgres', flow, concurrency, options.users, load, cpu, maxRss), runner: 'floor', nodes: 1 }
  } finally {
    await floor.close()
  }
}

/** Starts the server, enrolls `users` through it as the server's runs do, and stops it. */
async function enrollThroughServer(label: string, env: NodeJS.ProcessEnv, tenant: BenchTenant, users: BenchUser[], logPath: string, signal: AbortSignal): Promise<void> {
  const client = new CountersignApi(tenant, ENROLL_PARALLEL)
  const server = await ServerProcess.start(env, { nodeArgs: [], logPath, ready: () => client.readiness() })
  try {
    process.stderr.write(`[${label}] enrolling ${users.length} users through the server (pid ${server.pid}), which then stops\n`)
    await enrollAll(client, users, 'in-app', ENROLL_PARALLEL, signal)
  } finally {
    client.close()
    await server.stop()
  }
}

function announceLoad(label: string, concurrency: number, options: Options, how: string): void {
  process.stderr.write(
    `[${label}] ${concurrency} workers: ${options.warmupSeconds} s warm-up, then ${options.durationSeconds} s measured` +
      `${Number.isFinite(options.maxFlows) ? ` or ${options.maxFlows} flows` : ''}${how}\n`,
  )
}

function loadOptions(label: string, flow: FlowKind, concurrency: number, options: Options, signal: AbortSignal) {
  return {
    label,
    calls: FLOW_CALLS[flow],
    concurrency,
    warmupMs: options.warmupSeconds * 1000,
    durationMs: options.durationSeconds * 1000,
    maxFlows: options.maxFlows,
    signal,
  }
}

/** Runs `load` with the CPU of `pids` (and the database) read over its window and their RSS sampled throughout. */
async function measure(
  pids: number[],
  databaseCommand: string | null,
  load: (onWindowOpen: () => void, onWindowClose: () => void) => Promise<LoadResult>,
): Promise<{ load: LoadResult; cpu: CpuBreakdown; maxRss: number }> {
  const cpu = new CpuMeter(pids, databaseCommand)
  const rss = new RssSampler(pids)
  let maxRss = 0
  let result: LoadResult
  try {
    result = await load(
      () => cpu.open(),
      () => cpu.close(),
    )
  } finally {
    maxRss = rss.stop()
  }
  return { load: result, cpu: cpu.result, maxRss }
}

function resultOf(kind: DatabaseKind, flow: FlowKind, concurrency: number, users: number, load: LoadResult, cpu: CpuBreakdown, maxRss: number): DatabaseResult {
  return {
    database: kind,
    flow,
    concurrency,
    users,
    measuredSeconds: Math.round(load.measuredSeconds * 100) / 100,
    flows: load.flows,
    erroredFlows: load.erroredFlows,
    flowsPerSecond: round1(load.flows / load.measuredSeconds),
    calls: load.calls,
    callsPerSecond: round1(load.calls / load.measuredSeconds),
    latencyMs: Object.fromEntries(Object.entries(load.latencies).map(([call, samples]) => [call, summarize(samples)])),
    errors: load.errors,
    warmup: { seconds: round1(load.warmup.seconds), flows: load.warmup.flows, erroredFlows: load.warmup.erroredFlows },
    cpuPercent: cpu,
    serverMaxRssMb: round1(maxRss / 2 ** 20),
    endedEarly: load.endedEarly,
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
    case 'push-stream':
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
  if (options.bundle) await buildServerBundle()
  const startedAt = new Date()
  const stamp = fileStamp(startedAt)
  mkdirSync(RESULTS_DIR, { recursive: true })
  // Ctrl-C stops the load and still runs the cleanup below (server stopped, temp dir removed).
  const interrupt = new AbortController()
  process.once('SIGINT', () => interrupt.abort(new Error('interrupted')))
  process.once('SIGTERM', () => interrupt.abort(new Error('terminated')))

  const results: DatabaseResult[] = []
  const record = (result: DatabaseResult) => {
    results.push(result)
    const file = writeResultFile(RESULTS_DIR, stamp, {
      startedAt: startedAt.toISOString(),
      config: {
        flow: result.flow,
        runner: result.runner ?? 'server',
        nodes: result.nodes ?? 1,
        redis: result.redis ? BENCH_REDIS_URL : null,
        concurrency: result.concurrency,
        users: options.users,
        // What the run set on its tenant; null: the defaults.
        tenantSettings: isPushFlow(result.flow) ? PUSH_LIMITS : null,
        // The active rules of the tracked action; null: none.
        rules: result.flow === 'track-rules' || result.flow === 'track-paired' ? BENCH_RULES : null,
        warmupSeconds: options.warmupSeconds,
        durationSeconds: options.durationSeconds,
        maxFlows: Number.isFinite(options.maxFlows) ? options.maxFlows : null,
        database: result.database === 'postgres' ? redactUrl(options.databaseUrl) : 'pglite (temporary directory)',
        databasePoolSize: process.env.DATABASE_POOL_SIZE ?? 'server default',
        analyzedAfterSetup: result.database === 'postgres' && !options.skipAnalyze,
        cpuProfile: options.cpuProf && result.runner !== 'floor',
      },
      results: result,
    })
    process.stderr.write(`[${resultLabel(result)} ${result.flow}] results written to ${path.relative(process.cwd(), file)}\n`)
  }
  for (const kind of options.databases) {
    for (const flow of options.flows) {
      record(await benchRun(kind, flow, options, stamp, interrupt.signal))
      if (options.floor && kind === 'postgres' && flow === 'in-app') record(await floorRun(options, stamp, interrupt.signal))
    }
  }
  const peer = options.peer
    ? await runPeer({
        concurrency: options.concurrency ?? DEFAULT_CONCURRENCY.postgres,
        warmupMs: options.warmupSeconds * 1000,
        durationMs: options.durationSeconds * 1000,
        maxRequests: options.maxFlows,
        logPath: path.join(RESULTS_DIR, `peer-oidc-provider-${stamp}.log`),
        signal: interrupt.signal,
      })
    : null
  if (peer) {
    const file = writeJsonFile(RESULTS_DIR, `peer-oidc-provider-${stamp}`, { benchmark: 'peer', startedAt: startedAt.toISOString(), results: peer })
    process.stderr.write(`[peer] results written to ${path.relative(process.cwd(), file)}\n`)
  }

  const tables = options.flows.map((flow) => `${flow}:\n${formatTable(flow, results.filter((r) => r.flow === flow))}`)
  process.stdout.write(`\n${tables.join('\n\n')}\n\n${formatNotes(results)}\n${peer ? `\n${formatPeer(peer, results)}\n` : ''}`)
  const failing = results.filter((r) => errorRate(r) > MAX_ERROR_RATE)
  for (const r of failing) process.stderr.write(`[${resultLabel(r)} ${r.flow}] ${(errorRate(r) * 100).toFixed(2)}% of flows errored (limit ${MAX_ERROR_RATE * 100}%)\n`)
  const incorrect = results.filter((r) => (r.correctness?.problems.length ?? 0) > 0)
  for (const r of incorrect) process.stderr.write(`[${resultLabel(r)} ${r.flow}] the database check failed: ${r.correctness!.problems.join('; ')}\n`)
  if (peer && peer.requests > 0 && peer.erroredRequests / (peer.requests + peer.erroredRequests) > MAX_ERROR_RATE) {
    process.stderr.write(`[peer] ${peer.erroredRequests} of ${peer.requests + peer.erroredRequests} token requests errored\n`)
    return 1
  }
  return failing.length === 0 && incorrect.length === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}\n`)
    else process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(error instanceof UsageError ? 2 : 1)
  },
)
