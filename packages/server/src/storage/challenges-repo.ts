import { sql, type SQL } from 'drizzle-orm'
import type { ActionState, CredentialNamespace, TransactionDetails } from '@countersign/protocol'
import { actionEventData, historyEntry } from './actions-repo.ts'
import { inTransaction, queryRows, type Db } from './database.ts'
import { outboxCtes } from './outbox.ts'

/** Channel on which every node hears that a push or QR challenge changed (payload `<tenantId>:<challengeId>`). */
export const CHALLENGE_CHANGED_CHANNEL = 'countersign_challenge_changed'

export type ChallengeKind = 'push' | 'qr'
export type StoredChallengeState = 'pending' | 'claimed' | 'approved' | 'denied'

export interface ChallengeRow {
  challengeId: string
  kind: ChallengeKind
  userId: string | null
  actionCode: string
  idempotencyKey: string | null
  state: StoredChallengeState
  targetCredentialId: string | null
  credentialId: string | null
  deviceCodeHash: Uint8Array | null
  verificationCode: string | null
  ipAddress: string | null
  userAgent: string | null
  deviceId: string | null
  custom: Record<string, unknown> | null
  deliveryResults: unknown
  createdAt: Date
  expiresAt: Date
  claimedAt: Date | null
  answeredAt: Date | null
  tokenIssuedAt: Date | null
}

const CHALLENGE_COLUMNS = sql`ch.challenge_id AS "challengeId", ch.kind, ch.user_id AS "userId", ch.action_code AS "actionCode",
  ch.idempotency_key AS "idempotencyKey", ch.state, ch.target_credential_id AS "targetCredentialId",
  ch.credential_id AS "credentialId", ch.device_code_hash AS "deviceCodeHash", ch.verification_code AS "verificationCode",
  ch.ip_address AS "ipAddress", ch.user_agent AS "userAgent", ch.device_id AS "deviceId", ch.custom,
  ch.delivery_results AS "deliveryResults", ch.created_at AS "createdAt", ch.expires_at AS "expiresAt",
  ch.claimed_at AS "claimedAt", ch.answered_at AS "answeredAt", ch.token_issued_at AS "tokenIssuedAt"`

const NAMESPACES = (namespaces: readonly CredentialNamespace[]): SQL =>
  sql.join(
    namespaces.map((n) => sql`${n}`),
    sql`, `,
  )

/** The usable credential holding a key: not expired. Locks are the caller's to judge. */
function credentialCte(tenantId: string, spkiHash: Uint8Array, namespaces: readonly CredentialNamespace[], now: Date): SQL {
  return sql`cred AS (
    SELECT c.credential_id, c.user_id, c.locked_until FROM credentials c
     WHERE c.tenant_id = ${tenantId} AND c.spki_hash = ${Buffer.from(spkiHash)} AND c.namespace IN (${NAMESPACES(namespaces)})
       AND (c.expires_at IS NULL OR c.expires_at > ${now})
     ORDER BY c.created_at LIMIT 1
  )`
}

/** Tells every node's live streams that the challenge changed. */
function notify(tenantId: string, challengeId: SQL): SQL {
  return sql`pg_notify(${CHALLENGE_CHANGED_CHANNEL}, ${tenantId} || ':' || ${challengeId})`
}

export interface PushDevice {
  credentialId: string
  pushToken: string | null
  devicePlatform: string | null
  namespace: CredentialNamespace
}

export interface NewPushChallenge {
  challengeId: string
  userId: string
  actionCode: string
  idempotencyKey: string
  targetCredentialId: string | null
  verificationCode: string | null
  ipAddress: string | null
  userAgent: string | null
  deviceId: string | null
  expiresAt: Date
}

export type CreatePushResult =
  | { outcome: 'created'; challenge: ChallengeRow; devices: PushDevice[] }
  | { outcome: 'no_user' | 'push_blocked' | 'no_devices' | 'no_action' | 'too_many_pending' | 'too_many_per_hour' }
  | { outcome: 'action_state'; state: ActionState }

/**
 * Creates a push challenge for an action, within the user's push limits. The user's row is
 * locked while the limits are counted and the challenge inserted, so parallel requests
 * cannot together pass a limit each of them alone respects. A `push.created` event carries
 * the devices and their push tokens, for tenants that deliver pushes themselves.
 */
