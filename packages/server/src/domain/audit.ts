// The audit log: who changed what, when, from what to what. Each entry is written in the
// transaction that makes its change, so the log cannot miss a change or record one that failed.
import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import type { AuditEntry } from '@countersign/protocol'
import * as repo from '../storage/audit-repo.ts'
import { inTransaction, type Db } from '../storage/database.ts'
import { now, type Deps } from './deps.ts'
import { decodeCursor, encodeCursor, pageOf, type Page } from './paging.ts'

/** Who made a change: `management_key:<keyId>`, or `cli` for the command line. */
export type Actor = string

export interface AuditedChange<T> {
  result: T
  /** Null when nothing changed (for example, the target does not exist): nothing is logged. */
  entry: { event: string; target: string; before?: unknown; after?: unknown } | null
}

/** Makes a change and records it, atomically. */
export async function audited<T>(deps: Deps, tenantId: string, actor: Actor, change: (tx: Db) => Promise<AuditedChange<T>>): Promise<T> {
  const at = now(deps)
  return inTransaction(deps.db, async (tx) => {
    const { result, entry } = await change(tx)
    // A change that changed nothing (an empty PATCH) is not worth an entry.
    const unchanged = entry && entry.before !== undefined && entry.after !== undefined && isDeepStrictEqual(entry.before, entry.after)
    if (entry && !unchanged)
      await repo.insertAudit(tx, tenantId, {
        auditId: randomUUID(),
        at,
        actor,
        event: entry.event,
        target: entry.target,
        before: entry.before,
        after: entry.after,
      })
    return result
  })
}

export async function listAuditLog(
  deps: Deps,
  tenantId: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<Page<AuditEntry>> {
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor, { uuid: true })
  const rows = await repo.listAudit(deps.db, tenantId, query.limit + 1, after ? { at: after.at, auditId: after.id } : null)
  return pageOf(
    rows,
    query.limit,
    (row) => ({
      auditId: row.auditId,
      at: new Date(row.at).toISOString(),
      actor: row.actor,
      event: row.event,
      target: row.target,
      ...(row.before !== null ? { before: row.before } : {}),
      ...(row.after !== null ? { after: row.after } : {}),
    }),
    (row) => encodeCursor(new Date(row.at), row.auditId),
  )
}
