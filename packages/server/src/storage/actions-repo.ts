import { sql, type SQL } from 'drizzle-orm'
import type { ActionState, CredentialNamespace, VerificationMethod } from '@countersign/protocol'
import { queryRows, queryRowsPrepared, textArray, type Db } from './database.ts'
import { outboxCtes } from './outbox.ts'

/**
 * The data of an action's webhook events, from a CTE returning an action's columns under the
 * names of ACTION_COLUMNS (or the same names aliased by the caller).
 */
export function actionEventData(from: SQL, extra: SQL = sql``): SQL {
  return sql`SELECT jsonb_build_object('userId', x."userId", 'actionCode', x."actionCode", 'idempotencyKey', x."idempotencyKey",
      'state', x.state, 'stateUpdatedAt', x."stateUpdatedAt", 'verificationMethod', x."verificationMethod",
      'userAuthenticatorId', x."verifiedByCredentialId"${extra}) AS data FROM ${from} x`
}

export interface ActionRow {
  userId: string
  actionCode: string
  idempotencyKey: string
  state: ActionState
  stateUpdatedAt: Date
  createdAt: Date
  updatedAt: Date
  verificationMethod: VerificationMethod | null
  verifiedByCredentialId: string | null
  ipAddress: string | null
  userAgent: string | null
  scope: string
  redirectUrl: string | null
  ruleIds: string[]
  priorityRuleId: string | null
  rules: Array<{ ruleId: string; name: string; description?: string }>
  output: unknown
  transaction: Record<string, string | number | boolean | null> | null
}

/**
 * The state-history entry a statement that sets an action's state appends (a one-element jsonb
 * array, for `||`): no statement of its own, so a state and its history cannot disagree.
 */
export function historyEntry(state: SQL, now: Date, verificationMethod?: SQL): SQL {
  return sql`jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('state', ${state}::text, 'at', ${now}::timestamptz, 'verificationMethod', ${verificationMethod ?? sql`NULL`}::text)))`
}

const ACTION_COLUMNS = sql`a.user_id AS "userId", a.action_code AS "actionCode", a.idempotency_key AS "idempotencyKey",
  a.state, a.state_updated_at AS "stateUpdatedAt", a.created_at AS "createdAt", a.updated_at AS "updatedAt",
  a.verification_method AS "verificationMethod", a.verified_by_credential_id AS "verifiedByCredentialId",
  a.ip_address AS "ipAddress", a.user_agent AS "userAgent", a.scope, a.redirect_url AS "redirectUrl", a.rule_ids AS "ruleIds",
  a.priority_rule_id AS "priorityRuleId", a.rules, a.output, a.transaction`

/** What the rules decided with, stored with the action. */
export interface RecordedRules {
  ruleIds: string[]
  priorityRuleId: string | null
  rules: Array<{ ruleId: string; name: string; description?: string }>
  output: Record<string, unknown>
  context: Record<string, unknown>
}

export interface NewAction {
  userId: string
  actionCode: string
  idempotencyKey: string
  /** State for a user with at least one credential, and for one with none. */
  stateIfEnrolled: ActionState
  stateIfNotEnrolled: ActionState
  rules: RecordedRules | null
  /** Add the action code to the tenant's action configurations (its first track). */
  createConfiguration: boolean
  ipAddress: string | null
  userAgent: string | null
  deviceId: string | null
  custom: Record<string, unknown> | null
  transaction: Record<string, unknown> | null
  scope: string
  redirectUrl: string | null
  locale: string | null
  email: string | null
  phoneNumber: string | null
  username: string | null
}

export interface TrackedAction extends ActionRow {
  /** False when the idempotency key already named an action and that one is returned. */
  created: boolean
  enrolledNamespaces: CredentialNamespace[]
  username: string | null
}

/**
 * Records an action in one statement: creates or refreshes the user, reads whether they
 * are enrolled, and inserts the action unless its idempotency key exists, in which case the
 * existing action is returned. Null only when a concurrent track with the same key won the
 * insert and committed after this statement's snapshot; the caller tracks again.
 */
