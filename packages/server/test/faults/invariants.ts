// What must hold in the database after any fault, checked two ways: SQL over the tenant's rows
// (no action half-changed, every change with its outbox event) and the rows against what each
// flow saw over HTTP (every verify the app saw succeed is a succeeded action whose challenge was
// consumed once; every token the backend saw validate is used; nothing was spent twice).
import type pg from 'pg'
import { PAYMENT_ACTION, SLOW_ACTION, isComplete, jtiOf, nonceOf, type Flow } from './flows.ts'
import type { Receiver } from './receiver.ts'

export interface CheckResult {
  name: string
  ok: boolean
  /** What was counted, or the first offending rows. */
  detail: string
}

/**
 * Queries whose rows are violations: each names the invariant it guards. All are scoped to one
 * tenant ($1), as every query of Countersign is.
 */
const SQL_INVARIANTS: Array<{ name: string; sql: string }> = [
  {
    name: 'a succeeded action names its verification method and credential',
    sql: `SELECT idempotency_key FROM actions WHERE tenant_id = $1 AND state = 'CHALLENGE_SUCCEEDED'
            AND (verification_method IS NULL OR verified_by_credential_id IS NULL)`,
  },
  {
    name: 'the verifying credential belongs to the action’s user',
    sql: `SELECT a.idempotency_key FROM actions a
            LEFT JOIN credentials c ON c.tenant_id = a.tenant_id AND c.credential_id = a.verified_by_credential_id
           WHERE a.tenant_id = $1 AND a.verified_by_credential_id IS NOT NULL AND (c.credential_id IS NULL OR c.user_id <> a.user_id)`,
  },
  {
    name: 'an action not yet verified carries no verification',
    sql: `SELECT idempotency_key FROM actions WHERE tenant_id = $1 AND state IN ('ALLOW', 'CHALLENGE_REQUIRED')
            AND (verification_method IS NOT NULL OR verified_by_credential_id IS NOT NULL)`,
  },
  {
    name: 'created_at <= state_updated_at <= updated_at',
    sql: `SELECT idempotency_key FROM actions WHERE tenant_id = $1 AND (state_updated_at < created_at OR updated_at < state_updated_at)`,
  },
  {
    name: 'consumed in-app challenges = actions that succeeded in-app',
    sql: `SELECT c.n AS consumed, s.n AS succeeded
            FROM (SELECT count(*) AS n FROM consumed_challenges WHERE tenant_id = $1) c,
                 (SELECT count(*) AS n FROM actions WHERE tenant_id = $1 AND state = 'CHALLENGE_SUCCEEDED' AND verification_method = 'IN_APP') s
           WHERE c.n <> s.n`,
  },
  {
    name: 'every action has exactly one action.created event',
    sql: `SELECT a.idempotency_key, count(e.event_id) AS events FROM actions a
            LEFT JOIN webhook_events e ON e.tenant_id = a.tenant_id AND e.type = 'action.created'
                                      AND e.data->>'idempotencyKey' = a.idempotency_key
           WHERE a.tenant_id = $1 GROUP BY a.idempotency_key HAVING count(e.event_id) <> 1`,
  },
  {
    // Each action of the run changes state at most once (CHALLENGE_REQUIRED → CHALLENGE_SUCCEEDED).
    name: 'an action changed state exactly when it has an action.state_changed event to that state',
    sql: `SELECT a.idempotency_key, a.state, created.data->>'state' AS created_as, count(e.event_id) AS changes,
                 bool_and(e.data->>'state' = a.state) AS to_current_state
            FROM actions a
            JOIN webhook_events created ON created.tenant_id = a.tenant_id AND created.type = 'action.created'
                                       AND created.data->>'idempotencyKey' = a.idempotency_key
            LEFT JOIN webhook_events e ON e.tenant_id = a.tenant_id AND e.type = 'action.state_changed'
                                      AND e.data->>'idempotencyKey' = a.idempotency_key
           WHERE a.tenant_id = $1
           GROUP BY a.idempotency_key, a.state, created.data->>'state'
          HAVING count(e.event_id) <> CASE WHEN a.state = created.data->>'state' THEN 0 ELSE 1 END
              OR NOT COALESCE(bool_and(e.data->>'state' = a.state), true)`,
  },
  {
    name: 'every outbox event has one delivery per endpoint',
    sql: `SELECT e.event_id, count(d.event_id) AS deliveries FROM webhook_events e
            LEFT JOIN webhook_deliveries d ON d.tenant_id = e.tenant_id AND d.event_id = e.event_id
           WHERE e.tenant_id = $1 GROUP BY e.event_id
          HAVING count(d.event_id) <> (SELECT count(*) FROM webhook_endpoints w WHERE w.tenant_id = $1)`,
  },
]

async function sqlChecks(db: pg.Client, tenantId: string): Promise<CheckResult[]> {
  const results: CheckResult[] = []
  for (const invariant of SQL_INVARIANTS) {
    const { rows } = await db.query(invariant.sql, [tenantId])
    results.push({
      name: `sql: ${invariant.name}`,
      ok: rows.length === 0,
      detail: rows.length === 0 ? 'holds' : `${rows.length} violation(s), e.g. ${JSON.stringify(rows.slice(0, 3))}`,
    })
  }
  return results
}

interface ActionRow {
  idempotency_key: string
  user_id: string
  action_code: string
  state: string
  verified_by_credential_id: string | null
}

