// The database schema. Every primary key begins with tenant_id and nothing joins across
// tenants, so tenants can be sharded by that column when one server is outgrown.
// Migrations in ../../migrations are generated from this file (`npm run db:generate`) and committed.
import { sql } from 'drizzle-orm'
import {
  boolean,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' })
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })

export const tenants = pgTable('tenants', {
  tenantId: uuid('tenant_id').primaryKey(),
  name: text('name').notNull(),
  /** 256-bit secret the token and challenge keys derive from; never leaves the server. */
  keySecret: bytea('key_secret').notNull(),
  settings: jsonb('settings').notNull().default(sql`'{}'::jsonb`),
  createdAt: ts('created_at').notNull().defaultNow(),
})

export const apiKeys = pgTable(
  'api_keys',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.tenantId, { onDelete: 'cascade' }),
    keyId: text('key_id').notNull(),
    type: text('type', { enum: ['secret', 'management'] }).notNull(),
    /** SHA-256 of the 256-bit secret part; the key itself is shown once and never stored. */
    secretHash: bytea('secret_hash').notNull(),
    name: text('name'),
    createdAt: ts('created_at').notNull().defaultNow(),
    revokedAt: ts('revoked_at'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.keyId] })],
)

export const users = pgTable(
  'users',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.tenantId, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    email: text('email'),
    emailVerified: boolean('email_verified').notNull().default(false),
    phoneNumber: text('phone_number'),
    phoneNumberVerified: boolean('phone_number_verified').notNull().default(false),
    username: text('username'),
    displayName: text('display_name'),
    custom: jsonb('custom'),
    locale: text('locale'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /** Set when the user reported a push request as not theirs; no push is sent until an operator clears it. */
    pushBlockedAt: ts('push_blocked_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId] }),
    index('users_email_idx').on(t.tenantId, t.email),
    index('users_username_idx').on(t.tenantId, t.username),
    index('users_phone_number_idx').on(t.tenantId, t.phoneNumber),
  ],
)

export const credentials = pgTable(
  'credentials',
  {
    tenantId: uuid('tenant_id').notNull(),
    credentialId: uuid('credential_id').notNull(),
    userId: text('user_id').notNull(),
    namespace: text('namespace', { enum: ['in-app', 'push', 'qr-code', 'device'] }).notNull(),
    /** X.509 SubjectPublicKeyInfo (DER) of the device's P-256 key. */
    spki: bytea('spki').notNull(),
    /** SHA-256 of spki: how a device's request finds its credential. */
    spkiHash: bytea('spki_hash').notNull(),
    deviceName: text('device_name'),
    devicePlatform: text('device_platform'),
    pushToken: text('push_token'),
    userAuthenticationRequired: boolean('user_authentication_required').notNull().default(false),
    createdAt: ts('created_at').notNull().defaultNow(),
    verifiedAt: ts('verified_at').notNull().defaultNow(),
    lastVerifiedAt: ts('last_verified_at'),
    expiresAt: ts('expires_at'),
    /** Consecutive failed signatures; reset by a good one. */
    failedAttempts: integer('failed_attempts').notNull().default(0),
    /**
     * The last nonce handed to this device to sign (push challenge fetch, push token update):
     * those requests do not echo the message, so the server keeps it until used or expired.
     */
    signingNonce: bytea('signing_nonce'),
    signingNonceExpiresAt: ts('signing_nonce_expires_at'),
    lockedUntil: ts('locked_until'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.credentialId] }),
    uniqueIndex('credentials_spki_hash_idx').on(t.tenantId, t.spkiHash, t.namespace),
    index('credentials_user_idx').on(t.tenantId, t.userId),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.userId] }).onDelete('cascade'),
  ],
)

