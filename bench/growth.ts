// Growth: does the in-app flow stay as fast with a thousand, a hundred thousand and a million
// users — each with a credential and ten actions — already in the database, and how much room
// do they take? Seeds PostgreSQL directly with bulk SQL, one size after the other, and at each
// size: VACUUM ANALYZE, the in-app flow through the server for a short window, EXPLAIN
// (ANALYZE, BUFFERS) of each of its statements, and the size of every table. See
// bench/README.md ("Growth").
//
//   npm run bench:growth                                   # 1k, 100k and 1M users
//   npm run bench:growth -- --sizes 1000,100000 --duration 5
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { CountersignApi, FLOW_CALLS, newBenchUser, type BenchUser } from './lib/countersign.ts'
import { explainInAppFlow, SEEDED_USER_PREFIX, seededKeyHash, seedUsers, tableSizes, type SeedProgress, type StatementPlan, type TableSize } from './lib/growth-data.ts'
import { enrollAll, runLoad, serverFlow } from './lib/load.ts'
import { positiveInteger, positiveNumber, UsageError } from './lib/options.ts'
import { dropDatabase, recreateDatabase, redactUrl } from './lib/postgres.ts'
import { CpuMeter } from './lib/proc.ts'
import { fileStamp, summarize, writeJsonFile, type LatencySummary } from './lib/report.ts'
import { createTenant, freePort, REPO_ROOT, ServerProcess, ServerStartError, serverEnv } from './lib/server.ts'
import { SharedUsers } from './lib/user-pool.ts'

const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results')
const ENROLL_PARALLEL = 16
/** Tables that grow with users and actions; a sequential scan of one in the flow's plans is a finding. */
const GROWING_TABLES = new Set(['actions', 'users', 'credentials', 'consumed_challenges', 'used_tokens', 'challenges'])
/** The largest step the issue asks for; a smaller run says how long it would take to seed. */
const A_MILLION = 1_000_000

interface Options {
  sizes: number[]
  actionsPerUser: number
  users: number
  concurrency: number
  warmupSeconds: number
  durationSeconds: number
  batchUsers: number
  databaseUrl: string
  keep: boolean
}

const USAGE = `Usage: npm run bench:growth -- [options]
  --sizes <n,n,…>          seeded users at each step, ascending (default 1000,100000,1000000)
  --actions-per-user <n>   actions seeded per user (default 10)
  --users <n>              users enrolled through the server, whose flows are measured (default 200)
  --concurrency <n>        concurrent flows while measuring (default 4)
  --duration <s>           measured seconds at each size (default 10)
  --warmup <s>             unmeasured seconds before that (default 2)
  --batch <n>              users seeded per batch of statements (default 10000)
  --database-url <url>     PostgreSQL database to drop, create and (unless --keep) drop again
                           (default postgres://postgres@127.0.0.1:5432/countersign_growth)
  --keep                   keep the database afterwards`

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '1000,100000,1000000' },
      'actions-per-user': { type: 'string', default: '10' },
      users: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '4' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      batch: { type: 'string', default: '10000' },
      'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/countersign_growth' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  const sizes = values.sizes.split(',').map((size) => positiveInteger('--sizes', size.trim().replace(/_/g, '')))
  if (sizes.some((size, i) => i > 0 && size <= sizes[i - 1]!)) throw new UsageError('--sizes must ascend: each step adds users to the last')
  return {
    sizes,
    actionsPerUser: positiveInteger('--actions-per-user', values['actions-per-user']),
    users: positiveInteger('--users', values.users),
    concurrency: positiveInteger('--concurrency', values.concurrency),
    warmupSeconds: positiveNumber('--warmup', values.warmup, { allowZero: true }),
    durationSeconds: positiveNumber('--duration', values.duration),
    batchUsers: positiveInteger('--batch', values.batch),
    databaseUrl: values['database-url'],
    keep: values.keep,
  }
}

/** What one size produced. */
interface Step {
  seededUsers: number
  seededActions: number
  /** Seeding this step's new users: how long, and how fast. */
  seeding: { users: number; actions: number; seconds: number; actionsPerSecond: number }
  vacuumSeconds: number
  flowsPerSecond: number
  flows: number
  erroredFlows: number
  errors: Record<string, number>
  latencyMs: Record<string, LatencySummary>
  cpuPercent: CpuMeter['result']
  plans: StatementPlan[]
  tables: TableSize[]
  databaseBytes: number
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const stamp = fileStamp()
  const interrupt = new AbortController()
  process.once('SIGINT', () => interrupt.abort(new Error('interrupted')))
  process.once('SIGTERM', () => interrupt.abort(new Error('terminated')))
  const signal = interrupt.signal

