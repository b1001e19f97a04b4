// The peer: the token endpoint of oidc-provider (client-credentials grant), in its own process
// on this machine, driven at the concurrency and for the duration Countersign was, as a
// reference for what an established Node authorization server does per request. Its token is
// opaque and kept by the provider's in-memory adapter: one store per request, as Countersign's
// calls each make one database statement or none — but no database, so the comparison is of
// the HTTP servers and what they compute per request, with Countersign's database round trips
// on top (bench/README.md, "The peer").
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { FlowError } from './countersign.ts'
import { JsonClient } from './http.ts'
import { runLoad, type FlowRunner } from './load.ts'
import { CpuMeter, RssSampler, type CpuBreakdown } from './proc.ts'
import { resultLabel, summarize, type DatabaseResult, type LatencySummary } from './report.ts'
import { freePort, REPO_ROOT, ServerProcess } from './server.ts'
import { SharedUsers } from './user-pool.ts'

const SCRIPT = path.join(REPO_ROOT, 'bench', 'peer', 'oidc-token-server.ts')
const CLIENT_ID = 'bench'
const TOKEN_REQUEST = new URLSearchParams({ grant_type: 'client_credentials' })

export interface PeerResult {
  /** "oidc-provider 9.13.3" */
  peer: string
  endpoint: string
  concurrency: number
  measuredSeconds: number
  requests: number
  erroredRequests: number
  requestsPerSecond: number
  latencyMs: LatencySummary
  errors: Record<string, number>
  warmup: { seconds: number; requests: number; erroredRequests: number }
  cpuPercent: CpuBreakdown
  maxRssMb: number
}

export interface PeerOptions {
  concurrency: number
  warmupMs: number
  durationMs: number
  maxRequests: number
  logPath: string
  signal: AbortSignal
}

/** The version of oidc-provider installed, read from its package.json. */
function peerVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', 'oidc-provider', 'package.json'), 'utf8')) as { version?: string }
  return `oidc-provider ${manifest.version ?? '?'}`
}

/**
 * Starts the peer on a free loopback port, drives POST /token with `concurrency` workers
 * (each request a complete client-credentials grant: client authentication by HTTP Basic, an
 * opaque access token issued and stored), and stops it.
 */
export async function runPeer(options: PeerOptions): Promise<PeerResult> {
  const port = await freePort()
  const secret = randomBytes(32).toString('base64url')
  const http = new JsonClient(`http://127.0.0.1:${port}/`, options.concurrency)
  const env = { ...process.env, PORT: String(port), PEER_CLIENT_ID: CLIENT_ID, PEER_CLIENT_SECRET: secret, NODE_ENV: 'production' }
  const peer = await ServerProcess.start(env, {
    nodeArgs: ['--import', 'tsx'],
    command: [SCRIPT],
    logPath: options.logPath,
    ready: () => http.getStatus('.well-known/openid-configuration'),
  })
  const label = 'peer'
  process.stderr.write(`\n[${label}] ${peerVersion()} pid ${peer.pid} at http://127.0.0.1:${port}; POST /token (client_credentials)\n`)
  const authorization = `Basic ${Buffer.from(`${CLIENT_ID}:${secret}`).toString('base64')}`
  const requestToken: FlowRunner<string> = async (_client, _n, observe) => {
    const started = performance.now()
    let ok = false
    try {
      const response = await http.postForm('token', authorization, TOKEN_REQUEST)
      ok = response.status === 200 && typeof response.body?.access_token === 'string'
      if (!ok) throw new FlowError('token', `token ${response.status} ${String(response.body?.error ?? 'no access_token')}`)
    } finally {
      observe('token', performance.now() - started, ok)
    }
  }
  const cpu = new CpuMeter(peer.pid, null)
  const rss = new RssSampler(peer.pid)
  let maxRss = 0
  try {
    process.stderr.write(`[${label}] ${options.concurrency} workers: ${options.warmupMs / 1000} s warm-up, then ${options.durationMs / 1000} s measured\n`)
    const load = await runLoad(requestToken, new SharedUsers([CLIENT_ID]), {
      label,
      calls: ['token'],
      concurrency: options.concurrency,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      maxFlows: options.maxRequests,
      signal: options.signal,
      onWindowOpen: () => cpu.open(),
      onWindowClose: () => cpu.close(),
    })
    maxRss = rss.stop()
    return {
      peer: peerVersion(),
      endpoint: 'POST /token, grant_type=client_credentials, client_secret_basic, opaque token in the in-memory adapter',
      concurrency: options.concurrency,
      measuredSeconds: round2(load.measuredSeconds),
      requests: load.flows,
      erroredRequests: load.erroredFlows,
      requestsPerSecond: round1(load.flows / load.measuredSeconds),
      latencyMs: summarize(load.latencies.token ?? []),
      errors: load.errors,
      warmup: { seconds: round1(load.warmup.seconds), requests: load.warmup.flows, erroredRequests: load.warmup.erroredFlows },
      cpuPercent: cpu.result,
      maxRssMb: round1(maxRss / 2 ** 20),
    }
  } finally {
    rss.stop()
    http.close()
    await peer.stop()
  }
}