export const actions = pgTable(
  'actions',
  {
    tenantId: uuid('tenant_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    userId: text('user_id').notNull(),
    actionCode: text('action_code').notNull(),
    state: text('state').notNull(),
    stateUpdatedAt: ts('state_updated_at').notNull().defaultNow(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    verificationMethod: text('verification_method'),
    verifiedByCredentialId: uuid('verified_by_credential_id'),
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
    deviceId: text('device_id'),
    custom: jsonb('custom'),
    /** [ext] Display fields of the transaction (amount, payee, …) a v2 signed decision covers. */
    transaction: jsonb('transaction'),
    scope: text('scope').notNull(),
    redirectUrl: text('redirect_url'),
    locale: text('locale'),
    ruleIds: text('rule_ids').array().notNull().default(sql`'{}'::text[]`),
    priorityRuleId: text('priority_rule_id'),
    rules: jsonb('rules').notNull().default(sql`'[]'::jsonb`),
    output: jsonb('output'),
    /** The rule context the outcome was decided on (docs/rules.md); null when no rule ran. */
    ruleContext: jsonb('rule_context'),
    /** Every state the action was in: `[{state, at, verificationMethod?}]`, appended by the statement that changes it. */
    stateHistory: jsonb('state_history').notNull().default(sql`'[]'::jsonb`),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.idempotencyKey] }),
    index('actions_user_created_idx').on(t.tenantId, t.userId, t.createdAt.desc()),
    // The operator's action log, newest first.
    index('actions_tenant_created_idx').on(t.tenantId, t.createdAt.desc(), t.idempotencyKey),
    // Rule signals: has this user been seen from this IP address, or with this device, before?
    index('actions_user_ip_idx').on(t.tenantId, t.userId, t.ipAddress, t.createdAt).where(sql`ip_address IS NOT NULL`),
    index('actions_user_device_idx').on(t.tenantId, t.userId, t.deviceId).where(sql`device_id IS NOT NULL`),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.userId] }).onDelete('cascade'),
  ],
)

/** Nonces of in-app challenges already answered; a row's insert is what makes a challenge single-use. */
export const consumedChallenges = pgTable(
  'consumed_challenges',
  {
    tenantId: uuid('tenant_id').notNull(),
    nonce: bytea('nonce').notNull(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.nonce] }), index('consumed_challenges_expires_idx').on(t.expiresAt)],
)

/** Tokens already validated (by jti); a token validates once. */
export const usedTokens = pgTable(
  'used_tokens',
  {
    tenantId: uuid('tenant_id').notNull(),
    jti: uuid('jti').notNull(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.jti] }), index('used_tokens_expires_idx').on(t.expiresAt)],
)

/**
 * Per-action settings: default outcome, verification methods, lifetimes, v2 signed decisions,
 * number matching, the action.verify webhook. A field absent from `settings` follows the
 * tenant's. A row is created on an action code's first track, so operators see every code.
 */
export const actionConfigurations = pgTable(
  'action_configurations',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.tenantId, { onDelete: 'cascade' }),
    actionCode: text('action_code').notNull(),
    settings: jsonb('settings').notNull().default(sql`'{}'::jsonb`),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.actionCode] })],
)

/** Rules of an action code: a CEL condition and the outcome it decides (docs/rules.md). */
export const rules = pgTable(
  'rules',
  {
    tenantId: uuid('tenant_id').notNull(),
    ruleId: uuid('rule_id').notNull(),
    actionCode: text('action_code').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    isActive: boolean('is_active').notNull().default(true),
    /** Lower wins among matching rules. */
    priority: integer('priority').notNull(),
    outcome: text('outcome', { enum: ['ALLOW', 'CHALLENGE', 'REVIEW', 'BLOCK'] }).notNull(),
    verificationMethods: text('verification_methods').array(),
    condition: text('condition').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.ruleId] }),
    index('rules_action_idx').on(t.tenantId, t.actionCode, t.priority),
    foreignKey({
      columns: [t.tenantId, t.actionCode],
      foreignColumns: [actionConfigurations.tenantId, actionConfigurations.actionCode],
    }).onDelete('cascade'),
  ],
)

