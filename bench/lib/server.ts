// The Countersign server under test, run as a separate child process exactly as an operator
// would run it (`countersign serve`), so its CPU and memory are its own and the HTTP path is
// the real one: socket, parser, schemas, database.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { freePort } from '../../packages/server/test/support/free-port.ts'

export { freePort }

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = fileURLToPath(new URL('../../packages/server/bin/countersign.js', import.meta.url))
/** The production bundle `npm run build:server` writes, which plain node runs. */
export const SERVER_BUNDLE = fileURLToPath(new URL('../../packages/server/dist/countersign.mjs', import.meta.url))

/** Builds SERVER_BUNDLE from the current sources, so a `--bundle` run never measures a stale one. */
export async function buildServerBundle(): Promise<void> {
  const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url))
  const build = fileURLToPath(new URL('../../packages/server/scripts/build.ts', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [tsx, build], { cwd: REPO_ROOT, timeout: 60_000 })
  process.stderr.write(stdout)
}

const READY_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 10_000
/** How much of the server's output is kept in memory to show when it fails to start. */
const OUTPUT_TAIL_CHARS = 16_000

export class ServerStartError extends Error {
  override name = 'ServerStartError'
  constructor(message: string, readonly output: string) {
    super(message)
  }
}


/**
 * The environment of the CLI and the server: ours, minus settings the benchmark decides
 * itself (a stray DATABASE_URL or public URL in the shell must not redirect the run).
 */
export function serverEnv(port: number, database: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ['DATABASE_URL', 'COUNTERSIGN_DATA_DIR', 'COUNTERSIGN_PUBLIC_URL']) delete env[name]
  return {
    ...env,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    COUNTERSIGN_DEV_TENANT: 'false',
    ...database,
  }
}

export interface BenchTenant {
  tenantId: string
  secretKey: string
  /** For the Management API (the track-rules flow's rules). */
  managementKey: string
  apiUrl: string
}

/** Creates the tenant with the CLI. Runs before `serve`: PGlite admits one process at a time. */
export async function createTenant(env: NodeJS.ProcessEnv): Promise<BenchTenant> {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'tenants', 'create', '--name', 'bench', '--json'], {
    env,
    cwd: REPO_ROOT,
  })
  const parsed = JSON.parse(stdout) as Partial<BenchTenant>
  if (!parsed.tenantId || !parsed.secretKey || !parsed.managementKey || !parsed.apiUrl) throw new Error(`unexpected output of tenants create: ${stdout}`)
  return { tenantId: parsed.tenantId, secretKey: parsed.secretKey, managementKey: parsed.managementKey, apiUrl: parsed.apiUrl }
}

/**
 * Changes tenant settings with the CLI (`countersign settings`), before `serve` like
 * createTenant, and checks that they are now in force.
 * @example await configureTenant(env, tenant.tenantId, { pushMaxPerHour: 1000 })
 */
export async function configureTenant(env: NodeJS.ProcessEnv, tenantId: string, settings: Record<string, number | boolean>): Promise<void> {
  const changes = Object.entries(settings).map(([name, value]) => `${name}=${JSON.stringify(value)}`)
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'settings', '--tenant', tenantId, ...changes, '--json'], {
    env,
    cwd: REPO_ROOT,
  })
  const inForce = JSON.parse(stdout) as Record<string, unknown>
  for (const [name, value] of Object.entries(settings)) {
    if (inForce[name] !== value) throw new Error(`tenant setting ${name} is ${JSON.stringify(inForce[name])}, not ${JSON.stringify(value)}`)
  }
}

export class ServerProcess {
  readonly #child: ChildProcess
  #output = ''
  readonly #exited: Promise<void>

  private constructor(child: ChildProcess, logPath: string) {
    this.#child = child
    const log = createWriteStream(logPath)
    const keep = (chunk: Buffer) => {
      log.write(chunk)
      this.#output = (this.#output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.#exited = new Promise((resolve) => child.once('exit', () => log.end(resolve)))
  }

  /**
   * Starts `countersign serve` (or `command`) and waits until `ready` answers 200.
   * @param nodeArgs extra flags for the child's node (e.g. --cpu-prof)
   * @param logPath where the server's stdout and stderr are written
   * @param command what node runs, after `nodeArgs`; by default the Countersign CLI's `serve`
   */
  static async start(
    env: NodeJS.ProcessEnv,
    options: { nodeArgs: string[]; logPath: string; ready: () => Promise<number>; command?: string[] },
  ): Promise<ServerProcess> {
    const command = options.command ?? [BIN, 'serve']
    const child = spawn(process.execPath, [...options.nodeArgs, ...command], { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    const server = new ServerProcess(child, options.logPath)
    try {
      await server.#waitUntilReady(options.ready)
    } catch (error) {
      await server.stop()
      throw error
    }
    return server
  }

  get pid(): number {
    if (this.#child.pid === undefined) throw new Error('server process has no pid')
    return this.#child.pid
  }

  /** The last lines the server printed. */
  get output(): string {
    return this.#output
  }

  /** SIGTERM (the server drains and exits), then SIGKILL if it is still there after 10 s. */
  async stop(): Promise<void> {
    if (this.#hasExited()) return this.#exited
    this.#child.kill('SIGTERM')
    const graceful = await Promise.race([this.#exited.then(() => true), sleep(STOP_GRACE_MS, false)])
    if (!graceful) {
      process.stderr.write('server did not exit within 10 s of SIGTERM; sending SIGKILL\n')
      this.#child.kill('SIGKILL')
    }
    return this.#exited
  }

  #hasExited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null
  }

  async #waitUntilReady(ready: () => Promise<number>): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (this.#hasExited()) {
        throw new ServerStartError(`server exited during start (code ${this.#child.exitCode ?? this.#child.signalCode})`, this.#output)
      }
      // Connection refused just means it is not listening yet.
      const status = await ready().catch(() => 0)
      if (status === 200) return
      await sleep(100)
    }
    throw new ServerStartError(`server not ready within ${READY_TIMEOUT_MS / 1000} s`, this.#output)
  }
}
