import { randomUUID } from 'node:crypto'
import {
  Scope,
  type ChallengeMethod,
  verificationMethodOf,
  type ActionResponse,
  type ActionState,
  type CredentialNamespace,
  type QueryUserActionsQuery,
  type QueryUserActionsResponse,
  type TrackRequest,
  type TrackResponse,
  type ValidateRequest,
  type ValidateResponse,
  type VerificationMethod,
} from '@countersign/protocol'
import { claimedTenantOf } from '../crypto/tokens.ts'
import * as repo from '../storage/actions-repo.ts'
import { now, type Deps } from './deps.ts'
import { ApiError } from './errors.ts'
import { wakeWebhooks } from './out-of-band.ts'
import { createPush } from './push.ts'
import { decide, needsOf } from './rules/engine.ts'
import { buildContext, type ActionFacts } from './rules/signals.ts'
import type { EffectiveActionSettings, TenantContext } from './tenants.ts'

export const DEFAULT_SCOPE = 'read:authenticators'
const QUERY_WINDOW_DAYS = 30
const QUERY_LIMIT = 1000

/**
 * Tracks an action and decides its outcome: the action code's active rules when it has any
 * (docs/rules.md), its default outcome otherwise. Re-tracking an idempotency key returns that
 * action. An action without rules costs one statement; with rules, one more reads the history
 * signals its rules use.
 * @example await track(deps, tenant, 'user-1', 'authorizePayment', { custom: { amount: 120 } })
 */
export async function track(
  deps: Deps,
  tenant: TenantContext,
  userId: string,
  actionCode: string,
  request: TrackRequest,
): Promise<TrackResponse> {
  const scope = parseScope(request.scope)
  const idempotencyKey = request.idempotencyKey ?? randomUUID()
  const at = now(deps)
  const config = tenant.actionSettings(actionCode)
  const facts = {
    userId,
    actionCode,
    idempotencyKey,
    at,
    ipAddress: request.ipAddress ?? null,
    userAgent: request.userAgent ?? null,
    deviceId: request.deviceId ?? null,
    custom: request.custom ?? null,
    transaction: request.transaction ?? null,
  }
  const decision = await decideByRules(deps, tenant.tenantId, config, facts)
  const input: repo.NewAction = {
    ...facts,
    stateIfEnrolled: decision.stateIfEnrolled,
    stateIfNotEnrolled: decision.stateIfNotEnrolled,
    rules: decision.recorded,
    createConfiguration: !config.configured,
    scope,
    redirectUrl: request.redirectUrl ?? null,
    locale: request.locale ?? null,
    email: request.email ?? null,
    phoneNumber: request.phoneNumber ?? null,
    username: request.username ?? null,
  }
  // A concurrent track with the same new key may commit between our snapshot and insert;
  // the second attempt then sees its row.
  const tracked = (await repo.trackAction(deps.db, tenant.tenantId, input, at)) ?? (await repo.trackAction(deps.db, tenant.tenantId, input, at))
  if (!tracked) throw new ApiError('conflict', 'The idempotency key is being used by a concurrent request')
  if (tracked.created) wakeWebhooks(deps, tenant)
  if (!config.configured) deps.tenants.forget(tenant.tenantId)
  if (!tracked.created && (tracked.userId !== userId || tracked.actionCode !== actionCode)) {
    throw new ApiError('conflict', 'This idempotency key already names another action', { idempotencyKey })
  }

  // The token carries a narrowing rule's methods, so each challenge of the action is held to them.
  const methodsOfAction = tracked.created ? decision.verificationMethods : storedMethods(tracked.output, config.verificationMethods)
  const narrowedTo = methodsOfAction.length < config.verificationMethods.length ? methodsOfAction : undefined
  const { token } = tenant.tokens.sign(
    {
      userId,
      username: tracked.username ?? undefined,
      actionCode,
      idempotencyKey,
      scope: tracked.scope,
      methods: narrowedTo,
    },
    deps.clock(),
    config.tokenTtlSeconds,
  )
  const enrolled = methodsOf(tracked.enrolledNamespaces)
  return {
    idempotencyKey,
    state: tracked.state,
    url: `${deps.config.COUNTERSIGN_PUBLIC_URL}/challenge?token=${encodeURIComponent(token)}`,
    token,
    isEnrolled: enrolled.length > 0,
    enrolledVerificationMethods: enrolled,
    allowedVerificationMethods: allowedMethods(enrolled).filter((m) => (methodsOfAction as VerificationMethod[]).includes(m)),
    ...(enrolled[0] ? { defaultVerificationMethod: enrolled[0] } : {}),
    ruleIds: tracked.ruleIds,
    ...(request.challengeMethod === 'PUSH' && tracked.created && tracked.state === 'CHALLENGE_REQUIRED'
      ? await pushFromTrack(deps, tenant, { userId, actionCode, idempotencyKey, narrowedTo }, request)
      : {}),
  }
}