/** Named lists of strings or numbers that rule conditions test against: `list('blocked_payees')`. */
export const valueLists = pgTable(
  'value_lists',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.tenantId, { onDelete: 'cascade' }),
    alias: text('alias').notNull(),
    name: text('name').notNull(),
    itemType: text('item_type', { enum: ['string', 'number'] }).notNull(),
    items: jsonb('items').notNull().default(sql`'[]'::jsonb`),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.alias] })],
)

/** What operators changed: written in the transaction that makes the change. */
export const auditLog = pgTable(
  'audit_log',
  {
    tenantId: uuid('tenant_id').notNull(),
    auditId: uuid('audit_id').notNull(),
    at: ts('at').notNull(),
    actor: text('actor').notNull(),
    event: text('event').notNull(),
    target: text('target').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.auditId] }), index('audit_log_at_idx').on(t.tenantId, t.at.desc(), t.auditId)],
)

/**
 * Push and QR-code challenges: unlike in-app ones they have a life of their own (a phone
 * fetches, claims and answers them; a browser watches), so each is a row.
 */
export const challenges = pgTable(
  'challenges',
  {
    tenantId: uuid('tenant_id').notNull(),
    challengeId: text('challenge_id').notNull(),
    kind: text('kind', { enum: ['push', 'qr'] }).notNull(),
    /** Null for an anonymous QR login until a device claims it. */
    userId: text('user_id'),
    actionCode: text('action_code').notNull(),
    /** The action answered; null for an anonymous QR login until it is approved. */
    idempotencyKey: text('idempotency_key'),
    state: text('state', { enum: ['pending', 'claimed', 'approved', 'denied'] }).notNull(),
    /** Push sent to one device only. */
    targetCredentialId: uuid('target_credential_id'),
    /** The device that claimed (QR) or answered. */
    credentialId: uuid('credential_id'),
    /** SHA-256 of the QR browser's secret that lets it poll; the secret is shown once. */
    deviceCodeHash: bytea('device_code_hash'),
    /** Number matching: the code the initiating side shows and the phone must send back. */
    verificationCode: text('verification_code'),
    /** Where the request came from, shown to the phone. */
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
    deviceId: text('device_id'),
    custom: jsonb('custom'),
    deliveryResults: jsonb('delivery_results'),
    /** Answer was a v2 signed decision. */
    signatureVersion: integer('signature_version'),
    createdAt: ts('created_at').notNull().defaultNow(),
    expiresAt: ts('expires_at').notNull(),
    claimedAt: ts('claimed_at'),
    answeredAt: ts('answered_at'),
    /** When the initiating side was handed the token of an approval: once only. */
    tokenIssuedAt: ts('token_issued_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.challengeId] }),
    index('challenges_user_idx').on(t.tenantId, t.userId, t.kind, t.createdAt.desc()),
    index('challenges_expires_idx').on(t.expiresAt),
    // Deleting a user deletes their challenges; an anonymous QR code (no user yet) is not checked.
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.userId] }).onDelete('cascade'),
  ],
)

/** Built-in push senders per tenant; the configuration holds private keys and is sealed. */
export const pushProviders = pgTable(
  'push_providers',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.tenantId, { onDelete: 'cascade' }),
    provider: text('provider', { enum: ['apns', 'fcm'] }).notNull(),
    /** JSON configuration, AES-256-GCM sealed when COUNTERSIGN_ENCRYPTION_KEY is set. */
    config: bytea('config').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.provider] })],
)

export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.tenantId, { onDelete: 'cascade' }),
    webhookId: uuid('webhook_id').notNull(),
    url: text('url').notNull(),
    /** Signing secret, sealed like push configuration: the server must sign with it. */
    secret: bytea('secret').notNull(),
    /** Event types delivered; '*' for all. */
    events: text('events').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    description: text('description'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.webhookId] })],
)

