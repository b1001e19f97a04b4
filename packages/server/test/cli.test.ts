// The countersign command as a user runs it: a child process per command, against a fresh
// embedded data directory (and PostgreSQL when this project runs on it).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { onPostgres, processEnv, runCli, startServerProcess, stopServerProcess } from './support/server-process.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'countersign-cli-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

// As a user runs it: the default development tenant on a first start.
const env = processEnv(dataDir, { COUNTERSIGN_DEV_TENANT: 'true' })

const countersign = (...args: string[]) => runCli(env, ...args)

/** `countersign serve` on a free port; resolves once it listens. */
async function startServer(extraEnv: Record<string, string> = {}) {
  const running = await startServerProcess({ ...env, ...extraEnv })
  return { server: running, url: running.url }
}

const stop = (server: Awaited<ReturnType<typeof startServerProcess>>) => stopServerProcess(server)

describe('countersign CLI', () => {
  // Each command starts the embedded database (~3 s): a few commands, each checking much.
  it('manages webhooks, action settings and tenant settings', { timeout: 120_000 }, async () => {
    const tenant = JSON.parse((await countersign('tenants', 'create', '--name', 'Hooks', '--json')).stdout) as { tenantId: string }
    const t = ['--tenant', tenant.tenantId]

    const created = await countersign('webhooks', 'create', ...t, '--url', 'https://bank.example/hooks', '--events', 'push.created,action.state_changed', '--json')
    expect(created.code).toBe(0)
    const hook = JSON.parse(created.stdout)
    expect(hook).toMatchObject({ url: 'https://bank.example/hooks', events: ['push.created', 'action.state_changed'], enabled: true })
    expect(hook.secret).toMatch(/^whsec_/)
    const listed = JSON.parse((await countersign('webhooks', 'list', ...t, '--json')).stdout)
    expect(listed).toHaveLength(1)
    expect(JSON.stringify(listed)).not.toContain(hook.secret)
    const disabled = JSON.parse((await countersign('webhooks', 'update', hook.webhookId, ...t, '--enabled', 'false', '--json')).stdout)
    expect(disabled.enabled).toBe(false)
    const unknownEvent = await countersign('webhooks', 'create', ...t, '--url', 'https://bank.example/hooks', '--events', 'action.exploded')
    expect(unknownEvent.code).toBe(1)
    expect(unknownEvent.stderr).toContain('action.exploded')

    const configured = JSON.parse(
      (await countersign('actions', 'configure', ...t, '--action', 'authorizePayment', '--require-signed-decision', 'true', '--verification-webhook', 'https://bank.example/verify', '--json')).stdout,
    )
    expect(configured).toMatchObject({ actionCode: 'authorizePayment', requireSignedDecision: true, verificationWebhookUrl: 'https://bank.example/verify' })
    expect(configured.ownSettings).toEqual(['requireSignedDecision', 'verificationWebhookUrl'])
    expect(configured.verificationWebhookSecret).toMatch(/^whsec_/)
    // A second configure changes what it names and keeps the rest.
    const merged = JSON.parse((await countersign('actions', 'configure', ...t, '--action', 'authorizePayment', '--default-outcome', 'REVIEW', '--json')).stdout)
    expect(merged).toMatchObject({ defaultOutcome: 'REVIEW', requireSignedDecision: true, verificationWebhookUrl: 'https://bank.example/verify' })

    const settings = JSON.parse((await countersign('settings', ...t, 'pushMaxPerHour=20', 'numberMatching=true', '--json')).stdout)
    expect(settings).toMatchObject({ pushMaxPerHour: 20, numberMatching: true, pushMaxPending: 3 })
    const bad = await countersign('settings', ...t, 'pushMaxPerHour=0')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('pushMaxPerHour')
  })

  // Each command is a process that opens the database (seconds on PGlite): six of them need room.
  it('creates a tenant and manages its keys', { timeout: 120_000 }, async () => {
    const created = await countersign('tenants', 'create', '--name', 'Acme', '--json')
    expect(created.code).toBe(0)
    const tenant = JSON.parse(created.stdout)
    expect(tenant).toEqual({
      tenantId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      secretKey: expect.stringMatching(/^cs_sk_/),
      managementKey: expect.stringMatching(/^cs_mk_/),
      apiUrl: 'http://127.0.0.1:8080/v1',
    })

    const key = JSON.parse((await countersign('keys', 'create', '--tenant', tenant.tenantId, '--json')).stdout)
    expect(key).toEqual({ keyId: expect.any(String), type: 'secret', key: expect.stringMatching(/^cs_sk_/) })

    const listed = JSON.parse((await countersign('keys', 'list', '--tenant', tenant.tenantId, '--json')).stdout)
    expect(listed.map((k: { keyId: string }) => k.keyId)).toContain(key.keyId)
    // Key values are shown once, at creation, and never listed.
    expect(JSON.stringify(listed)).not.toContain(key.key)

    const revoked = await countersign('keys', 'revoke', '--tenant', tenant.tenantId, key.keyId)
    expect(revoked.code, revoked.stderr).toBe(0)
    const again = await countersign('keys', 'revoke', '--tenant', tenant.tenantId, key.keyId)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('keys list')

    const tenants = JSON.parse((await countersign('tenants', 'list', '--json')).stdout)
    expect(tenants.map((t: { tenantId: string }) => t.tenantId)).toContain(tenant.tenantId)
  })

  it('refuses a key for an unknown tenant with a message, not a stack trace', async () => {
    const result = await countersign('keys', 'create', '--tenant', '00000000-0000-4000-8000-000000000000')
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^countersign: /)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('finishes with REDIS_URL set, reachable or not: commands open no Redis connection', async () => {
    const started = Date.now()
    const { code, stdout } = await runCli({ ...env, REDIS_URL: 'redis://127.0.0.1:1' }, 'tenants', 'list', '--json')
    expect(code).toBe(0)
    expect(Array.isArray(JSON.parse(stdout))).toBe(true)
    expect(Date.now() - started).toBeLessThan(30_000)
  })

  it('explains a bad configuration', async () => {
    const { code, stderr } = await runCli({ ...env, PORT: 'eighty' }, 'migrate')
    expect(code).toBe(1)
    expect(stderr).toContain('PORT')
  })

  it('prints help for each command', { timeout: 60_000 }, async () => {
    for (const args of [['--help'], ['serve', '--help'], ['tenants', 'create', '--help'], ['keys', 'revoke', '--help']]) {
      const result = await countersign(...args)
      expect(result.code).toBe(0)
      expect(result.stdout).toContain('Usage: countersign')
    }
  })

  it.runIf(onPostgres)('a key revoked from the CLI is refused by a running server at once, before its cache expires', async () => {
    const tenant = JSON.parse((await countersign('tenants', 'create', '--name', 'Revocation', '--json')).stdout)
    const key = JSON.parse((await countersign('keys', 'create', '--tenant', tenant.tenantId, '--json')).stdout)
    const { server, url } = await startServer({ KEY_CACHE_MS: '1000' })
    try {
      const call = () =>
        fetch(`${url}/v1/users/someone`, { headers: { authorization: `Basic ${Buffer.from(`${key.key}:`).toString('base64')}` } })
      expect((await call()).status).toBe(404) // authenticated (and now cached); the user does not exist
      const revoked = await countersign('keys', 'revoke', '--tenant', tenant.tenantId, key.keyId)
      expect(revoked.code, revoked.stderr).toBe(0)
      // The CLI's NOTIFY reaches the server: refused well inside the 1 s the cache would keep it.
      const revokedAt = Date.now()
      let refused = await call()
      while (refused.status !== 401 && Date.now() - revokedAt < 1_000) refused = await call()
      expect(refused.status).toBe(401)
      expect(Date.now() - revokedAt).toBeLessThan(500)
      expect((await refused.json()).errorCode).toBe('unauthorized')
    } finally {
      await stop(server)
    }
  })

  it.runIf(!onPostgres)('says the embedded database is in use while a server holds it', async () => {
    const { server } = await startServer()
    try {
      const result = await countersign('tenants', 'list')
      expect(result.code).toBe(1)
      expect(result.stderr).toContain('in use by another Countersign process')
    } finally {
      await stop(server)
    }
    // The server released the directory on SIGTERM: the CLI works again.
    expect((await countersign('tenants', 'list')).code).toBe(0)
  })
})