export async function createPushChallenge(
  db: Db,
  tenantId: string,
  challenge: NewPushChallenge,
  limits: { maxPending: number; maxPerHour: number; pushNamespaces: readonly CredentialNamespace[] },
  now: Date,
): Promise<CreatePushResult> {
  return inTransaction(db, async (t) => {
    const c = challenge
    // Lock first, count after: in READ COMMITTED each statement takes a new snapshot, so the
    // counts below see every challenge committed by whoever held the lock before us. (Counted in
    // the locking statement itself, they would come from the snapshot taken before the wait.)
    const [locked] = await queryRows<{ pushBlocked: boolean }>(
      t,
      sql`SELECT u.push_blocked_at IS NOT NULL AS "pushBlocked" FROM users u
           WHERE u.tenant_id = ${tenantId} AND u.user_id = ${c.userId} FOR UPDATE`,
    )
    if (!locked) return { outcome: 'no_user' }
    const [facts] = await queryRows<{ actionState: ActionState | null; pending: number; lastHour: number }>(
      t,
      sql`SELECT (SELECT a.state FROM actions a WHERE a.tenant_id = u.tenant_id AND a.idempotency_key = ${c.idempotencyKey}
                     AND a.user_id = u.user_id AND a.action_code = ${c.actionCode}) AS "actionState",
                 (SELECT count(*)::int FROM challenges ch WHERE ch.tenant_id = u.tenant_id AND ch.user_id = u.user_id
                     AND ch.kind = 'push' AND ch.state = 'pending' AND ch.expires_at > ${now}) AS pending,
                 (SELECT count(*)::int FROM challenges ch WHERE ch.tenant_id = u.tenant_id AND ch.user_id = u.user_id
                     AND ch.kind = 'push' AND ch.created_at > ${new Date(now.getTime() - 3_600_000)}) AS "lastHour"
            FROM users u WHERE u.tenant_id = ${tenantId} AND u.user_id = ${c.userId}`,
    )
    if (!facts) return { outcome: 'no_user' }
    if (locked.pushBlocked) return { outcome: 'push_blocked' }
    if (facts.actionState === null) return { outcome: 'no_action' }
    if (facts.actionState !== 'ALLOW' && facts.actionState !== 'CHALLENGE_REQUIRED')
      return { outcome: 'action_state', state: facts.actionState }
    if (facts.pending >= limits.maxPending) return { outcome: 'too_many_pending' }
    if (facts.lastHour >= limits.maxPerHour) return { outcome: 'too_many_per_hour' }
    const devices = await queryRows<PushDevice>(
      t,
      sql`SELECT c.credential_id AS "credentialId", c.push_token AS "pushToken", c.device_platform AS "devicePlatform", c.namespace
            FROM credentials c
           WHERE c.tenant_id = ${tenantId} AND c.user_id = ${c.userId} AND c.namespace IN (${NAMESPACES(limits.pushNamespaces)})
             AND (c.expires_at IS NULL OR c.expires_at > ${now})
             ${c.targetCredentialId ? sql`AND c.credential_id = ${c.targetCredentialId}` : sql``}
           ORDER BY c.created_at`,
    )
    if (devices.length === 0) return { outcome: 'no_devices' }
    const devicesJson = JSON.stringify(
      devices.map((d) => ({ userAuthenticatorId: d.credentialId, pushToken: d.pushToken, devicePlatform: d.devicePlatform })),
    )
    const [row] = await queryRows<ChallengeRow>(
      t,
      sql`WITH inserted AS (
            INSERT INTO challenges AS ch (tenant_id, challenge_id, kind, user_id, action_code, idempotency_key, state,
                                          target_credential_id, verification_code, ip_address, user_agent, device_id,
                                          created_at, expires_at)
            VALUES (${tenantId}, ${c.challengeId}, 'push', ${c.userId}, ${c.actionCode}, ${c.idempotencyKey}, 'pending',
                    ${c.targetCredentialId}, ${c.verificationCode}, ${c.ipAddress}, ${c.userAgent}, ${c.deviceId}, ${now}, ${c.expiresAt})
            RETURNING *
          ), ${outboxCtes(
            'push',
            tenantId,
            'push.created',
            sql`SELECT jsonb_build_object('challengeId', i.challenge_id, 'userId', i.user_id, 'actionCode', i.action_code,
                  'idempotencyKey', i.idempotency_key, 'expiresAt', i.expires_at, 'verificationCode', i.verification_code,
                  'devices', ${devicesJson}::jsonb) AS data FROM inserted i`,
            now,
          )}
          SELECT ${CHALLENGE_COLUMNS} FROM inserted ch`,
    )
    return { outcome: 'created', challenge: row!, devices }
  })
}

