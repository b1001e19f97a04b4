// The rest of what operators manage: the tenant's settings, API keys, users and their
// authenticators, webhooks, and the action log. Changes are audited (audit.ts).
import type {
  ActionLogEntry,
  ActionLogQuery,
  ActionState,
  CreateApiKeyRequest,
  CreateWebhookRequest,
  CreatedApiKey,
  ManagedTenant,
  ManagedUser,
  StatsBucket,
  StatsQuery,
  StatsResponse,
  UpdateTenantRequest,
  UpdateWebhookRequest,
  UsersQuery,
} from '@countersign/protocol'
import { issueApiKey } from '../crypto/secrets.ts'
import * as actionsRepo from '../storage/actions-repo.ts'
import { clearPushBlock } from '../storage/challenges-repo.ts'
import * as credentialsRepo from '../storage/credentials-repo.ts'
import * as tenantsRepo from '../storage/tenants-repo.ts'
import * as usersRepo from '../storage/users-repo.ts'
import * as webhooksRepo from '../storage/webhooks-repo.ts'
import { iso, optional } from './actions.ts'
import { audited, type Actor } from './audit.ts'
import { now, type Deps } from './deps.ts'
import { ApiError } from './errors.ts'
import { wakeWebhooks } from './out-of-band.ts'
import { decodeCursor, encodeCursor, pageOf, type Page } from './paging.ts'
import { isUuid, readTenantSettings, updateTenantSettings, type TenantContext } from './tenants.ts'
import { authenticatorResponse } from './users.ts'
import { createWebhookEndpoint, updateWebhookEndpoint, type UrlPolicy } from './webhooks.ts'

// ── Tenant ───────────────────────────────────────────────────────────────────────────────

export async function getTenant(deps: Deps, tenant: TenantContext): Promise<ManagedTenant> {
  const row = await tenantsRepo.findTenant(deps.db, tenant.tenantId)
  if (!row) throw new ApiError('not_found', 'No such tenant')
  return tenantView(row)
}

/**
 * Changes the tenant's name or settings. The Management API sends UpdateTenantRequest; the
 * command line may set any TenantSettings field, each checked here.
 */
export async function updateTenant(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  change: UpdateTenantRequest | ({ name?: string } & Record<string, unknown>),
): Promise<ManagedTenant> {
  const { name, ...settings } = change
  const row = await audited(deps, tenant.tenantId, actor, async (tx) => {
    const before = await tenantsRepo.findTenant(tx, tenant.tenantId)
    if (!before) throw new ApiError('not_found', 'No such tenant')
    if (name !== undefined) await tenantsRepo.renameTenant(tx, tenant.tenantId, name)
    if (Object.keys(settings).length > 0) await updateTenantSettings(tx, tenant.tenantId, settings)
    const after = (await tenantsRepo.findTenant(tx, tenant.tenantId))!
    return {
      result: after,
      entry: { event: 'tenant.updated', target: tenant.tenantId, before: tenantView(before), after: tenantView(after) },
    }
  })
  deps.tenants.forget(tenant.tenantId)
  return tenantView(row)
}

function tenantView(row: tenantsRepo.TenantRow): ManagedTenant {
  const s = readTenantSettings(row.settings)
  return {
    tenantId: row.tenantId,
    name: row.name,
    createdAt: iso(row.createdAt),
    tokenTtlSeconds: s.tokenTtlSeconds,
    challengeTtlSeconds: s.challengeTtlSeconds,
    pushChallengeTtlSeconds: s.pushChallengeTtlSeconds,
    qrChallengeTtlSeconds: s.qrChallengeTtlSeconds,
    pushMaxPending: s.pushMaxPending,
    pushMaxPerHour: s.pushMaxPerHour,
    defaultOutcome: s.defaultOutcome,
    verificationMethods: s.verificationMethods,
    requireSignedDecision: s.requireSignedDecision,
    numberMatching: s.numberMatching,
    allowedOrigins: s.allowedOrigins,
  }
}

