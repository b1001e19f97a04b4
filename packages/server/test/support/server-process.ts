// The countersign command as an operator runs it: CLI commands and `countersign serve` as child
// processes, on an embedded data directory or on PostgreSQL when the project runs on it.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const BIN = fileURLToPath(new URL('../../bin/countersign.js', import.meta.url))

export const onPostgres = process.env.COUNTERSIGN_TEST_DB === 'postgres'

/** The environment of every process of one test: its data directory, or the test PostgreSQL. */
export function processEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    COUNTERSIGN_DATA_DIR: dataDir,
    COUNTERSIGN_DEV_TENANT: 'false',
    LOG_LEVEL: 'warn',
    DATABASE_URL: onPostgres ? process.env.TEST_DATABASE_URL : '',
    ...extra,
  }
}

export async function runCli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env, timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** The JSON a `--json` command printed; throws with its stderr when it failed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function cliJson(env: NodeJS.ProcessEnv, ...args: string[]): Promise<any> {
  const result = await runCli(env, ...args)
  if (result.code !== 0) throw new Error(`countersign ${args.join(' ')} exited with ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

export interface ServerProcess {
  process: ChildProcess
  url: string
  /** Everything it wrote to stderr (warnings and errors at LOG_LEVEL=warn). */
  stderr(): string
}

/** `countersign serve` on a free port; resolves once it listens. */
export async function startServerProcess(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let errors = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    errors += chunk.toString()
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /listening on (http:\/\/[^ ]+)/.exec(out)
      if (match) resolve(match[1]!)
    })
    child.once('exit', (code, signal) => reject(new Error(`countersign serve exited (${code ?? signal}) before listening: ${errors}`)))
  })
  return { process: child, url, stderr: () => errors }
}

/** Stops the server with `signal` (SIGTERM drains; SIGKILL is a crash) and waits until it has exited. */
export async function stopServerProcess(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const { process: child } = server
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  await exited
}
