import { randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sweepExpired } from '../src/storage/actions-repo.ts'
import { sweepChallenges } from '../src/storage/challenges-repo.ts'
import { sweepWebhookHistory } from '../src/storage/webhooks-repo.ts'
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

  it('deletes push and QR challenges past their retention, and finished webhook history, keeping what is pending', async () => {
    const { tenantId } = await h.newTenant()
    const now = Date.now()
    const old = new Date(now - 2 * 86_400_000)
    const live = new Date(now + 60_000)
    await h.deps.db.execute(sql`INSERT INTO users (tenant_id, user_id) VALUES (${tenantId}, 'swept')`)
    await h.deps.db.execute(sql`INSERT INTO challenges (tenant_id, challenge_id, kind, user_id, action_code, state, expires_at, created_at)
      VALUES (${tenantId}, 'old', 'push', 'swept', 'signIn', 'denied', ${old}, ${old}),
             (${tenantId}, 'live', 'push', 'swept', 'signIn', 'pending', ${live}, ${new Date(now)})`)
    const webhookId = randomUUID()
    const [delivered, pending] = [randomUUID(), randomUUID()]
    await h.deps.db.execute(sql`INSERT INTO webhook_endpoints (tenant_id, webhook_id, url, secret, events)
      VALUES (${tenantId}, ${webhookId}, 'https://hooks.example', ${Buffer.from([0, 1])}, ARRAY['*'])`)
    await h.deps.db.execute(sql`INSERT INTO webhook_events (tenant_id, event_id, type, data, created_at)
      VALUES (${tenantId}, ${delivered}, 'action.created', '{}'::jsonb, ${old}), (${tenantId}, ${pending}, 'action.created', '{}'::jsonb, ${old})`)
    await h.deps.db.execute(sql`INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id, state, next_attempt_at, created_at)
      VALUES (${tenantId}, ${webhookId}, ${delivered}, 'delivered', ${old}, ${old}), (${tenantId}, ${webhookId}, ${pending}, 'pending', ${old}, ${old})`)
    await h.deps.db.execute(sql`INSERT INTO webhook_attempts (tenant_id, webhook_id, event_id, attempt, attempted_at, duration_ms)
      VALUES (${tenantId}, ${webhookId}, ${delivered}, 1, ${old}, 5)`)

    expect(await sweepChallenges(h.deps.db, new Date(now - 86_400_000))).toBeGreaterThanOrEqual(1)
    expect(await sweepWebhookHistory(h.deps.db, new Date(now - 86_400_000))).toBeGreaterThanOrEqual(2)
    // The finished delivery's event goes at the next sweep, once nothing refers to it.
    expect(await sweepWebhookHistory(h.deps.db, new Date(now - 86_400_000))).toBeGreaterThanOrEqual(1)

    const challenges = await queryRows<{ id: string }>(h.deps.db, sql`SELECT challenge_id AS id FROM challenges WHERE tenant_id = ${tenantId}`)
    expect(challenges.map((c) => c.id)).toEqual(['live'])
    const events = await queryRows<{ id: string }>(h.deps.db, sql`SELECT event_id AS id FROM webhook_events WHERE tenant_id = ${tenantId}`)
    expect(events.map((e) => e.id)).toEqual([pending])
    const deliveries = await queryRows<{ state: string }>(h.deps.db, sql`SELECT state FROM webhook_deliveries WHERE tenant_id = ${tenantId}`)
    expect(deliveries.map((d) => d.state)).toEqual(['pending'])
    expect(await queryRows(h.deps.db, sql`SELECT 1 FROM webhook_attempts WHERE tenant_id = ${tenantId}`)).toEqual([])
  })

  it('refreshes planner statistics without error on either database', async () => {
    await expect(h.database.refreshStatistics()).resolves.toBeUndefined()
  })
})