// ── API keys ─────────────────────────────────────────────────────────────────────────────

export async function listApiKeys(deps: Deps, tenant: TenantContext) {
  const rows = await tenantsRepo.listKeys(deps.db, tenant.tenantId)
  return rows.map((row) => ({
    keyId: row.keyId,
    type: row.type,
    ...optional('name', row.name),
    createdAt: iso(row.createdAt),
    ...(row.revokedAt ? { revokedAt: iso(row.revokedAt) } : {}),
  }))
}

/**
 * Issues a key; the response is the only place the key appears (it is stored hashed).
 * Used by the Management API and the command line (actor `cli`).
 */
export async function createApiKey(deps: Deps, tenantId: string, actor: Actor, request: CreateApiKeyRequest): Promise<CreatedApiKey> {
  const key = issueApiKey(tenantId, request.type)
  await audited(deps, tenantId, actor, async (tx) => {
    if (!(await tenantsRepo.findTenant(tx, tenantId))) throw new ApiError('not_found', 'No such tenant')
    await tenantsRepo.insertKey(tx, tenantId, { keyId: key.keyId, type: request.type, secretHash: key.hash, name: request.name ?? null })
    return {
      result: undefined,
      entry: { event: 'api_key.created', target: key.keyId, after: { keyId: key.keyId, type: request.type, name: request.name ?? null } },
    }
  })
  return { keyId: key.keyId, type: request.type, ...optional('name', request.name), key: key.value }
}

/**
 * Revokes a key: refused on every node at once (the revocation is announced) and within a
 * second at the latest. The last active management key cannot be revoked, so the tenant is
 * never left without one: create its successor first.
 */
export async function revokeApiKey(deps: Deps, tenantId: string, actor: Actor, keyId: string): Promise<void> {
  await audited(deps, tenantId, actor, async (tx) => {
    const active = (await tenantsRepo.listKeys(tx, tenantId, true)).filter((key) => key.revokedAt === null)
    const key = active.find((k) => k.keyId === keyId)
    if (!key) throw new ApiError('not_found', 'No such active key')
    if (key.type === 'management' && active.filter((k) => k.type === 'management').length === 1) {
      throw new ApiError('conflict', 'This is the last management key; create another before revoking it')
    }
    if (!(await tenantsRepo.revokeKey(tx, tenantId, keyId, now(deps)))) throw new ApiError('not_found', 'No such active key')
    return { result: undefined, entry: { event: 'api_key.revoked', target: keyId } }
  })
  deps.tenants.forgetKey(tenantId, keyId)
}

// ── Users and authenticators ─────────────────────────────────────────────────────────────

export async function searchUsers(deps: Deps, tenant: TenantContext, query: UsersQuery) {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor).id
  const rows = await usersRepo.searchUsers(deps.db, tenant.tenantId, query.query, after, query.limit + 1)
  return pageOf(
    rows,
    query.limit,
    (row) => ({
      userId: row.userId,
      ...optional('email', row.email),
      ...optional('username', row.username),
      ...optional('phoneNumber', row.phoneNumber),
      ...optional('displayName', row.displayName),
      createdAt: iso(row.createdAt),
      authenticatorCount: row.authenticatorCount,
    }),
    (row) => encodeCursor(new Date(row.createdAt), row.userId),
  )
}

const RECENT_ACTIONS = 20

