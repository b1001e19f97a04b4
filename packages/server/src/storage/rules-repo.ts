import { sql, type SQL } from 'drizzle-orm'
import type { ChallengeMethod, RuleOutcome } from '@countersign/protocol'
import { queryRows, textArray, type Db } from './database.ts'

export interface RuleRow {
  ruleId: string
  actionCode: string
  name: string
  description: string | null
  isActive: boolean
  priority: number
  outcome: RuleOutcome
  verificationMethods: ChallengeMethod[] | null
  condition: string
  createdAt: Date
  updatedAt: Date
}

export type RuleFields = Omit<RuleRow, 'ruleId' | 'actionCode' | 'createdAt' | 'updatedAt'>

const RULE_COLUMNS = sql`r.rule_id AS "ruleId", r.action_code AS "actionCode", r.name, r.description, r.is_active AS "isActive",
  r.priority, r.outcome, r.verification_methods AS "verificationMethods", r.condition, r.created_at AS "createdAt", r.updated_at AS "updatedAt"`

/** An action code's rules, in the order they are evaluated. */
export async function listRules(db: Db, tenantId: string, actionCode?: string): Promise<RuleRow[]> {
  return queryRows<RuleRow>(
    db,
    sql`SELECT ${RULE_COLUMNS} FROM rules r WHERE r.tenant_id = ${tenantId}
          ${actionCode === undefined ? sql`` : sql`AND r.action_code = ${actionCode}`}
         ORDER BY r.action_code, r.priority, r.created_at, r.rule_id`,
  )
}

/** One rule; `forUpdate` locks it for the rest of the transaction. */
export async function findRule(db: Db, tenantId: string, actionCode: string, ruleId: string, forUpdate = false): Promise<RuleRow | null> {
  const [row] = await queryRows<RuleRow>(
    db,
    sql`SELECT ${RULE_COLUMNS} FROM rules r
         WHERE r.tenant_id = ${tenantId} AND r.action_code = ${actionCode} AND r.rule_id = ${ruleId}
         ${forUpdate ? sql`FOR UPDATE` : sql``}`,
  )
  return row ?? null
}

/** Adds a rule; null when the action code has no configuration. */
export async function insertRule(
  db: Db,
  tenantId: string,
  actionCode: string,
  ruleId: string,
  rule: RuleFields,
  now: Date,
): Promise<RuleRow | null> {
  const [row] = await queryRows<RuleRow>(
    db,
    sql`INSERT INTO rules AS r (tenant_id, rule_id, action_code, name, description, is_active, priority, outcome,
                                verification_methods, condition, created_at, updated_at)
        SELECT ${tenantId}, ${ruleId}, ${actionCode}, ${rule.name}, ${rule.description}, ${rule.isActive}, ${rule.priority},
               ${rule.outcome}, ${methods(rule.verificationMethods)}, ${rule.condition}, ${now}, ${now}
          FROM action_configurations ac WHERE ac.tenant_id = ${tenantId} AND ac.action_code = ${actionCode}
        RETURNING ${RULE_COLUMNS}`,
  )
  return row ?? null
}

export async function updateRule(
  db: Db,
  tenantId: string,
  actionCode: string,
  ruleId: string,
  change: Partial<RuleFields>,
  now: Date,
): Promise<RuleRow | null> {
  const sets: SQL[] = [sql`updated_at = ${now}`]
  if (change.name !== undefined) sets.push(sql`name = ${change.name}`)
  if (change.description !== undefined) sets.push(sql`description = ${change.description}`)
  if (change.isActive !== undefined) sets.push(sql`is_active = ${change.isActive}`)
  if (change.priority !== undefined) sets.push(sql`priority = ${change.priority}`)
  if (change.outcome !== undefined) sets.push(sql`outcome = ${change.outcome}`)
  if (change.verificationMethods !== undefined) sets.push(sql`verification_methods = ${methods(change.verificationMethods)}`)
  if (change.condition !== undefined) sets.push(sql`condition = ${change.condition}`)
  const [row] = await queryRows<RuleRow>(
    db,
    sql`UPDATE rules AS r SET ${sql.join(sets, sql`, `)}
         WHERE r.tenant_id = ${tenantId} AND r.action_code = ${actionCode} AND r.rule_id = ${ruleId}
        RETURNING ${RULE_COLUMNS}`,
  )
  return row ?? null
}

export async function deleteRule(db: Db, tenantId: string, actionCode: string, ruleId: string): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`DELETE FROM rules WHERE tenant_id = ${tenantId} AND action_code = ${actionCode} AND rule_id = ${ruleId} RETURNING 1 AS one`,
  )
  return rows.length > 0
}

function methods(value: ChallengeMethod[] | null): SQL {
  return value === null ? sql`NULL` : textArray(value)
}
