import { sql, type SQL } from 'drizzle-orm'
import type { WebhookEventType } from '@countersign/protocol'

/**
 * Common table expressions that put `type` events into the outbox in the statement that makes
 * the change, so an event exists exactly when its change committed. `source` is a query over
 * earlier CTEs yielding one jsonb column `data` per event. Each event gets one delivery row per
 * enabled endpoint of the tenant subscribed to the type; a tenant without such endpoints pays
 * one index lookup and writes nothing.
 *
 * `name` must be a fixed identifier (it names the CTEs); it is never user input.
 * @example sql`WITH updated AS (…), ${outboxCtes('changed', tenantId, 'action.state_changed', sql`SELECT … AS data FROM updated`, now)} SELECT …`
 */
export function outboxCtes(name: string, tenantId: string, type: WebhookEventType, source: SQL, now: Date): SQL {
  if (!/^[a-z_]+$/.test(name)) throw new Error('outbox CTE names are fixed identifiers')
  const subs = sql.raw(`${name}_subs`)
  const events = sql.raw(`${name}_events`)
  const deliveries = sql.raw(`${name}_deliveries`)
  return sql`${subs} AS (
      SELECT w.webhook_id FROM webhook_endpoints w
       WHERE w.tenant_id = ${tenantId} AND w.enabled AND (${type} = ANY (w.events) OR '*' = ANY (w.events))
    ), ${events} AS (
      INSERT INTO webhook_events (tenant_id, event_id, type, data, created_at)
      SELECT ${tenantId}, gen_random_uuid(), ${type}, src.data, ${now} FROM (${source}) AS src
       WHERE EXISTS (SELECT 1 FROM ${subs})
      RETURNING event_id
    ), ${deliveries} AS (
      INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id, state, next_attempt_at, created_at)
      SELECT ${tenantId}, s.webhook_id, e.event_id, 'pending', ${now}, ${now} FROM ${events} e CROSS JOIN ${subs} s
      RETURNING 1
    )`
}
