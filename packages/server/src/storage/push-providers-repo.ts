import { sql } from 'drizzle-orm'
import type { PushProvider } from '../push/sender.ts'
import { queryRows, type Db } from './database.ts'

export interface PushProviderRow {
  provider: PushProvider
  /** The stored (sealed or marked-plain) JSON configuration. */
  config: Uint8Array
  updatedAt: Date
}

export async function upsertPushProvider(db: Db, tenantId: string, provider: PushProvider, config: Uint8Array, now: Date): Promise<void> {
  await queryRows(
    db,
    sql`INSERT INTO push_providers (tenant_id, provider, config, updated_at) VALUES (${tenantId}, ${provider}, ${Buffer.from(config)}, ${now})
        ON CONFLICT (tenant_id, provider) DO UPDATE SET config = EXCLUDED.config, updated_at = EXCLUDED.updated_at`,
  )
}

export async function listPushProviders(db: Db, tenantId: string): Promise<PushProviderRow[]> {
  return queryRows<PushProviderRow>(
    db,
    sql`SELECT provider, config, updated_at AS "updatedAt" FROM push_providers WHERE tenant_id = ${tenantId} ORDER BY provider`,
  )
}

export async function deletePushProvider(db: Db, tenantId: string, provider: PushProvider): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`DELETE FROM push_providers WHERE tenant_id = ${tenantId} AND provider = ${provider} RETURNING 1 AS one`,
  )
  return rows.length > 0
}
