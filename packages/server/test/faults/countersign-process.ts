// `countersign serve` and the CLI as separate processes, exactly as an operator runs them, on a
// port fixed for the whole run: tokens carry COUNTERSIGN_PUBLIC_URL as their issuer, so a server
// started again after a crash must answer at the same address for earlier tokens to validate.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { freePort } from '../support/free-port.ts'

export { freePort }

const BIN = fileURLToPath(new URL('../../bin/countersign.js', import.meta.url))
const READY_TIMEOUT_MS = 60_000


/**
 * The environment of every CLI and server process of the run: ours, minus anything that would
 * point them elsewhere (a developer's DATABASE_URL, data directory or public URL), plus `settings`.
 */
export function countersignEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(env)) {
    if (name === 'DATABASE_URL' || name.startsWith('COUNTERSIGN_') || name.startsWith('WEBHOOK_') || name === 'PORT' || name === 'HOST') delete env[name]
  }
  return { ...env, HOST: '127.0.0.1', COUNTERSIGN_DEV_TENANT: 'false', LOG_LEVEL: 'warn', ...settings }
}

/** Runs `countersign <args> --json` and returns what it printed, parsed. */
export async function cliJson<T>(env: NodeJS.ProcessEnv, ...args: string[]): Promise<T> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, ...args, '--json'], { env, timeout: 60_000 })
    return JSON.parse(stdout) as T
  } catch (error) {
    const e = error as { stderr?: string; message: string }
    throw new Error(`countersign ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: error })
  }
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** performance.now() when the process had exited. */
  at: number
}

/** One `countersign serve` process; its stdout and stderr go to `logPath`. */
export class CountersignProcess {
  readonly exited: Promise<Exit>
  #exit: Exit | undefined

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly logPath: string,
  ) {
    const log = createWriteStream(logPath)
    child.stdout!.pipe(log, { end: false })
    child.stderr!.pipe(log, { end: false })
    child.once('exit', (code, signal) => {
      this.#exit = { code, signal, at: performance.now() }
    })
    // 'close' comes after both pipes have ended: the log is then complete.
    this.exited = new Promise((resolve) => child.once('close', () => log.end(() => resolve(this.#exit!))))
  }

  /** Starts the server on `env.PORT` and waits until /readyz answers 200. */
  static async start(env: NodeJS.ProcessEnv, logPath: string): Promise<CountersignProcess> {
    const url = `http://127.0.0.1:${env.PORT}`
    const child = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const server = new CountersignProcess(child, url, logPath)
    const deadline = Date.now() + READY_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (server.#exit) throw new Error(`countersign serve exited during start (${server.#exit.code ?? server.#exit.signal}):\n${server.logTail()}`)
      if ((await readiness(url)) === 200) return server
      await sleep(100)
    }
    server.kill('SIGKILL')
    throw new Error(`countersign serve not ready within ${READY_TIMEOUT_MS / 1000} s:\n${server.logTail()}`)
  }

  get pid(): number {
    return this.child.pid!
  }

  get running(): boolean {
    return this.#exit === undefined
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal)
  }

  /** Every line the process has written so far. */
  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8')
    } catch {
      return ''
    }
  }

  logTail(lines = 30): string {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n')
  }
}

/** The status of GET /readyz, or 0 when nothing answers within a second. */
export function readiness(baseUrl: string): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get(`${baseUrl}/readyz`, { agent: false, timeout: 1_000 }, (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode ?? 0))
      response.on('error', () => resolve(0))
    })
    request.on('timeout', () => request.destroy())
    request.on('error', () => resolve(0))
  })
}
