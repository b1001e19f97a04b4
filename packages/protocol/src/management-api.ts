// Management API (management key, HTTP Basic): what an operator or the console does. Unlike
// the Server API, requests are strict: an unknown field is a typo in an operator's script, and
// silently ignoring it would leave a setting unchanged that the operator believes changed.
import { z } from 'zod'
import { ActionCode, ActionState, ChallengeMethod, IdempotencyKey, IsoDateTime, RuleOutcome, StoredText, UserId, VerificationMethod } from './common.ts'
import { Authenticator, RuleSummary } from './server-api.ts'
import { WebhookEventFilter } from './webhooks.ts'

const Name = StoredText.min(1).max(200)
const Description = StoredText.max(2000)
const Cursor = z.string().max(512).describe('Opaque; from the previous page’s nextCursor')
const Limit = z.coerce.number().int().min(1).max(200).default(50)
const HttpUrl = z.url({ protocol: /^https?$/ }).max(2048)
const Methods = z.array(ChallengeMethod).max(3)

/** A page of a list, newest first; `nextCursor` is absent on the last page. */
function page<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().optional() })
}

// ── Tenant ───────────────────────────────────────────────────────────────────────────────

export const ManagedTenant = z.object({
  tenantId: z.string(),
  name: z.string(),
  createdAt: IsoDateTime,
  tokenTtlSeconds: z.number().int(),
  challengeTtlSeconds: z.number().int(),
  pushChallengeTtlSeconds: z.number().int(),
  qrChallengeTtlSeconds: z.number().int(),
  pushMaxPending: z.number().int(),
  pushMaxPerHour: z.number().int(),
  defaultOutcome: RuleOutcome,
  verificationMethods: Methods,
  requireSignedDecision: z.boolean(),
  numberMatching: z.boolean(),
  /** Origins whose pages may call the Client API; empty for any origin. */
  allowedOrigins: z.array(z.string()),
})
export type ManagedTenant = z.infer<typeof ManagedTenant>

export const Origin = z
  .string()
  .max(255)
  .regex(/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i, 'must be a scheme and host, like https://bank.example')
export const UpdateTenantRequest = z
  .object({
    name: Name,
    tokenTtlSeconds: z.number().int().min(60).max(3600),
    challengeTtlSeconds: z.number().int().min(30).max(600),
    pushChallengeTtlSeconds: z.number().int().min(30).max(900),
    qrChallengeTtlSeconds: z.number().int().min(60).max(900),
    pushMaxPending: z.number().int().min(1).max(20),
    pushMaxPerHour: z.number().int().min(1).max(1000),
    defaultOutcome: RuleOutcome,
    verificationMethods: Methods.min(1),
    requireSignedDecision: z.boolean(),
    numberMatching: z.boolean(),
    allowedOrigins: z.array(Origin).max(50),
  })
  .partial()
  .strict()
export type UpdateTenantRequest = z.infer<typeof UpdateTenantRequest>

// ── API keys ─────────────────────────────────────────────────────────────────────────────

export const ApiKeyType = z.enum(['secret', 'management'])
export type ApiKeyType = z.infer<typeof ApiKeyType>
export const ApiKeySummary = z.object({
  keyId: z.string(),
  type: ApiKeyType,
  name: z.string().optional(),
  createdAt: IsoDateTime,
  revokedAt: IsoDateTime.optional(),
})
export type ApiKeySummary = z.infer<typeof ApiKeySummary>
export const ApiKeyList = z.object({ items: z.array(ApiKeySummary) })
export const CreateApiKeyRequest = z.object({ type: ApiKeyType, name: Name.optional() }).strict()
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequest>
/** The key itself is in this response only: it is stored hashed. */
export const CreatedApiKey = z.object({ keyId: z.string(), type: ApiKeyType, name: z.string().optional(), key: z.string() })
export type CreatedApiKey = z.infer<typeof CreatedApiKey>
export const KeyParams = z.object({ keyId: z.string().min(1).max(64) })