export async function trackAction(db: Db, tenantId: string, action: NewAction, now: Date): Promise<TrackedAction | null> {
  const a = action
  const r = a.rules
  const json = (value: unknown) => sql`${value === null ? null : JSON.stringify(value)}::jsonb`
  const [row] = await queryRowsPrepared<TrackedAction>(
    db,
    sql`WITH ${
      a.createConfiguration
        ? sql`new_configuration AS (
          INSERT INTO action_configurations (tenant_id, action_code, created_at, updated_at)
          VALUES (${tenantId}, ${a.actionCode}, ${now}, ${now}) ON CONFLICT DO NOTHING
        ), `
        : sql``
    }upserted_user AS (
          INSERT INTO users AS u (tenant_id, user_id, email, phone_number, username, created_at, updated_at)
          SELECT ${tenantId}, ${a.userId}, ${a.email}, ${a.phoneNumber}, ${a.username}, ${now}, ${now}
           -- A track refused for reusing the idempotency key of another action changes no user.
           WHERE NOT EXISTS (SELECT 1 FROM actions x WHERE x.tenant_id = ${tenantId} AND x.idempotency_key = ${a.idempotencyKey}
                               AND (x.user_id <> ${a.userId} OR x.action_code <> ${a.actionCode}))
          ON CONFLICT (tenant_id, user_id) DO UPDATE SET
            email = COALESCE(EXCLUDED.email, u.email),
            phone_number = COALESCE(EXCLUDED.phone_number, u.phone_number),
            username = COALESCE(EXCLUDED.username, u.username),
            updated_at = EXCLUDED.updated_at
          WHERE (EXCLUDED.email IS NOT NULL AND EXCLUDED.email IS DISTINCT FROM u.email)
             OR (EXCLUDED.phone_number IS NOT NULL AND EXCLUDED.phone_number IS DISTINCT FROM u.phone_number)
             OR (EXCLUDED.username IS NOT NULL AND EXCLUDED.username IS DISTINCT FROM u.username)
          RETURNING u.username
        ), enrolled AS (
          SELECT COALESCE(array_agg(DISTINCT c.namespace ORDER BY c.namespace), '{}') AS namespaces
            FROM credentials c WHERE c.tenant_id = ${tenantId} AND c.user_id = ${a.userId}
        ), inserted AS (
          INSERT INTO actions AS a (tenant_id, idempotency_key, user_id, action_code, state, state_updated_at, created_at,
                                    updated_at, ip_address, user_agent, device_id, custom, transaction, scope, redirect_url, locale,
                                    rule_ids, priority_rule_id, rules, output, rule_context, state_history)
          SELECT ${tenantId}, ${a.idempotencyKey}, ${a.userId}, ${a.actionCode}, initial.state,
                 ${now}, ${now}, ${now}, ${a.ipAddress}, ${a.userAgent}, ${a.deviceId}, ${json(a.custom)}, ${json(a.transaction)},
                 ${a.scope}, ${a.redirectUrl}, ${a.locale},
                 ${textArray(r?.ruleIds ?? [])}, ${r?.priorityRuleId ?? null}, ${r ? json(r.rules) : sql`'[]'::jsonb`},
                 ${json(r?.output ?? null)}, ${json(r?.context ?? null)}, ${historyEntry(sql`initial.state`, now)}
            FROM enrolled, LATERAL (
              SELECT CASE WHEN cardinality(enrolled.namespaces) > 0 THEN ${a.stateIfEnrolled} ELSE ${a.stateIfNotEnrolled} END AS state
            ) AS initial
          ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
          RETURNING ${ACTION_COLUMNS}, true AS created
        ), found AS (
          SELECT * FROM inserted
          UNION ALL
          SELECT ${ACTION_COLUMNS}, false AS created FROM actions a
           WHERE a.tenant_id = ${tenantId} AND a.idempotency_key = ${a.idempotencyKey} AND NOT EXISTS (SELECT 1 FROM inserted)
        ), ${outboxCtes('created', tenantId, 'action.created', actionEventData(sql`inserted`), now)}
        SELECT found.*, enrolled.namespaces AS "enrolledNamespaces",
               COALESCE((SELECT username FROM upserted_user),
                        (SELECT u.username FROM users u WHERE u.tenant_id = ${tenantId} AND u.user_id = ${a.userId})) AS username
          FROM found, enrolled`,
  )
  return row ?? null
}

export async function findAction(
  db: Db,
  tenantId: string,
  key: { userId: string; actionCode: string; idempotencyKey: string },
): Promise<ActionRow | null> {
  const [row] = await queryRows<ActionRow>(
    db,
    sql`SELECT ${ACTION_COLUMNS} FROM actions a
         WHERE a.tenant_id = ${tenantId} AND a.idempotency_key = ${key.idempotencyKey}
           AND a.user_id = ${key.userId} AND a.action_code = ${key.actionCode}`,
  )
  return row ?? null
}