/** Stores what the push services said, for the initiating side to see. */
export async function recordDeliveryResults(db: Db, tenantId: string, challengeId: string, results: unknown): Promise<void> {
  await queryRows(
    db,
    sql`UPDATE challenges SET delivery_results = ${JSON.stringify(results)}::jsonb
         WHERE tenant_id = ${tenantId} AND challenge_id = ${challengeId}`,
  )
}

export interface NewQrChallenge {
  challengeId: string
  userId: string | null
  actionCode: string
  idempotencyKey: string | null
  deviceCodeHash: Uint8Array
  verificationCode: string | null
  ipAddress: string | null
  userAgent: string | null
  custom: Record<string, unknown> | null
  expiresAt: Date
}

/** Inserts a QR challenge; null when it names a user who no longer exists (the token outlived them). */
export async function insertQrChallenge(db: Db, tenantId: string, c: NewQrChallenge, now: Date): Promise<ChallengeRow | null> {
  const [row] = await queryRows<ChallengeRow>(
    db,
    sql`INSERT INTO challenges AS ch (tenant_id, challenge_id, kind, user_id, action_code, idempotency_key, state,
                                      device_code_hash, verification_code, ip_address, user_agent, custom, created_at, expires_at)
        SELECT ${tenantId}, ${c.challengeId}, 'qr', ${c.userId}, ${c.actionCode}, ${c.idempotencyKey}, 'pending',
               ${Buffer.from(c.deviceCodeHash)}, ${c.verificationCode}, ${c.ipAddress}, ${c.userAgent},
               ${c.custom === null ? null : JSON.stringify(c.custom)}::jsonb, ${now}, ${c.expiresAt}
         WHERE ${c.userId}::text IS NULL
            OR EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = ${tenantId} AND u.user_id = ${c.userId})
        RETURNING ${CHALLENGE_COLUMNS}`,
  )
  return row ?? null
}

export interface ChallengeWithAction extends ChallengeRow {
  actionState: ActionState | null
  actionScope: string | null
  transaction: TransactionDetails | null
  username: string | null
}

/** A challenge with the state and transaction details of its action. */
export async function findChallenge(db: Db, tenantId: string, challengeId: string): Promise<ChallengeWithAction | null> {
  const [row] = await queryRows<ChallengeWithAction>(
    db,
    sql`SELECT ${CHALLENGE_COLUMNS}, a.state AS "actionState", a.transaction, a.scope AS "actionScope",
               (SELECT u.username FROM users u WHERE u.tenant_id = ch.tenant_id AND u.user_id = ch.user_id) AS username
          FROM challenges ch
          LEFT JOIN actions a ON a.tenant_id = ch.tenant_id AND a.idempotency_key = ch.idempotency_key
         WHERE ch.tenant_id = ${tenantId} AND ch.challenge_id = ${challengeId}`,
  )
  return row ?? null
}

export interface DeviceCredential {
  credentialId: string
  userId: string
  lockedUntil: Date | null
}

