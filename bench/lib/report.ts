// Turning raw measurements into numbers people compare: percentiles, the stdout table and the
// JSON results file.
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FLOW_CALLS, isTrackFlow, type Call, type FlowKind } from './countersign.ts'
import { formatCorrectness, type CorrectnessReport } from './correctness.ts'
import type { CpuBreakdown } from './proc.ts'

/** Other processes using this much of a core during the window make the numbers suspect. */
const BUSY_MACHINE_PERCENT = 15

export interface LatencySummary {
  count: number
  mean: number
  p50: number
  p95: number
  p99: number
  max: number
}

/** Nearest-rank percentiles of latencies in ms (all samples are kept: a run has tens of thousands at most). */
export function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 }
  const sorted = Float64Array.from(samples).sort()
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length
  return { count: sorted.length, mean: round(mean), p50: round(at(50)), p95: round(at(95)), p99: round(at(99)), max: round(at(100)) }
}

/** What one run (one flow on one database) produced; also the `results` part of the JSON file. */
export interface DatabaseResult {
  database: 'postgres' | 'pglite'
  flow: FlowKind
  concurrency: number
  users: number
  measuredSeconds: number
  flows: number
  erroredFlows: number
  flowsPerSecond: number
  calls: number
  callsPerSecond: number
  /** For each call of the flow (FLOW_CALLS). */
  latencyMs: Partial<Record<Call, LatencySummary>>
  /** Errored flows by "call status code", e.g. "verify 409 challenge_consumed". */
  errors: Record<string, number>
  warmup: { seconds: number; flows: number; erroredFlows: number }
  cpuPercent: CpuBreakdown
  serverMaxRssMb: number
  /** Set when the window closed early because no user could take another flow. */
  endedEarly: string | null
  /**
   * What ran the flow: the server over HTTP (the default), or the floor — the same statements
   * and crypto in this process, without HTTP (floor.ts).
   */
  runner?: 'server' | 'floor'
  /** Server processes sharing the database (default 1). */
  nodes?: number
  /** Whether the nodes shared request limits through Redis (REDIS_URL). */
  redis?: boolean
  /** The database read after the run (in-app and push flows on PostgreSQL). */
  correctness?: CorrectnessReport | null
}

/** How a result is named in tables and notes: "postgres", "postgres floor", "postgres ×3". */
export function resultLabel(r: Pick<DatabaseResult, 'database' | 'runner' | 'nodes' | 'redis'>): string {
  if (r.runner === 'floor') return `${r.database} floor`
  const nodes = r.nodes ?? 1
  return `${r.database}${nodes > 1 ? ` ×${nodes}` : ''}${r.redis ? ' +redis' : ''}`
}

export function errorRate(result: DatabaseResult): number {
  const total = result.flows + result.erroredFlows
  return total === 0 ? 0 : result.erroredFlows / total
}

export function machineInfo() {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    /** Load average when the results were written: a busy machine explains low numbers. */
    loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
  }
}

/**
 * `flows-postgres` (in-app, as before there were other flows), `flows-push-postgres`,
 * `flows-floor-postgres`, `flows-postgres-3nodes`: names of a run's files.
 */
export function runName(flow: FlowKind, database: DatabaseResult['database'], variant: { floor?: boolean; nodes?: number } = {}): string {
  const what = [...(flow === 'in-app' ? [] : [flow]), ...(variant.floor ? ['floor'] : [])]
  const nodes = variant.nodes ?? 1
  return ['flows', ...what, database, ...(nodes > 1 ? [`${nodes}nodes`] : [])].join('-')
}

/**
 * The stdout table of one flow: one row per database, a latency column per call of the flow
 * (p50 and p99; p50, p95 and p99 for the track flows).
 */
