// Action configurations and their rules, as operators manage them (Management API, console),
// and the dry run that shows what the rules would decide. Every change is audited and takes
// effect on this node at once and on every other node within a second (the tenant cache).
import { randomUUID } from 'node:crypto'
import type {
  ActionConfiguration,
  CreateActionConfigurationRequest,
  CreateRuleRequest,
  DryRunRequest,
  DryRunResponse,
  Rule,
  UpdateActionConfigurationRequest,
  UpdateRuleRequest,
} from '@countersign/protocol'
import * as configsRepo from '../storage/action-configurations-repo.ts'
import { findRecordedAction } from '../storage/actions-repo.ts'
import type { Db } from '../storage/database.ts'
import * as rulesRepo from '../storage/rules-repo.ts'
import { findValueList, readListItems } from '../storage/value-lists-repo.ts'
import { audited, type Actor } from './audit.ts'
import { now, type Deps } from './deps.ts'
import { ApiError } from './errors.ts'
import { compileCondition, ConditionError, type CompiledCondition } from './rules/conditions.ts'
import { completeContext, CONTEXT_OBJECTS, type ContextJson, type Signal } from './rules/context.ts'
import { decide, inputsOf, loadRules, needsOf, type LoadedRule } from './rules/engine.ts'
import { buildContext } from './rules/signals.ts'
import { ActionSettings, ownOverTenant, readActionSettings, type TenantContext } from './tenants.ts'
import { checkOutboundUrl } from './outbound-urls.ts'
import type { UrlPolicy } from './webhooks.ts'

export async function listActionConfigurations(deps: Deps, tenant: TenantContext): Promise<ActionConfiguration[]> {
  const rows = await configsRepo.listActionConfigurations(deps.db, tenant.tenantId)
  return rows.map((row) => configurationView(tenant, row))
}

export async function getActionConfiguration(deps: Deps, tenant: TenantContext, actionCode: string): Promise<ActionConfiguration> {
  const row = await configsRepo.findActionConfiguration(deps.db, tenant.tenantId, actionCode)
  if (!row) throw new ApiError('not_found', 'No such action configuration')
  return configurationView(tenant, row)
}

export async function createActionConfiguration(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  request: CreateActionConfigurationRequest,
): Promise<ActionConfiguration> {
  const { actionCode, ...settings } = request
  const own = ownSettings({}, settings, { allowPrivateUrls: deps.config.ALLOW_PRIVATE_WEBHOOK_URLS })
  const row = await audited(deps, tenant.tenantId, actor, async (tx) => {
    const created = await configsRepo.insertActionConfiguration(tx, tenant.tenantId, actionCode, own, now(deps))
    if (!created) throw new ApiError('conflict', 'This action code already has a configuration; PATCH it instead')
    return { result: created, entry: { event: 'action_configuration.created', target: actionCode, after: own } }
  })
  deps.tenants.forget(tenant.tenantId)
  return configurationView(tenant, row)
}

export async function updateActionConfiguration(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  actionCode: string,
  change: UpdateActionConfigurationRequest,
): Promise<ActionConfiguration> {
  const row = await audited(deps, tenant.tenantId, actor, async (tx) => {
    const before = await configsRepo.findActionConfiguration(tx, tenant.tenantId, actionCode, true)
    if (!before) throw new ApiError('not_found', 'No such action configuration')
    const own = ownSettings(before.settings, change, { allowPrivateUrls: deps.config.ALLOW_PRIVATE_WEBHOOK_URLS })
    const after = await configsRepo.replaceActionSettings(tx, tenant.tenantId, actionCode, own, now(deps))
    return { result: after!, entry: { event: 'action_configuration.updated', target: actionCode, before: before.settings, after: own } }
  })
  deps.tenants.forget(tenant.tenantId)
  return configurationView(tenant, row)
}

/**
 * Creates an action code's configuration or changes it (the command line's `actions
 * configure`): given fields are set, null ones return to the tenant's.
 */