/** Sets an action's state as the tenant's backend decides (for example after a manual review). */
export async function setActionState(
  db: Db,
  tenantId: string,
  key: { userId: string; actionCode: string; idempotencyKey: string },
  state: ActionState,
  now: Date,
): Promise<ActionRow | null> {
  const [row] = await queryRows<ActionRow>(
    db,
    sql`WITH before AS (
          SELECT a.state FROM actions a
           WHERE a.tenant_id = ${tenantId} AND a.idempotency_key = ${key.idempotencyKey}
             AND a.user_id = ${key.userId} AND a.action_code = ${key.actionCode}
        ), updated AS (
          UPDATE actions AS a SET
            state_updated_at = CASE WHEN a.state = ${state} THEN a.state_updated_at ELSE ${now} END,
            state_history = CASE WHEN a.state = ${state} THEN a.state_history ELSE a.state_history || ${historyEntry(sql`${state}`, now)} END,
            state = ${state}, updated_at = ${now}
          WHERE a.tenant_id = ${tenantId} AND a.idempotency_key = ${key.idempotencyKey}
            AND a.user_id = ${key.userId} AND a.action_code = ${key.actionCode}
          RETURNING ${ACTION_COLUMNS}
        ), changed AS (
          SELECT updated.*, before.state AS "previousState" FROM updated, before WHERE before.state <> updated.state
        ), ${outboxCtes('changed', tenantId, 'action.state_changed', actionEventData(sql`changed`, sql`, 'previousState', x."previousState"`), now)}
        SELECT * FROM updated`,
  )
  return row ?? null
}

/**
 * Moves an action that could still be verified to CHALLENGE_FAILED (the action.verify webhook
 * vetoed its approval). False when it was no longer verifiable.
 */
export async function failVerifiableAction(
  db: Db,
  tenantId: string,
  key: { userId: string; actionCode: string; idempotencyKey: string },
  verificationMethod: VerificationMethod,
  now: Date,
): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`WITH before AS (
          SELECT a.state FROM actions a WHERE a.tenant_id = ${tenantId} AND a.idempotency_key = ${key.idempotencyKey}
        ), updated AS (
          UPDATE actions AS a SET state = 'CHALLENGE_FAILED', state_updated_at = ${now}, updated_at = ${now},
                 verification_method = ${verificationMethod},
                 state_history = a.state_history || ${historyEntry(sql`'CHALLENGE_FAILED'`, now, sql`${verificationMethod}`)}
           WHERE a.tenant_id = ${tenantId} AND a.idempotency_key = ${key.idempotencyKey}
             AND a.user_id = ${key.userId} AND a.action_code = ${key.actionCode} AND a.state IN ${VERIFIABLE_STATES}
          RETURNING ${ACTION_COLUMNS}
        ), ${outboxCtes('changed', tenantId, 'action.state_changed', actionEventData(sql`updated`, sql`, 'previousState', (SELECT state FROM before)`), now)}
        SELECT 1 AS one FROM updated`,
  )
  return rows.length > 0
}

export interface ActionQuery {
  codes?: string[] | undefined
  from: Date
  state?: ActionState | undefined
  limit: number
}

export async function queryUserActions(db: Db, tenantId: string, userId: string, query: ActionQuery): Promise<ActionRow[]> {
  const filters = [sql`a.tenant_id = ${tenantId}`, sql`a.user_id = ${userId}`, sql`a.created_at >= ${query.from}`]
  if (query.codes?.length)
    filters.push(
      sql`a.action_code IN (${sql.join(
        query.codes.map((c) => sql`${c}`),
        sql`, `,
      )})`,
    )
  if (query.state) filters.push(sql`a.state = ${query.state}`)
  return queryRows<ActionRow>(
    db,
    sql`SELECT ${ACTION_COLUMNS} FROM actions a WHERE ${sql.join(filters, sql` AND `)}
         ORDER BY a.created_at DESC LIMIT ${query.limit}`,
  )
}

export interface ActionLogFilter {
  userId?: string | undefined
  actionCode?: string | undefined
  state?: ActionState | undefined
  ruleId?: string | undefined
  idempotencyKey?: string | undefined
  from?: Date | undefined
  to?: Date | undefined
  /** The (createdAt, idempotencyKey) of the last action of the previous page. */
  after?: { createdAt: Date; idempotencyKey: string } | undefined
  limit: number
}

export interface ActionLogRow extends ActionRow {
  ruleContext: Record<string, unknown> | null
  stateHistory: Array<{ state: ActionState; at: string; verificationMethod?: VerificationMethod }>
}

