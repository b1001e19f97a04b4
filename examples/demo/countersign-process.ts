// Countersign as the bank would run it: the `countersign` command in its own process, on the
// embedded database in the demo's data directory (or on PostgreSQL when DATABASE_URL is set).
// The bank's tenant is the development tenant the first start of an empty database creates
// (or, on PostgreSQL, one made with `countersign tenants create`). Its keys are shown only
// then, so the demo keeps them in a file of its own (mode 0600) for the next start.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CountersignManagement, isCountersignError } from '@countersign/node'

const BIN = fileURLToPath(new URL('../../packages/server/bin/countersign.js', import.meta.url))

/** The bank's tenant and its keys, as `countersign tenants create --json` printed them. */
export interface BankKeys {
  tenantId: string
  secretKey: string
  managementKey: string
}

export interface CountersignOptions {
  dataDir: string
  host: string
  port: number
  /** PostgreSQL instead of the embedded database. */
  databaseUrl?: string | undefined
  logLevel: string
}

export interface RunningCountersign {
  /** e.g. http://127.0.0.1:4100 */
  origin: string
  /** e.g. http://127.0.0.1:4100/v1 */
  apiUrl: string
  keys: BankKeys
  /** Where the server's JSON log lines go. */
  logFile: string
  /** Resolves when the process has ended, however it ended. */
  exited: Promise<number | null>
  stop(): Promise<void>
}

export function keysFile(dataDir: string): string {
  return join(dataDir, 'bank-keys.json')
}

function serverEnv(options: CountersignOptions, devTenant: boolean): NodeJS.ProcessEnv {
  return {
    ...process.env,
    COUNTERSIGN_DATA_DIR: options.dataDir,
    DATABASE_URL: options.databaseUrl ?? '',
    HOST: options.host,
    PORT: String(options.port),
    COUNTERSIGN_PUBLIC_URL: `http://${options.host}:${options.port}`,
    COUNTERSIGN_DEV_TENANT: String(devTenant),
    LOG_LEVEL: options.logLevel,
  }
}

/** The keys kept from an earlier start, if any. */
export function storedKeys(dataDir: string): BankKeys | undefined {
  const file = keysFile(dataDir)
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BankKeys) : undefined
}

export function storeKeys(dataDir: string, keys: BankKeys): void {
  writeFileSync(keysFile(dataDir), `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 })
}

/**
 * Whether `countersign serve` will create a development tenant: only on the first start of an
 * empty embedded database. Otherwise (PostgreSQL, or a database whose keys file was lost) the
 * bank's tenant is made with `countersign tenants create` first.
 */
export function firstStart(options: CountersignOptions): boolean {
  return options.databaseUrl === undefined && !existsSync(join(options.dataDir, 'pgdata'))
}

/** A new tenant for the bank, made with the CLI (before the server holds the database). */
export async function createBankTenant(options: CountersignOptions): Promise<BankKeys> {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'tenants', 'create', '--name', 'Demo Bank', '--json'], {
    env: serverEnv(options, false),
    timeout: 120_000,
  })
  const printed = JSON.parse(stdout) as BankKeys
  const keys: BankKeys = { tenantId: printed.tenantId, secretKey: printed.secretKey, managementKey: printed.managementKey }
  storeKeys(options.dataDir, keys)
  return keys
}

/**
 * `countersign serve`, resolved once it listens. Without `keys` it is the first start of an
 * empty database: the server creates a development tenant and prints its keys once; they are
 * read from its output (never written to the log file), kept in the keys file, and the tenant
 * is renamed "Demo Bank".
 *
 * It runs in its own process group, so a Ctrl-C in the terminal reaches only the demo, which
 * then stops it with one SIGTERM and waits while it closes the database.
 */
export async function startCountersign(options: CountersignOptions, keys: BankKeys | undefined): Promise<RunningCountersign> {
  const logFile = join(options.dataDir, 'countersign.log')
  const log = createWriteStream(logFile, { flags: 'a', mode: 0o600 })
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve'], {
    env: serverEnv(options, keys === undefined),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  // However the demo ends (short of SIGKILL), even during its start, the server is told to stop.
  const stopOnExit = () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGTERM'))
  process.once('exit', stopOnExit)
  void exited.then(() => process.off('exit', stopOnExit))
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    log.write(chunk)
  })
  const printed: Record<string, string> = {}
  const origin = await new Promise<string>((resolve, reject) => {
    child.stdout!.on(
      'data',
      byLine((line) => {
        // JSON lines are the log. The rest is printed for the operator, the development
        // tenant's keys among them: those are read here and go nowhere else.
        if (line.startsWith('{')) return void log.write(`${line}\n`)
        const field = /^\s+(Tenant ID|Secret key|Management key):\s+(\S+)$/.exec(line)
        if (field) printed[field[1]!] = field[2]!
        const listening = /listening on (http:\/\/\S+)/.exec(line)
        if (listening) resolve(listening[1]!)
      }),
    )
    void exited.then((code) => reject(new Error(`countersign serve exited (${code}) before listening:\n${stderr.trim()}`)))
  })
  const running: RunningCountersign = {
    origin,
    apiUrl: `${origin}/v1`,
    keys: keys ?? { tenantId: '', secretKey: '', managementKey: '' },
    logFile,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
      await new Promise((resolve) => log.end(resolve))
    },
  }
  if (!keys) {
    const tenantId = printed['Tenant ID']
    const secretKey = printed['Secret key']
    const managementKey = printed['Management key']
    if (!tenantId || !secretKey || !managementKey) {
      await running.stop()
      throw new Error('countersign serve did not print a development tenant on its first start')
    }
    running.keys = { tenantId, secretKey, managementKey }
    storeKeys(options.dataDir, running.keys)
    await new CountersignManagement({ managementKey, apiUrl: running.apiUrl }).tenant.update({ name: 'Demo Bank' })
  }
  return running
}

/** A 'data' listener that hands on whole lines (a chunk may end inside one). */
function byLine(onLine: (line: string) => void): (chunk: Buffer) => void {
  let partial = ''
  return (chunk) => {
    const lines = (partial + chunk.toString()).split('\n')
    partial = lines.pop()!
    for (const line of lines) onLine(line)
  }
}

/**
 * The tenant settings the demo relies on, applied at every start (the ports may change):
 * only the bank's two pages may call the Client API from a browser, and a phone approving a
 * payment or a new payee must type the number the bank page shows and sign the details.
 */
export async function configureTenant(countersign: RunningCountersign, origins: string[]): Promise<void> {
  const management = new CountersignManagement({ managementKey: countersign.keys.managementKey, apiUrl: countersign.apiUrl })
  await management.tenant.update({ allowedOrigins: origins })
  for (const actionCode of ['authorizePayment', 'addPayee']) {
    const settings = { numberMatching: true, requireSignedDecision: true }
    try {
      await management.actionConfigurations.update(actionCode, settings)
    } catch (error) {
      if (!(isCountersignError(error) && error.errorCode === 'not_found')) throw error
      await management.actionConfigurations.create({ actionCode, ...settings })
    }
  }
}
