import { sql, type SQL } from 'drizzle-orm'
import type { ActionState, CredentialNamespace } from '@countersign/protocol'
import { inTransaction, queryRows, type Db } from './database.ts'
import { outboxCtes } from './outbox.ts'

/** The data of authenticator webhook events, from a CTE returning credential rows as `c`. */
export function authenticatorEventData(from: string): SQL {
  return sql`SELECT jsonb_build_object('userId', c.user_id, 'userAuthenticatorId', c.credential_id,
      'verificationMethod', CASE c.namespace WHEN 'in-app' THEN 'IN_APP' WHEN 'push' THEN 'PUSH'
                                             WHEN 'qr-code' THEN 'QR_CODE' ELSE 'DEVICE' END,
      'deviceName', c.device_name, 'devicePlatform', c.device_platform) AS data FROM ${sql.raw(from)} c`
}

export interface CredentialRow {
  credentialId: string
  userId: string
  namespace: CredentialNamespace
  spki: Uint8Array
  deviceName: string | null
  devicePlatform: string | null
  pushToken: string | null
  userAuthenticationRequired: boolean
  createdAt: Date
  verifiedAt: Date
  lastVerifiedAt: Date | null
  expiresAt: Date | null
  failedAttempts: number
  lockedUntil: Date | null
}

const CREDENTIAL_COLUMNS = sql`c.credential_id AS "credentialId", c.user_id AS "userId", c.namespace, c.spki,
  c.device_name AS "deviceName", c.device_platform AS "devicePlatform", c.push_token AS "pushToken",
  c.user_authentication_required AS "userAuthenticationRequired", c.created_at AS "createdAt",
  c.verified_at AS "verifiedAt", c.last_verified_at AS "lastVerifiedAt", c.expires_at AS "expiresAt",
  c.failed_attempts AS "failedAttempts", c.locked_until AS "lockedUntil"`

export interface NewCredential {
  credentialId: string
  userId: string
  namespace: CredentialNamespace
  spki: Uint8Array
  spkiHash: Uint8Array
  deviceName: string | null
  devicePlatform: string | null
  pushToken: string | null
  userAuthenticationRequired: boolean
  /** When the credential stops working unless its expiry is reset (push credentials, when the tenant says so). */
  expiresAt: Date | null
}

export type InsertCredentialResult =
  | { outcome: 'inserted'; credential: CredentialRow }
  | { outcome: 'duplicate_key' }
  | { outcome: 'no_user' }

/** Thrown inside the enrollment transaction to roll it back when the key is already enrolled. */
class DuplicateKey extends Error {}

/** What deciding an enrollment needs, read under a lock on the user's row. */
export interface EnrollmentFacts {
  existingCredentials: number
  /** State of the token's action; null when it no longer exists. */
  actionState: ActionState | null
  tokenUsed: boolean
}

/**
 * Adds a credential if `check` (the domain's decision, which throws to refuse) accepts the
 * facts, and spends the token when `check` says so. The user's row is locked while they are
 * read and the row inserted, so two racing enrollments cannot both pass a check on how many
 * credentials exist. A duplicate key rolls everything back, the token's use included.
 */
export async function insertCredential(
  db: Db,
  tenantId: string,
  credential: NewCredential,
  token: { jti: string; idempotencyKey: string; actionCode: string; expiresAt: Date },
  now: Date,
  check: (facts: EnrollmentFacts) => { spendToken: boolean },
): Promise<InsertCredentialResult> {
  return inTransaction(db, async (t) => {
    // Lock first, read after: in READ COMMITTED each statement takes a new snapshot, so the
    // facts below see every credential committed by whoever held the lock before us. (Read in
    // the locking statement itself, they would come from the snapshot taken before the wait,
    // and racing enrollments with one first-device token would each count none.)
    const [locked] = await queryRows<{ one: number }>(
      t,
      sql`SELECT 1 AS one FROM users u WHERE u.tenant_id = ${tenantId} AND u.user_id = ${credential.userId} FOR UPDATE`,
    )
    if (!locked) return { outcome: 'no_user' as const }
    const [facts] = await queryRows<EnrollmentFacts>(
      t,
      sql`SELECT (SELECT count(*)::int FROM credentials c WHERE c.tenant_id = ${tenantId} AND c.user_id = ${credential.userId}) AS "existingCredentials",
                 (SELECT a.state FROM actions a WHERE a.tenant_id = ${tenantId} AND a.idempotency_key = ${token.idempotencyKey}
                     AND a.user_id = ${credential.userId} AND a.action_code = ${token.actionCode}) AS "actionState",
                 EXISTS (SELECT 1 FROM used_tokens ut WHERE ut.tenant_id = ${tenantId} AND ut.jti = ${token.jti}) AS "tokenUsed"`,
    )
    if (!facts) return { outcome: 'no_user' as const }
    const { spendToken } = check(facts)
    if (spendToken) {
      // Under the user's lock, and checked unused above: this insert is the token's one use.
      await queryRows(
        t,
        sql`INSERT INTO used_tokens (tenant_id, jti, expires_at) VALUES (${tenantId}, ${token.jti}, ${token.expiresAt}) ON CONFLICT DO NOTHING`,
      )
    }
    const rows = await queryRows<CredentialRow>(
      t,
      sql`WITH inserted AS (
            INSERT INTO credentials AS c (tenant_id, credential_id, user_id, namespace, spki, spki_hash, device_name,
                                         device_platform, push_token, user_authentication_required, created_at, verified_at,
                                         expires_at)
            VALUES (${tenantId}, ${credential.credentialId}, ${credential.userId}, ${credential.namespace},
                    ${Buffer.from(credential.spki)}, ${Buffer.from(credential.spkiHash)}, ${credential.deviceName},
                    ${credential.devicePlatform}, ${credential.pushToken}, ${credential.userAuthenticationRequired}, ${now}, ${now},
                    ${credential.expiresAt})
            ON CONFLICT (tenant_id, spki_hash, namespace) DO NOTHING
            RETURNING *
          ), ${outboxCtes('added', tenantId, 'authenticator.created', authenticatorEventData('inserted'), now)}
          SELECT ${CREDENTIAL_COLUMNS} FROM inserted c`,
    )
    const [row] = rows
    if (!row) throw new DuplicateKey()
    return { outcome: 'inserted' as const, credential: row }
  }).catch((error: unknown) => {
    if (error instanceof DuplicateKey) return { outcome: 'duplicate_key' as const }
    throw error
  })
}

