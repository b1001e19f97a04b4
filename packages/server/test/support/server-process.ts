// The countersign command as an operator runs it: CLI commands and `countersign serve` as child
// processes, on an embedded data directory or on PostgreSQL when the project runs on it.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { collectLog, registerSecretsIn } from './log-secrets.ts'

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

export function runCli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliFrom(BIN, env, ...args)
}

/** A command run from `entry`: the bin (sources through tsx) or the production bundle. */
export async function runCliFrom(entry: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let result: { code: number; stdout: string; stderr: string }
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [entry, ...args], { env, timeout: 60_000 })
    result = { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    result = { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
  // stdout shows a new key once, on purpose; stderr is the command's log and its errors.
  registerPrintedSecrets(result.stdout)
  collectLog(`countersign ${args[0] ?? ''} (stderr)`, result.stderr)
  return result
}

/** Registers the keys and secrets a command or a first start printed, for the log scan. */
function registerPrintedSecrets(stdout: string): void {
  try {
    registerSecretsIn(JSON.parse(stdout))
  } catch {
    for (const word of stdout.split(/\s+/)) registerSecretsIn(word)
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
  /** Everything it wrote to stderr. */
  stderr(): string
  /** Its log: the JSON lines it wrote to stdout (also collected for the secret scan). */
  log(): string
}

/**
 * `countersign serve` on a free port; resolves once it listens. It logs at trace level: its
 * log lines (JSON on stdout) go to the run's secret scan, as do its stderr lines.
 */
export async function startServerProcess(env: NodeJS.ProcessEnv, options: { entry?: string } = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [options.entry ?? BIN, 'serve'], { env: { ...env, PORT: '0', LOG_LEVEL: 'trace' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let errors = ''
  let logged = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    errors += chunk.toString()
  })
  child.stderr!.on('data', byLine((line) => collectLog('countersign serve (stderr)', line)))
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on(
      'data',
      byLine((line) => {
        // JSON lines are the log; the rest is printed for the operator (a first start shows the development keys once).
        if (line.startsWith('{')) {
          logged += `${line}\n`
          return collectLog('countersign serve', line)
        }
        registerPrintedSecrets(line)
        out += `${line}\n`
        const match = /listening on (http:\/\/[^ ]+)/.exec(out)
        if (match) resolve(match[1]!)
      }),
    )
    child.once('exit', (code, signal) => reject(new Error(`countersign serve exited (${code ?? signal}) before listening: ${errors}`)))
  })
  return { process: child, url, stderr: () => errors, log: () => logged }
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

/** Stops the server with `signal` (SIGTERM drains; SIGKILL is a crash) and waits until it has exited. */
export async function stopServerProcess(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const { process: child } = server
  if (child.exitCode !== null || child.signalCode !== null) return
  // 'close' comes after 'exit' and after the last output: every log line has been collected.
  const closed = new Promise((resolve) => child.once('close', resolve))
  child.kill(signal)
  await closed
}