/** The tenant's action log, newest first, in pages. */
export async function queryActionLog(db: Db, tenantId: string, filter: ActionLogFilter): Promise<ActionLogRow[]> {
  const filters = [sql`a.tenant_id = ${tenantId}`]
  if (filter.userId !== undefined) filters.push(sql`a.user_id = ${filter.userId}`)
  if (filter.actionCode !== undefined) filters.push(sql`a.action_code = ${filter.actionCode}`)
  if (filter.state !== undefined) filters.push(sql`a.state = ${filter.state}`)
  if (filter.ruleId !== undefined) filters.push(sql`${filter.ruleId} = ANY (a.rule_ids)`)
  if (filter.idempotencyKey !== undefined) filters.push(sql`a.idempotency_key = ${filter.idempotencyKey}`)
  if (filter.from !== undefined) filters.push(sql`a.created_at >= ${filter.from}`)
  if (filter.to !== undefined) filters.push(sql`a.created_at < ${filter.to}`)
  if (filter.after !== undefined) {
    filters.push(sql`(a.created_at, a.idempotency_key) < (${filter.after.createdAt}, ${filter.after.idempotencyKey})`)
  }
  return queryRows<ActionLogRow>(
    db,
    sql`SELECT ${ACTION_COLUMNS}, a.rule_context AS "ruleContext", a.state_history AS "stateHistory"
          FROM actions a WHERE ${sql.join(filters, sql` AND `)}
         ORDER BY a.created_at DESC, a.idempotency_key DESC LIMIT ${filter.limit}`,
  )
}

/** What a past action was tracked with, for re-deciding it in a dry run. */
export interface RecordedAction {
  userId: string
  actionCode: string
  idempotencyKey: string
  createdAt: Date
  ipAddress: string | null
  userAgent: string | null
  deviceId: string | null
  custom: Record<string, unknown> | null
  transaction: Record<string, unknown> | null
  ruleContext: Record<string, unknown> | null
  output: { signals?: string[] } | null
}

export async function findRecordedAction(db: Db, tenantId: string, userId: string, idempotencyKey: string): Promise<RecordedAction | null> {
  const [row] = await queryRows<RecordedAction>(
    db,
    sql`SELECT a.user_id AS "userId", a.action_code AS "actionCode", a.idempotency_key AS "idempotencyKey", a.created_at AS "createdAt",
               a.ip_address AS "ipAddress", a.user_agent AS "userAgent", a.device_id AS "deviceId", a.custom, a.transaction,
               a.rule_context AS "ruleContext", a.output
          FROM actions a WHERE a.tenant_id = ${tenantId} AND a.idempotency_key = ${idempotencyKey} AND a.user_id = ${userId}`,
  )
  return row ?? null
}

/** What a completed (or refused) in-app verification statement found. */
export interface VerificationOutcome {
  credentialId: string | null
  credentialUserId: string | null
  lockedUntil: Date | null
  /** The action's state before this statement; null when there is no such action. */
  actionState: ActionState | null
  tokenAlreadyUsed: boolean
  /** This statement consumed the challenge. */
  consumed: boolean
  /** This statement moved the action to CHALLENGE_SUCCEEDED (or created it so). */
  succeeded: boolean
  username: string | null
}

export interface VerificationInput {
  spkiHash: Uint8Array
  namespaces: readonly CredentialNamespace[]
  challengeNonce: Uint8Array
  challengeExpiresAt: Date
  verificationMethod: VerificationMethod
}

const VERIFIABLE_STATES = sql`('ALLOW', 'CHALLENGE_REQUIRED')`

function credentialCte(tenantId: string, input: VerificationInput) {
  return sql`cred AS (
    SELECT c.credential_id, c.user_id, c.locked_until FROM credentials c
     WHERE c.tenant_id = ${tenantId} AND c.spki_hash = ${Buffer.from(input.spkiHash)}
       AND c.namespace IN (${sql.join(
         input.namespaces.map((n) => sql`${n}`),
         sql`, `,
       )})
     ORDER BY c.created_at LIMIT 1
  )`
}

/** A good signature: the credential was used now, and its failure count starts over. */
function touchedCte(tenantId: string, now: Date, completed: SQL) {
  return sql`touched AS (
    UPDATE credentials c SET last_verified_at = ${now}, failed_attempts = 0, locked_until = NULL
     WHERE c.tenant_id = ${tenantId} AND c.credential_id = (SELECT credential_id FROM eligible)
       AND EXISTS (SELECT 1 FROM ${completed})
    RETURNING 1
  )`
}

