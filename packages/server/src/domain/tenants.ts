import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { ChallengeMethod, RuleOutcome } from '@countersign/protocol'
import { issueApiKey, parseApiKey, hashesEqual, type ApiKeyType } from '../crypto/secrets.ts'
import {
  deriveTenantKeys,
  generateTenantSecret,
  MissingEncryptionKeyError,
  protectTenantSecret,
  revealTenantSecret,
} from '../crypto/tenant-keys.ts'
import { createTokenCodec, type TokenCodec } from '../crypto/tokens.ts'
import { pushConfigContext, readSecret, storeSecret, webhookSecretContext } from '../crypto/stored-secret.ts'
import type { Db } from '../storage/database.ts'
import { findPlainStoredSecrets, findSealedStoredSecrets, replaceStoredSecret } from '../storage/stored-secrets-repo.ts'
import * as repo from '../storage/tenants-repo.ts'
import { ApiError } from './errors.ts'
import { loadRules, type LoadedRule, type RuleDefinition } from './rules/engine.ts'

/** Methods an action may be verified with unless configured otherwise. */
export const ALL_METHODS = ChallengeMethod.options

/** Per-tenant settings, stored as JSON on the tenant; every field has a default. */
export const TenantSettings = z.object({
  /** Lifetime of issued tokens (s). */
  tokenTtlSeconds: z.number().int().min(60).max(3600).default(600),
  /** How long an in-app challenge can be answered (s). Out-of-band guidance caps this at 600. */
  challengeTtlSeconds: z.number().int().min(30).max(600).default(300),
  /**
   * Outcome of an action no rule decides, unless its configuration says otherwise. CHALLENGE
   * applies to users with an authenticator; the others get ALLOW (PROTOCOL.md §2).
   */
  defaultOutcome: RuleOutcome.default('CHALLENGE'),
  /** Verification methods an action's challenge may use, unless its configuration says otherwise. */
  verificationMethods: z
    .array(ChallengeMethod)
    .min(1)
    .default([...ALL_METHODS]),
  /** Origins whose web pages may call the Client API; empty for any origin. */
  allowedOrigins: z.array(z.string().max(255)).max(50).default([]),
  /** Consecutive failed signatures that lock a credential (NIST SP 800-63B allows at most 100). */
  credentialLockThreshold: z.number().int().min(1).max(100).default(10),
  /** How long a locked credential stays locked (s); each further failure locks it again. */
  credentialLockSeconds: z.number().int().min(1).max(86_400).default(900),
  /** How long a push request can be answered (s). */
  pushChallengeTtlSeconds: z.number().int().min(30).max(900).default(300),
  /** How long a QR code can be claimed and answered (s); the browser SDK refreshes it every 9 minutes. */
  qrChallengeTtlSeconds: z.number().int().min(60).max(900).default(600),
  /** Push bombing: unanswered push requests a user may have at once. */
  pushMaxPending: z.number().int().min(1).max(20).default(3),
  /** Push bombing: push requests per user per rolling hour. */
  pushMaxPerHour: z.number().int().min(1).max(1000).default(10),
  /**
   * Refuse a pending-push fetch that is not signed over a fresh nonce. Off by default: older
   * mobile SDKs never sign it, and newer ones fall back to an unsigned fetch when the nonce
   * request fails. Answering a challenge is signed either way.
   */
  requireSignedPushFetch: z.boolean().default(false),
  /** Days a push credential stays usable after enrollment or its last expiry reset; 0 for no expiry. */
  pushCredentialTtlDays: z.number().int().min(0).max(3650).default(0),
  /** Push and QR answers must be v2 signed decisions (PROTOCOL.md §4). Per-action settings override it. */
  requireSignedDecision: z.boolean().default(false),
  /** Push and QR answers must carry the code the initiating side shows. Per-action settings override it. */
  numberMatching: z.boolean().default(false),
  /** Digits of a number-matching code. */
  numberMatchingDigits: z.number().int().min(2).max(6).default(2),
})
export type TenantSettings = z.infer<typeof TenantSettings>

