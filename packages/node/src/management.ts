// The Management API client: what an operator's scripts (or a console) do with the tenant's
// management key, under /v1/management. Requests and answers are the protocol's types; the
// request machinery (auth, retries, error mapping) is the one `Countersign` uses.
import type {
  ActionConfiguration,
  ActionLogEntry,
  ActionLogPage,
  ActionLogQuery,
  ApiKeySummary,
  AuditEntry,
  AuditPage,
  AuditQuery,
  ClearPushBlockResponse,
  CreateActionConfigurationRequest,
  CreateApiKeyRequest,
  CreatedApiKey,
  CreateOperatorRequest,
  CreatedWebhook,
  CreateRuleRequest,
  CreateValueListRequest,
  CreateWebhookRequest,
  DryRunRequest,
  DryRunResponse,
  ManagedTenant,
  ManagedUser,
  ManagedUserSummary,
  Operator,
  Rule,
  StatsQuery,
  StatsResponse,
  UpdateActionConfigurationRequest,
  UpdateRuleRequest,
  UpdateTenantRequest,
  UpdateValueListRequest,
  UpdateWebhookRequest,
  UserPage,
  UsersQuery,
  ValueList,
  ValueListSummary,
  WebhookDelivery,
  WebhookEndpoint,
} from '@countersign/protocol'
import { CountersignError } from './errors.ts'
import { segment, Transport, type TransportOptions } from './transport.ts'

export type {
  ActionLogPage,
  ApiKeySummary,
  ApiKeyType,
  AuditPage,
  ClearPushBlockResponse,
  CreatedWebhook,
  ManagedUserSummary,
  Operator,
  StatsResponse,
  UserPage,
  ValueListSummary,
  WebhookDelivery,
  WebhookEndpoint,
} from '@countersign/protocol'

/** {@link ManagementUsers.search}: `query` matches a user ID prefix, email, username or phone number. */
export type SearchUsersParams = Partial<UsersQuery>

/** {@link ManagementActionLog.list}: filters, page size (1–200, default 50) and cursor. */
export type ActionLogFilter = Partial<Omit<ActionLogQuery, 'from' | 'to'>> & {
  /** Only actions created at or after this time (ISO 8601 with offset, or a `Date`). */
  from?: string | Date
  /** Only actions created before this time (ISO 8601 with offset, or a `Date`). */
  to?: string | Date
}

/** {@link ManagementStats.get}: how many days back (1–90, default 14), by `day` or `hour` (hour: 7 days at most). */
export type StatsParams = Partial<StatsQuery>

/** {@link ManagementAuditLog.list}: page size (1–200, default 50) and cursor. */
export type AuditLogParams = Partial<AuditQuery>

export interface CountersignManagementOptions extends TransportOptions {
  /**
   * The tenant's management key. Sent as the HTTP Basic username; never put in an error. A
   * secret key is refused by the server (`unauthorized`).
   */
  managementKey: string
}

const ROOT = '/management'

/**
 * Client for the Management API (`/v1/management`), authenticated with the tenant's management
 * key: the tenant's settings, API keys, action configurations and their rules, value lists,
 * webhook endpoints, users and their authenticators, and the action and audit logs. Methods
 * are grouped by resource; paged lists also have an async iterator (`all`) that follows
 * `nextCursor`.
 *
 * Every method rejects with a `CountersignError` on failure; a rule whose condition does not
 * compile rejects with `errorCode: 'invalid_rule_condition'` and the position in `details`.
 * Reads, changes (PATCH) and deletions are retried after a transient failure; creations are
 * not, since a repeat would create a second key, rule or endpoint.
 *
 * @example
 * const management = new CountersignManagement({
 *   managementKey: process.env.COUNTERSIGN_MANAGEMENT_KEY!,
 *   apiUrl: 'http://127.0.0.1:8080/v1',
 * })
 * await management.actionConfigurations.create({ actionCode: 'authorizePayment', defaultOutcome: 'CHALLENGE' })
 * await management.rules.create('authorizePayment', {
 *   name: 'Large payments need a challenge',
 *   outcome: 'CHALLENGE',
 *   condition: 'action.custom.amount > 1000',
 * })
 * for await (const entry of management.auditLog.all()) console.log(entry.at, entry.actor, entry.event)
 */
