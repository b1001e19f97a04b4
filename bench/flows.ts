// Complete in-app verification flows per second, end to end over HTTP:
//   track (secret key) → challenge (Bearer) → verify (Bearer, P-256 signature) → validate.
// The server runs as its own process on PostgreSQL and/or PGlite; see bench/README.md.
//
//   npm run bench -- --db postgres --duration 30
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { CountersignApi, newDevice, type BenchUser } from './lib/countersign.ts'
import { enrollAll, runLoad, type LoadResult } from './lib/load.ts'
import { analyzeDatabase, recreateDatabase, redactUrl } from './lib/postgres.ts'
import { CpuMeter, RssSampler } from './lib/proc.ts'
import {
  errorRate,
  fileStamp,
  formatNotes,
  formatTable,
  summarize,
  writeResultFile,
  type DatabaseResult,
} from './lib/report.ts'
import { createTenant, freePort, REPO_ROOT, ServerProcess, ServerStartError, serverEnv } from './lib/server.ts'

type DatabaseKind = 'postgres' | 'pglite'

const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results')
/** More than this share of errored flows fails the run: a fast benchmark of failures is no result. */
const MAX_ERROR_RATE = 0.01
const ENROLL_PARALLEL = 16
/** PGlite is one connection inside the server process: more concurrency only queues. */
const DEFAULT_CONCURRENCY: Record<DatabaseKind, number> = { postgres: 32, pglite: 8 }

interface Options {
  databases: DatabaseKind[]
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
  --duration <s>              measured seconds per database (default 15)
  --warmup <s>                unmeasured seconds before that (default 3)
  --concurrency <n>           concurrent flows (default 32 on postgres, 8 on pglite)
  --users <n>                 enrolled users, one device each (default 200)
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
  return {
    databases: values.db === 'both' ? ['postgres', 'pglite'] : [values.db as DatabaseKind],
    warmupSeconds: positiveNumber('--warmup', values.warmup, { allowZero: true }),
    durationSeconds: positiveNumber('--duration', values.duration),
    concurrency: values.concurrency === undefined ? undefined : positiveInteger('--concurrency', values.concurrency),
    users: positiveInteger('--users', values.users),
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

/** One database: fresh storage → tenant → server → enrolled users → load → results. */
async function benchDatabase(kind: DatabaseKind, options: Options, stamp: string, signal: AbortSignal): Promise<DatabaseResult> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY[kind]
  process.stderr.write(`\n[${kind}] preparing ${kind === 'postgres' ? redactUrl(options.databaseUrl) : 'a fresh PGlite directory'}\n`)
  const storage = await prepareStorage(kind, options)
  let server: ServerProcess | undefined
  let api: CountersignApi | undefined
  try {
    const env = serverEnv(await freePort(), storage.env)
    const tenant = await createTenant(env)
    const client = new CountersignApi(tenant.apiUrl, tenant.secretKey, concurrency)
    api = client
    // One directory per run: V8 writes one profile per thread (the main thread is the one with
    // TID 0 in its name; tsx's module loader runs in a second thread), so a fixed name would clash.
    const profileDir = path.join(RESULTS_DIR, `flows-${kind}-${stamp}.cpuprofiles`)
    const nodeArgs = options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []
    const logPath = path.join(RESULTS_DIR, `flows-${kind}-${stamp}.server.log`)
    server = await ServerProcess.start(env, { nodeArgs, logPath, ready: () => client.readiness() })
    process.stderr.write(`[${kind}] server pid ${server.pid} at ${tenant.apiUrl}; enrolling ${options.users} users\n`)

    const users: BenchUser[] = Array.from({ length: options.users }, (_, i) => ({ userId: `bench-user-${i}`, device: newDevice() }))
    await enrollAll(client, users, ENROLL_PARALLEL, signal)
    if (kind === 'postgres' && !options.skipAnalyze) {
      // PGlite cannot be reached from here while the server holds it (and has no autovacuum).
      process.stderr.write(`[${kind}] ANALYZE (planner statistics, as on a live database)\n`)
      await analyzeDatabase(options.databaseUrl)
    }

    process.stderr.write(
      `[${kind}] ${concurrency} workers: ${options.warmupSeconds} s warm-up, then ${options.durationSeconds} s measured` +
        `${Number.isFinite(options.maxFlows) ? ` or ${options.maxFlows} flows` : ''}\n`,
    )
    const cpu = new CpuMeter(server.pid, kind === 'postgres' ? 'postgres' : null)
    const rss = new RssSampler(server.pid)
    let load: LoadResult
    let maxRss: number
    try {
      load = await runLoad(client, users, {
        label: kind,
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
    if (options.cpuProf) process.stderr.write(`[${kind}] CPU profiles are written to ${path.relative(process.cwd(), profileDir)} when the server exits\n`)

    return {
      database: kind,
      concurrency,
      users: options.users,
      measuredSeconds: Math.round(load.measuredSeconds * 100) / 100,
      flows: load.flows,
      erroredFlows: load.erroredFlows,
      flowsPerSecond: round1(load.flows / load.measuredSeconds),
      calls: load.calls,
      callsPerSecond: round1(load.calls / load.measuredSeconds),
      latencyMs: {
        track: summarize(load.latencies.track),
        challenge: summarize(load.latencies.challenge),
        verify: summarize(load.latencies.verify),
        validate: summarize(load.latencies.validate),
      },
      errors: load.errors,
      warmup: { seconds: round1(load.warmup.seconds), flows: load.warmup.flows, erroredFlows: load.warmup.erroredFlows },
      cpuPercent: cpu.result,
      serverMaxRssMb: round1(maxRss / 2 ** 20),
    }
  } catch (error) {
    if (error instanceof ServerStartError) process.stderr.write(`[${kind}] ${error.message}; server output:\n${error.output}\n`)
    throw error
  } finally {
    api?.close()
    await server?.stop()
    storage.cleanup()
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
    const result = await benchDatabase(kind, options, stamp, interrupt.signal)
    results.push(result)
    const file = writeResultFile(RESULTS_DIR, stamp, {
      startedAt: startedAt.toISOString(),
      config: {
        concurrency: result.concurrency,
        users: options.users,
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
    process.stderr.write(`[${kind}] results written to ${path.relative(process.cwd(), file)}\n`)
  }

  process.stdout.write(`\n${formatTable(results)}\n\n${formatNotes(results)}\n`)
  const failing = results.filter((r) => errorRate(r) > MAX_ERROR_RATE)
  for (const r of failing) process.stderr.write(`[${r.database}] ${(errorRate(r) * 100).toFixed(2)}% of flows errored (limit ${MAX_ERROR_RATE * 100}%)\n`)
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
