import { sql } from 'drizzle-orm'
import type { WebhookEventFilter, WebhookEventType } from '@countersign/protocol'
import { queryRows, textArray, type Db } from './database.ts'

export interface WebhookEndpointRow {
  webhookId: string
  url: string
  events: WebhookEventFilter[]
  enabled: boolean
  description: string | null
  createdAt: Date
  updatedAt: Date
}

const ENDPOINT_COLUMNS = sql`w.webhook_id AS "webhookId", w.url, w.events, w.enabled, w.description,
  w.created_at AS "createdAt", w.updated_at AS "updatedAt"`

export async function insertEndpoint(
  db: Db,
  tenantId: string,
  endpoint: { webhookId: string; url: string; secret: Uint8Array; events: WebhookEventFilter[]; enabled: boolean; description: string | null },
  now: Date,
): Promise<WebhookEndpointRow> {
  const [row] = await queryRows<WebhookEndpointRow>(
    db,
    sql`INSERT INTO webhook_endpoints AS w (tenant_id, webhook_id, url, secret, events, enabled, description, created_at, updated_at)
        VALUES (${tenantId}, ${endpoint.webhookId}, ${endpoint.url}, ${Buffer.from(endpoint.secret)},
                ${textArray(endpoint.events)},
                ${endpoint.enabled}, ${endpoint.description}, ${now}, ${now})
        RETURNING ${ENDPOINT_COLUMNS}`,
  )
  return endpointRow(row!)
}

export async function listEndpoints(db: Db, tenantId: string): Promise<WebhookEndpointRow[]> {
  const rows = await queryRows<WebhookEndpointRow>(
    db,
    sql`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints w WHERE w.tenant_id = ${tenantId} ORDER BY w.created_at`,
  )
  return rows.map(endpointRow)
}

/** Raw statements return timestamps as the driver gives them (PGlite: text); callers get Dates. */
function endpointRow(row: WebhookEndpointRow): WebhookEndpointRow {
  return { ...row, createdAt: new Date(row.createdAt), updatedAt: new Date(row.updatedAt) }
}

export async function findEndpoint(db: Db, tenantId: string, webhookId: string): Promise<WebhookEndpointRow | null> {
  const [row] = await queryRows<WebhookEndpointRow>(
    db,
    sql`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints w WHERE w.tenant_id = ${tenantId} AND w.webhook_id = ${webhookId}`,
  )
  return row ? endpointRow(row) : null
}

export async function updateEndpoint(
  db: Db,
  tenantId: string,
  webhookId: string,
  change: { url?: string | undefined; events?: WebhookEventFilter[] | undefined; enabled?: boolean | undefined; description?: string | undefined },
  now: Date,
): Promise<WebhookEndpointRow | null> {
  const sets = [sql`updated_at = ${now}`]
  if (change.url !== undefined) sets.push(sql`url = ${change.url}`)
  if (change.events !== undefined) sets.push(sql`events = ${textArray(change.events)}`)
  if (change.enabled !== undefined) sets.push(sql`enabled = ${change.enabled}`)
  if (change.description !== undefined) sets.push(sql`description = ${change.description}`)
  const [row] = await queryRows<WebhookEndpointRow>(
    db,
    sql`UPDATE webhook_endpoints w SET ${sql.join(sets, sql`, `)}
         WHERE w.tenant_id = ${tenantId} AND w.webhook_id = ${webhookId} RETURNING ${ENDPOINT_COLUMNS}`,
  )
  return row ? endpointRow(row) : null
}

export async function deleteEndpoint(db: Db, tenantId: string, webhookId: string): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`DELETE FROM webhook_endpoints WHERE tenant_id = ${tenantId} AND webhook_id = ${webhookId} RETURNING 1 AS one`,
  )
  return rows.length > 0
}

/** A delivery this node has leased: it is due again at the lease's end unless finished first. */
export interface ClaimedDelivery {
  tenantId: string
  webhookId: string
  eventId: string
  attempt: number
  type: WebhookEventType
  data: Record<string, unknown>
  eventCreatedAt: Date
  deliveryCreatedAt: Date
  url: string
  enabled: boolean
  secret: Uint8Array
}

/**
 * Leases up to `limit` due deliveries of any tenant (the delivery worker serves them all):
 * their attempt count goes up and they are not due again until `leaseUntil`, so a node that
 * dies mid-delivery only delays them. SKIP LOCKED keeps nodes from taking the same rows.
 */