export async function getManagedUser(deps: Deps, tenant: TenantContext, userId: string): Promise<ManagedUser> {
  const [user, credentials, actions, pushBlocked] = await Promise.all([
    usersRepo.findUser(deps.db, tenant.tenantId, userId),
    credentialsRepo.listCredentials(deps.db, tenant.tenantId, userId),
    actionsRepo.queryActionLog(deps.db, tenant.tenantId, { userId, limit: RECENT_ACTIONS }),
    usersRepo.isPushBlocked(deps.db, tenant.tenantId, userId),
  ])
  if (!user) throw new ApiError('not_found', 'No such user')
  const at = deps.clock()
  return {
    userId: user.userId,
    ...optional('email', user.email),
    ...optional('username', user.username),
    ...optional('phoneNumber', user.phoneNumber),
    ...optional('displayName', user.displayName),
    ...optional('custom', user.custom),
    createdAt: iso(user.createdAt),
    authenticatorCount: credentials.length,
    pushBlocked,
    authenticators: credentials.map((row) => authenticatorResponse(row, at)),
    recentActions: actions.map(actionLogEntry),
  }
}

export async function deleteManagedUser(deps: Deps, tenant: TenantContext, actor: Actor, userId: string): Promise<void> {
  await audited(deps, tenant.tenantId, actor, async (tx) => {
    if (!(await usersRepo.deleteUser(tx, tenant.tenantId, userId, now(deps)))) throw new ApiError('not_found', 'No such user')
    return { result: undefined, entry: { event: 'user.deleted', target: userId } }
  })
  wakeWebhooks(deps, tenant)
}

export async function revokeAuthenticator(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  userId: string,
  credentialId: string,
): Promise<void> {
  await audited(deps, tenant.tenantId, actor, async (tx) => {
    const deleted = isUuid(credentialId) && (await credentialsRepo.deleteCredential(tx, tenant.tenantId, userId, credentialId, now(deps)))
    if (!deleted) throw new ApiError('not_found', 'No such authenticator')
    return { result: undefined, entry: { event: 'authenticator.revoked', target: `${userId}/${credentialId}` } }
  })
  wakeWebhooks(deps, tenant)
}

export async function unlockAuthenticator(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  userId: string,
  credentialId: string,
): Promise<void> {
  await audited(deps, tenant.tenantId, actor, async (tx) => {
    const unlocked = isUuid(credentialId) && (await credentialsRepo.unlockCredential(tx, tenant.tenantId, userId, credentialId))
    if (!unlocked) throw new ApiError('not_found', 'No such authenticator')
    return { result: undefined, entry: { event: 'authenticator.unlocked', target: `${userId}/${credentialId}` } }
  })
}

/** Lets push requests reach the user again after they reported one as not theirs. */
export async function clearUserPushBlock(deps: Deps, tenant: TenantContext, actor: Actor, userId: string): Promise<{ cleared: boolean }> {
  return audited(deps, tenant.tenantId, actor, async (tx) => {
    const cleared = await clearPushBlock(tx, tenant.tenantId, userId)
    if (!cleared && !(await usersRepo.findUser(tx, tenant.tenantId, userId))) throw new ApiError('not_found', 'No such user')
    return { result: { cleared }, entry: cleared ? { event: 'user.push_block_cleared', target: userId } : null }
  })
}

// ── Action log ───────────────────────────────────────────────────────────────────────────

export async function queryActionLog(deps: Deps, tenant: TenantContext, query: ActionLogQuery): Promise<Page<ActionLogEntry>> {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
  const rows = await actionsRepo.queryActionLog(deps.db, tenant.tenantId, {
    userId: query.userId,
    actionCode: query.actionCode,
    state: query.state,
    ruleId: query.ruleId,
    idempotencyKey: query.idempotencyKey,
    from: query.from === undefined ? undefined : new Date(query.from),
    to: query.to === undefined ? undefined : new Date(query.to),
    after: after ? { createdAt: after.at, idempotencyKey: after.id } : undefined,
    limit: query.limit + 1,
  })
  return pageOf(rows, query.limit, actionLogEntry, (row) => encodeCursor(new Date(row.createdAt), row.idempotencyKey))
}