/** The outbox: events written in the same statement as the change that caused them. */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    tenantId: uuid('tenant_id').notNull(),
    eventId: uuid('event_id').notNull(),
    type: text('type').notNull(),
    data: jsonb('data').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.eventId] }), index('webhook_events_created_idx').on(t.createdAt)],
)

/** One event to one endpoint: retried with back-off until delivered or given up. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    tenantId: uuid('tenant_id').notNull(),
    webhookId: uuid('webhook_id').notNull(),
    eventId: uuid('event_id').notNull(),
    state: text('state', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull(),
    lastAttemptAt: ts('last_attempt_at'),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    deliveredAt: ts('delivered_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.webhookId, t.eventId] }),
    index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`state = 'pending'`),
    index('webhook_deliveries_endpoint_idx').on(t.tenantId, t.webhookId, t.createdAt.desc()),
    // The retention sweep asks whether any delivery still refers to an event.
    index('webhook_deliveries_event_idx').on(t.tenantId, t.eventId),
    foreignKey({ columns: [t.tenantId, t.webhookId], foreignColumns: [webhookEndpoints.tenantId, webhookEndpoints.webhookId] }).onDelete(
      'cascade',
    ),
  ],
)

/** Every attempt, for an endpoint's delivery log. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    tenantId: uuid('tenant_id').notNull(),
    webhookId: uuid('webhook_id').notNull(),
    eventId: uuid('event_id').notNull(),
    attempt: integer('attempt').notNull(),
    attemptedAt: ts('attempted_at').notNull(),
    status: integer('status'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.webhookId, t.eventId, t.attempt] }),
    foreignKey({ columns: [t.tenantId, t.webhookId], foreignColumns: [webhookEndpoints.tenantId, webhookEndpoints.webhookId] }).onDelete(
      'cascade',
    ),
  ],
)

/**
 * People who sign in to the console; an email is unique within a tenant. Signing in names no
 * tenant, so finding an operator by email is the one lookup that starts without one.
 */
export const operators = pgTable(
  'operators',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.tenantId, { onDelete: 'cascade' }),
    operatorId: uuid('operator_id').notNull(),
    email: text('email').notNull(),
    /** Argon2id (PHC string). */
    passwordHash: text('password_hash').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    lastSignedInAt: ts('last_signed_in_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.operatorId] }),
    uniqueIndex('operators_tenant_email_idx').on(t.tenantId, sql`lower(${t.email})`),
    index('operators_email_idx').on(sql`lower(${t.email})`),
  ],
)

/**
 * Consecutive failed console sign-ins per email (SHA-256 of it, lower-cased), whether or not an
 * operator has that email, so the slow-down says nothing about which emails exist. Not a
 * tenant's row: a sign-in names no tenant.
 */
export const signInFailures = pgTable('sign_in_failures', {
  emailHash: bytea('email_hash').primaryKey(),
  failures: integer('failures').notNull(),
  /** From the fifth failure in a row, no attempt before this. */
  retryAfter: ts('retry_after'),
  updatedAt: ts('updated_at').notNull(),
})

/**
 * Console sessions. The cookie is `<tenantId>.<sessionId>.<secret>`; only the secret's SHA-256
 * is stored. A session signed in with a management key names it, and ends when it is revoked.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.tenantId, { onDelete: 'cascade' }),
    sessionId: text('session_id').notNull(),
    secretHash: bytea('secret_hash').notNull(),
    operatorId: uuid('operator_id'),
    keyId: text('key_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    lastSeenAt: ts('last_seen_at').notNull().defaultNow(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.sessionId] }),
    foreignKey({ columns: [t.tenantId, t.operatorId], foreignColumns: [operators.tenantId, operators.operatorId] }).onDelete('cascade'),
    index('console_sessions_expires_idx').on(t.expiresAt),
  ],
)