export async function claimDueDeliveries(db: Db, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> {
  return queryRows<ClaimedDelivery>(
    db,
    sql`WITH due AS (
          SELECT d.tenant_id, d.webhook_id, d.event_id FROM webhook_deliveries d
           WHERE d.state = 'pending' AND d.next_attempt_at <= ${now}
           ORDER BY d.next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
        ), claimed AS (
          UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = ${leaseUntil}, last_attempt_at = ${now}
            FROM due WHERE d.tenant_id = due.tenant_id AND d.webhook_id = due.webhook_id AND d.event_id = due.event_id
          RETURNING d.tenant_id, d.webhook_id, d.event_id, d.attempts, d.created_at
        )
        SELECT c.tenant_id AS "tenantId", c.webhook_id AS "webhookId", c.event_id AS "eventId", c.attempts AS attempt,
               e.type, e.data, e.created_at AS "eventCreatedAt", c.created_at AS "deliveryCreatedAt",
               w.url, w.enabled, w.secret
          FROM claimed c
          JOIN webhook_events e ON e.tenant_id = c.tenant_id AND e.event_id = c.event_id
          JOIN webhook_endpoints w ON w.tenant_id = c.tenant_id AND w.webhook_id = c.webhook_id`,
  )
}

export interface AttemptOutcome {
  status: number | null
  error: string | null
  durationMs: number
  /** delivered, retry at `retryAt`, or give up. */
  next: { state: 'delivered' } | { state: 'pending'; retryAt: Date } | { state: 'failed' }
}

/** Records one attempt and moves the delivery on, unless another node's lease replaced ours. */
export async function recordAttempt(db: Db, delivery: ClaimedDelivery, outcome: AttemptOutcome, now: Date): Promise<void> {
  const { tenantId, webhookId, eventId, attempt } = delivery
  const next = outcome.next
  await queryRows(
    db,
    sql`WITH updated AS (
          UPDATE webhook_deliveries d SET state = ${next.state},
                 next_attempt_at = ${next.state === 'pending' ? next.retryAt : now},
                 last_status = ${outcome.status}, last_error = ${outcome.error},
                 delivered_at = ${next.state === 'delivered' ? now : null}
           WHERE d.tenant_id = ${tenantId} AND d.webhook_id = ${webhookId} AND d.event_id = ${eventId}
             AND d.attempts = ${attempt} AND d.state = 'pending'
          RETURNING 1
        )
        INSERT INTO webhook_attempts (tenant_id, webhook_id, event_id, attempt, attempted_at, status, error, duration_ms)
        VALUES (${tenantId}, ${webhookId}, ${eventId}, ${attempt}, ${now}, ${outcome.status}, ${outcome.error}, ${outcome.durationMs})
        ON CONFLICT DO NOTHING`,
  )
}

export interface DeliveryRow {
  eventId: string
  type: WebhookEventType
  state: 'pending' | 'delivered' | 'failed'
  attempts: number
  nextAttemptAt: Date
  lastAttemptAt: Date | null
  lastStatus: number | null
  lastError: string | null
  deliveredAt: Date | null
  createdAt: Date
}

/** An endpoint's delivery log, newest first. */
export async function listDeliveries(db: Db, tenantId: string, webhookId: string, limit: number): Promise<DeliveryRow[]> {
  return queryRows<DeliveryRow>(
    db,
    sql`SELECT d.event_id AS "eventId", e.type, d.state, d.attempts, d.next_attempt_at AS "nextAttemptAt",
               d.last_attempt_at AS "lastAttemptAt", d.last_status AS "lastStatus", d.last_error AS "lastError",
               d.delivered_at AS "deliveredAt", d.created_at AS "createdAt"
          FROM webhook_deliveries d JOIN webhook_events e ON e.tenant_id = d.tenant_id AND e.event_id = d.event_id
         WHERE d.tenant_id = ${tenantId} AND d.webhook_id = ${webhookId}
         ORDER BY d.created_at DESC LIMIT ${limit}`,
  )
}

/** Puts a failed (or delivered) delivery back in the queue, due now. */
export async function requeueDelivery(db: Db, tenantId: string, webhookId: string, eventId: string, now: Date): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ${now}, created_at = ${now}
         WHERE tenant_id = ${tenantId} AND webhook_id = ${webhookId} AND event_id = ${eventId} RETURNING 1 AS one`,
  )
  return rows.length > 0
}

/** Whether any delivery is waiting (used by tests and shutdown to know the queue drained). */
export async function countPendingDeliveries(db: Db, tenantId: string): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    db,
    sql`SELECT count(*)::int AS n FROM webhook_deliveries WHERE tenant_id = ${tenantId} AND state = 'pending'`,
  )
  return row?.n ?? 0
}

/** Deletes finished deliveries and their events once older than `before`. */
export async function sweepWebhookHistory(db: Db, before: Date, batch = 5000): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    db,
    sql`WITH d AS (
          DELETE FROM webhook_deliveries WHERE ctid IN (
            SELECT ctid FROM webhook_deliveries WHERE state <> 'pending' AND created_at < ${before} LIMIT ${batch}) RETURNING 1
        ), e AS (
          -- An event goes once no delivery refers to it (a requeued delivery may be younger than
          -- its event); those deleted just above go, with their event, at the next sweep.
          DELETE FROM webhook_events e WHERE e.ctid IN (
            SELECT x.ctid FROM webhook_events x WHERE x.created_at < ${before}
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries y WHERE y.tenant_id = x.tenant_id AND y.event_id = x.event_id)
             LIMIT ${batch}) RETURNING 1
        ), a AS (
          DELETE FROM webhook_attempts WHERE ctid IN (
            SELECT ctid FROM webhook_attempts WHERE attempted_at < ${before} LIMIT ${batch}) RETURNING 1
        )
        SELECT ((SELECT count(*) FROM d) + (SELECT count(*) FROM e) + (SELECT count(*) FROM a))::int AS n`,
  )
  return rows[0]?.n ?? 0
}
