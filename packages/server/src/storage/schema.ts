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
    scope: text('scope').notNull(),
    redirectUrl: text('redirect_url'),
    locale: text('locale'),
    ruleIds: text('rule_ids').array().notNull().default(sql`'{}'::text[]`),
    priorityRuleId: text('priority_rule_id'),
    rules: jsonb('rules').notNull().default(sql`'[]'::jsonb`),
    output: jsonb('output'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.idempotencyKey] }),
    index('actions_user_created_idx').on(t.tenantId, t.userId, t.createdAt.desc()),
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
