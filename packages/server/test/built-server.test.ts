// The production bundle (npm run build:server → packages/server/dist/countersign.mjs) is the
// same server: it finds its migrations and web pages from where it sits, runs commands, serves
// the APIs, the console and the hosted page, and drains on SIGTERM. Built here from the
// sources under test, so it cannot be stale.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { processEnv, runCliFrom, startServerProcess, stopServerProcess, type ServerProcess } from './support/server-process.ts'

const BUNDLE = fileURLToPath(new URL('../dist/countersign.mjs', import.meta.url))
const BUILD = fileURLToPath(new URL('../scripts/build.ts', import.meta.url))

describe('the production bundle', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'countersign-bundle-'))
  const env = processEnv(dataDir)
  let server: ServerProcess | undefined

  beforeAll(async () => {
    const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/cli.mjs', import.meta.url))
    await promisify(execFile)(process.execPath, [tsx, BUILD], { timeout: 60_000 })
  }, 90_000)
  afterAll(async () => {
    if (server) await stopServerProcess(server)
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('runs a command, then serves the APIs and both pages, and drains on SIGTERM', { timeout: 120_000 }, async () => {
    const created = await runCliFrom(BUNDLE, env, 'tenants', 'create', '--name', 'Bundled', '--json')
    expect(created.code).toBe(0)
    const { tenantId, secretKey } = JSON.parse(created.stdout) as { tenantId: string; secretKey: string }

    server = await startServerProcess(env, { entry: BUNDLE })
    expect(await (await fetch(`${server.url}/readyz`)).json()).toMatchObject({ status: 'ready' })
    const user = await fetch(`${server.url}/v1/users/someone`, { headers: { authorization: `Basic ${Buffer.from(`${secretKey}:`).toString('base64')}` } })
    expect(user.status).toBe(404)
    for (const page of ['/console', '/challenge']) {
      const res = await fetch(`${server.url}${page}`)
      expect(res.status, page).toBe(200)
      expect(res.headers.get('content-security-policy'), page).toContain("script-src 'self'")
    }
    expect(tenantId).toMatch(/^[0-9a-f-]{36}$/)

    const exited = new Promise<number | null>((resolve) => server!.process.once('exit', (code) => resolve(code)))
    await stopServerProcess(server)
    expect(await exited).toBe(0)
    server = undefined
  })
})
