// Resource readings from Linux /proc. The server runs as a separate process so its CPU and
// memory can be read apart from the load generator's, which shares the same cores.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second used by /proc/<pid>/stat (almost always 100). */
const CLOCK_TICKS = clockTicks()

function clockTicks(): number {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isFinite(value) && value > 0 ? value : 100
  } catch {
    return 100
  }
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function processCpuSeconds(pid: number): number {
  const stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  return stat.cpuSeconds
}

/**
 * CPU seconds used so far by every process whose command name is `name` (e.g. "postgres":
 * the postmaster and its backends). Processes that exited since an earlier reading drop out,
 * so a difference of two readings is a slight undercount when backends come and go.
 */
export function commandCpuSeconds(name: string): number {
  let total = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8'))
      if (stat.command === name) total += stat.cpuSeconds
    } catch {
      // The process exited between listing and reading.
    }
  }
  return total
}

function parseStat(stat: string): { command: string; cpuSeconds: number } {
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  // What follows starts at field 3 (state), so utime (field 14) and stime (15) are at 11 and 12.
  const close = stat.lastIndexOf(')')
  const fields = stat.slice(close + 2).split(' ')
  return {
    command: stat.slice(stat.indexOf('(') + 1, close),
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
  }
}

/** Resident set size of a process in bytes (VmRSS), or 0 once it has exited. */
export function processRssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

interface HostCpu {
  busy: number
  total: number
}

/** Whole-machine CPU time from the first line of /proc/stat (all cores, in ticks). */
function hostCpu(): HostCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number)
  const total = ticks.reduce((sum, value) => sum + value, 0)
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0) // idle + iowait
  return { busy: total - idle, total }
}

/** Where the CPU went during the measured window. All values are percent of one core. */
export interface CpuBreakdown {
  /** The server's processes, all nodes together; the floor's own process for a floor run. */
  server: number
  /** PostgreSQL's processes; null when the database runs inside the server (PGlite). */
  database: number | null
  /** This process, when it is not itself the one measured (the floor); else 0. */
  loadGenerator: number
  /** Everything else on the machine: other jobs competing with the benchmark. */
  other: number
  /** Busy share of all cores, in percent of the whole machine. */
  hostPercent: number
}

interface CpuReading {
  at: number
  server: number
  database: number
  self: NodeJS.CpuUsage
  host: HostCpu
}

/**
 * CPU readings taken exactly when the measured window opens and closes. The server, the
 * database and the load generator share the same cores, so each is read separately, and what
 * is left over shows whether something else was competing with the run.
 */
export class CpuMeter {
  #start: CpuReading | undefined
  result: CpuBreakdown = { server: 0, database: null, loadGenerator: 0, other: 0, hostPercent: 0 }
  readonly serverPids: readonly number[]

  /**
   * @param serverPids the measured processes: each server node, or this process (the floor),
   *   whose CPU then counts as the server's and not as the load generator's
   * @param databaseCommand process name of an external database ("postgres"), or null
   */
  constructor(
    serverPids: number | readonly number[],
    readonly databaseCommand: string | null,
  ) {
    this.serverPids = typeof serverPids === 'number' ? [serverPids] : serverPids
  }

  open(): void {
    this.#start = this.#read()
  }

  close(): void {
    if (!this.#start) return
    const start = this.#start
    const end = this.#read()
    const seconds = (end.at - start.at) / 1000
    const cores = (cpuSeconds: number) => (cpuSeconds / seconds) * 100
    const self = process.cpuUsage(start.self)
    const server = cores(end.server - start.server)
    const database = this.databaseCommand ? cores(end.database - start.database) : null
    const loadGenerator = this.serverPids.includes(process.pid) ? 0 : cores((self.user + self.system) / 1e6)
    const hostBusy = cores((end.host.busy - start.host.busy) / CLOCK_TICKS)
    const totalTicks = end.host.total - start.host.total
    this.result = {
      server: round1(server),
      database: database === null ? null : round1(database),
      loadGenerator: round1(loadGenerator),
      other: round1(Math.max(0, hostBusy - server - (database ?? 0) - loadGenerator)),
      hostPercent: round1(totalTicks > 0 ? ((end.host.busy - start.host.busy) / totalTicks) * 100 : 0),
    }
  }

  #read(): CpuReading {
    return {
      at: performance.now(),
      server: this.serverPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
      database: this.databaseCommand ? commandCpuSeconds(this.databaseCommand) : 0,
      self: process.cpuUsage(),
      host: hostCpu(),
    }
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}

/** Samples the RSS of one or more processes on an interval and keeps the largest any had. */
export class RssSampler {
  #max = 0
  readonly #pids: readonly number[]
  readonly #timer: NodeJS.Timeout

  constructor(pids: number | readonly number[], intervalMs = 500) {
    this.#pids = typeof pids === 'number' ? [pids] : pids
    this.#sample()
    this.#timer = setInterval(() => this.#sample(), intervalMs)
  }

  /** Stops sampling and returns the largest RSS seen, in bytes (of the largest process, with several). */
  stop(): number {
    clearInterval(this.#timer)
    this.#sample()
    return this.#max
  }

  #sample(): void {
    for (const pid of this.#pids) this.#max = Math.max(this.#max, processRssBytes(pid))
  }
}
