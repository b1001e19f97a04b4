// A PostgreSQL cluster of the fault suite's own: initdb into a temporary directory, started and
// stopped with pg_ctl on a free loopback port. The suite stops the database on purpose, so it
// must never touch the machine's shared PostgreSQL (other tests and CI use it on 5432).
import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './countersign-process.ts'

const run = promisify(execFile)
const DIR_PREFIX = 'countersign-faults-'
/** Written into the cluster's directory: the run that owns it, so a later run can clear an abandoned one. */
const OWNER_FILE = 'owner.pid'
const PG_CTL_TIMEOUT_S = 30

/** Where the PostgreSQL programs are: PG_BIN, else the newest version under /usr/lib/postgresql. */
function binDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : []
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  if (!newest) throw new Error(`no PostgreSQL binaries under ${root}; install postgresql or set PG_BIN`)
  return join(root, newest, 'bin')
}

/**
 * initdb and postgres refuse to run as root: as root the cluster's programs run as the
 * `postgres` user (runuser), which must own the directory.
 */
interface RunAs {
  command(program: string, args: string[]): [string, string[]]
  own(path: string): void
}

async function runAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return { command: (program, args) => [program, args], own: () => {} }
  const user = process.env.PG_USER ?? 'postgres'
  const uid = Number((await run('id', ['-u', user])).stdout.trim())
  const gid = Number((await run('id', ['-g', user])).stdout.trim())
  return {
    command: (program, args) => ['runuser', ['-u', user, '--', program, ...args]],
    own: (path) => chownSync(path, uid, gid),
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export class PostgresCluster {
  #running = false

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly database: string,
    private readonly bin: string,
    private readonly as: RunAs,
  ) {}

  /** postgres://postgres@127.0.0.1:<port>/<database> */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${this.database}`
  }

  get dataDir(): string {
    return join(this.dir, 'data')
  }

  /** initdb, start, and create `database`. The caller must call destroy(), also on failure. */
  static async create(database: string): Promise<PostgresCluster> {
    const bin = binDir()
    const as = await runAs()
    await clearAbandoned(bin, as)
    const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX))
    writeFileSync(join(dir, OWNER_FILE), String(process.pid))
    as.own(dir)
    const cluster = new PostgresCluster(dir, await freePort(), database, bin, as)
    try {
      // No fsync: the suite stops the database cleanly (-m fast) and never crashes the machine.
      await cluster.#exec('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
      await cluster.start()
      await cluster.#exec('createdb', ['-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'postgres', database])
    } catch (error) {
      await cluster.destroy()
      throw error
    }
    return cluster
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    // The socket directory is the cluster's own, so nothing else's /var/run/postgresql is used.
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`
    await this.#exec('pg_ctl', ['-D', this.dataDir, '-o', options, '-l', join(this.dir, 'postgres.log'), '-w', '-t', String(PG_CTL_TIMEOUT_S), 'start'])
    this.#running = true
  }

  /** Fast shutdown: sessions are terminated, as when an operator restarts the database. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.#exec('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', String(PG_CTL_TIMEOUT_S), 'stop'])
    this.#running = false
  }

  /** Stops the server if it runs and removes the directory. Never throws. */
  async destroy(): Promise<void> {
    if (this.#running || existsSync(join(this.dataDir, 'postmaster.pid'))) {
      await this.stop('immediate').catch(() => {})
    }
    rmSync(this.dir, { recursive: true, force: true })
  }

  /** The last lines of the server's log, for a failure report. */
  logTail(lines = 20): string {
    try {
      return readFileSync(join(this.dir, 'postgres.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  }

  async #exec(program: string, args: string[]): Promise<void> {
    const [command, argv] = this.as.command(join(this.bin, program), args)
    try {
      await run(command, argv, { timeout: (PG_CTL_TIMEOUT_S + 10) * 1000 })
    } catch (error) {
      const e = error as { stderr?: string; message: string }
      throw new Error(`${program} failed: ${e.stderr?.trim() || e.message}`, { cause: error })
    }
  }
}

/**
 * Clusters left by runs that were killed before their cleanup ran (SIGKILL of the runner):
 * stopped and removed, so they do not pile up on a CI machine.
 */
async function clearAbandoned(bin: string, as: RunAs): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue
    const dir = join(tmpdir(), name)
    let owner: number
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'))
    } catch {
      continue
    }
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue
    const dataDir = join(dir, 'data')
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      const [command, argv] = as.command(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'])
      await run(command, argv, { timeout: 40_000 }).catch(() => {})
    }
    rmSync(dir, { recursive: true, force: true })
  }
}