/** A challenge (with its action) and the usable credential holding a key, in one round trip. */
export async function findChallengeForDevice(
  db: Db,
  tenantId: string,
  challengeId: string,
  spkiHash: Uint8Array,
  namespaces: readonly CredentialNamespace[],
  now: Date,
): Promise<{ challenge: ChallengeWithAction | null; credential: DeviceCredential | null }> {
  const [row] = await queryRows<{ challenge: ChallengeWithAction | null; credential: DeviceCredential | null }>(
    db,
    sql`WITH ${credentialCte(tenantId, spkiHash, namespaces, now)}, found AS (
          SELECT ${CHALLENGE_COLUMNS}, a.state AS "actionState", a.transaction, a.scope AS "actionScope",
                 (SELECT u.username FROM users u WHERE u.tenant_id = ch.tenant_id AND u.user_id = ch.user_id) AS username
            FROM challenges ch
            LEFT JOIN actions a ON a.tenant_id = ch.tenant_id AND a.idempotency_key = ch.idempotency_key
           WHERE ch.tenant_id = ${tenantId} AND ch.challenge_id = ${challengeId}
        )
        SELECT (SELECT to_jsonb(found) - 'deviceCodeHash' FROM found) AS challenge,
               (SELECT jsonb_build_object('credentialId', credential_id, 'userId', user_id, 'lockedUntil', locked_until) FROM cred) AS credential`,
  )
  const { challenge, credential } = row!
  return {
    challenge: challenge && {
      ...challenge,
      createdAt: new Date(challenge.createdAt),
      expiresAt: new Date(challenge.expiresAt),
      deviceCodeHash: null,
    },
    credential: credential && { ...credential, lockedUntil: credential.lockedUntil && new Date(credential.lockedUntil) },
  }
}

/**
 * Hands the device holding this key a nonce to sign, replacing any earlier one. False when no
 * usable credential holds the key.
 */
export async function storeSigningNonce(
  db: Db,
  tenantId: string,
  spkiHash: Uint8Array,
  namespaces: readonly CredentialNamespace[],
  nonce: Uint8Array,
  expiresAt: Date,
  now: Date,
): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`UPDATE credentials c SET signing_nonce = ${Buffer.from(nonce)}, signing_nonce_expires_at = ${expiresAt}
         WHERE c.tenant_id = ${tenantId} AND c.spki_hash = ${Buffer.from(spkiHash)} AND c.namespace IN (${NAMESPACES(namespaces)})
           AND (c.expires_at IS NULL OR c.expires_at > ${now})
        RETURNING 1 AS one`,
  )
  return rows.length > 0
}

/** The unexpired nonce the device holding this key was last given, if any. */
export async function readSigningNonce(
  db: Db,
  tenantId: string,
  spkiHash: Uint8Array,
  namespaces: readonly CredentialNamespace[],
  now: Date,
): Promise<Uint8Array | null> {
  const [row] = await queryRows<{ nonce: Uint8Array | null }>(
    db,
    sql`SELECT c.signing_nonce AS nonce FROM credentials c
         WHERE c.tenant_id = ${tenantId} AND c.spki_hash = ${Buffer.from(spkiHash)} AND c.namespace IN (${NAMESPACES(namespaces)})
           AND c.signing_nonce_expires_at > ${now} AND (c.expires_at IS NULL OR c.expires_at > ${now})
         ORDER BY c.created_at LIMIT 1`,
  )
  return row?.nonce ?? null
}

export interface PendingLookup {
  credentialId: string | null
  /** False when a nonce was to be spent and it was not the device's current one (used or replaced). */
  nonceSpent: boolean
  challenge: ChallengeWithAction | null
}

/**
 * The newest unanswered, unexpired push challenge for the device holding this key (sent to
 * all of its user's devices or to this one). With `spendNonce`, the device proved possession
 * by signing that nonce: it is spent in the same statement, and nothing is read unless it was
 * still the device's current one, so a captured signature reads nothing twice.
 */
