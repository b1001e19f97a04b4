import { sql, type SQL } from 'drizzle-orm'
import { queryRowsPrepared, type Db } from './database.ts'

export interface SignalQuery {
  userId: string
  actionCode: string
  /** Excluded from the history: the action being decided (a dry run re-decides a recorded one). */
  idempotencyKey: string
  /** History before this instant counts. */
  at: Date
  ipAddress: string | null
  deviceId: string | null
  user: boolean
  ipHistory: boolean
  deviceHistory: boolean
  velocity: boolean
  travel: boolean
  lists: string[]
}

export interface SignalRow {
  userCustom: Record<string, unknown> | null
  userCreatedAt: Date | null
  authenticatorCount: number | null
  ipSeen: boolean | null
  deviceSeen: boolean | null
  deviceCount: number | null
  actions1h: number | null
  actions24h: number | null
  sameAction1h: number | null
  failedChallenges24h: number | null
  distinctIps24h: number | null
  previousIp: string | null
  previousAt: Date | null
  lists: Record<string, Array<string | number>> | null
}

/**
 * Reads the history signals a rule set needs, in one statement; each part is left out (null)
 * unless asked for. Every part is an indexed lookup on the user's own actions. Prepared: its
 * planning costs more than its execution.
 */
export async function readSignals(db: Db, tenantId: string, q: SignalQuery): Promise<SignalRow> {
  const hourAgo = new Date(q.at.getTime() - 3_600_000)
  const dayAgo = new Date(q.at.getTime() - 86_400_000)
  const mine = sql`a.tenant_id = ${tenantId} AND a.user_id = ${q.userId} AND a.idempotency_key <> ${q.idempotencyKey}`
  const none = sql`NULL`
  const parts: SQL[] = [
    q.user ? sql`u.custom AS "userCustom", u.created_at AS "userCreatedAt"` : sql`NULL AS "userCustom", NULL AS "userCreatedAt"`,
    sql`${q.user ? sql`(SELECT count(*)::int FROM credentials c WHERE c.tenant_id = ${tenantId} AND c.user_id = ${q.userId})` : none} AS "authenticatorCount"`,
    sql`${
      q.ipHistory && q.ipAddress !== null
        ? sql`EXISTS (SELECT 1 FROM actions a WHERE ${mine} AND a.ip_address = ${q.ipAddress} AND a.created_at < ${q.at})`
        : none
    } AS "ipSeen"`,
    sql`${
      q.deviceHistory && q.deviceId !== null
        ? sql`EXISTS (SELECT 1 FROM actions a WHERE ${mine} AND a.device_id = ${q.deviceId} AND a.created_at < ${q.at})`
        : none
    } AS "deviceSeen"`,
    sql`${
      q.deviceHistory
        ? sql`(SELECT count(DISTINCT a.device_id)::int FROM actions a WHERE ${mine} AND a.device_id IS NOT NULL AND a.created_at < ${q.at})`
        : none
    } AS "deviceCount"`,
    q.velocity
      ? sql`v.actions1h AS "actions1h", v.actions24h AS "actions24h", v.same1h AS "sameAction1h",
            v.failed24h AS "failedChallenges24h", v.ips24h AS "distinctIps24h"`
      : sql`NULL AS "actions1h", NULL AS "actions24h", NULL AS "sameAction1h", NULL AS "failedChallenges24h", NULL AS "distinctIps24h"`,
    q.travel ? sql`p.ip_address AS "previousIp", p.created_at AS "previousAt"` : sql`NULL AS "previousIp", NULL AS "previousAt"`,
    sql`${
      q.lists.length > 0
        ? sql`(SELECT jsonb_object_agg(l.alias, l.items) FROM value_lists l
                WHERE l.tenant_id = ${tenantId} AND l.alias IN (${sql.join(
                  q.lists.map((alias) => sql`${alias}`),
                  sql`, `,
                )}))`
        : none
    } AS lists`,
  ]
  const joins: SQL[] = []
  if (q.user) joins.push(sql`LEFT JOIN users u ON u.tenant_id = ${tenantId} AND u.user_id = ${q.userId}`)
  if (q.velocity) {
    joins.push(sql`CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE a.created_at >= ${hourAgo})::int AS actions1h,
             count(*)::int AS actions24h,
             count(*) FILTER (WHERE a.created_at >= ${hourAgo} AND a.action_code = ${q.actionCode})::int AS same1h,
             count(*) FILTER (WHERE a.state = 'CHALLENGE_FAILED')::int AS failed24h,
             count(DISTINCT a.ip_address)::int AS ips24h
        FROM actions a WHERE ${mine} AND a.created_at >= ${dayAgo} AND a.created_at < ${q.at}) v`)
  }
  if (q.travel) {
    joins.push(sql`LEFT JOIN LATERAL (
      SELECT a.ip_address, a.created_at FROM actions a
       WHERE ${mine} AND a.ip_address IS NOT NULL AND a.created_at < ${q.at}
       ORDER BY a.created_at DESC LIMIT 1) p ON true`)
  }
  const [row] = await queryRowsPrepared<SignalRow>(
    db,
    sql`SELECT ${sql.join(parts, sql`, `)} FROM (SELECT 1) one ${sql.join(joins, sql` `)}`,
  )
  return row!
}