/** The methods recorded with an action its rules decided (a re-tracked one); the action's otherwise. */
function storedMethods(output: unknown, configured: ChallengeMethod[]): ChallengeMethod[] {
  const stored = (output as { verificationMethods?: unknown } | null)?.verificationMethods
  return Array.isArray(stored) ? configured.filter((m) => stored.includes(m)) : configured
}

interface RuleDecision {
  stateIfEnrolled: ActionState
  stateIfNotEnrolled: ActionState
  verificationMethods: ChallengeMethod[]
  /** What is stored with the action; null when no rule ran. */
  recorded: repo.RecordedRules | null
}

/** The outcome of an action about to be tracked: its rules' when it has any, the default otherwise. */
async function decideByRules(deps: Deps, tenantId: string, config: EffectiveActionSettings, facts: ActionFacts): Promise<RuleDecision> {
  if (config.rules.length === 0) {
    const { stateIfEnrolled, stateIfNotEnrolled, verificationMethods } = decide([], config, {}, new Map())
    return { stateIfEnrolled, stateIfNotEnrolled, verificationMethods, recorded: null }
  }
  const needs = needsOf(config.rules)
  const { context, lists } = await buildContext(deps.db, deps.ipLocations, tenantId, facts, needs.signals, needs.lists)
  const decision = decide(config.rules, config, context, lists)
  const matched = decision.results.filter((r) => r.matched).map((r) => r.rule)
  return {
    stateIfEnrolled: decision.stateIfEnrolled,
    stateIfNotEnrolled: decision.stateIfNotEnrolled,
    verificationMethods: decision.verificationMethods,
    recorded: {
      ruleIds: matched.map((r) => r.ruleId),
      priorityRuleId: decision.priorityRule?.ruleId ?? null,
      rules: matched.map((r) => ({ ruleId: r.ruleId, name: r.name, ...(r.description ? { description: r.description } : {}) })),
      output: {
        outcome: decision.outcome,
        decidedBy: decision.decidedBy,
        verificationMethods: decision.verificationMethods,
        // Which parts of the context were read from history: a later dry run fills in the rest.
        signals: [...needs.signals].sort(),
        ...(decision.results.some((r) => r.error)
          ? { errors: decision.results.filter((r) => r.error).map((r) => ({ ruleId: r.rule.ruleId, error: r.error })) }
          : {}),
      },
      context,
    },
  }
}

/**
 * [ext] The backend asked track to start a push challenge: the outcome is CHALLENGE_REQUIRED,
 * so the user's push devices are asked now. A refusal (no push device, limits, a push block)
 * does not fail the track: the action stands, and the response says why no push went out.
 */
async function pushFromTrack(
  deps: Deps,
  tenant: TenantContext,
  action: { userId: string; actionCode: string; idempotencyKey: string; narrowedTo: readonly ChallengeMethod[] | undefined },
  request: TrackRequest,
): Promise<Pick<TrackResponse, 'pushChallenge' | 'pushChallengeRefused'>> {
  try {
    const pushChallenge = await createPush(deps, tenant, {
      ...action,
      targetCredentialId: request.pushUserAuthenticatorId ?? null,
      origin: { ipAddress: request.ipAddress ?? null, userAgent: request.userAgent ?? null, deviceId: request.deviceId ?? null },
    })
    return { pushChallenge }
  } catch (error) {
    if (error instanceof ApiError && error.status < 500) return { pushChallengeRefused: error.code }
    throw error
  }
}

export async function getAction(
  deps: Deps,
  tenant: TenantContext,
  key: { userId: string; actionCode: string; idempotencyKey: string },
): Promise<ActionResponse> {
  const row = await repo.findAction(deps.db, tenant.tenantId, key)
  if (!row) throw new ApiError('not_found', 'No such action')
  return actionResponse(row)
}

export async function updateAction(
  deps: Deps,
  tenant: TenantContext,
  key: { userId: string; actionCode: string; idempotencyKey: string },
  state: ActionState,
): Promise<ActionResponse> {
  const row = await repo.setActionState(deps.db, tenant.tenantId, key, state, now(deps))
  if (!row) throw new ApiError('not_found', 'No such action')
  wakeWebhooks(deps, tenant)
  return actionResponse(row)
}

