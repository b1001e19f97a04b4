import { randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sweepExpired } from '../src/storage/actions-repo.ts'
import { queryRows } from '../src/storage/database.ts'
import { createHarness, type Harness } from './support/harness.ts'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

describe('expiry sweep', () => {
  it('deletes consumed challenges and used tokens once they have expired, and keeps the rest', async () => {
    const { tenantId } = await h.newTenant()
    const now = Date.now()
    const past = new Date(now - 60_000)
    const future = new Date(now + 60_000)
    const [oldNonce, liveNonce] = [randomBytes(16), randomBytes(16)]
    const [oldJti, liveJti] = [randomUUID(), randomUUID()]
    await h.deps.db.execute(sql`INSERT INTO consumed_challenges (tenant_id, nonce, expires_at)
      VALUES (${tenantId}, ${oldNonce}, ${past}), (${tenantId}, ${liveNonce}, ${future})`)
    await h.deps.db.execute(sql`INSERT INTO used_tokens (tenant_id, jti, expires_at)
      VALUES (${tenantId}, ${oldJti}, ${past}), (${tenantId}, ${liveJti}, ${future})`)

    // Other test files may leave expired rows too: at least our two go.
    expect(await sweepExpired(h.deps.db, new Date(now))).toBeGreaterThanOrEqual(2)

    const challenges = await queryRows<{ nonce: Uint8Array }>(
      h.deps.db,
      sql`SELECT nonce FROM consumed_challenges WHERE tenant_id = ${tenantId}`,
    )
    expect(challenges.map((row) => Buffer.from(row.nonce).toString('hex'))).toEqual([liveNonce.toString('hex')])
    const tokens = await queryRows<{ jti: string }>(h.deps.db, sql`SELECT jti FROM used_tokens WHERE tenant_id = ${tenantId}`)
    expect(tokens.map((row) => row.jti)).toEqual([liveJti])
  })

  it('refreshes planner statistics without error on either database', async () => {
    await expect(h.database.refreshStatistics()).resolves.toBeUndefined()
  })
})
