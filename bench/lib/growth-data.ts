// The growth benchmark's data: a population of users seeded straight into PostgreSQL with bulk
// SQL, the query plans of the in-app flow's statements at each size, and what each table
// weighs. See bench/growth.ts and bench/README.md ("Growth").
import { randomBytes, randomUUID } from 'node:crypto'
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { completeTokenVerification, consumeTokenAndReadAction, trackAction, type NewAction } from '../../packages/server/src/storage/actions-repo.ts'
import type { Db } from '../../packages/server/src/storage/database.ts'
import { ACTION } from './countersign.ts'

/** Seeded users are named `growth-<n>`; the flow's own, enrolled through the server, `bench-user-<n>`. */
export const SEEDED_USER_PREFIX = 'growth-'

/** The DER header of a P-256 SubjectPublicKeyInfo with an uncompressed point; 64 bytes of X‖Y follow. */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex')
const SPKI_PREFIX_WITH_POINT_TAG = Buffer.concat([P256_SPKI_PREFIX, Buffer.from([0x04])])

/**
 * The three statements of one seeding batch: users `[from, to)`, one in-app credential each,
 * and `actionsPerUser` completed in-app actions each, spread over the last 90 days, as the
 * benchmark's in-app flow leaves them (custom.amount, CHALLENGE_SUCCEEDED, verified by the
 * user's credential). Columns not named keep their defaults, so new columns need no change here.
 *
 * The credential's key is shaped like a P-256 SPKI (the right 27-byte header, 64 random bytes)
 * but is not a point on the curve: the unique index on (tenant, SHA-256 of the key, namespace)
 * rules out reusing a pool of real keys, a million real keys take minutes of CPU to make, and
 * the server never parses a stored key — a device presents its own, found by its hash. Row and
 * index sizes are those of real keys.
 */
const SEED_USERS = `
  INSERT INTO users (tenant_id, user_id, created_at, updated_at)
  SELECT $1::uuid, '${SEEDED_USER_PREFIX}' || i, now() - interval '400 days', now() - interval '400 days'
    FROM generate_series($2::int, $3::int - 1) AS i`

const SEED_CREDENTIALS = `
  INSERT INTO credentials (tenant_id, credential_id, user_id, namespace, spki, spki_hash, device_name, device_platform,
                           created_at, verified_at, last_verified_at)
  SELECT $1::uuid, k.credential_id, k.user_id, 'in-app', k.spki, sha256(k.spki), 'growth', 'android',
         now() - interval '400 days', now() - interval '400 days', now() - random() * interval '90 days'
    FROM (SELECT md5('growth-credential-' || i)::uuid AS credential_id, '${SEEDED_USER_PREFIX}' || i AS user_id,
                 $4::bytea || uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())
                          || uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) AS spki
            FROM generate_series($2::int, $3::int - 1) AS i) AS k`

const SEED_ACTIONS = `
  INSERT INTO actions (tenant_id, idempotency_key, user_id, action_code, state, state_updated_at, created_at, updated_at,
                       verification_method, verified_by_credential_id, custom, scope)
  SELECT $1::uuid, gen_random_uuid()::text, a.user_id, $5, 'CHALLENGE_SUCCEEDED', a.at, a.at, a.at,
         'IN_APP', a.credential_id, jsonb_build_object('amount', a.amount), 'read:authenticators'
    FROM (SELECT '${SEEDED_USER_PREFIX}' || i AS user_id, md5('growth-credential-' || i)::uuid AS credential_id,
                 now() - random() * interval '90 days' AS at, 1 + floor(random() * 5000)::int AS amount
            FROM generate_series($2::int, $3::int - 1) AS i CROSS JOIN generate_series(1, $4::int) AS n) AS a`

export interface SeedProgress {
  users: number
  actions: number
  seconds: number
}

/**
 * Seeds users `[from, to)` in batches of `batchUsers`, calling `onBatch` after each with what
 * is done so far (for progress and rates).
 */
export async function seedUsers(
  client: pg.Client,
  tenantId: string,
  range: { from: number; to: number },
  actionsPerUser: number,
  batchUsers: number,
  onBatch: (done: SeedProgress) => void,
  signal: AbortSignal,
): Promise<SeedProgress> {
  const started = performance.now()
  const done: SeedProgress = { users: 0, actions: 0, seconds: 0 }
  for (let from = range.from; from < range.to; from += batchUsers) {
    signal.throwIfAborted()
    const to = Math.min(range.to, from + batchUsers)
    await client.query(SEED_USERS, [tenantId, from, to])
    await client.query(SEED_CREDENTIALS, [tenantId, from, to, SPKI_PREFIX_WITH_POINT_TAG])
    await client.query(SEED_ACTIONS, [tenantId, from, to, actionsPerUser, ACTION])
    done.users += to - from
    done.actions += (to - from) * actionsPerUser
    done.seconds = (performance.now() - started) / 1000
    onBatch({ ...done })
  }
  return done
}