/**
 * The peer's table, then one line per Countersign run beside it: calls/s (every HTTP call of
 * the flows), the range of its calls' p50, and CPU per request of each server.
 */
export function formatPeer(peer: PeerResult, countersign: readonly DatabaseResult[]): string {
  const l = peer.latencyMs
  const cpuPerRequest = (percent: number, perSecond: number) => (perSecond === 0 ? '-' : `${((percent * 10) / perSecond).toFixed(2)} ms`)
  const header = ['server', 'conc', 'requests/s', 'token p50/p95/p99 ms', 'errors', 'server CPU', 'max RSS']
  const row = [
    peer.peer,
    String(peer.concurrency),
    peer.requestsPerSecond.toFixed(1),
    `${l.p50.toFixed(1)} / ${l.p95.toFixed(1)} / ${l.p99.toFixed(1)}`,
    String(peer.erroredRequests),
    `${peer.cpuPercent.server.toFixed(0)}%`,
    `${peer.maxRssMb.toFixed(0)} MB`,
  ]
  const widths = header.map((title, i) => Math.max(title.length, row[i]!.length))
  const line = (cells: string[]) => `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  const lines = [
    `peer (${peer.endpoint}):`,
    line(header),
    rule,
    line(row),
    `peer: ${peer.requests} requests in ${peer.measuredSeconds.toFixed(1)} s. CPU in % of one core: peer ${peer.cpuPercent.server.toFixed(0)}, ` +
      `load generator ${peer.cpuPercent.loadGenerator.toFixed(0)}, other processes ${peer.cpuPercent.other.toFixed(0)}; CPU per request ${cpuPerRequest(peer.cpuPercent.server, peer.requestsPerSecond)}`,
  ]
  for (const [key, count] of Object.entries(peer.errors)) lines.push(`  error ${key}: ${count}`)
  for (const r of countersign.filter((result) => result.runner !== 'floor')) {
    const p50s = Object.values(r.latencyMs).flatMap((summary) => (summary && summary.count > 0 ? [summary.p50] : []))
    const range = p50s.length === 0 ? '-' : `${Math.min(...p50s).toFixed(1)}–${Math.max(...p50s).toFixed(1)} ms`
    lines.push(
      `  beside countersign ${resultLabel(r)} ${r.flow} at concurrency ${r.concurrency}: ${r.callsPerSecond.toFixed(0)} calls/s (${r.flowsPerSecond.toFixed(1)} flows/s), ` +
        `p50 per call ${range}, server CPU per call ${cpuPerRequest(r.cpuPercent.server, r.callsPerSecond)}` +
        `${r.cpuPercent.database === null ? '' : ` + postgres ${cpuPerRequest(r.cpuPercent.database, r.callsPerSecond)}`}`,
    )
  }
  return lines.join('\n')
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}

function round2(value: number): number {
  return Math.round(value * 100) / 100
}
