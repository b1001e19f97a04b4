import { sql } from 'drizzle-orm'
import { queryRows, type Db } from './database.ts'

export interface AuditRow {
  auditId: string
  at: Date
  actor: string
  event: string
  target: string
  before: unknown
  after: unknown
}

export async function insertAudit(db: Db, tenantId: string, entry: AuditRow): Promise<void> {
  const json = (value: unknown) => sql`${value === undefined || value === null ? null : JSON.stringify(value)}::jsonb`
  await queryRows(
    db,
    sql`INSERT INTO audit_log (tenant_id, audit_id, at, actor, event, target, before, after)
        VALUES (${tenantId}, ${entry.auditId}, ${entry.at}, ${entry.actor}, ${entry.event}, ${entry.target}, ${json(entry.before)}, ${json(entry.after)})`,
  )
}

/** Newest first; `after` is the (at, auditId) of the last entry of the previous page. */
export async function listAudit(db: Db, tenantId: string, limit: number, after: { at: Date; auditId: string } | null): Promise<AuditRow[]> {
  return queryRows<AuditRow>(
    db,
    sql`SELECT audit_id AS "auditId", at, actor, event, target, before, after FROM audit_log
         WHERE tenant_id = ${tenantId} ${after ? sql`AND (at, audit_id) < (${after.at}, ${after.auditId})` : sql``}
         ORDER BY at DESC, audit_id DESC LIMIT ${limit}`,
  )
}