/** The rows against what the flows saw over HTTP. */
async function flowChecks(db: pg.Client, tenantId: string, flows: readonly Flow[]): Promise<CheckResult[]> {
  const actions = new Map(
    (
      await db.query<ActionRow>(
        `SELECT idempotency_key, user_id, action_code, state, verified_by_credential_id FROM actions
          WHERE tenant_id = $1 AND action_code = ANY ($2)`,
        [tenantId, [PAYMENT_ACTION, SLOW_ACTION]],
      )
    ).rows.map((row) => [row.idempotency_key, row]),
  )
  const consumed = new Set(
    (await db.query<{ nonce: string }>(`SELECT encode(nonce, 'hex') AS nonce FROM consumed_challenges WHERE tenant_id = $1`, [tenantId])).rows.map((r) => r.nonce),
  )
  const used = new Set((await db.query<{ jti: string }>(`SELECT jti FROM used_tokens WHERE tenant_id = $1`, [tenantId])).rows.map((r) => r.jti))

  const results: CheckResult[] = []
  const check = (name: string, offenders: string[], counted: string) =>
    results.push({ name, ok: offenders.length === 0, detail: offenders.length === 0 ? counted : `${offenders.length} violation(s), e.g. ${offenders.slice(0, 3).join('; ')}` })

  const byKey = new Map(flows.map((flow) => [flow.idempotencyKey, flow]))
  const verified = flows.filter((flow) => flow.verify !== 'pending')

  check(
    'every flow ran to completion once the fault was over',
    flows.filter((flow) => !isComplete(flow)).map((flow) => `flow ${flow.id} (${flow.window}): ${flow.failures.join(', ')}`),
    `${flows.length} flows complete`,
  )
  check(
    'no challenge or token was accepted twice (client side)',
    flows.filter((flow) => flow.verifyOks > 1 || flow.validOks > 1).map((flow) => `flow ${flow.id}: ${flow.verifyOks} verify 200s, ${flow.validOks} valid`),
    `${verified.length} challenges, ${flows.filter((f) => f.validOks > 0).length} tokens`,
  )
  check(
    'every verify the app saw succeed (or that committed unanswered) is a succeeded action, verified by the user’s key',
    verified.flatMap((flow) => {
      const row = actions.get(flow.idempotencyKey)
      if (!row) return [`flow ${flow.id}: no action ${flow.idempotencyKey}`]
      if (row.state !== 'CHALLENGE_SUCCEEDED') return [`flow ${flow.id}: action is ${row.state}`]
      if (row.verified_by_credential_id !== flow.user.credentialId) return [`flow ${flow.id}: verified by ${row.verified_by_credential_id}`]
      return []
    }),
    `${verified.length} actions CHALLENGE_SUCCEEDED`,
  )
  check(
    'a flow’s challenge is consumed exactly when its verify succeeded',
    flows
      .filter((flow) => flow.challengeId !== null)
      .filter((flow) => consumed.has(nonceOf(flow.challengeId!)) !== (flow.verify !== 'pending'))
      .map((flow) => `flow ${flow.id}: verify ${flow.verify}, consumed ${consumed.has(nonceOf(flow.challengeId!))}`),
    `${consumed.size} consumed nonces`,
  )
  const ourNonces = new Set(flows.filter((flow) => flow.challengeId !== null).map((flow) => nonceOf(flow.challengeId!)))
  check(
    'every consumed challenge is one a flow presented',
    [...consumed].filter((nonce) => !ourNonces.has(nonce)).map((nonce) => `nonce ${nonce}`),
    `${consumed.size} of ${ourNonces.size} presented`,
  )
  check(
    'every action of the load belongs to a flow, in the flow’s state',
    [...actions.values()].flatMap((row) => {
      const flow = byKey.get(row.idempotency_key)
      if (!flow) return [`action ${row.idempotency_key} tracked by no flow`]
      if (flow.verify === 'pending' && row.state !== 'CHALLENGE_REQUIRED') return [`flow ${flow.id}: not verified, action is ${row.state}`]
      return []
    }),
    `${actions.size} actions`,
  )
  const validated = flows.filter((flow) => flow.validate !== 'pending').map((flow) => jtiOf(flow.token!))
  const tokens = new Set(flows.filter((flow) => flow.token !== null).map((flow) => jtiOf(flow.token!)))
  check(
    'used tokens = the tokens the backend validated',
    [
      ...validated.filter((jti) => !used.has(jti)).map((jti) => `validated ${jti} not in used_tokens`),
      ...[...used].filter((jti) => !tokens.has(jti)).map((jti) => `used_tokens ${jti} from no flow`),
      ...[...used].filter((jti) => tokens.has(jti) && !validated.includes(jti)).map((jti) => `used_tokens ${jti} never validated`),
    ],
    `${used.size} used tokens`,
  )
  return results
}

/** Every invariant that holds at any quiet moment (no request in flight). */
export async function checkInvariants(db: pg.Client, tenantId: string, flows: readonly Flow[]): Promise<CheckResult[]> {
  return [...(await sqlChecks(db, tenantId)), ...(await flowChecks(db, tenantId, flows))]
}

/** The outbox is drained: every committed event was delivered (to the receiver) and recorded so. */
export async function outboxState(db: pg.Client, tenantId: string, receiver: Receiver): Promise<{ events: number; undelivered: string[]; unrecorded: number; unknown: string[] }> {
  const events = (await db.query<{ event_id: string }>(`SELECT event_id FROM webhook_events WHERE tenant_id = $1`, [tenantId])).rows.map((r) => r.event_id)
  const known = new Set(events)
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM webhook_deliveries WHERE tenant_id = $1 AND state <> 'delivered'`, [tenantId])
  return {
    events: events.length,
    undelivered: events.filter((id) => !receiver.delivered.has(id)),
    unrecorded: Number(rows[0]!.n),
    unknown: [...receiver.delivered.keys()].filter((id) => !known.has(id)),
  }
}
