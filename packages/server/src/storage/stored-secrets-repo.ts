import { sql } from 'drizzle-orm'
import { queryRows, type Db } from './database.ts'

/** A secret the server uses (a webhook signing secret, a push service's configuration), as stored. */
export interface StoredSecretRow {
  table: 'webhook_endpoints' | 'push_providers'
  tenantId: string
  /** webhook_id or provider: with the tenant, the row's key and the secret's sealing context. */
  rowKey: string
  stored: Uint8Array
}

/** Secrets still stored unencrypted (marker byte 0): written before an encryption key was set. */
export async function findPlainStoredSecrets(db: Db): Promise<StoredSecretRow[]> {
  return queryRows<StoredSecretRow>(
    db,
    sql`SELECT 'webhook_endpoints' AS "table", tenant_id AS "tenantId", webhook_id::text AS "rowKey", secret AS stored
          FROM webhook_endpoints WHERE get_byte(secret, 0) = 0
        UNION ALL
        SELECT 'push_providers', tenant_id, provider, config FROM push_providers WHERE get_byte(config, 0) = 0`,
  )
}

/** Secrets stored sealed: to seal them again under a new encryption key. */
export async function findSealedStoredSecrets(db: Db): Promise<StoredSecretRow[]> {
  return queryRows<StoredSecretRow>(
    db,
    sql`SELECT 'webhook_endpoints' AS "table", tenant_id AS "tenantId", webhook_id::text AS "rowKey", secret AS stored
          FROM webhook_endpoints WHERE get_byte(secret, 0) <> 0
        UNION ALL
        SELECT 'push_providers', tenant_id, provider, config FROM push_providers WHERE get_byte(config, 0) <> 0`,
  )
}

/** Replaces a stored secret if it is still `before` (another node may have sealed it first). */
export async function replaceStoredSecret(db: Db, row: StoredSecretRow, sealed: Uint8Array): Promise<boolean> {
  const rows =
    row.table === 'webhook_endpoints'
      ? await queryRows<{ one: number }>(
          db,
          sql`UPDATE webhook_endpoints SET secret = ${Buffer.from(sealed)}
               WHERE tenant_id = ${row.tenantId} AND webhook_id = ${row.rowKey} AND secret = ${Buffer.from(row.stored)} RETURNING 1 AS one`,
        )
      : await queryRows<{ one: number }>(
          db,
          sql`UPDATE push_providers SET config = ${Buffer.from(sealed)}
               WHERE tenant_id = ${row.tenantId} AND provider = ${row.rowKey} AND config = ${Buffer.from(row.stored)} RETURNING 1 AS one`,
        )
  return rows.length > 0
}