export class CountersignManagement {
  /** The tenant's name and settings. */
  readonly tenant: ManagementTenant
  /** Secret and management keys. */
  readonly apiKeys: ManagementApiKeys
  /** Per-action-code settings over the tenant's. */
  readonly actionConfigurations: ManagementActionConfigurations
  /** An action code's rules (CEL conditions) and the dry run. */
  readonly rules: ManagementRules
  /** Named lists of strings or numbers that rule conditions test against. */
  readonly valueLists: ManagementValueLists
  /** Webhook endpoints and their delivery logs. */
  readonly webhooks: ManagementWebhooks
  /** Users, their authenticators and push blocks. */
  readonly users: ManagementUsers
  /** The action log. */
  readonly actions: ManagementActionLog
  /** Who changed what. */
  readonly auditLog: ManagementAuditLog
  /** Who may sign in to the console. */
  readonly operators: ManagementOperators
  /** Actions per outcome and challenge results over time (the console's overview). */
  readonly stats: ManagementStats

  constructor(options: CountersignManagementOptions) {
    // The key lives only in the transport's private fields: logging the client does not show it.
    const transport = new Transport(options.managementKey, options, { client: 'CountersignManagement', keyOption: 'managementKey' })
    this.tenant = new ManagementTenant(transport)
    this.apiKeys = new ManagementApiKeys(transport)
    this.actionConfigurations = new ManagementActionConfigurations(transport)
    this.rules = new ManagementRules(transport)
    this.valueLists = new ManagementValueLists(transport)
    this.webhooks = new ManagementWebhooks(transport)
    this.users = new ManagementUsers(transport)
    this.actions = new ManagementActionLog(transport)
    this.auditLog = new ManagementAuditLog(transport)
    this.operators = new ManagementOperators(transport)
    this.stats = new ManagementStats(transport)
  }
}