/** The user's actions in the last 30 days at most, newest first. */
export async function queryUserActions(
  deps: Deps,
  tenant: TenantContext,
  userId: string,
  query: QueryUserActionsQuery,
): Promise<QueryUserActionsResponse> {
  const earliest = deps.clock() - QUERY_WINDOW_DAYS * 86_400_000
  const requested = query.fromDate ? Date.parse(query.fromDate) : earliest
  const codes = query.codes
    ?.split(',')
    .map((code) => code.trim())
    .filter(Boolean)
  const rows = await repo.queryUserActions(deps.db, tenant.tenantId, userId, {
    codes,
    from: new Date(Math.max(requested, earliest)),
    state: query.state,
    limit: QUERY_LIMIT,
  })
  return rows.map((row) => ({
    actionCode: row.actionCode,
    idempotencyKey: row.idempotencyKey,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    state: row.state,
    stateUpdatedAt: iso(row.stateUpdatedAt),
    ...optional('verificationMethod', row.verificationMethod),
    ...optional('verifiedByAuthenticatorId', row.verifiedByCredentialId),
    ...optional('ipAddress', row.ipAddress),
    ...optional('userAgent', row.userAgent),
  }))
}

/**
 * Validates a token the app brought back, once. Every refusal is `isValid: false` with an
 * `error` code; a token of another tenant is simply invalid here (nothing about the other
 * tenant is revealed). Only CHALLENGE_SUCCEEDED is valid.
 */
export async function validate(deps: Deps, tenant: TenantContext, request: ValidateRequest): Promise<ValidateResponse> {
  if (claimedTenantOf(request.token) !== tenant.tenantId) return { isValid: false, error: 'invalid_token' }
  const checked = tenant.tokens.verify(request.token, deps.clock())
  if (!checked.ok) return { isValid: false, error: checked.reason }
  const { claims } = checked
  if (request.userId !== undefined && request.userId !== claims.sub) return { isValid: false, error: 'user_mismatch' }
  if (request.action !== undefined && request.action !== claims.other.actionCode) {
    return { isValid: false, error: 'action_mismatch' }
  }
  const { firstUse, action } = await repo.consumeTokenAndReadAction(deps.db, tenant.tenantId, {
    jti: claims.jti,
    expiresAt: new Date(claims.exp * 1000),
    idempotencyKey: claims.other.idempotencyKey,
  })
  if (!firstUse) return { isValid: false, error: 'token_already_used' }
  if (!action || action.userId !== claims.sub || action.actionCode !== claims.other.actionCode) {
    return { isValid: false, error: 'action_not_found' }
  }
  return {
    isValid: action.state === 'CHALLENGE_SUCCEEDED',
    state: action.state,
    stateUpdatedAt: iso(action.stateUpdatedAt),
    userId: action.userId,
    action: action.actionCode,
    actionCode: action.actionCode,
    idempotencyKey: action.idempotencyKey,
    ...optional('verificationMethod', action.verificationMethod),
  }
}

export function actionResponse(row: repo.ActionRow): ActionResponse {
  return {
    userId: row.userId,
    actionCode: row.actionCode,
    idempotencyKey: row.idempotencyKey,
    state: row.state,
    stateUpdatedAt: iso(row.stateUpdatedAt),
    createdAt: iso(row.createdAt),
    ...optional('verificationMethod', row.verificationMethod),
    ...optional('verifiedByAuthenticatorId', row.verifiedByCredentialId),
    ruleIds: row.ruleIds,
    ...optional('priorityRuleId', row.priorityRuleId),
    rules: row.rules,
    ...(row.output !== null && row.output !== undefined ? { output: row.output } : {}),
    ...(row.transaction ? { transaction: row.transaction } : {}),
  }
}

function parseScope(scope: string | undefined): string {
  if (scope === undefined || scope.trim() === '') return DEFAULT_SCOPE
  const scopes = [...new Set(scope.split(' ').filter(Boolean))]
  for (const s of scopes) {
    if (!Scope.safeParse(s).success) throw new ApiError('invalid_request', `Unknown scope in scope: ${JSON.stringify(s).slice(0, 40)}`)
  }
  return scopes.join(' ')
}

export function methodsOf(namespaces: readonly CredentialNamespace[]): VerificationMethod[] {
  return [...new Set(namespaces.map((n) => verificationMethodOf[n]))]
}

/** Methods a challenge can use now: in-app always (enrollment is offered), plus what the user has. */
export function allowedMethods(enrolled: VerificationMethod[]): VerificationMethod[] {
  return [...new Set<VerificationMethod>(['IN_APP', ...enrolled])]
}

export function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString()
}

/** `{ [key]: value }` when value is present; omitted otherwise (wire bodies carry no nulls). */
export function optional<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}