export function formatTable(flow: FlowKind, results: DatabaseResult[]): string {
  const calls: readonly Call[] = FLOW_CALLS[flow]
  const percentiles = isTrackFlow(flow) ? (['p50', 'p95', 'p99'] as const) : (['p50', 'p99'] as const)
  const header = ['database', 'conc', 'flows/s', 'calls/s', ...calls.map((call) => `${call} ${percentiles.join('/')} ms`), 'errors', 'server CPU', 'max RSS']
  const rows = results.map((r) => [
    resultLabel(r),
    String(r.concurrency),
    r.flowsPerSecond.toFixed(1),
    r.callsPerSecond.toFixed(0),
    ...calls.map((call) => {
      const latency = r.latencyMs[call]
      return latency ? percentiles.map((p) => latency[p].toFixed(1)).join(' / ') : '-'
    }),
    r.erroredFlows === 0 ? '0' : `${r.erroredFlows} (${(errorRate(r) * 100).toFixed(2)}%)`,
    `${r.cpuPercent.server.toFixed(0)}%`,
    `${r.serverMaxRssMb.toFixed(0)} MB`,
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  // Text columns left-aligned, numbers right-aligned, in a Markdown-compatible grid.
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(header), rule, ...rows.map(line)].join('\n')
}

/** Lines under the table: where the rest of the CPU went, every error key, the floor's ratio and the correctness checks. */
export function formatNotes(results: DatabaseResult[]): string {
  const lines: string[] = []
  for (const r of results) {
    const cpu = r.cpuPercent
    const server = r.runner === 'floor' ? 'floor process' : (r.nodes ?? 1) > 1 ? `servers (${r.nodes} nodes)` : 'server'
    lines.push(
      `${resultLabel(r)} ${r.flow}: ${r.flows} flows in ${r.measuredSeconds.toFixed(1)} s (${r.users} users). ` +
        `CPU in % of one core: ${server} ${cpu.server.toFixed(0)}, ${cpu.database === null ? '' : `postgres ${cpu.database.toFixed(0)}, `}` +
        `${r.runner === 'floor' ? '' : `load generator ${cpu.loadGenerator.toFixed(0)}, `}other processes ${cpu.other.toFixed(0)} ` +
        `(machine ${cpu.hostPercent.toFixed(0)}% busy, ${os.cpus().length} cores)`,
    )
    // Other jobs on the machine take cores from the server and the database: say so next to the numbers.
    if (cpu.other >= BUSY_MACHINE_PERCENT) lines.push(`  warning: other processes used ${cpu.other.toFixed(0)}% of a core during the run; numbers are low`)
    for (const [key, count] of Object.entries(r.errors).sort((a, b) => b[1] - a[1])) lines.push(`  error ${key}: ${count}`)
    if (r.warmup.erroredFlows > 0) lines.push(`  warm-up: ${r.warmup.erroredFlows} errored flows (not counted above)`)
    if (r.endedEarly) lines.push(`  the window closed after ${r.measuredSeconds.toFixed(1)} s: ${r.endedEarly}`)
  }
  for (const database of ['postgres', 'pglite'] as const) {
    const without = results.find((r) => r.database === database && r.flow === 'track')
    const withRules = results.find((r) => r.database === database && r.flow === 'track-rules')
    if (without && withRules) lines.push(...formatRulesCost(without, withRules))
  }
  for (const paired of results.filter((r) => r.flow === 'track-paired')) lines.push(...formatPairedRulesCost(paired))
  for (const floor of results.filter((r) => r.runner === 'floor')) {
    for (const server of results.filter((r) => r.runner !== 'floor' && r.flow === floor.flow && r.database === floor.database)) {
      lines.push(...formatFloorRatio(server, floor))
    }
  }
  for (const r of results) if (r.correctness) lines.push(...formatCorrectness(`${resultLabel(r)} ${r.flow}`, r.correctness))
  return lines.join('\n')
}

/** CPU ms per flow from % of one core over the window: percent × 10 ÷ flows per second. */
function cpuPerFlow(percent: number | null, r: DatabaseResult): number | null {
  return percent === null || r.flowsPerSecond === 0 ? null : (percent * 10) / r.flowsPerSecond
}

/**
 * The server against its floor: server ÷ floor flows/s (1 would mean HTTP, JSON and the
 * framework cost nothing), and where the CPU of a flow went in each. PostgreSQL's CPU per
 * flow should agree between the two, since both send the same statements.
 */
export function formatFloorRatio(server: DatabaseResult, floor: DatabaseResult): string[] {
  if (floor.flowsPerSecond === 0) return [`${resultLabel(server)} ${server.flow}: the floor completed no flows`]
  const ms = (value: number | null) => (value === null ? '-' : `${value.toFixed(2)} ms`)
  const sameConcurrency =
    server.concurrency === floor.concurrency ? `both at concurrency ${server.concurrency}` : `concurrency ${server.concurrency} and ${floor.concurrency}: not comparable`
  const ratio = (server.flowsPerSecond / floor.flowsPerSecond).toFixed(2)
  return [
    `${resultLabel(server)} ${server.flow} against its floor (${sameConcurrency}): ` +
      `server ÷ floor = ${server.flowsPerSecond.toFixed(1)} ÷ ${floor.flowsPerSecond.toFixed(1)} flows/s = ${ratio}`,
    `  CPU per flow: server ${ms(cpuPerFlow(server.cpuPercent.server, server))} + load generator ${ms(cpuPerFlow(server.cpuPercent.loadGenerator, server))}` +
      ` against the floor's process ${ms(cpuPerFlow(floor.cpuPercent.server, floor))} (it signs as the device too); ` +
      `postgres ${ms(cpuPerFlow(server.cpuPercent.database, server))} against ${ms(cpuPerFlow(floor.cpuPercent.database, floor))}`,
  ]
}

const signed = (value: number, digits: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`

/** "p50 2.10 → 3.05 ms (+0.95), p95 …, p99 …": each percentile without rules, with them, and the difference. */
function latencyChange(a: LatencySummary, b: LatencySummary): string {
  return (['p50', 'p95', 'p99'] as const).map((p) => `${p} ${a[p].toFixed(2)} → ${b[p].toFixed(2)} ms (${signed(b[p] - a[p], 2)})`).join(', ')
}

/**
 * What the rules cost, from one track-paired run: the `track-rules` calls' latency against the
 * `track` calls' of the same window. Both saw the same machine, so this difference stands
 * when other work comes and goes; the CPU cannot be told apart, so there is none.
 */
export function formatPairedRulesCost(r: DatabaseResult): string[] {
  const a = r.latencyMs.track
  const b = r.latencyMs['track-rules']
  if (!a || !b || a.count === 0 || b.count === 0) return [`${r.database} rules cost (track-paired): no successful tracks to compare`]
  return [
    `${r.database} rules cost (track-paired, ${a.count} + ${b.count} tracks interleaved at concurrency ${r.concurrency}):`,
    `  track latency ${latencyChange(a, b)}`,
    ...(r.concurrency > 1 ? ['  (tracks overlap, so latency includes waiting for the cores)'] : []),
  ]
}

/**
 * What the rules cost on one database: the track latency of the track-rules run against the
 * track run's, and the CPU each track took. Under a closed load that saturates the machine,
 * latency is mostly queueing (concurrency ÷ throughput), so a latency difference there is the
 * rules' CPU multiplied by the queue; CPU per track does not depend on the load.
 */
export function formatRulesCost(without: DatabaseResult, withRules: DatabaseResult): string[] {
  const a = without.latencyMs.track
  const b = withRules.latencyMs.track
  if (!a || !b || a.count === 0 || b.count === 0) return [`${without.database} rules cost: no successful tracks to compare`]
  const change = (after: number, before: number) => (before === 0 ? '' : ` (${signed(((after - before) / before) * 100, 0)}%)`)
  // % of one core over the window ÷ tracks per second = ms of CPU per track.
  const perTrack = (percent: number | null, r: DatabaseResult) => (percent === null || r.flowsPerSecond === 0 ? null : (percent * 10) / r.flowsPerSecond)
  const cpu = (name: string, pick: (r: DatabaseResult) => number | null) => {
    const [x, y] = [perTrack(pick(without), without), perTrack(pick(withRules), withRules)]
    return x === null || y === null ? [] : [`${name} ${x.toFixed(2)} → ${y.toFixed(2)} ms (${signed(y - x, 2)})`]
  }
  const sameConcurrency = without.concurrency === withRules.concurrency
  return [
    `${without.database} rules cost (track → track-rules, ${sameConcurrency ? `both at concurrency ${without.concurrency}` : `concurrency ${without.concurrency} and ${withRules.concurrency}: not comparable`}):`,
    `  track latency ${latencyChange(a, b)}`,
    ...(Math.max(without.concurrency, withRules.concurrency) > 1 ? ['  (tracks overlap, so latency includes waiting for the cores: compare CPU per track)'] : []),
    `  tracks/s ${without.flowsPerSecond.toFixed(1)} → ${withRules.flowsPerSecond.toFixed(1)}${change(withRules.flowsPerSecond, without.flowsPerSecond)}`,
    `  CPU per track ${[...cpu('server', (r) => r.cpuPercent.server), ...cpu('postgres', (r) => r.cpuPercent.database)].join(', ')}`,
  ]
}

/** Writes `bench/results/<runName>-<timestamp>.json` and returns its path. */
export function writeResultFile(resultsDir: string, stamp: string, body: { results: DatabaseResult } & Record<string, unknown>): string {
  const { flow, database, runner, nodes } = body.results
  return writeJsonFile(resultsDir, `${runName(flow, database, { floor: runner === 'floor', nodes })}-${stamp}`, { benchmark: 'flows', ...body })
}

/** Writes `bench/results/<name>.json` with the machine's description added; returns its path. */
export function writeJsonFile(resultsDir: string, name: string, body: Record<string, unknown>): string {
  mkdirSync(resultsDir, { recursive: true })
  const file = path.join(resultsDir, `${name}.json`)
  const { benchmark, ...rest } = body
  writeFileSync(file, `${JSON.stringify({ benchmark, machine: machineInfo(), ...rest }, null, 2)}\n`)
  return file
}

/** A timestamp safe in file names: 2025-01-31T12-04-05Z. */
export function fileStamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')
}

function round(value: number): number {
  return Math.round(value * 100) / 100
}