/**
 * Completes the action a token names, in one statement: the challenge is consumed only when
 * the credential belongs to the token's user and is not locked, the token has not been
 * validated and the action can still be verified; then the action moves to
 * CHALLENGE_SUCCEEDED and the credential's failure count resets. Two requests racing on one
 * challenge: the primary key of consumed_challenges lets exactly one through.
 */
export async function completeTokenVerification(
  db: Db,
  tenantId: string,
  token: { jti: string; userId: string; actionCode: string; idempotencyKey: string },
  input: VerificationInput,
  now: Date,
): Promise<VerificationOutcome> {
  const [row] = await queryRowsPrepared<VerificationOutcome>(
    db,
    sql`WITH ${credentialCte(tenantId, input)}, act AS (
          SELECT a.state FROM actions a
           WHERE a.tenant_id = ${tenantId} AND a.idempotency_key = ${token.idempotencyKey}
             AND a.user_id = ${token.userId} AND a.action_code = ${token.actionCode}
        ), token_used AS (
          SELECT 1 FROM used_tokens t WHERE t.tenant_id = ${tenantId} AND t.jti = ${token.jti}
        ), eligible AS (
          SELECT cred.credential_id FROM cred, act
           WHERE cred.user_id = ${token.userId}
             AND (cred.locked_until IS NULL OR cred.locked_until <= ${now})
             AND act.state IN ${VERIFIABLE_STATES}
             AND NOT EXISTS (SELECT 1 FROM token_used)
        ), consumed AS (
          INSERT INTO consumed_challenges (tenant_id, nonce, expires_at)
          SELECT ${tenantId}, ${Buffer.from(input.challengeNonce)}, ${input.challengeExpiresAt} FROM eligible
          ON CONFLICT DO NOTHING RETURNING 1
        ), updated AS (
          UPDATE actions a SET state = 'CHALLENGE_SUCCEEDED', state_updated_at = ${now}, updated_at = ${now},
                 verification_method = ${input.verificationMethod},
                 state_history = a.state_history || ${historyEntry(sql`'CHALLENGE_SUCCEEDED'`, now, sql`${input.verificationMethod}`)},
                 verified_by_credential_id = (SELECT credential_id FROM eligible)
           WHERE a.tenant_id = ${tenantId} AND a.idempotency_key = ${token.idempotencyKey}
             AND a.state IN ${VERIFIABLE_STATES} AND EXISTS (SELECT 1 FROM consumed)
          RETURNING ${ACTION_COLUMNS}
        ), ${touchedCte(tenantId, now, sql`updated`)},
        ${outboxCtes('changed', tenantId, 'action.state_changed', actionEventData(sql`updated`, sql`, 'previousState', (SELECT state FROM act)`), now)}
        SELECT (SELECT credential_id FROM cred) AS "credentialId", (SELECT user_id FROM cred) AS "credentialUserId",
               (SELECT locked_until FROM cred) AS "lockedUntil", (SELECT state FROM act) AS "actionState",
               EXISTS (SELECT 1 FROM token_used) AS "tokenAlreadyUsed", EXISTS (SELECT 1 FROM consumed) AS consumed,
               EXISTS (SELECT 1 FROM updated) AS succeeded,
               (SELECT u.username FROM users u WHERE u.tenant_id = ${tenantId} AND u.user_id = ${token.userId}) AS username,
               (SELECT count(*) FROM touched) AS touched`,
  )
  return row!
}

/**
 * The app verified with only the tenant ID and named an action: the credential's user is
 * the subject, and a new action is recorded as CHALLENGE_SUCCEEDED in the same statement
 * that consumes the challenge.
 */