/** The credential holding this public key within the tenant, in any of `namespaces`. */
export async function findCredentialByKey(
  db: Db,
  tenantId: string,
  spkiHash: Uint8Array,
  namespaces: readonly CredentialNamespace[],
): Promise<CredentialRow | null> {
  const [row] = await queryRows<CredentialRow>(
    db,
    sql`SELECT ${CREDENTIAL_COLUMNS} FROM credentials c
         WHERE c.tenant_id = ${tenantId} AND c.spki_hash = ${Buffer.from(spkiHash)}
           AND c.namespace IN (${sql.join(namespaces.map((n) => sql`${n}`), sql`, `)})
         ORDER BY c.created_at LIMIT 1`,
  )
  return row ?? null
}

export async function listCredentials(db: Db, tenantId: string, userId: string): Promise<CredentialRow[]> {
  return queryRows<CredentialRow>(
    db,
    sql`SELECT ${CREDENTIAL_COLUMNS} FROM credentials c
         WHERE c.tenant_id = ${tenantId} AND c.user_id = ${userId} ORDER BY c.created_at`,
  )
}

export async function deleteCredential(db: Db, tenantId: string, userId: string, credentialId: string, now: Date): Promise<boolean> {
  const rows = await queryRows<{ credentialId: string }>(
    db,
    sql`WITH deleted AS (
          DELETE FROM credentials WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND credential_id = ${credentialId}
          RETURNING *
        ), ${outboxCtes('removed', tenantId, 'authenticator.deleted', authenticatorEventData('deleted'), now)}
        SELECT credential_id AS "credentialId" FROM deleted`,
  )
  return rows.length > 0
}

/**
 * Counts a failed signature against the credential with this key and locks it for
 * `lockSeconds` once `threshold` consecutive failures are reached. Returns the new state, or
 * null when no such credential exists.
 */
export async function recordFailedSignature(
  db: Db,
  tenantId: string,
  spkiHash: Uint8Array,
  namespaces: readonly CredentialNamespace[],
  threshold: number,
  lockSeconds: number,
  now: Date,
): Promise<{ failedAttempts: number; lockedUntil: Date | null } | null> {
  const [row] = await queryRows<{ failedAttempts: number; lockedUntil: Date | null }>(
    db,
    sql`UPDATE credentials SET
          failed_attempts = failed_attempts + 1,
          locked_until = CASE WHEN failed_attempts + 1 >= ${threshold}
                              THEN ${now}::timestamptz + make_interval(secs => ${lockSeconds}) ELSE locked_until END
        WHERE tenant_id = ${tenantId} AND spki_hash = ${Buffer.from(spkiHash)}
          AND namespace IN (${sql.join(namespaces.map((n) => sql`${n}`), sql`, `)})
        RETURNING failed_attempts AS "failedAttempts", locked_until AS "lockedUntil"`,
  )
  return row ?? null
}

/** Clears a credential's lock and failure count (an operator vouched for the device). */
export async function unlockCredential(db: Db, tenantId: string, userId: string, credentialId: string): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`UPDATE credentials SET failed_attempts = 0, locked_until = NULL
         WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND credential_id = ${credentialId} RETURNING 1 AS one`,
  )
  return rows.length > 0
}
