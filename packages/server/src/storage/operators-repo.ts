// Console operators, their sessions, and failed sign-ins. Each operator and session query is
// scoped by tenant, except finding operators by email to sign in: signing in names no tenant.
import { sql } from 'drizzle-orm'
import { queryRows, type Db } from './database.ts'

export interface OperatorRow {
  tenantId: string
  operatorId: string
  email: string
  passwordHash: string
  createdAt: Date
  lastSignedInAt: Date | null
}

// Drivers differ in how they hand back timestamps (pg: Date; PGlite in a transaction: text).
const date = (value: Date | string): Date => (value instanceof Date ? value : new Date(value))
const dateOrNull = (value: Date | string | null): Date | null => (value === null ? null : date(value))
const operatorRow = (row: OperatorRow): OperatorRow => ({
  ...row,
  createdAt: date(row.createdAt),
  lastSignedInAt: dateOrNull(row.lastSignedInAt),
})

const OPERATOR_COLUMNS = sql`o.tenant_id AS "tenantId", o.operator_id AS "operatorId", o.email, o.password_hash AS "passwordHash",
  o.created_at AS "createdAt", o.last_signed_in_at AS "lastSignedInAt"`

/** Every tenant's operator with this email (usually one; one person may operate several tenants). */
export async function findOperatorsByEmail(db: Db, email: string): Promise<OperatorRow[]> {
  const rows = await queryRows<OperatorRow>(
    db,
    sql`SELECT ${OPERATOR_COLUMNS} FROM operators o WHERE lower(o.email) = lower(${email}) LIMIT 20`,
  )
  return rows.map(operatorRow)
}

export async function listOperators(db: Db, tenantId: string): Promise<OperatorRow[]> {
  const rows = await queryRows<OperatorRow>(
    db,
    sql`SELECT ${OPERATOR_COLUMNS} FROM operators o WHERE o.tenant_id = ${tenantId} ORDER BY o.created_at, o.email`,
  )
  return rows.map(operatorRow)
}

/** Adds an operator; null when the tenant already has one with this email. */
export async function insertOperator(
  db: Db,
  tenantId: string,
  operator: { operatorId: string; email: string; passwordHash: string },
  now: Date,
): Promise<OperatorRow | null> {
  const [row] = await queryRows<OperatorRow>(
    db,
    sql`INSERT INTO operators AS o (tenant_id, operator_id, email, password_hash, created_at)
        VALUES (${tenantId}, ${operator.operatorId}, ${operator.email}, ${operator.passwordHash}, ${now})
        ON CONFLICT DO NOTHING RETURNING ${OPERATOR_COLUMNS}`,
  )
  return row ? operatorRow(row) : null
}

/** Removes an operator; their sessions go with them (foreign key). The removed row, or null. */
export async function deleteOperator(db: Db, tenantId: string, operatorId: string): Promise<OperatorRow | null> {
  const [row] = await queryRows<OperatorRow>(
    db,
    sql`DELETE FROM operators o WHERE o.tenant_id = ${tenantId} AND o.operator_id = ${operatorId} RETURNING ${OPERATOR_COLUMNS}`,
  )
  return row ? operatorRow(row) : null
}

/** The end of the wait failed sign-ins with this email imposed, when it is still running. */
export async function signInWait(db: Db, emailHash: Uint8Array, now: Date): Promise<Date | null> {
  const [row] = await queryRows<{ retryAfter: Date | string }>(
    db,
    sql`SELECT retry_after AS "retryAfter" FROM sign_in_failures WHERE email_hash = ${emailHash} AND retry_after > ${now}`,
  )
  return row ? date(row.retryAfter) : null
}

/**
 * Counts a failed sign-in in one statement. From the fifth consecutive failure, the next
 * attempt must wait: 2^(failures − 5) seconds, at most 15 minutes.
 */
export async function recordFailedSignIn(db: Db, emailHash: Uint8Array, now: Date): Promise<void> {
  await db.execute(
    sql`INSERT INTO sign_in_failures AS f (email_hash, failures, retry_after, updated_at) VALUES (${emailHash}, 1, NULL, ${now})
        ON CONFLICT (email_hash) DO UPDATE SET
          failures = f.failures + 1,
          retry_after = CASE WHEN f.failures + 1 >= 5
            THEN ${now}::timestamptz + least(power(2, f.failures + 1 - 5), 900) * interval '1 second' END,
          updated_at = ${now}`,
  )
}