export async function completeDeviceVerification(
  db: Db,
  tenantId: string,
  action: { actionCode: string; idempotencyKey: string; scope: string },
  input: VerificationInput,
  now: Date,
): Promise<VerificationOutcome> {
  const [row] = await queryRows<VerificationOutcome>(
    db,
    sql`WITH ${credentialCte(tenantId, input)}, eligible AS (
          SELECT cred.credential_id, cred.user_id FROM cred
           WHERE cred.locked_until IS NULL OR cred.locked_until <= ${now}
        ), consumed AS (
          INSERT INTO consumed_challenges (tenant_id, nonce, expires_at)
          SELECT ${tenantId}, ${Buffer.from(input.challengeNonce)}, ${input.challengeExpiresAt} FROM eligible
          ON CONFLICT DO NOTHING RETURNING 1
        ), inserted AS (
          INSERT INTO actions AS a (tenant_id, idempotency_key, user_id, action_code, state, state_updated_at, created_at,
                               updated_at, verification_method, verified_by_credential_id, scope, state_history)
          SELECT ${tenantId}, ${action.idempotencyKey}, eligible.user_id, ${action.actionCode}, 'CHALLENGE_SUCCEEDED',
                 ${now}, ${now}, ${now}, ${input.verificationMethod}, eligible.credential_id, ${action.scope},
                 ${historyEntry(sql`'CHALLENGE_SUCCEEDED'`, now, sql`${input.verificationMethod}`)}
            FROM eligible WHERE EXISTS (SELECT 1 FROM consumed)
          RETURNING ${ACTION_COLUMNS}
        ), ${touchedCte(tenantId, now, sql`inserted`)},
        ${outboxCtes('created', tenantId, 'action.created', actionEventData(sql`inserted`), now)}
        SELECT (SELECT credential_id FROM cred) AS "credentialId", (SELECT user_id FROM cred) AS "credentialUserId",
               (SELECT locked_until FROM cred) AS "lockedUntil", NULL AS "actionState", false AS "tokenAlreadyUsed",
               EXISTS (SELECT 1 FROM consumed) AS consumed, EXISTS (SELECT 1 FROM inserted) AS succeeded,
               (SELECT u.username FROM users u WHERE u.tenant_id = ${tenantId}
                   AND u.user_id = (SELECT user_id FROM cred)) AS username,
               (SELECT count(*) FROM touched) AS touched`,
  )
  return row!
}

/**
 * Marks a token used and reads its action, in one statement. `firstUse` is false when the
 * token was validated before: a token validates once.
 */
export async function consumeTokenAndReadAction(
  db: Db,
  tenantId: string,
  token: { jti: string; expiresAt: Date; idempotencyKey: string },
): Promise<{ firstUse: boolean; action: ActionRow | null }> {
  const [row] = await queryRowsPrepared<ActionRow & { firstUse: boolean; found: boolean }>(
    db,
    sql`WITH used AS (
          INSERT INTO used_tokens (tenant_id, jti, expires_at) VALUES (${tenantId}, ${token.jti}, ${token.expiresAt})
          ON CONFLICT DO NOTHING RETURNING 1
        )
        SELECT EXISTS (SELECT 1 FROM used) AS "firstUse", a.tenant_id IS NOT NULL AS found, ${ACTION_COLUMNS}
          FROM (SELECT 1) AS one
          LEFT JOIN actions a ON a.tenant_id = ${tenantId} AND a.idempotency_key = ${token.idempotencyKey}`,
  )
  const { firstUse, found, ...action } = row!
  return { firstUse, action: found ? action : null }
}

export async function isTokenUsed(db: Db, tenantId: string, jti: string): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(db, sql`SELECT 1 AS one FROM used_tokens WHERE tenant_id = ${tenantId} AND jti = ${jti}`)
  return rows.length > 0
}

/** Deletes single-use records whose challenge or token has expired; they can no longer be presented. */
export async function sweepExpired(db: Db, now: Date, batch = 5000): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    db,
    sql`WITH c AS (
          DELETE FROM consumed_challenges WHERE ctid IN (
            SELECT ctid FROM consumed_challenges WHERE expires_at < ${now} LIMIT ${batch}) RETURNING 1
        ), t AS (
          DELETE FROM used_tokens WHERE ctid IN (
            SELECT ctid FROM used_tokens WHERE expires_at < ${now} LIMIT ${batch}) RETURNING 1
        )
        SELECT ((SELECT count(*) FROM c) + (SELECT count(*) FROM t))::int AS n`,
  )
  return rows[0]?.n ?? 0
}

export interface ActionStatsRow {
  start: Date
  state: ActionState
  count: number
}

/** Actions tracked since `from`, counted by interval and state: one index range scan (actions_tenant_created_idx). */
export function actionStats(db: Db, tenantId: string, from: Date, interval: 'hour' | 'day'): Promise<ActionStatsRow[]> {
  return queryRows(
    db,
    sql`SELECT date_trunc(${interval}, a.created_at, 'UTC') AS start, a.state, count(*)::int AS count
          FROM actions a
         WHERE a.tenant_id = ${tenantId} AND a.created_at >= ${from}
         GROUP BY 1, 2`,
  )
}