/** Settings of one action code; an absent field inherits the tenant's. */
export const ActionSettings = z.object({
  defaultOutcome: RuleOutcome.optional(),
  verificationMethods: z.array(ChallengeMethod).min(1).optional(),
  requireSignedDecision: z.boolean().optional(),
  numberMatching: z.boolean().optional(),
  /** Lifetime of this action's challenges, in-app, push and QR alike (s). */
  challengeTtlSeconds: z.number().int().min(30).max(600).optional(),
  tokenTtlSeconds: z.number().int().min(60).max(3600).optional(),
  /** The synchronous action.verify webhook: may veto the move to CHALLENGE_SUCCEEDED. */
  verificationWebhookUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .nullable()
    .optional(),
})
export type ActionSettings = z.infer<typeof ActionSettings>

/** Stored tenant settings, with defaults for what is absent; unreadable ones are the defaults. */
export function readTenantSettings(stored: unknown): TenantSettings {
  const parsed = TenantSettings.safeParse(stored ?? {})
  return parsed.success ? parsed.data : TenantSettings.parse({})
}

/** An action code's stored own settings; unreadable ones are none. */
export function readActionSettings(stored: unknown): ActionSettings {
  const parsed = ActionSettings.safeParse(stored)
  return parsed.success ? parsed.data : {}
}

/** An action's own settings over the tenant's (challengeTtlSeconds: null when the action sets none). */
export function ownOverTenant(own: ActionSettings, settings: TenantSettings): Omit<EffectiveActionSettings, 'rules' | 'configured'> {
  return {
    defaultOutcome: own.defaultOutcome ?? settings.defaultOutcome,
    verificationMethods: own.verificationMethods ?? settings.verificationMethods,
    requireSignedDecision: own.requireSignedDecision ?? settings.requireSignedDecision,
    numberMatching: own.numberMatching ?? settings.numberMatching,
    challengeTtlSeconds: own.challengeTtlSeconds ?? null,
    tokenTtlSeconds: own.tokenTtlSeconds ?? settings.tokenTtlSeconds,
    verificationWebhookUrl: own.verificationWebhookUrl ?? null,
  }
}

/** What applies to one action code: its own settings over the tenant's, and its active rules. */
export interface EffectiveActionSettings {
  defaultOutcome: RuleOutcome
  verificationMethods: ChallengeMethod[]
  requireSignedDecision: boolean
  numberMatching: boolean
  /** The action's own challenge lifetime; null when each kind of challenge keeps the tenant's. */
  challengeTtlSeconds: number | null
  tokenTtlSeconds: number
  verificationWebhookUrl: string | null
  /** Active rules, lowest priority number first. */
  rules: readonly LoadedRule[]
  /** Whether the action code has a configuration row (one is created on its first track). */
  configured: boolean
}

/** A tenant as request handling needs it: settings and the keys its tokens and challenges use. */
export interface TenantContext {
  tenantId: string
  name: string
  settings: TenantSettings
  tokens: TokenCodec
  challengeKey: Buffer
  /** Signs action.verify webhook calls; derived from the tenant secret, shown to the operator by the CLI. */
  verificationWebhookSecret: string
  /** The settings that apply to an action code. */
  actionSettings(actionCode: string): EffectiveActionSettings
  /** Whether the tenant has an enabled webhook endpoint (as of the cached read). */
  hasWebhooks: boolean
}

/**
 * How long a challenge of this action and method lives. Refuses (403) a method the action's
 * configuration does not allow, or the rule that decided the action (`narrowedTo`, carried by
 * its token) did not; an unnamed action follows the tenant's settings.
 */
