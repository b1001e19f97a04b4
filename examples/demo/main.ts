// `npm run demo`: Countersign, a demo bank and a phone, on this machine, in one command.
//
//   1. builds the two pages with Vite (examples/demo/dist), while
//   2. Countersign starts in its own process on the embedded database in .countersign/demo
//      (the bank's tenant is created on the first start and its keys kept there, mode 0600),
//   3. the bank's backend starts: its website and its phone app, each on a port of its own,
//   4. and the URLs to open are printed. Ctrl-C stops everything.
//
// Environment: DEMO_BANK_PORT (4000), DEMO_PHONE_PORT (4001), DEMO_COUNTERSIGN_PORT (4100),
// DEMO_HOST (127.0.0.1), DEMO_DATA_DIR (.countersign/demo), DEMO_LOG_LEVEL (Countersign's log
// level, info), and DATABASE_URL to run Countersign on PostgreSQL instead.
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startBank, type RunningBank } from './bank-server.ts'
import { buildPages, DIST_DIR } from './build.ts'
import {
  configureTenant,
  createBankTenant,
  firstStart,
  keysFile,
  startCountersign,
  storedKeys,
  type CountersignOptions,
  type RunningCountersign,
} from './countersign-process.ts'

const REPO = fileURLToPath(new URL('../../', import.meta.url))
const env = process.env
const host = env.DEMO_HOST ?? '127.0.0.1'
const ports = {
  bank: port('DEMO_BANK_PORT', 4000),
  phone: port('DEMO_PHONE_PORT', 4001),
  countersign: port('DEMO_COUNTERSIGN_PORT', 4100),
}
const dataDir = resolve(REPO, env.DEMO_DATA_DIR ?? '.countersign/demo')
const databaseUrl = env.DATABASE_URL || undefined
const shown = (path: string) => relative(process.cwd(), path) || '.'

