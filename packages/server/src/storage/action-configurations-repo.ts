import { sql } from 'drizzle-orm'
import { queryRows, type Db } from './database.ts'

export interface ActionConfigurationRow {
  actionCode: string
  /** The action's own settings (domain/tenants.ts ActionSettings); absent fields follow the tenant's. */
  settings: Record<string, unknown>
  ruleCount: number
  createdAt: Date
  updatedAt: Date
}

const CONFIGURATION_COLUMNS = sql`ac.action_code AS "actionCode", ac.settings, ac.created_at AS "createdAt", ac.updated_at AS "updatedAt",
  (SELECT count(*)::int FROM rules r WHERE r.tenant_id = ac.tenant_id AND r.action_code = ac.action_code) AS "ruleCount"`

export async function listActionConfigurations(db: Db, tenantId: string): Promise<ActionConfigurationRow[]> {
  return queryRows(
    db,
    sql`SELECT ${CONFIGURATION_COLUMNS} FROM action_configurations ac WHERE ac.tenant_id = ${tenantId} ORDER BY ac.action_code`,
  )
}

export async function findActionConfiguration(
  db: Db,
  tenantId: string,
  actionCode: string,
  forUpdate = false,
): Promise<ActionConfigurationRow | null> {
  const [row] = await queryRows<ActionConfigurationRow>(
    db,
    sql`SELECT ${CONFIGURATION_COLUMNS} FROM action_configurations ac
         WHERE ac.tenant_id = ${tenantId} AND ac.action_code = ${actionCode} ${forUpdate ? sql`FOR UPDATE` : sql``}`,
  )
  return row ?? null
}

/** Adds a configuration; null when the action code has one. */
export async function insertActionConfiguration(
  db: Db,
  tenantId: string,
  actionCode: string,
  settings: Record<string, unknown>,
  now: Date,
): Promise<ActionConfigurationRow | null> {
  const [row] = await queryRows<ActionConfigurationRow>(
    db,
    sql`INSERT INTO action_configurations AS ac (tenant_id, action_code, settings, created_at, updated_at)
        VALUES (${tenantId}, ${actionCode}, ${JSON.stringify(settings)}::jsonb, ${now}, ${now})
        ON CONFLICT DO NOTHING RETURNING ${CONFIGURATION_COLUMNS}`,
  )
  return row ?? null
}

/** Replaces an action's own settings; null when it has no configuration. */
export async function replaceActionSettings(
  db: Db,
  tenantId: string,
  actionCode: string,
  settings: Record<string, unknown>,
  now: Date,
): Promise<ActionConfigurationRow | null> {
  const [row] = await queryRows<ActionConfigurationRow>(
    db,
    sql`UPDATE action_configurations AS ac SET settings = ${JSON.stringify(settings)}::jsonb, updated_at = ${now}
         WHERE ac.tenant_id = ${tenantId} AND ac.action_code = ${actionCode} RETURNING ${CONFIGURATION_COLUMNS}`,
  )
  return row ?? null
}

/** Deletes a configuration and its rules. */
export async function deleteActionConfiguration(db: Db, tenantId: string, actionCode: string): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`DELETE FROM action_configurations WHERE tenant_id = ${tenantId} AND action_code = ${actionCode} RETURNING 1 AS one`,
  )
  return rows.length > 0
}
