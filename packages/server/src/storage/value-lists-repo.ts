import { sql, type SQL } from 'drizzle-orm'
import { queryRows, type Db } from './database.ts'

export interface ValueListRow {
  alias: string
  name: string
  itemType: 'string' | 'number'
  items: Array<string | number>
  createdAt: Date
  updatedAt: Date
}

const LIST_COLUMNS = sql`l.alias, l.name, l.item_type AS "itemType", l.items, l.created_at AS "createdAt", l.updated_at AS "updatedAt"`

/** The tenant's lists without their items, by alias. */
export async function listValueLists(db: Db, tenantId: string): Promise<Array<Omit<ValueListRow, 'items'> & { itemCount: number }>> {
  return queryRows(
    db,
    sql`SELECT l.alias, l.name, l.item_type AS "itemType", jsonb_array_length(l.items) AS "itemCount",
               l.created_at AS "createdAt", l.updated_at AS "updatedAt"
          FROM value_lists l WHERE l.tenant_id = ${tenantId} ORDER BY l.alias`,
  )
}

/**
 * One list. `lock`: `update` holds it against changes for the rest of the transaction; `share`
 * holds it against deletion (a rule being saved that names it).
 */
export async function findValueList(db: Db, tenantId: string, alias: string, lock?: 'update' | 'share'): Promise<ValueListRow | null> {
  const [row] = await queryRows<ValueListRow>(
    db,
    sql`SELECT ${LIST_COLUMNS} FROM value_lists l WHERE l.tenant_id = ${tenantId} AND l.alias = ${alias}
        ${lock === 'update' ? sql`FOR UPDATE` : lock === 'share' ? sql`FOR SHARE` : sql``}`,
  )
  return row ?? null
}

/** Adds a list; null when the alias is taken. */
export async function insertValueList(
  db: Db,
  tenantId: string,
  list: Omit<ValueListRow, 'createdAt' | 'updatedAt'>,
  now: Date,
): Promise<ValueListRow | null> {
  const [row] = await queryRows<ValueListRow>(
    db,
    sql`INSERT INTO value_lists AS l (tenant_id, alias, name, item_type, items, created_at, updated_at)
        VALUES (${tenantId}, ${list.alias}, ${list.name}, ${list.itemType}, ${JSON.stringify(list.items)}::jsonb, ${now}, ${now})
        ON CONFLICT DO NOTHING RETURNING ${LIST_COLUMNS}`,
  )
  return row ?? null
}

export async function updateValueList(
  db: Db,
  tenantId: string,
  alias: string,
  change: { name?: string | undefined; items?: Array<string | number> | undefined },
  now: Date,
): Promise<ValueListRow | null> {
  const sets: SQL[] = [sql`updated_at = ${now}`]
  if (change.name !== undefined) sets.push(sql`name = ${change.name}`)
  if (change.items !== undefined) sets.push(sql`items = ${JSON.stringify(change.items)}::jsonb`)
  const [row] = await queryRows<ValueListRow>(
    db,
    sql`UPDATE value_lists AS l SET ${sql.join(sets, sql`, `)} WHERE l.tenant_id = ${tenantId} AND l.alias = ${alias} RETURNING ${LIST_COLUMNS}`,
  )
  return row ?? null
}

export async function deleteValueList(db: Db, tenantId: string, alias: string): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`DELETE FROM value_lists WHERE tenant_id = ${tenantId} AND alias = ${alias} RETURNING 1 AS one`,
  )
  return rows.length > 0
}

/** The items of the named lists (those that exist), for evaluating conditions. */
export async function readListItems(db: Db, tenantId: string, aliases: readonly string[]): Promise<Map<string, Array<string | number>>> {
  if (aliases.length === 0) return new Map()
  const rows = await queryRows<{ alias: string; items: Array<string | number> }>(
    db,
    sql`SELECT alias, items FROM value_lists WHERE tenant_id = ${tenantId} AND alias IN (${sql.join(
      aliases.map((a) => sql`${a}`),
      sql`, `,
    )})`,
  )
  return new Map(rows.map((row) => [row.alias, row.items]))
}