export async function findPendingPushChallenge(
  db: Db,
  tenantId: string,
  spkiHash: Uint8Array,
  namespaces: readonly CredentialNamespace[],
  spendNonce: Uint8Array | null,
  now: Date,
): Promise<PendingLookup> {
  const device = spendNonce
    ? sql`device AS (
        UPDATE credentials c SET signing_nonce = NULL, signing_nonce_expires_at = NULL
         WHERE c.tenant_id = ${tenantId} AND c.spki_hash = ${Buffer.from(spkiHash)} AND c.namespace IN (${NAMESPACES(namespaces)})
           AND c.signing_nonce = ${Buffer.from(spendNonce)} AND c.signing_nonce_expires_at > ${now}
           AND (c.expires_at IS NULL OR c.expires_at > ${now})
        RETURNING c.credential_id, c.user_id
      )`
    : sql`device AS (
        SELECT c.credential_id, c.user_id FROM credentials c
         WHERE c.tenant_id = ${tenantId} AND c.spki_hash = ${Buffer.from(spkiHash)} AND c.namespace IN (${NAMESPACES(namespaces)})
           AND (c.expires_at IS NULL OR c.expires_at > ${now})
         ORDER BY c.created_at LIMIT 1
      )`
  const [row] = await queryRows<{ credentialId: string | null; nonceSpent: boolean; challenge: ChallengeWithAction | null }>(
    db,
    sql`WITH ${device}, pending AS (
          SELECT ${CHALLENGE_COLUMNS}, a.state AS "actionState", a.transaction, a.scope AS "actionScope",
                 (SELECT u.username FROM users u WHERE u.tenant_id = ch.tenant_id AND u.user_id = ch.user_id) AS username
            FROM challenges ch JOIN device ON ch.user_id = device.user_id
            LEFT JOIN actions a ON a.tenant_id = ch.tenant_id AND a.idempotency_key = ch.idempotency_key
           WHERE ch.tenant_id = ${tenantId} AND ch.kind = 'push' AND ch.state = 'pending' AND ch.expires_at > ${now}
             AND (ch.target_credential_id IS NULL OR ch.target_credential_id = device.credential_id)
           ORDER BY ch.created_at DESC LIMIT 1
        )
        SELECT (SELECT credential_id FROM device) AS "credentialId", EXISTS (SELECT 1 FROM device) AS "nonceSpent",
               (SELECT to_jsonb(pending) - 'deviceCodeHash' FROM pending) AS challenge`,
  )
  const challenge = row!.challenge
  return {
    credentialId: row!.credentialId,
    nonceSpent: spendNonce === null || row!.nonceSpent,
    challenge: challenge && {
      ...challenge,
      createdAt: new Date(challenge.createdAt),
      expiresAt: new Date(challenge.expiresAt),
      deviceCodeHash: null,
    },
  }
}

export interface ClaimOutcome {
  credentialId: string | null
  credentialUserId: string | null
  lockedUntil: Date | null
  claimed: boolean
}

/**
 * A device claims a QR challenge: it must be pending and unexpired, and an anonymous one
 * takes the device's user. One statement, so two phones scanning one code cannot both claim it.
 */
export async function claimQrChallenge(
  db: Db,
  tenantId: string,
  challengeId: string,
  spkiHash: Uint8Array,
  namespaces: readonly CredentialNamespace[],
  now: Date,
): Promise<ClaimOutcome> {
  const [row] = await queryRows<ClaimOutcome>(
    db,
    sql`WITH ${credentialCte(tenantId, spkiHash, namespaces, now)}, claimed AS (
          UPDATE challenges ch SET state = 'claimed', credential_id = cred.credential_id,
                 user_id = COALESCE(ch.user_id, cred.user_id), claimed_at = ${now}
            FROM cred
           WHERE ch.tenant_id = ${tenantId} AND ch.challenge_id = ${challengeId} AND ch.kind = 'qr'
             AND ch.state = 'pending' AND ch.expires_at > ${now}
             AND (ch.user_id IS NULL OR ch.user_id = cred.user_id)
             AND (cred.locked_until IS NULL OR cred.locked_until <= ${now})
          RETURNING ch.challenge_id
        )
        SELECT (SELECT credential_id FROM cred) AS "credentialId", (SELECT user_id FROM cred) AS "credentialUserId",
               (SELECT locked_until FROM cred) AS "lockedUntil", EXISTS (SELECT 1 FROM claimed) AS claimed,
               (SELECT ${notify(tenantId, sql`challenge_id`)} FROM claimed) AS notified`,
  )
  return row!
}

export interface Answer {
  challengeId: string
  kind: ChallengeKind
  /** The state the answer was decided against; the update happens only if it still holds. */
  fromState: 'pending' | 'claimed'
  credentialId: string
  userId: string
  decision: 'approved' | 'denied'
  signatureVersion: 1 | 2
  /** For an anonymous QR approval: the key of the action it records. */
  newIdempotencyKey: string
  /** The user said the push was not theirs: no more pushes until an operator clears it. */
  blockPush: boolean
}

export interface AnswerOutcome {
  answered: boolean
  actionState: ActionState | null
  idempotencyKey: string | null
  pushBlocked: boolean
}

/**
 * Records a device's answer in one statement: the challenge moves from `fromState` to
 * approved or denied (only if nobody answered first), the action to CHALLENGE_SUCCEEDED or
 * CHALLENGE_FAILED (an anonymous QR approval records a new succeeded action for the device's
 * user), the credential's failure count resets, and the webhook events are queued.
 */