export async function configureAction(
  deps: Deps,
  tenantId: string,
  actor: Actor,
  actionCode: string,
  change: UpdateActionConfigurationRequest,
  policy: UrlPolicy = { allowPrivateUrls: deps.config.ALLOW_PRIVATE_WEBHOOK_URLS },
): Promise<ActionConfiguration> {
  const tenant = await deps.tenants.find(tenantId, deps.clock())
  if (!tenant) throw new ApiError('not_found', 'No such tenant')
  const row = await audited(deps, tenantId, actor, async (tx) => {
    const before = await configsRepo.findActionConfiguration(tx, tenantId, actionCode, true)
    const own = ownSettings(before?.settings ?? {}, change, policy)
    const after = before
      ? await configsRepo.replaceActionSettings(tx, tenantId, actionCode, own, now(deps))
      : await configsRepo.insertActionConfiguration(tx, tenantId, actionCode, own, now(deps))
    const event = before ? 'action_configuration.updated' : 'action_configuration.created'
    return { result: after!, entry: { event, target: actionCode, before: before?.settings, after: own } }
  })
  deps.tenants.forget(tenantId)
  return configurationView(tenant, row)
}

/** Deletes a configuration with its rules; the code's next track creates a default one. */
export async function deleteActionConfiguration(deps: Deps, tenant: TenantContext, actor: Actor, actionCode: string): Promise<void> {
  await audited(deps, tenant.tenantId, actor, async (tx) => {
    const before = await configsRepo.findActionConfiguration(tx, tenant.tenantId, actionCode, true)
    if (!before) throw new ApiError('not_found', 'No such action configuration')
    const rules = await rulesRepo.listRules(tx, tenant.tenantId, actionCode)
    await configsRepo.deleteActionConfiguration(tx, tenant.tenantId, actionCode)
    return {
      result: undefined,
      entry: { event: 'action_configuration.deleted', target: actionCode, before: { settings: before.settings, rules } },
    }
  })
  deps.tenants.forget(tenant.tenantId)
}

/** Applies a change to an action's own settings: a value sets it, null returns it to the tenant's. */
function ownSettings(current: Record<string, unknown>, change: Record<string, unknown>, policy: UrlPolicy): ActionSettings {
  const next: Record<string, unknown> = { ...current }
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) continue
    if (value === null) delete next[key]
    else next[key] = value
  }
  if (typeof change.verificationWebhookUrl === 'string') {
    next.verificationWebhookUrl = checkOutboundUrl({ ALLOW_PRIVATE_WEBHOOK_URLS: policy.allowPrivateUrls }, change.verificationWebhookUrl)
  }
  const parsed = ActionSettings.strict().safeParse(next)
  if (!parsed.success)
    throw new ApiError('invalid_request', `Invalid action settings: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`)
  return parsed.data
}

function configurationView(tenant: TenantContext, row: configsRepo.ActionConfigurationRow): ActionConfiguration {
  const own = readActionSettings(row.settings)
  const effective = ownOverTenant(own, tenant.settings)
  return {
    actionCode: row.actionCode,
    ...effective,
    challengeTtlSeconds: effective.challengeTtlSeconds ?? tenant.settings.challengeTtlSeconds,
    ownSettings: Object.keys(own).sort(),
    ruleCount: row.ruleCount,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  }
}

// ── Rules ────────────────────────────────────────────────────────────────────────────────

export async function listRules(deps: Deps, tenant: TenantContext, actionCode: string): Promise<Rule[]> {
  if (!(await configsRepo.findActionConfiguration(deps.db, tenant.tenantId, actionCode)))
    throw new ApiError('not_found', 'No such action configuration')
  return (await rulesRepo.listRules(deps.db, tenant.tenantId, actionCode)).map(ruleView)
}

export async function getRule(deps: Deps, tenant: TenantContext, actionCode: string, ruleId: string): Promise<Rule> {
  const row = await rulesRepo.findRule(deps.db, tenant.tenantId, actionCode, ruleId)
  if (!row) throw new ApiError('not_found', 'No such rule')
  return ruleView(row)
}

export async function createRule(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  actionCode: string,
  request: CreateRuleRequest,
): Promise<Rule> {
  const row = await audited(deps, tenant.tenantId, actor, async (tx) => {
    await checkCondition(tx, tenant.tenantId, request.condition)
    const fields: rulesRepo.RuleFields = {
      name: request.name,
      description: request.description ?? null,
      isActive: request.isActive ?? true,
      priority: request.priority ?? 100,
      outcome: request.outcome,
      verificationMethods: request.verificationMethods ?? null,
      condition: request.condition,
    }
    const created = await rulesRepo.insertRule(tx, tenant.tenantId, actionCode, randomUUID(), fields, now(deps))
    if (!created) throw new ApiError('not_found', 'No such action configuration; create it first')
    return { result: created, entry: { event: 'rule.created', target: `${actionCode}/${created.ruleId}`, after: ruleView(created) } }
  })
  deps.tenants.forget(tenant.tenantId)
  return ruleView(row)
}