// ── Action configurations and rules ──────────────────────────────────────────────────────

const ActionConfigurationFields = {
  defaultOutcome: RuleOutcome.describe('Outcome when no rule matches; CHALLENGE applies to enrolled users, others get ALLOW'),
  verificationMethods: Methods.min(1).describe('Methods a challenge of this action may use'),
  requireSignedDecision: z.boolean().describe('Push and QR answers must be v2 signed decisions'),
  numberMatching: z.boolean(),
  challengeTtlSeconds: z.number().int().min(30).max(600),
  tokenTtlSeconds: z.number().int().min(60).max(3600),
  verificationWebhookUrl: HttpUrl.nullable().describe('Synchronous action.verify veto; null for none'),
}

/** An action code's configuration as it applies: its own settings over the tenant's. */
export const ActionConfiguration = z.object({
  actionCode: z.string(),
  ...ActionConfigurationFields,
  /** The fields this action sets itself; the others follow the tenant's settings. */
  ownSettings: z.array(z.string()),
  ruleCount: z.number().int(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
})
export type ActionConfiguration = z.infer<typeof ActionConfiguration>
export const ActionConfigurationList = z.object({ items: z.array(ActionConfiguration) })

/** Set a field to null to follow the tenant's setting again (verificationWebhookUrl: null means none). */
export const UpdateActionConfigurationRequest = z
  .object({
    defaultOutcome: ActionConfigurationFields.defaultOutcome.nullable(),
    verificationMethods: ActionConfigurationFields.verificationMethods.nullable(),
    requireSignedDecision: z.boolean().nullable(),
    numberMatching: z.boolean().nullable(),
    challengeTtlSeconds: ActionConfigurationFields.challengeTtlSeconds.nullable(),
    tokenTtlSeconds: ActionConfigurationFields.tokenTtlSeconds.nullable(),
    verificationWebhookUrl: ActionConfigurationFields.verificationWebhookUrl,
  })
  .partial()
  .strict()
export type UpdateActionConfigurationRequest = z.infer<typeof UpdateActionConfigurationRequest>
export const CreateActionConfigurationRequest = UpdateActionConfigurationRequest.extend({ actionCode: ActionCode }).strict()
export type CreateActionConfigurationRequest = z.infer<typeof CreateActionConfigurationRequest>
export const ActionCodeParams = z.object({ actionCode: ActionCode })

export const RuleCondition = z.string().min(1).max(4000).describe('CEL expression over the rule context (docs/rules.md)')
export const Rule = z.object({
  ruleId: z.string(),
  actionCode: z.string(),
  name: z.string(),
  description: z.string().optional(),
  isActive: z.boolean(),
  priority: z.number().int(),
  outcome: RuleOutcome,
  verificationMethods: Methods.optional(),
  condition: z.string(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
})
export type Rule = z.infer<typeof Rule>
export const RuleList = z.object({ items: z.array(Rule) })
export const CreateRuleRequest = z
  .object({
    name: Name,
    description: Description.optional(),
    isActive: z.boolean().default(true),
    priority: z.number().int().min(0).max(1_000_000).default(100),
    outcome: RuleOutcome,
    verificationMethods: Methods.min(1).optional(),
    condition: RuleCondition,
  })
  .strict()
export type CreateRuleRequest = z.input<typeof CreateRuleRequest>
export const UpdateRuleRequest = z
  .object({
    name: Name,
    description: Description.nullable(),
    isActive: z.boolean(),
    priority: z.number().int().min(0).max(1_000_000),
    outcome: RuleOutcome,
    verificationMethods: Methods.min(1).nullable(),
    condition: RuleCondition,
  })
  .partial()
  .strict()
export type UpdateRuleRequest = z.infer<typeof UpdateRuleRequest>
export const RuleParams = ActionCodeParams.extend({ ruleId: z.uuid() })

/** What a rule condition failed to compile with; `position` counts characters from 0. */
export const ConditionErrorDetails = z.object({
  message: z.string(),
  position: z.number().int().optional(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
})
export type ConditionErrorDetails = z.infer<typeof ConditionErrorDetails>

export const DryRunRequest = z
  .object({
    /** A rule context (docs/rules.md); fields left out take their empty values. */
    context: z.record(z.string(), z.unknown()).optional(),
    /** Or a past action: its recorded context, or one rebuilt from its history. */
    userId: UserId.optional(),
    idempotencyKey: IdempotencyKey.optional(),
    /** A draft condition to evaluate beside the saved rules, as the rule editor's test panel does. */
    condition: RuleCondition.optional(),
  })
  .strict()
  .refine((r) => (r.context !== undefined) !== (r.userId !== undefined && r.idempotencyKey !== undefined), {
    message: 'send either context or userId and idempotencyKey',
  })
export type DryRunRequest = z.infer<typeof DryRunRequest>

export const RuleEvaluation = z.object({
  ruleId: z.string(),
  name: z.string(),
  priority: z.number().int(),
  outcome: RuleOutcome,
  isActive: z.boolean(),
  matched: z.boolean(),
  /** Why the evaluation failed, when it did; a failing rule counts as not matching. */
  error: z.string().optional(),
  /** The context values the condition reads, as they were. */
  inputs: z.record(z.string(), z.unknown()),
})
export const DryRunResponse = z.object({
  outcome: RuleOutcome,
  state: ActionState,
  decidedBy: z.enum(['rule', 'default']),
  priorityRuleId: z.string().optional(),
  rules: z.array(RuleEvaluation),
  draft: RuleEvaluation.omit({ ruleId: true, name: true, priority: true, outcome: true, isActive: true }).optional(),
  context: z.record(z.string(), z.unknown()),
})
export type DryRunResponse = z.infer<typeof DryRunResponse>

// ── Value lists ──────────────────────────────────────────────────────────────────────────

export const ListAlias = z.string().regex(/^[a-z0-9_]{1,64}$/, 'lower-case letters, digits and _ (at most 64)')
const ListItems = z.array(z.union([StoredText.max(512), z.number().finite()])).max(10_000)
export const ValueList = z.object({
  alias: z.string(),
  name: z.string(),
  itemType: z.enum(['string', 'number']),
  items: z.array(z.union([z.string(), z.number()])),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
})
export type ValueList = z.infer<typeof ValueList>
export const ValueListSummary = ValueList.omit({ items: true }).extend({ itemCount: z.number().int() })
export type ValueListSummary = z.infer<typeof ValueListSummary>
export const ValueListList = z.object({ items: z.array(ValueListSummary) })
export const CreateValueListRequest = z
  .object({ alias: ListAlias, name: Name, itemType: z.enum(['string', 'number']), items: ListItems.default([]) })
  .strict()
export type CreateValueListRequest = z.input<typeof CreateValueListRequest>
export const UpdateValueListRequest = z.object({ name: Name, items: ListItems }).partial().strict()
export type UpdateValueListRequest = z.infer<typeof UpdateValueListRequest>
export const ListParams = z.object({ alias: ListAlias })

// ── Webhooks ─────────────────────────────────────────────────────────────────────────────

export const WebhookEndpoint = z.object({
  webhookId: z.string(),
  url: z.string(),
  events: z.array(WebhookEventFilter),
  enabled: z.boolean(),
  description: z.string().optional(),
  createdAt: IsoDateTime,
})
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>
export const WebhookEndpointList = z.object({ items: z.array(WebhookEndpoint) })
export const CreateWebhookRequest = z
  .object({ url: HttpUrl, events: z.array(WebhookEventFilter).min(1).max(20), enabled: z.boolean().optional(), description: Description.optional() })
  .strict()
export type CreateWebhookRequest = z.infer<typeof CreateWebhookRequest>
/** The signing secret is in this response only. */
export const CreatedWebhook = WebhookEndpoint.extend({ secret: z.string() })
export type CreatedWebhook = z.infer<typeof CreatedWebhook>
export const UpdateWebhookRequest = CreateWebhookRequest.partial().strict()
export type UpdateWebhookRequest = z.infer<typeof UpdateWebhookRequest>
export const WebhookParams = z.object({ webhookId: z.uuid() })
export const WebhookDelivery = z.object({
  eventId: z.string(),
  type: z.string(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: IsoDateTime,
  lastAttemptAt: IsoDateTime.optional(),
  lastStatus: z.number().int().optional().describe('HTTP status of the last attempt'),
  lastError: z.string().optional(),
  deliveredAt: IsoDateTime.optional(),
  createdAt: IsoDateTime,
})
export type WebhookDelivery = z.infer<typeof WebhookDelivery>
export const WebhookDeliveryList = z.object({ items: z.array(WebhookDelivery) })
export const DeliveryParams = WebhookParams.extend({ eventId: z.uuid() })

// ── Users, authenticators and the action log ─────────────────────────────────────────────

export const UsersQuery = z.object({ query: StoredText.max(320).optional(), limit: Limit, cursor: Cursor.optional() })
export type UsersQuery = z.infer<typeof UsersQuery>
export const ManagedUserSummary = z.object({
  userId: z.string(),
  email: z.string().optional(),
  username: z.string().optional(),
  phoneNumber: z.string().optional(),
  displayName: z.string().optional(),
  createdAt: IsoDateTime,
  authenticatorCount: z.number().int(),
})
export type ManagedUserSummary = z.infer<typeof ManagedUserSummary>
export const UserPage = page(ManagedUserSummary)
export type UserPage = z.infer<typeof UserPage>
export const ActionLogEntry = z.object({
  userId: z.string(),
  actionCode: z.string(),
  idempotencyKey: z.string(),
  state: ActionState,
  createdAt: IsoDateTime,
  stateUpdatedAt: IsoDateTime,
  verificationMethod: VerificationMethod.optional(),
  ipAddress: z.string().optional(),
  ruleIds: z.array(z.string()),
  priorityRuleId: z.string().optional(),
  rules: z.array(RuleSummary),
  output: z.unknown().optional(),
  /** The rule context the decision was made on, when rules were evaluated. */
  context: z.record(z.string(), z.unknown()).optional(),
  /** Every state the action has been in, oldest first: tracked, then each change. */
  stateHistory: z.array(z.object({ state: ActionState, at: IsoDateTime, verificationMethod: VerificationMethod.optional() })),
})
export type ActionLogEntry = z.infer<typeof ActionLogEntry>
export const ManagedUser = ManagedUserSummary.extend({
  custom: z.unknown().optional(),
  pushBlocked: z.boolean(),
  authenticators: z.array(Authenticator),
  recentActions: z.array(ActionLogEntry),
})
export type ManagedUser = z.infer<typeof ManagedUser>
export const ManagedUserParams = z.object({ userId: UserId })
export const ManagedAuthenticatorParams = ManagedUserParams.extend({ userAuthenticatorId: z.uuid() })

export const ActionLogQuery = z.object({
  userId: UserId.optional(),
  actionCode: ActionCode.optional(),
  state: ActionState.optional(),
  ruleId: z.uuid().optional(),
  /** One action, by the idempotency key track gave it. */
  idempotencyKey: IdempotencyKey.optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: Limit,
  cursor: Cursor.optional(),
})
export type ActionLogQuery = z.infer<typeof ActionLogQuery>
export const ActionLogPage = page(ActionLogEntry)
export type ActionLogPage = z.infer<typeof ActionLogPage>

// ── Audit log ────────────────────────────────────────────────────────────────────────────

export const AuditEntry = z.object({
  auditId: z.string(),
  at: IsoDateTime,
  /** Who: `management_key:<keyId>` or `cli`. */
  actor: z.string(),
  /** What, e.g. `rule.created`. */
  event: z.string(),
  target: z.string(),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
})
export type AuditEntry = z.infer<typeof AuditEntry>
export const AuditQuery = z.object({ limit: Limit, cursor: Cursor.optional() })
export type AuditQuery = z.infer<typeof AuditQuery>
export const AuditPage = page(AuditEntry)
export type AuditPage = z.infer<typeof AuditPage>

/** What clearing a user's push block answers: whether there was one. */
export const ClearPushBlockResponse = z.object({ cleared: z.boolean() })
export type ClearPushBlockResponse = z.infer<typeof ClearPushBlockResponse>

// ── Console sessions and operators ───────────────────────────────────────────────────────
// The console signs in here and then calls the rest of the Management API with the session
// cookie (HttpOnly, SameSite=Strict) instead of a management key. Every cookie-authenticated
// request must also carry the header `X-Countersign-Console: 1`: a page on another origin
// cannot send it without a CORS preflight, which the Management API never grants.

export const CONSOLE_HEADER = 'x-countersign-console'
export const SESSION_COOKIE = 'countersign_session'

const Email = z.email().max(320)
/** NIST SP 800-63B: at least 15 characters for a password that is the only factor; 256 at most. */
const Password = z.string().min(15).max(256)

export const SignInRequest = z.union([
  z
    .object({
      email: Email,
      password: z.string().min(1).max(256),
      /** Needed only when this email and password open more than one tenant. */
      tenantId: z.uuid().optional(),
    })
    .strict(),
  z.object({ managementKey: z.string().min(1).max(512) }).strict(),
])
export type SignInRequest = z.infer<typeof SignInRequest>

export const ConsoleSession = z.object({
  tenantId: z.string(),
  tenantName: z.string(),
  /** The Server and Client API base URL, as the API keys page shows it. */
  apiUrl: z.string(),
  /** `operator:<id>` or `management_key:<keyId>`, as the audit log records it. */
  actor: z.string(),
  /** Absent when signed in with a management key. */
  operator: z.object({ operatorId: z.string(), email: z.string() }).optional(),
  expiresAt: IsoDateTime,
})
export type ConsoleSession = z.infer<typeof ConsoleSession>

export const Operator = z.object({
  operatorId: z.string(),
  email: z.string(),
  createdAt: IsoDateTime,
  lastSignedInAt: IsoDateTime.optional(),
})
export type Operator = z.infer<typeof Operator>
export const OperatorList = z.object({ items: z.array(Operator) })
export const CreateOperatorRequest = z.object({ email: Email, password: Password }).strict()
export type CreateOperatorRequest = z.infer<typeof CreateOperatorRequest>
export const OperatorParams = z.object({ operatorId: z.uuid() })

// ── Overview statistics ──────────────────────────────────────────────────────────────────

export const StatsQuery = z
  .object({
    /** How far back, ending now. */
    days: z.coerce.number().int().min(1).max(90).default(14),
    interval: z.enum(['hour', 'day']).default('day'),
  })
  .refine((q) => q.interval === 'day' || q.days <= 7, { message: 'hourly statistics cover at most 7 days', path: ['days'] })
export type StatsQuery = z.infer<typeof StatsQuery>
export const StatsBucket = z.object({
  /** Start of the bucket (UTC). */
  start: IsoDateTime,
  /** Tracked actions by the outcome track decided. */
  outcomes: z.object({ ALLOW: z.number().int(), CHALLENGE: z.number().int(), REVIEW: z.number().int(), BLOCK: z.number().int() }),
  /** Challenged actions by where they ended: succeeded, failed, or still open (challenge required, expired unanswered). */
  challenges: z.object({ succeeded: z.number().int(), failed: z.number().int(), open: z.number().int() }),
})
export type StatsBucket = z.infer<typeof StatsBucket>
export const StatsResponse = z.object({ interval: z.enum(['hour', 'day']), buckets: z.array(StatsBucket) })
export type StatsResponse = z.infer<typeof StatsResponse>
