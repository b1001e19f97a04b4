import { asc, eq, sql } from 'drizzle-orm'
import { inTransaction, queryRows, type Db } from './database.ts'
import { apiKeys, tenants } from './schema.ts'

export interface TenantRow {
  tenantId: string
  name: string
  keySecret: Uint8Array
  settings: unknown
  /** Per-action settings by action code (action_configurations), read with the tenant. */
  actionSettings?: Record<string, unknown> | null
  /** Active rules of all action codes, read with the tenant. */
  activeRules?: unknown[] | null
  /** Whether an enabled webhook endpoint exists: only then is there delivery work to wake. */
  hasWebhooks?: boolean
  createdAt: Date
}

const ACTION_SETTINGS = sql`(SELECT jsonb_object_agg(ac.action_code, ac.settings) FROM action_configurations ac
   WHERE ac.tenant_id = t.tenant_id) AS "actionSettings",
  (SELECT jsonb_agg(jsonb_build_object('ruleId', r.rule_id, 'actionCode', r.action_code, 'name', r.name,
     'description', r.description, 'isActive', r.is_active, 'priority', r.priority, 'outcome', r.outcome,
     'verificationMethods', r.verification_methods, 'condition', r.condition, 'createdAt', r.created_at))
     FROM rules r WHERE r.tenant_id = t.tenant_id AND r.is_active) AS "activeRules",
  EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.tenant_id = t.tenant_id AND w.enabled) AS "hasWebhooks"`

export interface ApiKeyRow {
  keyId: string
  type: 'secret' | 'management'
  name: string | null
  createdAt: Date
  revokedAt: Date | null
}

export interface NewApiKey {
  keyId: string
  type: 'secret' | 'management'
  secretHash: Uint8Array
  name?: string | null
}

/** Creates a tenant together with its first keys, in one transaction. */
export async function insertTenant(
  db: Db,
  tenant: { tenantId: string; name: string; keySecret: Uint8Array; settings?: unknown },
  keys: NewApiKey[],
): Promise<void> {
  await inTransaction(db, async (tx) => {
    await tx.insert(tenants).values({
      tenantId: tenant.tenantId,
      name: tenant.name,
      keySecret: Buffer.from(tenant.keySecret),
      settings: tenant.settings ?? {},
    })
    for (const key of keys) await insertKey(tx, tenant.tenantId, key)
  })
}

export async function findTenant(db: Db, tenantId: string): Promise<TenantRow | null> {
  const [row] = await queryRows<TenantRow>(
    db,
    sql`SELECT t.tenant_id AS "tenantId", t.name, t.key_secret AS "keySecret", t.settings, t.created_at AS "createdAt",
               ${ACTION_SETTINGS}
          FROM tenants t WHERE t.tenant_id = ${tenantId}`,
  )
  return row ? { ...row, createdAt: new Date(row.createdAt) } : null
}

/** Changes a tenant's settings by merging `change` into them. */
export async function mergeTenantSettings(db: Db, tenantId: string, change: Record<string, unknown>): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`UPDATE tenants SET settings = settings || ${JSON.stringify(change)}::jsonb WHERE tenant_id = ${tenantId} RETURNING 1 AS one`,
  )
  return rows.length > 0
}

export async function listTenants(db: Db): Promise<Array<Omit<TenantRow, 'keySecret'>>> {
  return db
    .select({ tenantId: tenants.tenantId, name: tenants.name, settings: tenants.settings, createdAt: tenants.createdAt })
    .from(tenants)
    .orderBy(asc(tenants.createdAt))
}