export function challengeLifetimeSeconds(
  tenant: TenantContext,
  actionCode: string | null,
  method: ChallengeMethod,
  narrowedTo?: readonly ChallengeMethod[],
): number {
  const { settings } = tenant
  const byKind = { IN_APP: settings.challengeTtlSeconds, PUSH: settings.pushChallengeTtlSeconds, QR_CODE: settings.qrChallengeTtlSeconds }[
    method
  ]
  const action = actionCode === null ? null : tenant.actionSettings(actionCode)
  const allowed = action?.verificationMethods ?? settings.verificationMethods
  if (!allowed.includes(method) || (narrowedTo !== undefined && !narrowedTo.includes(method))) {
    throw new ApiError('verification_method_not_allowed', `This action cannot be verified with ${method}`, { actionCode, method })
  }
  return action?.challengeTtlSeconds ?? byKind
}

export interface CreatedTenant {
  tenantId: string
  name: string
  secretKey: string
  secretKeyId: string
  managementKey: string
  managementKeyId: string
}

/**
 * Creates a tenant with one secret key and one management key; the keys are returned once.
 * The tenant's token secret is sealed under `encryptionKey` when one is configured.
 */
export async function createTenant(
  db: Db,
  name: string,
  settings: Partial<TenantSettings> = {},
  encryptionKey?: Uint8Array,
): Promise<CreatedTenant> {
  const tenantId = randomUUID()
  const secret = issueApiKey(tenantId, 'secret')
  const management = issueApiKey(tenantId, 'management')
  await repo.insertTenant(
    db,
    {
      tenantId,
      name,
      keySecret: protectTenantSecret(generateTenantSecret(), tenantId, encryptionKey),
      settings: TenantSettings.partial().parse(settings),
    },
    [
      { keyId: secret.keyId, type: 'secret', secretHash: secret.hash, name: 'default' },
      { keyId: management.keyId, type: 'management', secretHash: management.hash, name: 'default' },
    ],
  )
  return {
    tenantId,
    name,
    secretKey: secret.value,
    secretKeyId: secret.keyId,
    managementKey: management.value,
    managementKeyId: management.keyId,
  }
}

const CONTEXT_TTL_MS = 1000
const MAX_CACHED = 10_000

/**
 * Finds tenants and authenticates API keys, with a short per-node cache so a hot tenant costs
 * no extra round trip. A revoked key or changed setting takes effect within `keyCacheMs` on
 * every node, and at once on the node that made the change.
 */
export class TenantDirectory {
  readonly #db: Db
  readonly #issuer: string
  readonly #keyCacheMs: number
  readonly #encryptionKey: Uint8Array | undefined
  readonly #previousKey: Uint8Array | undefined
  readonly #codecs = new Map<string, { tokens: TokenCodec; challengeKey: Buffer; verificationWebhookSecret: string }>()
  readonly #contexts = new Map<string, { context: TenantContext; until: number }>()
  readonly #keys = new Map<string, { context: TenantContext; type: ApiKeyType; keyId: string; until: number }>()

  constructor(
    db: Db,
    options: { issuer: string; keyCacheMs: number; encryptionKey?: Uint8Array | undefined; previousKey?: Uint8Array | undefined },
  ) {
    this.#db = db
    this.#issuer = options.issuer
    this.#keyCacheMs = options.keyCacheMs
    this.#encryptionKey = options.encryptionKey
    this.#previousKey = options.previousKey
  }