/** `management.tenant`: `GET` and `PATCH /management/tenant`. */
export class ManagementTenant {
  readonly #transport: Transport
  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * The tenant and its settings.
   *
   * @example
   * const { name, defaultOutcome, allowedOrigins } = await management.tenant.get()
   */
  async get(): Promise<ManagedTenant> {
    return read(this.#transport, `${ROOT}/tenant`)
  }

  /**
   * Changes the tenant's name or settings; omitted fields are left unchanged.
   *
   * @example
   * await management.tenant.update({ allowedOrigins: ['https://bank.example'], numberMatching: true })
   */
  async update(change: UpdateTenantRequest): Promise<ManagedTenant> {
    return patch(this.#transport, `${ROOT}/tenant`, change)
  }
}

/** `management.apiKeys`: `/management/api-keys`. */
export class ManagementApiKeys {
  readonly #transport: Transport
  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * Every key of the tenant, revoked ones included (with `revokedAt`); never the keys themselves.
   *
   * @example
   * const active = (await management.apiKeys.list()).filter((k) => k.revokedAt === undefined)
   */
  async list(): Promise<ApiKeySummary[]> {
    return readItems<ApiKeySummary>(this.#transport, `${ROOT}/api-keys`)
  }

  /**
   * Issues a key. The answer's `key` is the only time it is shown: store it at once. Never
   * retried, since a repeat would issue a second key.
   *
   * @example
   * const { keyId, key } = await management.apiKeys.create({ type: 'secret', name: 'payments backend' })
   */
  async create(request: CreateApiKeyRequest): Promise<CreatedApiKey> {
    return create(this.#transport, `${ROOT}/api-keys`, request)
  }

  /**
   * Revokes a key; every server refuses it within a second. Revoking the management key this
   * client uses ends its access.
   *
   * @example
   * await management.apiKeys.revoke(keyId)
   */
  async revoke(keyId: string): Promise<void> {
    return remove(this.#transport, `${ROOT}/api-keys/${segment('keyId', keyId)}`)
  }
}

/** `management.actionConfigurations`: `/management/action-configurations`. */
export class ManagementActionConfigurations {
  readonly #transport: Transport
  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * Every configured action code, with its settings as they apply.
   *
   * @example
   * for (const { actionCode, ruleCount } of await management.actionConfigurations.list()) console.log(actionCode, ruleCount)
   */
  async list(): Promise<ActionConfiguration[]> {
    return readItems<ActionConfiguration>(this.#transport, `${ROOT}/action-configurations`)
  }

  /**
   * One action code's configuration: its own settings over the tenant's (`ownSettings` names
   * the fields it sets itself).
   *
   * @example
   * const { defaultOutcome, verificationMethods } = await management.actionConfigurations.get('authorizePayment')
   */
  async get(actionCode: string): Promise<ActionConfiguration> {
    return read(this.#transport, configurationPath(actionCode))
  }

  /**
   * Configures an action code; fields left out follow the tenant's settings. Rejects with
   * `conflict` when the code already has a configuration (a track creates one on first use).
   * Never retried.
   *
   * @example
   * await management.actionConfigurations.create({ actionCode: 'changeEmail', defaultOutcome: 'CHALLENGE' })
   */
  async create(request: CreateActionConfigurationRequest): Promise<ActionConfiguration> {
    return create(this.#transport, `${ROOT}/action-configurations`, request)
  }

  /**
   * Changes an action code's settings. A field set to `null` follows the tenant's setting again
   * (`verificationWebhookUrl: null` means no webhook).
   *
   * @example
   * await management.actionConfigurations.update('authorizePayment', { challengeTtlSeconds: 120, numberMatching: null })
   */
  async update(actionCode: string, change: UpdateActionConfigurationRequest): Promise<ActionConfiguration> {
    return patch(this.#transport, configurationPath(actionCode), change)
  }

  /**
   * Deletes an action code's configuration and its rules.
   *
   * @example
   * await management.actionConfigurations.delete('legacyLogin')
   */
  async delete(actionCode: string): Promise<void> {
    return remove(this.#transport, configurationPath(actionCode))
  }
}

/** `management.rules`: `/management/action-configurations/{actionCode}/rules`. */
export class ManagementRules {
  readonly #transport: Transport
  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * An action code's rules in evaluation order.
   *
   * @example
   * const rules = await management.rules.list('authorizePayment')
   */
  async list(actionCode: string): Promise<Rule[]> {
    return readItems<Rule>(this.#transport, rulesPath(actionCode))
  }

  /**
   * One rule.
   *
   * @example
   * const { condition, isActive } = await management.rules.get('authorizePayment', ruleId)
   */
  async get(actionCode: string, ruleId: string): Promise<Rule> {
    return read(this.#transport, rulePath(actionCode, ruleId))
  }

  /**
   * Adds a rule. A condition that does not compile rejects with `invalid_rule_condition` and
   * `details` (`message`, `position`, `line`, `column`). Never retried, since a repeat would
   * add the rule twice.
   *
   * @example
   * try {
   *   await management.rules.create('authorizePayment', { name: 'Big', outcome: 'CHALLENGE', condition: 'action.custom.amount > 1000' })
   * } catch (e) {
   *   if (isCountersignError(e) && e.errorCode === 'invalid_rule_condition') showAt(e.details?.line, e.details?.column)
   *   else throw e
   * }
   */
  async create(actionCode: string, request: CreateRuleRequest): Promise<Rule> {
    return create(this.#transport, rulesPath(actionCode), request)
  }

  /**
   * Changes a rule; omitted fields are left unchanged, `null` clears `description` or
   * `verificationMethods`. A new condition is checked as in {@link ManagementRules.create}.
   *
   * @example
   * await management.rules.update('authorizePayment', ruleId, { isActive: false })
   */
  async update(actionCode: string, ruleId: string, change: UpdateRuleRequest): Promise<Rule> {
    return patch(this.#transport, rulePath(actionCode, ruleId), change)
  }

  /**
   * Deletes a rule.
   *
   * @example
   * await management.rules.delete('authorizePayment', ruleId)
   */
  async delete(actionCode: string, ruleId: string): Promise<void> {
    return remove(this.#transport, rulePath(actionCode, ruleId))
  }

  /**
   * Evaluates the action code's rules (active and inactive) against a context, or a past
   * action's (`userId` and `idempotencyKey`), and, given a draft `condition`, that too. Records
   * nothing, so it is retried like a read.
   *
   * @example
   * const { outcome, rules, draft } = await management.rules.dryRun('authorizePayment', {
   *   context: { action: { custom: { amount: 5000 } } },
   *   condition: 'action.custom.amount > 1000',
   * })
   */
  async dryRun(actionCode: string, request: DryRunRequest): Promise<DryRunResponse> {
    return post(this.#transport, `${rulesPath(actionCode)}/dry-run`, request, true)
  }
}

/** `management.valueLists`: `/management/value-lists`. */
export class ManagementValueLists {
  readonly #transport: Transport
  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * Every value list, without its items (`itemCount` instead).
   *
   * @example
   * const lists = await management.valueLists.list()
   */
  async list(): Promise<ValueListSummary[]> {
    return readItems<ValueListSummary>(this.#transport, `${ROOT}/value-lists`)
  }

  /**
   * A value list with its items.
   *
   * @example
   * const { items } = await management.valueLists.get('blocked_payees')
   */
  async get(alias: string): Promise<ValueList> {
    return read(this.#transport, valueListPath(alias))
  }

  /**
   * Creates a value list; rules refer to it as `list('alias')`. Rejects with `conflict` when the
   * alias is taken. Never retried.
   *
   * @example
   * await management.valueLists.create({ alias: 'blocked_payees', name: 'Blocked payees', itemType: 'string', items: ['NZ01-2345'] })
   */
  async create(request: CreateValueListRequest): Promise<ValueList> {
    return create(this.#transport, `${ROOT}/value-lists`, request)
  }

  /**
   * Renames a value list or replaces its items (all of them: send the whole list).
   *
   * @example
   * await management.valueLists.update('blocked_payees', { items: [...items, 'NZ09-8765'] })
   */
  async update(alias: string, change: UpdateValueListRequest): Promise<ValueList> {
    return patch(this.#transport, valueListPath(alias), change)
  }

  /**
   * Deletes a value list. Rejects with `conflict` while an active rule names it.
   *
   * @example
   * await management.valueLists.delete('blocked_payees')
   */
  async delete(alias: string): Promise<void> {
    return remove(this.#transport, valueListPath(alias))
  }
}

/** `management.webhooks`: `/management/webhooks`. */
export class ManagementWebhooks {
  readonly #transport: Transport
  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * Every webhook endpoint.
   *
   * @example
   * const endpoints = await management.webhooks.list()
   */
  async list(): Promise<WebhookEndpoint[]> {
    return readItems<WebhookEndpoint>(this.#transport, `${ROOT}/webhooks`)
  }

  /**
   * One webhook endpoint (without its secret).
   *
   * @example
   * const { url, events, enabled } = await management.webhooks.get(webhookId)
   */
  async get(webhookId: string): Promise<WebhookEndpoint> {
    return read(this.#transport, webhookPath(webhookId))
  }

  /**
   * Adds an endpoint. The answer's `secret` is the only time the signing secret is shown.
   * Never retried, since a repeat would add a second endpoint.
   *
   * @example
   * const { webhookId, secret } = await management.webhooks.create({ url: 'https://bank.example/hooks', events: ['action.state_changed'] })
   */
  async create(request: CreateWebhookRequest): Promise<CreatedWebhook> {
    return create(this.#transport, `${ROOT}/webhooks`, request)
  }

  /**
   * Changes an endpoint; omitted fields are left unchanged.
   *
   * @example
   * await management.webhooks.update(webhookId, { enabled: false })
   */
  async update(webhookId: string, change: UpdateWebhookRequest): Promise<WebhookEndpoint> {
    return patch(this.#transport, webhookPath(webhookId), change)
  }

  /**
   * Deletes an endpoint.
   *
   * @example
   * await management.webhooks.delete(webhookId)
   */
  async delete(webhookId: string): Promise<void> {
    return remove(this.#transport, webhookPath(webhookId))
  }

  /**
   * The endpoint's most recent deliveries, newest first (the server returns at most 100).
   *
   * @example
   * const failed = (await management.webhooks.deliveries(webhookId)).filter((d) => d.state === 'failed')
   */
  async deliveries(webhookId: string): Promise<WebhookDelivery[]> {
    return readItems<WebhookDelivery>(this.#transport, `${webhookPath(webhookId)}/deliveries`)
  }

  /**
   * Puts a delivery back in the queue, due now. Retried after a transient failure: a repeat
   * may deliver the event once more, which receivers already handle (delivery is at least
   * once; they deduplicate on the event ID).
   *
   * @example
   * await management.webhooks.retry(webhookId, eventId)
   */
  async retry(webhookId: string, eventId: string): Promise<void> {
    await this.#transport.send({
      method: 'POST',
      path: `${webhookPath(webhookId)}/deliveries/${segment('eventId', eventId)}/retry`,
      idempotent: true,
      expectsBody: false,
    })
  }
}

/** `management.users`: `/management/users`. */
export class ManagementUsers {
  readonly #transport: Transport
  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * One page of users, newest first; `query` matches a user ID prefix, an email, username or
   * phone number. Pass the answer's `nextCursor` as `cursor` for the next page.
   *
   * @example
   * const { items, nextCursor } = await management.users.search({ query: 'ada@', limit: 20 })
   */
  async search(params: SearchUsersParams = {}): Promise<UserPage> {
    const { query, limit, cursor } = params
    return read(this.#transport, `${ROOT}/users`, queryOf({ query, limit, cursor }), isPage)
  }

  /**
   * Every matching user, fetching pages as the loop asks for them (from `cursor`, when given).
   *
   * @example
   * for await (const user of management.users.all({ query: 'example.com' })) console.log(user.userId)
   */
  all(params: SearchUsersParams = {}): AsyncGenerator<ManagedUserSummary, void, undefined> {
    return follow(params.cursor, (cursor) => this.search({ ...params, cursor }))
  }

  /**
   * A user with their authenticators, whether push requests are blocked, and recent actions.
   * Rejects with `not_found` for a user never tracked.
   *
   * @example
   * const { authenticators, pushBlocked, recentActions } = await management.users.get('user-42')
   */
  async get(userId: string): Promise<ManagedUser> {
    return read(this.#transport, userPath(userId))
  }

  /**
   * Deletes a user, their authenticators and history.
   *
   * @example
   * await management.users.delete('user-42')
   */
  async delete(userId: string): Promise<void> {
    return remove(this.#transport, userPath(userId))
  }

  /**
   * Revokes one of a user's authenticators, e.g. a lost phone.
   *
   * @example
   * await management.users.revokeAuthenticator('user-42', userAuthenticatorId)
   */
  async revokeAuthenticator(userId: string, userAuthenticatorId: string): Promise<void> {
    return remove(this.#transport, authenticatorPath(userId, userAuthenticatorId))
  }

  /**
   * Unlocks an authenticator locked after repeated failed signatures.
   *
   * @example
   * await management.users.unlockAuthenticator('user-42', userAuthenticatorId)
   */
  async unlockAuthenticator(userId: string, userAuthenticatorId: string): Promise<void> {
    await this.#transport.send({
      method: 'POST',
      path: `${authenticatorPath(userId, userAuthenticatorId)}/unlock`,
      idempotent: true,
      expectsBody: false,
    })
  }

  /**
   * Lets push requests reach a user again after they reported one as not theirs. `cleared`
   * says whether there was a block; after a retried attempt it can be `false` although this
   * call cleared it (the attempt whose answer was lost did).
   *
   * @example
   * const { cleared } = await management.users.clearPushBlock('user-42')
   */
  async clearPushBlock(userId: string): Promise<ClearPushBlockResponse> {
    return post(this.#transport, `${userPath(userId)}/push-block/clear`, undefined, true, (body) => typeof (body as { cleared?: unknown }).cleared === 'boolean')
  }
}

/** `management.actions`: `GET /management/actions`, the action log. */
export class ManagementActionLog {
  readonly #transport: Transport
  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * One page of the action log, newest first, filtered by user, action code, state, rule or
   * time. Pass the answer's `nextCursor` as `cursor` for the next page.
   *
   * @example
   * const { items } = await management.actions.list({ actionCode: 'authorizePayment', state: 'BLOCK', from: new Date(Date.now() - 86_400_000) })
   */
  async list(filter: ActionLogFilter = {}): Promise<ActionLogPage> {
    const { userId, actionCode, state, ruleId, idempotencyKey, from, to, limit, cursor } = filter
    return read(this.#transport, `${ROOT}/actions`, queryOf({ userId, actionCode, state, ruleId, idempotencyKey, from, to, limit, cursor }), isPage)
  }

  /**
   * Every matching action, fetching pages as the loop asks for them.
   *
   * @example
   * for await (const action of management.actions.all({ userId: 'user-42' })) console.log(action.actionCode, action.state)
   */
  all(filter: ActionLogFilter = {}): AsyncGenerator<ActionLogEntry, void, undefined> {
    return follow(filter.cursor, (cursor) => this.list({ ...filter, cursor }))
  }
}

/** `management.auditLog`: `GET /management/audit-log`. */
export class ManagementAuditLog {
  readonly #transport: Transport
  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * One page of the audit log (who changed what), newest first.
   *
   * @example
   * const { items, nextCursor } = await management.auditLog.list({ limit: 100 })
   */
  async list(params: AuditLogParams = {}): Promise<AuditPage> {
    const { limit, cursor } = params
    return read(this.#transport, `${ROOT}/audit-log`, queryOf({ limit, cursor }), isPage)
  }

  /**
   * Every audit entry, newest first, fetching pages as the loop asks for them.
   *
   * @example
   * for await (const entry of management.auditLog.all()) if (entry.event === 'api_key.created') console.log(entry.actor)
   */
  all(params: AuditLogParams = {}): AsyncGenerator<AuditEntry, void, undefined> {
    return follow(params.cursor, (cursor) => this.list({ ...params, cursor }))
  }
}

/** `management.operators`: `/management/operators`, who may sign in to the console. */
export class ManagementOperators {
  readonly #transport: Transport
  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport
  }

  /** The tenant's operators (never their passwords). */
  async list(): Promise<Operator[]> {
    return readItems<Operator>(this.#transport, `${ROOT}/operators`)
  }

  /**
   * Adds an operator, who signs in at `/console` with this email and password (at least 15
   * characters; stored as an Argon2id hash). Never retried.
   *
   * @example
   * await management.operators.create({ email: 'fraud-desk@bank.example', password: process.env.NEW_OPERATOR_PASSWORD! })
   */
  async create(request: CreateOperatorRequest): Promise<Operator> {
    return create(this.#transport, `${ROOT}/operators`, request)
  }

  /** Removes an operator and ends their console sessions. */
  async remove(operatorId: string): Promise<void> {
    return remove(this.#transport, `${ROOT}/operators/${segment('operatorId', operatorId)}`)
  }
}

/** `management.stats`: `GET /management/stats`. */
export class ManagementStats {
  readonly #transport: Transport
  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * Tracked actions per outcome and how challenges ended, per day or hour (UTC), every bucket
   * present.
   *
   * @example
   * const { buckets } = await management.stats.get({ days: 7 })
   */
  async get(params: StatsParams = {}): Promise<StatsResponse> {
    const { days, interval } = params
    return read(this.#transport, `${ROOT}/stats`, queryOf({ days, interval }), (body) => Array.isArray((body as { buckets?: unknown }).buckets))
  }
}

// ── Paths: every caller-chosen segment goes through segment(), so it cannot change the route ──

function configurationPath(actionCode: string): string {
  return `${ROOT}/action-configurations/${segment('actionCode', actionCode)}`
}

function rulesPath(actionCode: string): string {
  return `${configurationPath(actionCode)}/rules`
}

function rulePath(actionCode: string, ruleId: string): string {
  return `${rulesPath(actionCode)}/${segment('ruleId', ruleId)}`
}

function valueListPath(alias: string): string {
  return `${ROOT}/value-lists/${segment('alias', alias)}`
}

function webhookPath(webhookId: string): string {
  return `${ROOT}/webhooks/${segment('webhookId', webhookId)}`
}

function userPath(userId: string): string {
  return `${ROOT}/users/${segment('userId', userId)}`
}

function authenticatorPath(userId: string, userAuthenticatorId: string): string {
  return `${userPath(userId)}/authenticators/${segment('userAuthenticatorId', userAuthenticatorId)}`
}

// ── Calls: which may be retried follows from the method, except for POST ──

/** A GET of a list the server answers as `{ items }`, unpaged: the items. */
async function readItems<T>(transport: Transport, path: string): Promise<T[]> {
  return (await read<{ items: T[] }>(transport, path, undefined, hasItems)).items
}

/** A GET: always safe to repeat. */
async function read<T>(transport: Transport, path: string, query?: URLSearchParams, accepts?: (body: object) => boolean): Promise<T> {
  return (await transport.send({ method: 'GET', path, query, idempotent: true, expectsBody: true, accepts })) as T
}

/** A PATCH: sets the values given, so a repeat sets the same values. */
async function patch<T>(transport: Transport, path: string, body: object): Promise<T> {
  return (await transport.send({ method: 'PATCH', path, body, idempotent: true, expectsBody: true })) as T
}

/** A POST that creates something: a repeat would create it twice (or answer `conflict`). */
function create<T>(transport: Transport, path: string, body: object): Promise<T> {
  return post(transport, path, body, false)
}

async function post<T>(transport: Transport, path: string, body: object | undefined, idempotent: boolean, accepts?: (body: object) => boolean): Promise<T> {
  return (await transport.send({ method: 'POST', path, body, idempotent, expectsBody: true, accepts })) as T
}

/** A DELETE: answered 204; a retried one answered 404 counts as done (see Transport.send). */
async function remove(transport: Transport, path: string): Promise<void> {
  await transport.send({ method: 'DELETE', path, idempotent: true, expectsBody: false })
}

// ── Lists and pages ──

function hasItems(body: object): boolean {
  return Array.isArray((body as { items?: unknown }).items)
}

function isPage(body: object): boolean {
  const { nextCursor } = body as { nextCursor?: unknown }
  return hasItems(body) && (nextCursor === undefined || (typeof nextCursor === 'string' && nextCursor !== ''))
}

/** The query string of the fields that are set; a `Date` is sent as ISO 8601. */
function queryOf(fields: Record<string, string | number | Date | undefined>): URLSearchParams {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue
    query.set(name, value instanceof Date ? value.toISOString() : String(value))
  }
  return query
}

/** The items of every page from `cursor` on, fetching the next page only when the loop gets there. */
async function* follow<T>(
  cursor: string | undefined,
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>,
): AsyncGenerator<T, void, undefined> {
  for (;;) {
    const page = await fetchPage(cursor)
    yield* page.items
    if (page.nextCursor === undefined) return
    // A server that hands back the cursor it was given would keep the loop here forever.
    if (page.nextCursor === cursor) {
      throw new CountersignError({
        statusCode: 200,
        errorCode: 'invalid_response',
        errorDescription: 'The Countersign API answered a page with the cursor it was asked for',
      })
    }
    cursor = page.nextCursor
  }
}