export async function answerChallenge(db: Db, tenantId: string, answer: Answer, now: Date): Promise<AnswerOutcome> {
  const approved = answer.decision === 'approved'
  const method = answer.kind === 'push' ? 'PUSH' : 'QR_CODE'
  const [row] = await queryRows<AnswerOutcome>(
    db,
    sql`WITH answered AS (
          UPDATE challenges ch SET state = ${answer.decision}, answered_at = ${now}, credential_id = ${answer.credentialId},
                 signature_version = ${answer.signatureVersion},
                 idempotency_key = CASE WHEN ${approved} THEN COALESCE(ch.idempotency_key, ${answer.newIdempotencyKey})
                                        ELSE ch.idempotency_key END
           WHERE ch.tenant_id = ${tenantId} AND ch.challenge_id = ${answer.challengeId} AND ch.kind = ${answer.kind}
             AND ch.state = ${answer.fromState} AND ch.expires_at > ${now} AND ch.user_id = ${answer.userId}
             -- An action completed or blocked meanwhile cannot be answered any more.
             AND (ch.idempotency_key IS NULL OR EXISTS (
                   SELECT 1 FROM actions x WHERE x.tenant_id = ch.tenant_id AND x.idempotency_key = ch.idempotency_key
                      AND x.state IN ('ALLOW', 'CHALLENGE_REQUIRED')))
          RETURNING ch.challenge_id, ch.user_id, ch.action_code, ch.idempotency_key
        ), before AS (
          SELECT a.state FROM actions a, answered
           WHERE a.tenant_id = ${tenantId} AND a.idempotency_key = answered.idempotency_key
        ), moved AS (
          INSERT INTO actions AS a (tenant_id, idempotency_key, user_id, action_code, state, state_updated_at, created_at,
                                    updated_at, verification_method, verified_by_credential_id, scope, state_history)
          SELECT ${tenantId}, answered.idempotency_key, answered.user_id, answered.action_code,
                 ${approved ? 'CHALLENGE_SUCCEEDED' : 'CHALLENGE_FAILED'}, ${now}, ${now}, ${now}, ${method},
                 ${answer.credentialId}, 'read:authenticators',
                 ${historyEntry(sql`${approved ? 'CHALLENGE_SUCCEEDED' : 'CHALLENGE_FAILED'}`, now, sql`${method}`)}
            FROM answered WHERE answered.idempotency_key IS NOT NULL
          ON CONFLICT (tenant_id, idempotency_key) DO UPDATE SET
                 state = EXCLUDED.state, state_updated_at = EXCLUDED.state_updated_at, updated_at = EXCLUDED.updated_at,
                 state_history = a.state_history || EXCLUDED.state_history,
                 verification_method = EXCLUDED.verification_method, verified_by_credential_id = EXCLUDED.verified_by_credential_id
           WHERE a.state IN ('ALLOW', 'CHALLENGE_REQUIRED')
          RETURNING ${sql.raw(ACTION_RETURNING)}, (xmax = 0) AS inserted
        ), touched AS (
          UPDATE credentials c SET last_verified_at = ${now}, failed_attempts = 0, locked_until = NULL
           WHERE c.tenant_id = ${tenantId} AND c.credential_id = ${answer.credentialId} AND EXISTS (SELECT 1 FROM answered)
          RETURNING 1
        ), blocked AS (
          UPDATE users u SET push_blocked_at = ${now}
            FROM answered
           WHERE ${answer.blockPush && !approved} AND u.tenant_id = ${tenantId} AND u.user_id = answered.user_id
             AND u.push_blocked_at IS NULL
          RETURNING u.user_id, answered.challenge_id, answered.action_code
        ),
        ${outboxCtes('changed', tenantId, 'action.state_changed', actionEventData(sql`(SELECT * FROM moved WHERE NOT inserted)`, sql`, 'previousState', (SELECT state FROM before)`), now)},
        ${outboxCtes('created', tenantId, 'action.created', actionEventData(sql`(SELECT * FROM moved WHERE inserted)`), now)},
        ${outboxCtes(
          'blocked',
          tenantId,
          'user.push_blocked',
          sql`SELECT jsonb_build_object('userId', b.user_id, 'challengeId', b.challenge_id, 'actionCode', b.action_code) AS data FROM blocked b`,
          now,
        )}
        SELECT EXISTS (SELECT 1 FROM answered) AS answered, (SELECT state FROM moved) AS "actionState",
               (SELECT idempotency_key FROM answered) AS "idempotencyKey", EXISTS (SELECT 1 FROM blocked) AS "pushBlocked",
               (SELECT count(*) FROM touched) AS touched,
               (SELECT ${notify(tenantId, sql`challenge_id`)} FROM answered) AS notified`,
  )
  return row!
}

