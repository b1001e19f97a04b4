// A revoked key is refused by every node at once, not only after their caches expire: the
// revocation is announced through the database (NOTIFY) and each node forgets its copy.
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey, revokeApiKey } from '../src/domain/management.ts'
import { TenantDirectory } from '../src/domain/tenants.ts'
import { KEY_REVOKED_CHANNEL } from '../src/storage/tenants-repo.ts'
import { createHarness, type Harness } from './support/harness.ts'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

/** A second "node": its own directory and cache on the same database. */
async function node() {
  // A cache far longer than the test: only the notification can make it forget.
  const directory = new TenantDirectory(h.database.db, { issuer: h.deps.config.COUNTERSIGN_PUBLIC_URL, keyCacheMs: 600_000 })
  const stop = await h.database.listen(KEY_REVOKED_CHANNEL, (payload) => directory.forgetRevokedKey(payload))
  return { directory, stop }
}

async function eventuallyRefused(directory: TenantDirectory, key: string): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < 2_000) {
    try {
      await directory.authenticate(key, 'secret', Date.now())
    } catch (error) {
      expect((error as { code?: string }).code).toBe('unauthorized')
      return Date.now() - started
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('the revoked key was still accepted after 2 s')
}

describe('key revocation across nodes', () => {
  it('reaches another node’s cache through the database', async () => {
    const tenant = await h.newTenant()
    const other = await node()
    try {
      await expect(other.directory.authenticate(tenant.secretKey, 'secret', Date.now())).resolves.toMatchObject({
        tenantId: tenant.tenantId,
      })
      await revokeApiKey(h.deps, tenant.tenantId, 'test', tenant.secretKeyId)
      expect(await eventuallyRefused(other.directory, tenant.secretKey)).toBeLessThan(1_000)
    } finally {
      await other.stop()
    }
  })

  it('leaves other keys of the tenant cached and working', async () => {
    const tenant = await h.newTenant()
    const other = await node()
    try {
      const spare = await createApiKey(h.deps, tenant.tenantId, 'test', { type: 'secret', name: 'spare' })
      await other.directory.authenticate(spare.key, 'secret', Date.now())
      await revokeApiKey(h.deps, tenant.tenantId, 'test', tenant.secretKeyId)
      await eventuallyRefused(other.directory, tenant.secretKey)
      await expect(other.directory.authenticate(spare.key, 'secret', Date.now())).resolves.toMatchObject({ tenantId: tenant.tenantId })
    } finally {
      await other.stop()
    }
  })

  it.runIf(process.env.COUNTERSIGN_TEST_DB === 'postgres')(
    'keeps listening after PostgreSQL drops the listening connection',
    async () => {
      const heard: string[] = []
      const channel = `countersign_test_${Date.now()}`
      const stop = await h.database.listen(channel, (payload) => heard.push(payload))
      try {
        // Kill the backend that holds our LISTEN, as a database restart or failover would.
        const killed = await h.database.db.execute(
          sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = ${`LISTEN "${channel}"`}`,
        )
        expect((killed as unknown as { rows: unknown[] }).rows).toHaveLength(1)
        const deadline = Date.now() + 5_000
        while (!heard.includes('after') && Date.now() < deadline) {
          await h.database.db.execute(sql`SELECT pg_notify(${channel}, 'after')`)
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        expect(heard).toContain('after')
      } finally {
        await stop()
      }
    },
  )

  it('ignores malformed announcements', () => {
    expect(() => h.deps.tenants.forgetRevokedKey('no-dot-here')).not.toThrow()
    expect(() => h.deps.tenants.forgetRevokedKey('.')).not.toThrow()
  })
})