  /** The tenant, or null when there is none with this ID. */
  async find(tenantId: string, nowMs: number): Promise<TenantContext | null> {
    if (!isUuid(tenantId)) return null
    const hit = this.#contexts.get(tenantId)
    if (hit && hit.until > nowMs) return hit.context
    const row = await repo.findTenant(this.#db, tenantId)
    if (!row) return null
    const context = this.#contextOf(row)
    remember(this.#contexts, tenantId, { context, until: nowMs + CONTEXT_TTL_MS })
    return context
  }

  /**
   * Authenticates a presented API key of the given type. Throws 401 unauthorized for a
   * malformed, unknown, revoked or wrong-type key — the same answer for each, so a caller
   * learns nothing about which it was.
   */
  async authenticate(presented: string, type: ApiKeyType, nowMs: number): Promise<TenantContext> {
    const parsed = parseApiKey(presented)
    if (!parsed || parsed.type !== type) throw new ApiError('unauthorized')
    const cacheKey = `${parsed.tenantId}.${parsed.keyId}.${Buffer.from(parsed.secretHash).toString('base64')}`
    const hit = this.#keys.get(cacheKey)
    if (hit && hit.until > nowMs) return hit.context
    const row = await repo.findKeyWithTenant(this.#db, parsed.tenantId, parsed.keyId)
    if (!row || row.revokedAt !== null || row.keyType !== type || !hashesEqual(row.secretHash, parsed.secretHash)) {
      throw new ApiError('unauthorized', undefined, { keyId: parsed.keyId })
    }
    const context = this.#contextOf(row)
    if (this.#keyCacheMs > 0) {
      remember(this.#keys, cacheKey, { context, type, keyId: parsed.keyId, until: nowMs + this.#keyCacheMs })
    }
    return context
  }

  /** Drops a cached key, so its next use is checked against the database. */
  forgetKey(tenantId: string, keyId: string): void {
    for (const [cacheKey, entry] of this.#keys) {
      if (entry.context.tenantId === tenantId && entry.keyId === keyId) this.#keys.delete(cacheKey)
    }
  }

  /** Handles a KEY_REVOKED_CHANNEL payload (`<tenantId>.<keyId>`) from any node. */
  forgetRevokedKey(payload: string): void {
    const dot = payload.indexOf('.')
    if (dot > 0) this.forgetKey(payload.slice(0, dot), payload.slice(dot + 1))
  }

  /** Forgets cached settings of a tenant (after a settings change on this node). */
  forget(tenantId: string): void {
    this.#contexts.delete(tenantId)
    for (const [cacheKey, entry] of this.#keys) if (entry.context.tenantId === tenantId) this.#keys.delete(cacheKey)
  }

  #contextOf(row: repo.TenantRow): TenantContext {
    let codec = this.#codecs.get(row.tenantId)
    if (!codec) {
      const keys = deriveTenantKeys(revealTenantSecret(row.keySecret, row.tenantId, this.#encryptionKey, this.#previousKey))
      codec = {
        tokens: createTokenCodec(row.tenantId, keys.tokenKey, this.#issuer),
        challengeKey: keys.challengeKey,
        verificationWebhookSecret: `whsec_${keys.verificationWebhookKey.toString('base64')}`,
      }
      remember(this.#codecs, row.tenantId, codec)
    }
    const settings = readTenantSettings(row.settings)
    const perAction = new Map<string, ActionSettings>()
    for (const [code, value] of Object.entries(row.actionSettings ?? {})) perAction.set(code, readActionSettings(value))
    const rulesOf = new Map<string, LoadedRule[]>()
    for (const rule of loadRules((row.activeRules ?? []) as RuleDefinition[])) {
      rulesOf.set(rule.actionCode, [...(rulesOf.get(rule.actionCode) ?? []), rule])
    }
    return {
      tenantId: row.tenantId,
      name: row.name,
      settings,
      ...codec,
      hasWebhooks: row.hasWebhooks ?? false,
      actionSettings(actionCode) {
        const own = perAction.get(actionCode)
        return { ...ownOverTenant(own ?? {}, settings), rules: rulesOf.get(actionCode) ?? [], configured: own !== undefined }
      },
    }
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_CACHED && !map.has(key)) map.delete(map.keys().next().value as string)
  map.set(key, value)
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function isUuid(value: string): boolean {
  return UUID.test(value)
}

/**
 * Checks, before serving, that the configured encryption key fits this database's tenant
 * secrets (none configured while some are sealed, or the wrong key, stops the start with a
 * clear message), then seals every secret still stored as plain bytes. Returns how many it
 * sealed. Safe on several nodes at once: each row is replaced only if unchanged.
 */
export async function prepareTenantSecrets(db: Db, encryptionKey: Uint8Array | undefined, previousKey?: Uint8Array): Promise<number> {
  const sample = await repo.findSealedTenantSecret(db)
  if (sample) {
    if (!encryptionKey) throw new MissingEncryptionKeyError()
    try {
      revealTenantSecret(sample.keySecret, sample.tenantId, encryptionKey, previousKey)
    } catch {
      throw new WrongEncryptionKeyError()
    }
  }
  if (!encryptionKey) return 0
  const resealed = previousKey ? await resealUnderCurrentKey(db, encryptionKey, previousKey) : 0
  let sealed = 0
  for (const row of await repo.findPlainTenantSecrets(db)) {
    const stored = protectTenantSecret(row.keySecret, row.tenantId, encryptionKey)
    if (await repo.replaceTenantSecret(db, row.tenantId, row.keySecret, stored)) sealed++
  }
  // Webhook signing secrets and push-service keys stored before the key was set, likewise.
  for (const row of await findPlainStoredSecrets(db)) {
    const context =
      row.table === 'webhook_endpoints' ? webhookSecretContext(row.tenantId, row.rowKey) : pushConfigContext(row.tenantId, row.rowKey)
    const plain = readSecret(row.stored, context, undefined)
    if (await replaceStoredSecret(db, row, storeSecret(plain, context, encryptionKey))) sealed++
  }
  return sealed + resealed
}

/**
 * A rotation of the encryption key: every secret sealed under the previous key is sealed again
 * under the current one, each with a compare-and-swap (another node may be doing the same).
 * A secret neither key opens stops the start: it would fail later, for one tenant, unexplained.
 */
async function resealUnderCurrentKey(db: Db, encryptionKey: Uint8Array, previousKey: Uint8Array): Promise<number> {
  let resealed = 0
  for (const row of await repo.findSealedTenantSecrets(db)) {
    if (opens(() => revealTenantSecret(row.keySecret, row.tenantId, encryptionKey))) continue
    let secret: Buffer
    try {
      secret = revealTenantSecret(row.keySecret, row.tenantId, previousKey)
    } catch {
      throw new WrongEncryptionKeyError()
    }
    if (await repo.replaceTenantSecret(db, row.tenantId, row.keySecret, protectTenantSecret(secret, row.tenantId, encryptionKey)))
      resealed++
  }
  for (const row of await findSealedStoredSecrets(db)) {
    const context =
      row.table === 'webhook_endpoints' ? webhookSecretContext(row.tenantId, row.rowKey) : pushConfigContext(row.tenantId, row.rowKey)
    if (opens(() => readSecret(row.stored, context, encryptionKey))) continue
    let plain: Buffer
    try {
      plain = readSecret(row.stored, context, previousKey)
    } catch {
      throw new WrongEncryptionKeyError()
    }
    if (await replaceStoredSecret(db, row, storeSecret(plain, context, encryptionKey))) resealed++
  }
  return resealed
}

function opens(read: () => unknown): boolean {
  try {
    read()
    return true
  } catch {
    return false
  }
}

export class WrongEncryptionKeyError extends Error {
  override name = 'WrongEncryptionKeyError'
  constructor() {
    super('COUNTERSIGN_ENCRYPTION_KEY does not open the tenant secrets in this database. Start with the key they were encrypted under.')
  }
}

/**
 * Changes some of a tenant's settings; each value is checked against TenantSettings and an
 * unknown name is refused. Returns the settings now in force.
 */
export async function updateTenantSettings(db: Db, tenantId: string, change: Record<string, unknown>): Promise<TenantSettings> {
  const parsed = TenantSettings.partial().strict().safeParse(change)
  if (!parsed.success) {
    throw new ApiError(
      'invalid_request',
      `Invalid settings: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`).join('; ')}`,
    )
  }
  if (!(await repo.mergeTenantSettings(db, tenantId, parsed.data))) throw new ApiError('not_found', 'No such tenant')
  const row = await repo.findTenant(db, tenantId)
  return readTenantSettings(row?.settings)
}