// moved's RETURNING: the columns actionEventData reads, under its names.
const ACTION_RETURNING = `a.user_id AS "userId", a.action_code AS "actionCode", a.idempotency_key AS "idempotencyKey",
  a.state, a.state_updated_at AS "stateUpdatedAt", a.verification_method AS "verificationMethod",
  a.verified_by_credential_id AS "verifiedByCredentialId"`

/**
 * Hands the initiating side the token of an approved challenge, once: true when this call
 * marked it issued. Any later poll sees the approval without a token.
 */
export async function markTokenIssued(db: Db, tenantId: string, challengeId: string, now: Date): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`UPDATE challenges SET token_issued_at = ${now}
         WHERE tenant_id = ${tenantId} AND challenge_id = ${challengeId} AND state = 'approved' AND token_issued_at IS NULL
        RETURNING 1 AS one`,
  )
  return rows.length > 0
}

/** Clears a user's push block (an operator decided the report was handled). */
export async function clearPushBlock(db: Db, tenantId: string, userId: string): Promise<boolean> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`UPDATE users SET push_blocked_at = NULL WHERE tenant_id = ${tenantId} AND user_id = ${userId}
          AND push_blocked_at IS NOT NULL RETURNING 1 AS one`,
  )
  return rows.length > 0
}

/**
 * Updates a push credential's token and/or expiry, if `nonce` is the one the device was given
 * (and signed): the nonce is spent in the same statement. An expired credential cannot be
 * revived. Null when nothing matched.
 */
export async function updatePushCredential(
  db: Db,
  tenantId: string,
  spkiHash: Uint8Array,
  namespaces: readonly CredentialNamespace[],
  nonce: Uint8Array,
  change: { pushToken?: string | undefined; expiresAt?: Date | undefined },
  now: Date,
): Promise<{ credentialId: string; userId: string; pushToken: string | null; lastVerifiedAt: Date; expiresAt: Date | null } | null> {
  const [row] = await queryRows<{
    credentialId: string
    userId: string
    pushToken: string | null
    lastVerifiedAt: Date
    expiresAt: Date | null
  }>(
    db,
    sql`UPDATE credentials c SET signing_nonce = NULL, signing_nonce_expires_at = NULL, last_verified_at = ${now},
               failed_attempts = 0, locked_until = NULL
               ${change.pushToken !== undefined ? sql`, push_token = ${change.pushToken}` : sql``}
               ${change.expiresAt !== undefined ? sql`, expires_at = ${change.expiresAt}` : sql``}
         WHERE c.tenant_id = ${tenantId} AND c.spki_hash = ${Buffer.from(spkiHash)} AND c.namespace IN (${NAMESPACES(namespaces)})
           AND c.signing_nonce = ${Buffer.from(nonce)} AND c.signing_nonce_expires_at > ${now}
           AND (c.expires_at IS NULL OR c.expires_at > ${now})
           AND (c.locked_until IS NULL OR c.locked_until <= ${now})
        RETURNING c.credential_id AS "credentialId", c.user_id AS "userId", c.push_token AS "pushToken",
                  c.last_verified_at AS "lastVerifiedAt", c.expires_at AS "expiresAt"`,
  )
  return row ?? null
}

/** Deletes challenges that expired more than a day ago (kept that long for the browser's last poll and for support). */
export async function sweepChallenges(db: Db, before: Date, batch = 5000): Promise<number> {
  const rows = await queryRows<{ one: number }>(
    db,
    sql`DELETE FROM challenges WHERE ctid IN (SELECT ctid FROM challenges WHERE expires_at < ${before} LIMIT ${batch}) RETURNING 1 AS one`,
  )
  return rows.length
}