  process.stderr.write(`[growth] preparing ${redactUrl(options.databaseUrl)}\n`)
  await recreateDatabase(options.databaseUrl)
  const env = serverEnv(await freePort(), { DATABASE_URL: options.databaseUrl })
  const tenant = await createTenant(env)
  const api = new CountersignApi(tenant, Math.max(options.concurrency, ENROLL_PARALLEL))
  const client = new pg.Client({ connectionString: options.databaseUrl })
  let server: ServerProcess | undefined
  const steps: Step[] = []
  try {
    server = await ServerProcess.start(env, { nodeArgs: [], logPath: path.join(RESULTS_DIR, `growth-${stamp}.server.log`), ready: () => api.readiness() })
    process.stderr.write(`[growth] server pid ${server.pid} at ${tenant.apiUrl}; enrolling ${options.users} users, whose flows are measured\n`)
    const users: BenchUser[] = Array.from({ length: options.users }, (_, i) => newBenchUser(i))
    await enrollAll(api, users, 'in-app', ENROLL_PARALLEL, signal)
    await client.connect()

    let seeded = 0
    for (const size of options.sizes) {
      const step = await measureSize(client, api, server, users, { from: seeded, to: size }, tenant.tenantId, options, signal)
      steps.push(step)
      seeded = size
      process.stdout.write(`\n${formatStep(step, options)}\n`)
    }
  } catch (error) {
    if (error instanceof ServerStartError) process.stderr.write(`[growth] ${error.message}; server output:\n${error.output}\n`)
    throw error
  } finally {
    api.close()
    await server?.stop()
    await client.end().catch(() => {})
    if (!options.keep) await dropDatabase(options.databaseUrl).catch((error: unknown) => process.stderr.write(`[growth] could not drop the database: ${String(error)}\n`))
  }

  process.stdout.write(`\n${formatSummary(steps, options)}\n`)
  const plansFile = path.join(RESULTS_DIR, `growth-${stamp}.plans.txt`)
  writeFileSync(plansFile, steps.map((step) => formatPlans(step)).join('\n\n'))
  const file = writeJsonFile(RESULTS_DIR, `growth-${stamp}`, {
    benchmark: 'growth',
    config: { ...options, database: redactUrl(options.databaseUrl), databasePoolSize: process.env.DATABASE_POOL_SIZE ?? 'server default' },
    steps,
  })
  process.stderr.write(`[growth] results written to ${path.relative(process.cwd(), file)}, query plans to ${path.relative(process.cwd(), plansFile)}\n`)
  return sequentialScans(steps).length === 0 ? 0 : 1
}

/** Every whole-table read of a growing table in the flow's plans: "verify at 100,000: credentials". */
function sequentialScans(steps: readonly Step[]): string[] {
  return steps.flatMap((step) =>
    step.plans.flatMap((plan) => plan.sequentialScans.filter((table) => GROWING_TABLES.has(table)).map((table) => `${plan.call} at ${formatCount(step.seededUsers)}: ${table}`)),
  )
}