/** A successful sign-in: the count starts again, and the operator's last sign-in is recorded. */
export async function recordSignIn(db: Db, emailHash: Uint8Array, tenantId: string, operatorId: string, now: Date): Promise<void> {
  await db.execute(
    sql`WITH cleared AS (DELETE FROM sign_in_failures WHERE email_hash = ${emailHash})
        UPDATE operators SET last_signed_in_at = ${now} WHERE tenant_id = ${tenantId} AND operator_id = ${operatorId}`,
  )
}

export interface SessionRow {
  tenantId: string
  sessionId: string
  secretHash: Uint8Array
  operatorId: string | null
  operatorEmail: string | null
  keyId: string | null
  lastSeenAt: Date
  expiresAt: Date
}

export async function insertSession(
  db: Db,
  tenantId: string,
  session: { sessionId: string; secretHash: Uint8Array; operatorId: string | null; keyId: string | null; expiresAt: Date },
  now: Date,
): Promise<void> {
  await db.execute(
    sql`INSERT INTO console_sessions (tenant_id, session_id, secret_hash, operator_id, key_id, created_at, last_seen_at, expires_at)
        VALUES (${tenantId}, ${session.sessionId}, ${session.secretHash}, ${session.operatorId}, ${session.keyId}, ${now}, ${now}, ${session.expiresAt})`,
  )
}

/**
 * A session that is still usable at `now`: not expired, not idle since `idleSince`, and, when
 * it was opened with a management key, that key not revoked. Null otherwise.
 */
export async function findLiveSession(db: Db, tenantId: string, sessionId: string, now: Date, idleSince: Date): Promise<SessionRow | null> {
  const [row] = await queryRows<SessionRow>(
    db,
    sql`SELECT s.tenant_id AS "tenantId", s.session_id AS "sessionId", s.secret_hash AS "secretHash",
               s.operator_id AS "operatorId", o.email AS "operatorEmail", s.key_id AS "keyId",
               s.last_seen_at AS "lastSeenAt", s.expires_at AS "expiresAt"
          FROM console_sessions s
          LEFT JOIN operators o ON o.tenant_id = s.tenant_id AND o.operator_id = s.operator_id
          LEFT JOIN api_keys k ON k.tenant_id = s.tenant_id AND k.key_id = s.key_id
         WHERE s.tenant_id = ${tenantId} AND s.session_id = ${sessionId}
           AND s.expires_at > ${now} AND s.last_seen_at > ${idleSince}
           AND (s.key_id IS NULL OR (k.revoked_at IS NULL AND k.key_id IS NOT NULL))`,
  )
  return row ? { ...row, lastSeenAt: date(row.lastSeenAt), expiresAt: date(row.expiresAt) } : null
}

export async function touchSession(db: Db, tenantId: string, sessionId: string, now: Date): Promise<void> {
  await db.execute(sql`UPDATE console_sessions SET last_seen_at = ${now} WHERE tenant_id = ${tenantId} AND session_id = ${sessionId}`)
}

/** Ends a session, only for the holder of its secret (compared as its SHA-256, which reveals nothing of it). */
export async function deleteSession(db: Db, tenantId: string, sessionId: string, secretHash: Uint8Array): Promise<void> {
  await db.execute(
    sql`DELETE FROM console_sessions WHERE tenant_id = ${tenantId} AND session_id = ${sessionId} AND secret_hash = ${Buffer.from(secretHash)}`,
  )
}

/**
 * Sweeps sessions past their end and failed sign-ins not repeated for a day, on every tenant:
 * maintenance, not a tenant's query.
 */
export async function sweepConsoleSessions(db: Db, now: Date): Promise<void> {
  await db.execute(
    sql`WITH sessions AS (DELETE FROM console_sessions WHERE expires_at <= ${now})
        DELETE FROM sign_in_failures WHERE updated_at < ${now}::timestamptz - interval '1 day'`,
  )
}