const out = (line = '') => process.stdout.write(`${line}\n`)
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[22m` : text)
const dim = (text: string) => (process.stdout.isTTY ? `\x1b[2m${text}\x1b[22m` : text)
const green = (text: string) => (process.stdout.isTTY ? `\x1b[32m${text}\x1b[39m` : text)

function port(name: string, fallback: number): number {
  const value = Number(env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 1 || value > 65_535) fail(`${name} must be a port number (1–65535), not ${env[name]}`)
  return value
}

function fail(message: string): never {
  process.stderr.write(`\n${message}\n`)
  process.exit(1)
}

/** Refuses to start half-way: every port must be free before anything starts. */
async function checkPortFree(name: string, value: number): Promise<void> {
  await new Promise<void>((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'EADDRINUSE' ? `Port ${value} (${name}) is in use: is the demo already running? Set ${name} to use another.` : error.message)),
    )
    probe.listen(value, host, () => probe.close(() => resolvePort()))
  })
}

let countersign: RunningCountersign | undefined
/** Countersign while it starts: a Ctrl-C then waits for it, so it never dies half-way through a migration. */
let countersignStarting: Promise<RunningCountersign> | undefined
let bank: RunningBank | undefined
let stopping: Promise<void> | undefined

/** Both at once: Countersign gets its SIGTERM first thing, whatever happens to this process next. */
async function stopAll(): Promise<void> {
  if (!countersign && countersignStarting) out(dim('  (Countersign is starting; it is stopped as soon as it has)'))
  const running = countersign ?? (await countersignStarting?.catch(() => undefined))
  await Promise.all([running?.stop(), bank?.close()])
}

let stoppingAt = 0

function onSignal(): void {
  // A second Ctrl-C at once is the same one relayed (npm, tsx); a later one is impatience.
  if (stopping) {
    if (performance.now() - stoppingAt > 1000) out(dim('  (still stopping: Countersign is closing its database)'))
    return
  }
  stoppingAt = performance.now()
  out('\nStopping the bank and Countersign…')
  stopping = stopAll().then(
    () => {
      out('Stopped.')
      process.exit(0)
    },
    (error: unknown) => fail(`Could not stop cleanly: ${error instanceof Error ? error.message : String(error)}`),
  )
}

async function main(): Promise<void> {
  out(bold('Countersign demo: a bank website, a phone, and Countersign between them'))
  for (const [name, value] of [
    ['DEMO_BANK_PORT', ports.bank],
    ['DEMO_PHONE_PORT', ports.phone],
    ['DEMO_COUNTERSIGN_PORT', ports.countersign],
  ] as const) {
    await checkPortFree(name, value)
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  const startedAt = performance.now()
  out(`  · Building the pages with Vite…`)
  const pages = buildPages().then(() => out(`  ${green('✓')} Pages built into ${shown(DIST_DIR)} ${dim(seconds(startedAt))}`))

  const options: CountersignOptions = { dataDir, host, port: ports.countersign, databaseUrl, logLevel: env.DEMO_LOG_LEVEL ?? 'info' }
  const where = databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `the embedded database in ${shown(dataDir)}`
  const server = (async () => {
    const keysAt = keysFile(dataDir)
    // Keys without a database are from a data directory whose database was deleted: stale.
    const fresh = firstStart(options)
    let keys = fresh ? undefined : storedKeys(dataDir)
    let created = false
    if (!keys && !fresh) {
      const tenantAt = performance.now()
      out(`  · Creating the bank’s tenant in ${where} (countersign tenants create)…`)
      keys = await createBankTenant(options)
      created = true
      out(`  ${green('✓')} Created the tenant “Demo Bank” (${keys.tenantId}); its keys are kept in ${shown(keysAt)} ${dim(seconds(tenantAt))}`)
    }
    const serveAt = performance.now()
    out(`  · Starting Countersign (countersign serve, ${where}${keys ? '' : '; first start: it creates the database and a tenant'})…`)
    countersignStarting = startCountersign(options, keys)
    countersign = await countersignStarting
    if (stopping) return countersign
    out(`  ${green('✓')} Countersign listening on ${countersign.origin}; its log goes to ${shown(countersign.logFile)} ${dim(seconds(serveAt))}`)
    if (!keys) out(`  ${green('✓')} The bank’s tenant “Demo Bank” (${countersign.keys.tenantId}); its keys are kept in ${shown(keysAt)} (mode 0600)`)
    else if (!created) out(`  ${green('✓')} The bank’s tenant “Demo Bank” (${keys.tenantId}), keys from ${shown(keysAt)}`)
    // The bank's two pages, and Countersign's own hosted challenge page.
    await configureTenant(countersign, [`http://${host}:${ports.bank}`, `http://${host}:${ports.phone}`, countersign.origin])
    out(`  ${green('✓')} Tenant settings: Client API open to the bank’s pages only; payments and payees need number matching and signed details`)
    void countersign.exited.then((code) => {
      if (stopping) return
      process.stderr.write(`\nCountersign stopped unexpectedly (exit code ${code}); see ${shown(countersign!.logFile)}. Stopping the demo.\n`)
      void (bank?.close() ?? Promise.resolve()).finally(() => process.exit(1))
    })
    return countersign
  })()

  const [, running] = await Promise.all([pages, server])
  if (stopping) return
  bank = await startBank({
    host,
    bankPort: ports.bank,
    phonePort: ports.phone,
    distDir: DIST_DIR,
    countersignOrigin: running.origin,
    tenantId: running.keys.tenantId,
    secretKey: running.keys.secretKey,
    statePath: resolve(dataDir, 'bank-state.json'),
    log: (line) => out(dim(`  [bank] ${line}`)),
  })
  out(`  ${green('✓')} Bank listening ${dim(`(ready in ${seconds(startedAt)})`)}`)
  out()
  out(bold('Open these:'))
  out(`  Bank website   ${bold(bank.bankUrl)}   ← start here: it guides you step by step`)
  out(`  Phone          ${bold(bank.phoneUrl)}   (the bank page’s “Open the phone” opens it beside it)`)
  out(`  Console        ${running.origin}/console   (sign in with the managementKey in ${shown(keysFile(dataDir))})`)
  out(`  API docs       ${running.origin}/docs`)
  out()
  out(`Press Ctrl-C to stop. What the bank does is printed below.`)
}

main().catch(async (error: unknown) => {
  if (stopping) return // Ctrl-C during the start: what failed was cut short on purpose.
  process.stderr.write(`\nThe demo could not start: ${error instanceof Error ? error.message : String(error)}\n`)
  await stopAll().catch(() => {})
  process.exit(1)
})
