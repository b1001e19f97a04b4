import { describe, expect, it } from 'vitest'
import { formatFloorRatio, formatPairedRulesCost, formatRulesCost, resultLabel, runName, summarize, type DatabaseResult } from './report.ts'

function trackRun(
  flow: 'track' | 'track-rules',
  latencies: number[],
  flowsPerSecond: number,
  cpu: { server: number; database: number | null },
  concurrency = 4,
): DatabaseResult {
  return {
    database: 'postgres',
    flow,
    concurrency,
    users: 200,
    measuredSeconds: 10,
    flows: flowsPerSecond * 10,
    erroredFlows: 0,
    flowsPerSecond,
    calls: flowsPerSecond * 10,
    callsPerSecond: flowsPerSecond,
    latencyMs: { track: summarize(latencies) },
    errors: {},
    warmup: { seconds: 3, flows: 0, erroredFlows: 0 },
    cpuPercent: { ...cpu, loadGenerator: 10, other: 0, hostPercent: 50 },
    serverMaxRssMb: 200,
    endedEarly: null,
  }
}

describe('formatRulesCost', () => {
  it('subtracts latencies and turns % of a core over tracks/s into CPU ms per track', () => {
    const lines = formatRulesCost(trackRun('track', [2, 2, 2, 2], 1000, { server: 50, database: 80 }), trackRun('track-rules', [3, 3, 3, 3], 800, { server: 48, database: 96 }))
    expect(lines[0]).toContain('both at concurrency 4')
    expect(lines[1]).toContain('p50 2.00 → 3.00 ms (+1.00)')
    expect(lines[2]).toContain('latency includes waiting for the cores')
    expect(lines[3]).toBe('  tracks/s 1000.0 → 800.0 (−20%)')
    // 50% of a core at 1000/s = 0.5 ms; 48% at 800/s = 0.6 ms.
    expect(lines[4]).toBe('  CPU per track server 0.50 → 0.60 ms (+0.10), postgres 0.80 → 1.20 ms (+0.40)')
  })

  it('leaves the database out on PGlite, where it is inside the server', () => {
    const lines = formatRulesCost(trackRun('track', [1], 100, { server: 90, database: null }, 1), trackRun('track-rules', [1], 90, { server: 90, database: null }, 1))
    expect(lines).toHaveLength(4)
    expect(lines[3]).toBe('  CPU per track server 9.00 → 10.00 ms (+1.00)')
  })
})

describe('formatPairedRulesCost', () => {
  it('compares the two calls of one window', () => {
    const paired = { ...trackRun('track', [], 0, { server: 0, database: 0 }, 1), flow: 'track-paired' as const, latencyMs: { track: summarize([2, 4]), 'track-rules': summarize([3, 5]) } }
    expect(formatPairedRulesCost(paired)).toEqual([
      'postgres rules cost (track-paired, 2 + 2 tracks interleaved at concurrency 1):',
      '  track latency p50 2.00 → 3.00 ms (+1.00), p95 4.00 → 5.00 ms (+1.00), p99 4.00 → 5.00 ms (+1.00)',
    ])
  })
})

describe('runs of the floor and of several nodes', () => {
  const inApp = (flowsPerSecond: number, cpu: { server: number; database: number; loadGenerator: number }, runner?: 'floor'): DatabaseResult => ({
    ...trackRun('track', [1], flowsPerSecond, cpu, 32),
    flow: 'in-app',
    cpuPercent: { ...cpu, other: 0, hostPercent: 90 },
    ...(runner ? { runner } : {}),
  })

  it('names their files and rows apart from the single server', () => {
    expect(runName('in-app', 'postgres')).toBe('flows-postgres')
    expect(runName('in-app', 'postgres', { floor: true })).toBe('flows-floor-postgres')
    expect(runName('push-stream', 'postgres', { nodes: 3 })).toBe('flows-push-stream-postgres-3nodes')
    expect(resultLabel({ database: 'postgres', nodes: 3, redis: true })).toBe('postgres ×3 +redis')
    expect(resultLabel({ database: 'postgres', runner: 'floor' })).toBe('postgres floor')
  })

  it('divides the server by its floor and compares CPU per flow', () => {
    // 400 flows/s at 60% server, 20% load generator, 90% postgres; the floor 1000 flows/s at 80%, 230%.
    const lines = formatFloorRatio(inApp(400, { server: 60, database: 90, loadGenerator: 20 }), inApp(1000, { server: 80, database: 230, loadGenerator: 0 }, 'floor'))
    expect(lines[0]).toBe('postgres in-app against its floor (both at concurrency 32): server ÷ floor = 400.0 ÷ 1000.0 flows/s = 0.40')
    expect(lines[1]).toBe(
      '  CPU per flow: server 1.50 ms + load generator 0.50 ms against the floor\'s process 0.80 ms (it signs as the device too); postgres 2.25 ms against 2.30 ms',
    )
  })
})