export async function updateRule(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  actionCode: string,
  ruleId: string,
  change: UpdateRuleRequest,
): Promise<Rule> {
  const row = await audited(deps, tenant.tenantId, actor, async (tx) => {
    const before = await rulesRepo.findRule(tx, tenant.tenantId, actionCode, ruleId, true)
    if (!before) throw new ApiError('not_found', 'No such rule')
    // A rule that is or becomes active must compile and name lists that exist now.
    if (change.condition !== undefined || change.isActive === true)
      await checkCondition(tx, tenant.tenantId, change.condition ?? before.condition)
    const after = await rulesRepo.updateRule(tx, tenant.tenantId, actionCode, ruleId, change, now(deps))
    return {
      result: after!,
      entry: { event: 'rule.updated', target: `${actionCode}/${ruleId}`, before: ruleView(before), after: ruleView(after!) },
    }
  })
  deps.tenants.forget(tenant.tenantId)
  return ruleView(row)
}

export async function deleteRule(deps: Deps, tenant: TenantContext, actor: Actor, actionCode: string, ruleId: string): Promise<void> {
  await audited(deps, tenant.tenantId, actor, async (tx) => {
    const before = await rulesRepo.findRule(tx, tenant.tenantId, actionCode, ruleId, true)
    if (!before || !(await rulesRepo.deleteRule(tx, tenant.tenantId, actionCode, ruleId))) throw new ApiError('not_found', 'No such rule')
    return { result: undefined, entry: { event: 'rule.deleted', target: `${actionCode}/${ruleId}`, before: ruleView(before) } }
  })
  deps.tenants.forget(tenant.tenantId)
}

/** Compiles a condition for saving: 400 invalid_rule_condition with the CEL error and its position. */
function compileForSave(condition: string): CompiledCondition {
  try {
    return compileCondition(condition)
  } catch (error) {
    if (error instanceof ConditionError) {
      const at = error.details.line === undefined ? '' : ` (line ${error.details.line}, column ${error.details.column})`
      throw new ApiError('invalid_rule_condition', `Invalid condition${at}: ${error.details.message}`, undefined, undefined, {
        ...error.details,
      })
    }
    throw error
  }
}

/**
 * A condition may be saved when it compiles and every value list it names exists. The lists
 * stay locked against deletion until the rule is saved.
 */
async function checkCondition(db: Db, tenantId: string, condition: string): Promise<void> {
  const compiled = compileForSave(condition)
  for (const alias of compiled.lists) {
    if (!(await findValueList(db, tenantId, alias, 'share'))) {
      throw new ApiError('invalid_rule_condition', `Invalid condition: there is no value list '${alias}'`, undefined, undefined, {
        message: `there is no value list '${alias}'`,
      })
    }
  }
}

function ruleView(row: rulesRepo.RuleRow): Rule {
  return {
    ruleId: row.ruleId,
    actionCode: row.actionCode,
    name: row.name,
    ...(row.description !== null ? { description: row.description } : {}),
    isActive: row.isActive,
    priority: row.priority,
    outcome: row.outcome,
    ...(row.verificationMethods !== null ? { verificationMethods: row.verificationMethods } : {}),
    condition: row.condition,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  }
}

// ── Dry run ──────────────────────────────────────────────────────────────────────────────

const EVERY_SIGNAL: ReadonlySet<Signal> = new Set(['request', 'user', 'ipHistory', 'ipCountry', 'deviceHistory', 'velocity', 'travel'])

/**
 * Evaluates an action code's rules (active and inactive) against a given context or a past
 * action's, and shows which match and on what values. Records nothing.
 */