function actionLogEntry(row: actionsRepo.ActionLogRow): ActionLogEntry {
  return {
    userId: row.userId,
    actionCode: row.actionCode,
    idempotencyKey: row.idempotencyKey,
    state: row.state,
    createdAt: iso(row.createdAt),
    stateUpdatedAt: iso(row.stateUpdatedAt),
    ...optional('verificationMethod', row.verificationMethod),
    ...optional('ipAddress', row.ipAddress),
    ruleIds: row.ruleIds,
    ...optional('priorityRuleId', row.priorityRuleId),
    rules: row.rules,
    ...(row.output !== null && row.output !== undefined ? { output: row.output } : {}),
    ...optional('context', row.ruleContext),
    stateHistory: row.stateHistory.map((entry) => ({
      state: entry.state,
      at: iso(entry.at),
      ...optional('verificationMethod', entry.verificationMethod),
    })),
  }
}

// ── Webhooks ─────────────────────────────────────────────────────────────────────────────

export async function listWebhooks(deps: Deps, tenant: TenantContext) {
  return (await webhooksRepo.listEndpoints(deps.db, tenant.tenantId)).map(webhookView)
}

export async function getWebhook(deps: Deps, tenant: TenantContext, webhookId: string) {
  const row = await webhooksRepo.findEndpoint(deps.db, tenant.tenantId, webhookId)
  if (!row) throw new ApiError('not_found', 'No such webhook endpoint')
  return webhookView(row)
}

/** What the Management API's callers may not choose and the command line's operator may. */
export interface OperatorPolicy extends UrlPolicy {
  /** Bring your own signing secret (the CLI's --secret). */
  secret?: string | undefined
}

const apiPolicy = (deps: Deps): OperatorPolicy => ({ allowPrivateUrls: deps.config.ALLOW_PRIVATE_WEBHOOK_URLS })

/** Adds an endpoint; the signing secret is in this response only. */
export async function createWebhook(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  request: CreateWebhookRequest,
  policy = apiPolicy(deps),
) {
  const created = await audited(deps, tenant.tenantId, actor, async (tx) => {
    const endpoint = { ...request, secret: policy.secret }
    const row = await createWebhookEndpoint(tx, tenant.tenantId, endpoint, deps.config.COUNTERSIGN_ENCRYPTION_KEY, now(deps), policy)
    return { result: row, entry: { event: 'webhook.created', target: row.webhookId, after: webhookView(row) } }
  })
  deps.tenants.forget(tenant.tenantId)
  return { ...webhookView(created), secret: created.secret }
}

export async function updateWebhook(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  webhookId: string,
  change: UpdateWebhookRequest,
  policy = apiPolicy(deps),
) {
  const row = await audited(deps, tenant.tenantId, actor, async (tx) => {
    const before = await webhooksRepo.findEndpoint(tx, tenant.tenantId, webhookId)
    if (!before) throw new ApiError('not_found', 'No such webhook endpoint')
    const after = await updateWebhookEndpoint(tx, tenant.tenantId, webhookId, change, now(deps), policy)
    return { result: after, entry: { event: 'webhook.updated', target: webhookId, before: webhookView(before), after: webhookView(after) } }
  })
  deps.tenants.forget(tenant.tenantId)
  return webhookView(row)
}

export async function deleteWebhook(deps: Deps, tenant: TenantContext, actor: Actor, webhookId: string): Promise<void> {
  await audited(deps, tenant.tenantId, actor, async (tx) => {
    const before = await webhooksRepo.findEndpoint(tx, tenant.tenantId, webhookId)
    if (!before || !(await webhooksRepo.deleteEndpoint(tx, tenant.tenantId, webhookId)))
      throw new ApiError('not_found', 'No such webhook endpoint')
    return { result: undefined, entry: { event: 'webhook.deleted', target: webhookId, before: webhookView(before) } }
  })
  deps.tenants.forget(tenant.tenantId)
}

const DELIVERY_LOG_LIMIT = 100

