// Value lists: named lists of strings or numbers that rule conditions test against, such as
// `list('blocked_payees').contains(action.transaction.payee)`.
import type { CreateValueListRequest, UpdateValueListRequest, ValueList } from '@countersign/protocol'
import { listRules } from '../storage/rules-repo.ts'
import * as repo from '../storage/value-lists-repo.ts'
import { audited, type Actor } from './audit.ts'
import { now, type Deps } from './deps.ts'
import { ApiError } from './errors.ts'
import { compileCondition } from './rules/conditions.ts'
import type { TenantContext } from './tenants.ts'

export async function listValueLists(deps: Deps, tenant: TenantContext) {
  const rows = await repo.listValueLists(deps.db, tenant.tenantId)
  return rows.map((row) => ({ ...row, createdAt: new Date(row.createdAt).toISOString(), updatedAt: new Date(row.updatedAt).toISOString() }))
}

export async function getValueList(deps: Deps, tenant: TenantContext, alias: string): Promise<ValueList> {
  const row = await repo.findValueList(deps.db, tenant.tenantId, alias)
  if (!row) throw new ApiError('not_found', 'No such value list')
  return view(row)
}

export async function createValueList(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  request: CreateValueListRequest,
): Promise<ValueList> {
  const items = checkItems(request.itemType, request.items ?? [])
  const row = await audited(deps, tenant.tenantId, actor, async (tx) => {
    const created = await repo.insertValueList(
      tx,
      tenant.tenantId,
      { alias: request.alias, name: request.name, itemType: request.itemType, items },
      now(deps),
    )
    if (!created) throw new ApiError('conflict', 'A value list with this alias exists')
    return { result: created, entry: { event: 'value_list.created', target: request.alias, after: view(created) } }
  })
  return view(row)
}

export async function updateValueList(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  alias: string,
  change: UpdateValueListRequest,
): Promise<ValueList> {
  const row = await audited(deps, tenant.tenantId, actor, async (tx) => {
    const before = await repo.findValueList(tx, tenant.tenantId, alias, 'update')
    if (!before) throw new ApiError('not_found', 'No such value list')
    const items = change.items === undefined ? undefined : checkItems(before.itemType, change.items)
    const after = await repo.updateValueList(tx, tenant.tenantId, alias, { name: change.name, items }, now(deps))
    return { result: after!, entry: { event: 'value_list.updated', target: alias, before: view(before), after: view(after!) } }
  })
  return view(row)
}

/**
 * Deletes a list no active rule names; a rule that uses it must change first (409). The list
 * is locked first: a rule being saved with it holds it (FOR SHARE) until that commits, so the
 * check below sees every rule that could name it.
 */
export async function deleteValueList(deps: Deps, tenant: TenantContext, actor: Actor, alias: string): Promise<void> {
  await audited(deps, tenant.tenantId, actor, async (tx) => {
    const before = await repo.findValueList(tx, tenant.tenantId, alias, 'update')
    if (!before) throw new ApiError('not_found', 'No such value list')
    const users = (await listRules(tx, tenant.tenantId))
      .filter((rule) => rule.isActive && listsNamedBy(rule.condition).includes(alias))
      .map((rule) => `${rule.actionCode}/${rule.ruleId}`)
    if (users.length > 0) throw new ApiError('conflict', `Active rules use this list: ${users.slice(0, 5).join(', ')}; change them first`)
    await repo.deleteValueList(tx, tenant.tenantId, alias)
    return { result: undefined, entry: { event: 'value_list.deleted', target: alias, before: view(before) } }
  })
}

/** The lists a stored condition names (none when it no longer compiles). */
function listsNamedBy(condition: string): readonly string[] {
  try {
    return compileCondition(condition).lists
  } catch {
    return []
  }
}

/** Items must all be of the list's type; duplicates are dropped. */
function checkItems(itemType: 'string' | 'number', items: Array<string | number>): Array<string | number> {
  const wrong = items.find((item) => typeof item !== itemType)
  if (wrong !== undefined) throw new ApiError('invalid_request', `Every item of a ${itemType} list must be a ${itemType}`)
  return [...new Set(items)]
}

function view(row: repo.ValueListRow): ValueList {
  return {
    alias: row.alias,
    name: row.name,
    itemType: row.itemType,
    items: row.items,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  }
}