/** Seeds users `range.from`…`range.to`, then measures the flow at that size. */
async function measureSize(
  client: pg.Client,
  api: CountersignApi,
  server: ServerProcess,
  users: BenchUser[],
  range: { from: number; to: number },
  tenantId: string,
  options: Options,
  signal: AbortSignal,
): Promise<Step> {
  const label = `growth ${formatCount(range.to)}`
  const adding = range.to - range.from
  process.stderr.write(`\n[${label}] seeding ${formatCount(adding)} users with a credential and ${options.actionsPerUser} actions each\n`)
  let lastPrinted = 0
  const seeding = await seedUsers(
    client,
    tenantId,
    range,
    options.actionsPerUser,
    options.batchUsers,
    (done) => {
      if (done.users < adding && done.seconds - lastPrinted < 2) return
      lastPrinted = done.seconds
      process.stderr.write(`[${label}] ${seedProgress(done, adding, options.actionsPerUser)}\n`)
    },
    signal,
  )

  // A live database's autovacuum would have done this: planner statistics, and the visibility
  // map that lets an index-only scan skip the table.
  process.stderr.write(`[${label}] VACUUM ANALYZE\n`)
  const vacuumStarted = performance.now()
  await client.query('VACUUM (ANALYZE) users, credentials, actions')
  const vacuumSeconds = (performance.now() - vacuumStarted) / 1000

  process.stderr.write(`[${label}] ${options.concurrency} workers: ${options.warmupSeconds} s warm-up, then ${options.durationSeconds} s of in-app flows by the ${users.length} enrolled users\n`)
  const cpu = new CpuMeter(server.pid, 'postgres')
  const load = await runLoad(serverFlow(api, 'in-app'), new SharedUsers(users), {
    label,
    calls: FLOW_CALLS['in-app'],
    concurrency: options.concurrency,
    warmupMs: options.warmupSeconds * 1000,
    durationMs: options.durationSeconds * 1000,
    maxFlows: Number.POSITIVE_INFINITY,
    signal,
    onWindowOpen: () => cpu.open(),
    onWindowClose: () => cpu.close(),
  })

  // A seeded user from the middle of the population: ten actions of history among all the others'.
  const sampleUser = `${SEEDED_USER_PREFIX}${Math.floor(range.to / 2)}`
  process.stderr.write(`[${label}] EXPLAIN (ANALYZE, BUFFERS) of the flow's statements for ${sampleUser}\n`)
  const plans = await explainInAppFlow(options.databaseUrl, tenantId, sampleUser, await seededKeyHash(client, tenantId, sampleUser))
  const tables = await tableSizes(client)
  const databaseBytes = Number((await client.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes')).rows[0]?.bytes ?? 0)
  return {
    seededUsers: range.to,
    seededActions: range.to * options.actionsPerUser,
    seeding: { ...seeding, actionsPerSecond: Math.round(seeding.actions / seeding.seconds) },
    vacuumSeconds: round1(vacuumSeconds),
    flowsPerSecond: round1(load.flows / load.measuredSeconds),
    flows: load.flows,
    erroredFlows: load.erroredFlows,
    errors: load.errors,
    latencyMs: Object.fromEntries(Object.entries(load.latencies).map(([call, samples]) => [call, summarize(samples)])),
    cpuPercent: cpu.result,
    plans,
    tables,
    databaseBytes,
  }
}

function seedProgress(done: SeedProgress, total: number, actionsPerUser: number): string {
  const rate = done.actions / done.seconds
  const left = ((total - done.users) * actionsPerUser) / rate
  return (
    `${formatCount(done.users)}/${formatCount(total)} users, ${formatCount(done.actions)} actions in ${done.seconds.toFixed(0)} s: ` +
    `${formatCount(Math.round(rate))} actions/s (${formatCount(Math.round((2 * done.users + done.actions) / done.seconds))} rows/s with users and credentials)` +
    `${done.users < total ? `, about ${formatDuration(left)} left` : ''}`
  )
}

/** One size's results: latencies, index use, sizes. */
function formatStep(step: Step, options: Options): string {
  const lines = [
    `${formatCount(step.seededUsers)} users, ${formatCount(step.seededActions)} seeded actions ` +
      `(seeded ${formatCount(step.seeding.actions)} actions in ${step.seeding.seconds.toFixed(0)} s, ${formatCount(step.seeding.actionsPerSecond)}/s; VACUUM ANALYZE ${step.vacuumSeconds} s):`,
    `  ${step.flowsPerSecond.toFixed(1)} flows/s at concurrency ${options.concurrency}, ${step.erroredFlows} errored; ` +
      FLOW_CALLS['in-app'].map((call) => `${call} ${percentiles(step.latencyMs[call])}`).join(', '),
    `  CPU in % of one core: server ${step.cpuPercent.server.toFixed(0)}, postgres ${(step.cpuPercent.database ?? 0).toFixed(0)}, other processes ${step.cpuPercent.other.toFixed(0)}`,
  ]
  for (const plan of step.plans) {
    const scans = plan.sequentialScans.filter((table) => GROWING_TABLES.has(table))
    lines.push(
      `  ${plan.call.padEnd(8)} ${plan.executionMs.toFixed(3)} ms to run, ${plan.planningMs.toFixed(3)} ms to plan; ` +
        `indexes ${plan.indexes.join(', ') || 'none'}${scans.length > 0 ? `; SEQUENTIAL SCAN of ${scans.join(', ')}` : ''}`,
    )
  }
  return lines.join('\n')
}

/** The steps side by side, the sizes per million actions, and the time the last step would take. */
function formatSummary(steps: Step[], options: Options): string {
  const calls = FLOW_CALLS['in-app']
  const header = ['users', 'actions', 'flows/s', ...calls.map((call) => `${call} p50/p95/p99 ms`), 'database']
  const rows = steps.map((step) => [
    formatCount(step.seededUsers),
    formatCount(step.seededActions),
    step.flowsPerSecond.toFixed(1),
    ...calls.map((call) => percentiles(step.latencyMs[call])),
    formatBytes(step.databaseBytes),
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padStart(widths[i]!)).join(' | ')} |`
  const lines = [
    `in-app flow at concurrency ${options.concurrency} by ${options.users} enrolled users, beside the seeded ones:`,
    line(header),
    `|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`,
    ...rows.map(line),
  ]
  const last = steps.at(-1)
  if (last) {
    const size = (table: string) => last.tables.find((t) => t.table === table)
    const perMillion = (table: string, per: number) => {
      const t = size(table)
      return t && per > 0 ? `${formatBytes((t.totalBytes / per) * 1e6)} (${(t.totalBytes / per).toFixed(0)} B each, ${((t.indexBytes / t.totalBytes) * 100).toFixed(0)}% indexes)` : '-'
    }
    const actions = size('actions')?.rows ?? 0
    const users = size('users')?.rows ?? 0
    lines.push(
      '',
      `size at ${formatCount(last.seededUsers)} users (pg_total_relation_size: table, indexes, TOAST):`,
      `  actions: ${formatBytes(size('actions')?.totalBytes ?? 0)} for ${formatCount(actions)} rows → per million actions ${perMillion('actions', actions)}`,
      `  users: per million users ${perMillion('users', users)}; credentials: per million ${perMillion('credentials', size('credentials')?.rows ?? 0)}`,
      `  the whole database per million actions: ${formatBytes((last.databaseBytes / Math.max(1, actions)) * 1e6)}`,
      `  tables: ${last.tables.filter((t) => t.totalBytes > 64 * 1024).map((t) => `${t.table} ${formatBytes(t.totalBytes)}`).join(', ')}`,
    )
    const first = steps[0]!
    const latencyChange = calls.map((call) => {
      const [a, b] = [first.latencyMs[call]?.p50 ?? 0, last.latencyMs[call]?.p50 ?? 0]
      return `${call} ${a.toFixed(1)} → ${b.toFixed(1)} ms`
    })
    if (steps.length > 1) lines.push(`  p50 from ${formatCount(first.seededUsers)} to ${formatCount(last.seededUsers)} users: ${latencyChange.join(', ')}`)
    const scans = sequentialScans(steps)
    lines.push(scans.length === 0 ? '  query plans: every statement reads the growing tables through indexes only' : `  query plans: SEQUENTIAL SCANS ${scans.join('; ')}`)
    if (last.seededUsers < A_MILLION) {
      // The step not run, at the rate the last one seeded.
      const rate = last.seeding.actionsPerSecond
      const seconds = ((A_MILLION - last.seededUsers) * options.actionsPerUser) / rate
      lines.push(
        `  seeding up to ${formatCount(A_MILLION)} users would take about ${formatDuration(seconds)} more at ${formatCount(rate)} actions/s ` +
          `(the last step's rate; inserts slow down as the indexes outgrow memory)`,
      )
    }
  }
  return lines.join('\n')
}

function formatPlans(step: Step): string {
  return [
    `=== ${formatCount(step.seededUsers)} users, ${formatCount(step.seededActions)} seeded actions ===`,
    ...step.plans.map((plan) => `--- ${plan.call} ---\n${plan.plan.join('\n')}`),
  ].join('\n')
}

function percentiles(summary: LatencySummary | undefined): string {
  return summary ? `${summary.p50.toFixed(1)} / ${summary.p95.toFixed(1)} / ${summary.p99.toFixed(1)}` : '-'
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US')
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`
  return `${(bytes / 1024).toFixed(0)} KiB`
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  if (seconds < 90) return `${seconds.toFixed(0)} s`
  return `${(seconds / 60).toFixed(0)} min`
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}\n`)
    else process.stderr.write(`growth failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(error instanceof UsageError ? 2 : 1)
  },
)