/** One statement of the flow, as the server sends it, with its plan as PostgreSQL ran it. */
export interface StatementPlan {
  /** track, verify or validate: the call that sends it. */
  call: string
  /** The EXPLAIN (ANALYZE, BUFFERS) output. */
  plan: string[]
  /** Indexes the plan reads (Index Scan, Index Only Scan, Bitmap Index Scan). */
  indexes: string[]
  /** Tables the plan reads whole (Seq Scan). */
  sequentialScans: string[]
  planningMs: number
  executionMs: number
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the three statements of one in-app flow, for `userId` (who
 * must have an in-app credential with key hash `spkiHash`), built by the server's own storage
 * functions so they are the texts the server sends. Each statement is captured as the server
 * would run it (drizzle's logger), undone, then explained — which runs it again, so the next
 * one finds the action it left — all in one transaction rolled back at the end: the database
 * is left as it was.
 */
export async function explainInAppFlow(databaseUrl: string, tenantId: string, userId: string, spkiHash: Buffer): Promise<StatementPlan[]> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const recorder = new StatementRecorder()
  const db = drizzle(client, { logger: recorder }) as unknown as Db
  const plans: StatementPlan[] = []
  /** Runs `statement` once to capture its text, undoes it, and explains it (which runs it for good). */
  const explain = async (call: string, statement: () => Promise<unknown>) => {
    await client.query('SAVEPOINT capture')
    recorder.take()
    await statement()
    await client.query('ROLLBACK TO SAVEPOINT capture')
    const captured = recorder.take()
    if (!captured) throw new Error(`${call}: no statement was captured`)
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${captured.text}`, captured.params)
    plans.push(planOf(call, rows.map((row) => row['QUERY PLAN'])))
  }
  try {
    await client.query('BEGIN')
    const now = new Date()
    const idempotencyKey = randomUUID()
    const action: NewAction = {
      userId,
      actionCode: ACTION,
      idempotencyKey,
      stateIfEnrolled: 'CHALLENGE_REQUIRED',
      stateIfNotEnrolled: 'ALLOW',
      rules: null,
      createConfiguration: false,
      ipAddress: null,
      userAgent: null,
      deviceId: null,
      custom: { amount: 1234 },
      transaction: null,
      scope: 'read:authenticators',
      redirectUrl: null,
      locale: null,
      email: null,
      phoneNumber: null,
      username: null,
    }
    await explain('track', () => trackAction(db, tenantId, action, now))
    const token = { jti: randomUUID(), userId, actionCode: ACTION, idempotencyKey }
    const verification = {
      spkiHash,
      namespaces: ['in-app', 'device'] as const,
      challengeNonce: randomBytes(16),
      challengeExpiresAt: new Date(now.getTime() + 300_000),
      verificationMethod: 'IN_APP' as const,
    }
    await explain('verify', () => completeTokenVerification(db, tenantId, token, verification, now))
    await explain('validate', () => consumeTokenAndReadAction(db, tenantId, { jti: randomUUID(), expiresAt: new Date(now.getTime() + 600_000), idempotencyKey }))
  } finally {
    await client.query('ROLLBACK').catch(() => {})
    await client.end()
  }
  return plans
}

/** Drizzle's logger, keeping the last statement sent: its text and parameters exactly as the driver gets them. */
class StatementRecorder {
  #last: { text: string; params: unknown[] } | undefined

  logQuery(text: string, params: unknown[]): void {
    this.#last = { text, params }
  }

  /** The statement logged since the last take, if any. */
  take(): { text: string; params: unknown[] } | undefined {
    const last = this.#last
    this.#last = undefined
    return last
  }
}

/** What a plan reads, from EXPLAIN's text output. */
export function planOf(call: string, plan: string[]): StatementPlan {
  const matches = (pattern: RegExp) => [...new Set(plan.flatMap((line) => [...line.matchAll(pattern)].map((m) => m[1]!)))]
  const ms = (label: string) => Number(/([\d.]+) ms/.exec(plan.find((line) => line.startsWith(label)) ?? '')?.[1] ?? NaN)
  return {
    call,
    plan,
    indexes: matches(/(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)/g),
    sequentialScans: matches(/Seq Scan on (\w+)/g),
    planningMs: ms('Planning Time'),
    executionMs: ms('Execution Time'),
  }
}

/** The key hash of a seeded user's credential: what a device presenting that key is found by. */
export async function seededKeyHash(client: pg.Client, tenantId: string, userId: string): Promise<Buffer> {
  const { rows } = await client.query<{ hash: Buffer }>(`SELECT spki_hash AS hash FROM credentials WHERE tenant_id = $1 AND user_id = $2 AND namespace = 'in-app'`, [
    tenantId,
    userId,
  ])
  if (!rows[0]) throw new Error(`no credential for ${userId}`)
  return rows[0].hash
}

export interface TableSize {
  table: string
  rows: number
  /** pg_total_relation_size: heap, indexes and TOAST. */
  totalBytes: number
  indexBytes: number
}

/** The size of every table of the database, largest first, with exact row counts for the large ones. */
export async function tableSizes(client: pg.Client): Promise<TableSize[]> {
  const { rows } = await client.query<{ table: string; total: string; indexes: string; estimate: number }>(
    `SELECT c.relname AS table, pg_total_relation_size(c.oid) AS total, pg_indexes_size(c.oid) AS indexes, c.reltuples::bigint AS estimate
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname = 'public'
      ORDER BY pg_total_relation_size(c.oid) DESC`,
  )
  const sizes: TableSize[] = []
  for (const row of rows) {
    // The growing tables are counted exactly; the rest are small, and their estimate will do.
    const exact = ['actions', 'users', 'credentials', 'consumed_challenges', 'used_tokens'].includes(row.table)
    const count = exact ? Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(row.table)}`)).rows[0]?.n ?? 0) : Math.max(0, Number(row.estimate))
    sizes.push({ table: row.table, rows: count, totalBytes: Number(row.total), indexBytes: Number(row.indexes) })
  }
  return sizes
}