export async function dryRun(deps: Deps, tenant: TenantContext, actionCode: string, request: DryRunRequest): Promise<DryRunResponse> {
  const configuration = await configsRepo.findActionConfiguration(deps.db, tenant.tenantId, actionCode)
  if (!configuration) throw new ApiError('not_found', 'No such action configuration')
  const rules = loadRules(
    (await rulesRepo.listRules(deps.db, tenant.tenantId, actionCode)).map((r) => ({
      ...r,
      createdAt: new Date(r.createdAt).toISOString(),
    })),
  )
  const draft = request.condition === undefined ? null : compileForSave(request.condition)
  const listAliases = [...new Set([...needsOf(rules).lists, ...(draft?.lists ?? [])])]

  const context = await dryRunContext(deps, tenant, request, listAliases)
  const lists = await readListItems(deps.db, tenant.tenantId, listAliases)
  const settings = tenant.actionSettings(actionCode)
  const active = rules.filter((r) => r.isActive)
  const decision = decide(active, settings, context, lists)
  const inactiveResults = decide(
    rules.filter((r) => !r.isActive),
    settings,
    context,
    lists,
  ).results
  const resultOf = new Map([...decision.results, ...inactiveResults].map((r) => [r.rule.ruleId, r]))
  const enrolled = (context.user as { isEnrolled?: boolean }).isEnrolled === true
  return {
    outcome: decision.outcome,
    state: enrolled ? decision.stateIfEnrolled : decision.stateIfNotEnrolled,
    decidedBy: decision.decidedBy,
    ...(decision.priorityRule ? { priorityRuleId: decision.priorityRule.ruleId } : {}),
    rules: rules.map((rule) => {
      const result = resultOf.get(rule.ruleId)!
      return {
        ruleId: rule.ruleId,
        name: rule.name,
        priority: rule.priority,
        outcome: rule.outcome,
        isActive: rule.isActive,
        matched: result.matched,
        ...(result.error !== undefined ? { error: result.error } : {}),
        inputs: inputsOf(rule, context),
      }
    }),
    ...(draft ? { draft: draftResult(draft, context, lists) } : {}),
    context,
  }
}

function draftResult(draft: CompiledCondition, context: ContextJson, lists: ReadonlyMap<string, readonly (string | number)[]>) {
  const result = draft.evaluate(context, lists)
  const asRule = { compiled: draft } as LoadedRule
  return { matched: result.matched, ...(result.error !== undefined ? { error: result.error } : {}), inputs: inputsOf(asRule, context) }
}

/**
 * The context to evaluate: the one given, or a past action's. A past action's context is
 * rebuilt from the history before it; where its rules then read a signal, the value recorded
 * at the time stands (user attributes and the location database change afterwards).
 */
async function dryRunContext(deps: Deps, tenant: TenantContext, request: DryRunRequest, listAliases: string[]): Promise<ContextJson> {
  if (request.context !== undefined) return complete(request.context)
  const action = await findRecordedAction(deps.db, tenant.tenantId, request.userId!, request.idempotencyKey!)
  if (!action) throw new ApiError('not_found', 'No such action')
  const { context } = await buildContext(
    deps.db,
    deps.ipLocations,
    tenant.tenantId,
    {
      userId: action.userId,
      actionCode: action.actionCode,
      idempotencyKey: action.idempotencyKey,
      at: new Date(action.createdAt),
      ipAddress: action.ipAddress,
      userAgent: action.userAgent,
      deviceId: action.deviceId,
      custom: action.custom,
      transaction: action.transaction,
    },
    EVERY_SIGNAL,
    listAliases,
  )
  if (!action.ruleContext) return context
  const recorded = complete(action.ruleContext)
  const readThen = new Set<Signal>(['request', ...((action.output?.signals ?? []) as Signal[])])
  return overlay(context, recorded, readThen)
}

/** `rebuilt`, with the values of the signals in `signals` taken from `recorded`. */
function overlay(rebuilt: ContextJson, recorded: ContextJson, signals: ReadonlySet<Signal>): ContextJson {
  const merged: ContextJson = { ...rebuilt, now: recorded.now }
  for (const [object, fields] of Object.entries(CONTEXT_OBJECTS)) {
    const out = { ...(rebuilt[object] as Record<string, unknown>) }
    for (const [field, decl] of Object.entries(fields)) {
      if (signals.has(decl.signal)) out[field] = (recorded[object] as Record<string, unknown>)[field]
    }
    merged[object] = out
  }
  return merged
}

function complete(partial: Record<string, unknown>): ContextJson {
  const result = completeContext(partial)
  if ('problems' in result) throw new ApiError('invalid_request', `Invalid context: ${result.problems.slice(0, 5).join('; ')}`)
  return result.context
}