export async function countTenants(db: Db): Promise<number> {
  const [row] = await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM tenants`)
  return row?.n ?? 0
}

/** Tenants whose token secret is stored as plain bytes (32 of them). */
export async function findPlainTenantSecrets(db: Db): Promise<Array<{ tenantId: string; keySecret: Uint8Array }>> {
  return queryRows(db, sql`SELECT tenant_id AS "tenantId", key_secret AS "keySecret" FROM tenants WHERE length(key_secret) = 32`)
}

/** Tenants whose token secret is stored sealed: to seal them again under a new encryption key. */
export async function findSealedTenantSecrets(db: Db): Promise<Array<{ tenantId: string; keySecret: Uint8Array }>> {
  return queryRows(db, sql`SELECT tenant_id AS "tenantId", key_secret AS "keySecret" FROM tenants WHERE length(key_secret) <> 32`)
}

/** One tenant whose token secret is stored sealed, if any: to check the configured key opens it. */
export async function findSealedTenantSecret(db: Db): Promise<{ tenantId: string; keySecret: Uint8Array } | null> {
  const [row] = await queryRows<{ tenantId: string; keySecret: Uint8Array }>(
    db,
    sql`SELECT tenant_id AS "tenantId", key_secret AS "keySecret" FROM tenants WHERE length(key_secret) <> 32 LIMIT 1`,
  )
  return row ?? null
}

/** Replaces a tenant's stored secret, only if it is still `expected` (another node may have done it). */
export async function replaceTenantSecret(db: Db, tenantId: string, expected: Uint8Array, stored: Uint8Array): Promise<boolean> {
  const rows = await queryRows<{ tenantId: string }>(
    db,
    sql`UPDATE tenants SET key_secret = ${Buffer.from(stored)}
         WHERE tenant_id = ${tenantId} AND key_secret = ${Buffer.from(expected)} RETURNING tenant_id AS "tenantId"`,
  )
  return rows.length > 0
}

export async function updateTenantSettings(db: Db, tenantId: string, settings: unknown): Promise<boolean> {
  const rows = await db.update(tenants).set({ settings }).where(eq(tenants.tenantId, tenantId)).returning({ tenantId: tenants.tenantId })
  return rows.length > 0
}

export async function insertKey(db: Db, tenantId: string, key: NewApiKey): Promise<void> {
  await db.insert(apiKeys).values({
    tenantId,
    keyId: key.keyId,
    type: key.type,
    secretHash: Buffer.from(key.secretHash),
    name: key.name ?? null,
  })
}

/** The key row and its tenant, in one round trip: what authenticating a request needs. */
export async function findKeyWithTenant(
  db: Db,
  tenantId: string,
  keyId: string,
): Promise<(TenantRow & { keyType: string; secretHash: Uint8Array; revokedAt: Date | null }) | null> {
  const [row] = await queryRows<{
    tenantId: string
    name: string
    keySecret: Uint8Array
    settings: unknown
    actionSettings: Record<string, unknown> | null
    activeRules: unknown[] | null
    hasWebhooks: boolean
    createdAt: Date
    keyType: string
    secretHash: Uint8Array
    revokedAt: Date | null
  }>(
    db,
    sql`SELECT t.tenant_id AS "tenantId", t.name, t.key_secret AS "keySecret", t.settings,
               t.created_at AS "createdAt", k.type AS "keyType", k.secret_hash AS "secretHash",
               k.revoked_at AS "revokedAt", ${ACTION_SETTINGS}
          FROM api_keys k JOIN tenants t ON t.tenant_id = k.tenant_id
         WHERE k.tenant_id = ${tenantId} AND k.key_id = ${keyId}`,
  )
  return row ? { ...row, createdAt: new Date(row.createdAt), revokedAt: row.revokedAt && new Date(row.revokedAt) } : null
}

/**
 * The tenant's keys, oldest first; `forUpdate` first takes the tenant's row (so changes to
 * one tenant's keys queue one behind another) and then locks the keys, in a total order, for
 * the rest of the transaction. Creating a key is not held up: its foreign key needs only a
 * key-share lock on the tenant row.
 */
export async function listKeys(db: Db, tenantId: string, forUpdate = false): Promise<ApiKeyRow[]> {
  const query = db
    .select({
      keyId: apiKeys.keyId,
      type: apiKeys.type,
      name: apiKeys.name,
      createdAt: apiKeys.createdAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(eq(apiKeys.tenantId, tenantId))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.keyId))
  if (!forUpdate) return query
  await db.execute(sql`SELECT 1 FROM tenants WHERE tenant_id = ${tenantId} FOR NO KEY UPDATE`)
  return query.for('update')
}

/** Channel on which a revoked key is announced to every node, as `<tenantId>.<keyId>`. */
export const KEY_REVOKED_CHANNEL = 'countersign_key_revoked'

/**
 * Revokes a key and announces it to every node listening on KEY_REVOKED_CHANNEL, in one
 * statement (the notification is sent when it commits). False when the tenant has no such
 * key or it was already revoked.
 */
export async function revokeKey(db: Db, tenantId: string, keyId: string, now: Date): Promise<boolean> {
  const rows = await queryRows<{ keyId: string }>(
    db,
    sql`WITH revoked AS (
          UPDATE api_keys SET revoked_at = ${now}
           WHERE tenant_id = ${tenantId} AND key_id = ${keyId} AND revoked_at IS NULL
          RETURNING key_id
        )
        SELECT key_id AS "keyId", pg_notify(${KEY_REVOKED_CHANNEL}, ${tenantId} || '.' || key_id) FROM revoked`,
  )
  return rows.length > 0
}

/** Renames a tenant. */
export async function renameTenant(db: Db, tenantId: string, name: string): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(db, sql`UPDATE tenants SET name = ${name} WHERE tenant_id = ${tenantId} RETURNING 1 AS one`)
  return rows.length > 0
}
