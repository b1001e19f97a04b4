// Runs before each integration test file (vitest setupFiles): after the file, every line the
// server logged during it is scanned for secrets, and a leak fails the file.
import { appendFileSync } from 'node:fs'
import { basename } from 'node:path'
import { afterAll, expect } from 'vitest'
import { logScanTotals, scanCollectedLogs } from './log-secrets.ts'

const testFile = basename(expect.getState().testPath ?? 'unknown')

afterAll(() => {
  const leaks = scanCollectedLogs()
  // COUNTERSIGN_LOG_SCAN_REPORT: a file that gets the run's running totals after each test file.
  const report = process.env.COUNTERSIGN_LOG_SCAN_REPORT
  if (report) appendFileSync(report, `${JSON.stringify({ testFile, leaks: leaks.length, ...logScanTotals() })}\n`)
  if (leaks.length === 0) return
  const shown = leaks.slice(0, 5).map((leak) => `  ${leak.secret} (logged by ${leak.source}):\n    ${leak.line.slice(0, 600)}`)
  throw new Error(`${leaks.length} log line(s) carry a secret:\n${shown.join('\n')}${leaks.length > 5 ? `\n  … and ${leaks.length - 5} more` : ''}`)
})