export async function listWebhookDeliveries(deps: Deps, tenant: TenantContext, webhookId: string) {
  if (!(await webhooksRepo.findEndpoint(deps.db, tenant.tenantId, webhookId))) throw new ApiError('not_found', 'No such webhook endpoint')
  const rows = await webhooksRepo.listDeliveries(deps.db, tenant.tenantId, webhookId, DELIVERY_LOG_LIMIT)
  return rows.map((row) => ({
    eventId: row.eventId,
    type: row.type,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: iso(row.nextAttemptAt),
    ...(row.lastAttemptAt ? { lastAttemptAt: iso(row.lastAttemptAt) } : {}),
    ...optional('lastStatus', row.lastStatus),
    ...optional('lastError', row.lastError),
    ...(row.deliveredAt ? { deliveredAt: iso(row.deliveredAt) } : {}),
    createdAt: iso(row.createdAt),
  }))
}

/** Puts a delivery back in the queue, due now. */
export async function retryWebhookDelivery(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  webhookId: string,
  eventId: string,
): Promise<void> {
  await audited(deps, tenant.tenantId, actor, async (tx) => {
    if (!(await webhooksRepo.requeueDelivery(tx, tenant.tenantId, webhookId, eventId, now(deps))))
      throw new ApiError('not_found', 'No such delivery')
    return { result: undefined, entry: { event: 'webhook.delivery_retried', target: `${webhookId}/${eventId}` } }
  })
  wakeWebhooks(deps, tenant)
}

function webhookView(row: webhooksRepo.WebhookEndpointRow) {
  return {
    webhookId: row.webhookId,
    url: row.url,
    events: row.events,
    enabled: row.enabled,
    ...optional('description', row.description),
    createdAt: iso(row.createdAt),
  }
}

// ── Overview ─────────────────────────────────────────────────────────────────────────────

/** Which outcome track gave, read from the state the action is in now. */
const OUTCOME_OF: Record<ActionState, keyof StatsBucket['outcomes']> = {
  ALLOW: 'ALLOW',
  BLOCK: 'BLOCK',
  CHALLENGE_REQUIRED: 'CHALLENGE',
  CHALLENGE_SUCCEEDED: 'CHALLENGE',
  CHALLENGE_FAILED: 'CHALLENGE',
  REVIEW_REQUIRED: 'REVIEW',
  REVIEW_SUCCEEDED: 'REVIEW',
  REVIEW_FAILED: 'REVIEW',
}

/**
 * Actions per outcome and how challenges ended, per hour or day (UTC) over the last `days`,
 * every bucket present (zeros included) so a chart needs no gap handling.
 */
export async function actionStats(deps: Deps, tenant: TenantContext, query: StatsQuery): Promise<StatsResponse> {
  const step = query.interval === 'hour' ? 3_600_000 : 86_400_000
  const end = deps.clock()
  const first = Math.floor((end - query.days * 86_400_000) / step) * step + step
  const buckets = new Map<number, StatsBucket>()
  for (let start = first; start <= end; start += step) {
    buckets.set(start, {
      start: new Date(start).toISOString(),
      outcomes: { ALLOW: 0, CHALLENGE: 0, REVIEW: 0, BLOCK: 0 },
      challenges: { succeeded: 0, failed: 0, open: 0 },
    })
  }
  for (const row of await actionsRepo.actionStats(deps.db, tenant.tenantId, new Date(first), query.interval)) {
    const bucket = buckets.get(new Date(row.start).getTime())
    if (!bucket) continue
    bucket.outcomes[OUTCOME_OF[row.state]] += row.count
    if (row.state === 'CHALLENGE_SUCCEEDED') bucket.challenges.succeeded += row.count
    if (row.state === 'CHALLENGE_FAILED') bucket.challenges.failed += row.count
    if (row.state === 'CHALLENGE_REQUIRED') bucket.challenges.open += row.count
  }
  return { interval: query.interval, buckets: [...buckets.values()] }
}
