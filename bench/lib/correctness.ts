// After a run of in-app or push flows on PostgreSQL: did every flow leave the database as it
// should? With several nodes on one database this is the scale-out claim — a challenge issued
// on one node and answered on another is consumed once, a token validated on any node
// validates once, and no completed flow's state is lost. Read from the database and probed
// over HTTP after the load, so none of it is in the measured window.
import pg from 'pg'
import { ACTION, isPushFlow, type BenchUser, type CountersignApi, type FlowKind, type FlowRecord } from './countersign.ts'
import type { LoadResult } from './load.ts'

/** Tokens validated a second time, on another node, after the run. */
const REPLAYS = 20
/** In-app challenges verified on two nodes at once, after the run. */
const RACES = 20

export interface CorrectnessReport {
  /** Server nodes the flows were spread over. */
  nodes: number
  /** Flows of the whole run, warm-up and the tail after the window included. */
  flows: { completed: number; failed: number }
  /** The run's actions (ACTION, this tenant) by state. */
  actionsByState: Record<string, number>
  /**
   * CHALLENGE_SUCCEEDED actions, against the calls that answered 200 having made one: the
   * in-app verifications, or the phones' approvals. Equal when nothing was lost or doubled.
   */
  succeeded: { actions: number; calls: number; call: 'verify' | 'answer' }
  /** Completed flows whose action is not CHALLENGE_SUCCEEDED: lost state (must be 0). */
  lost: number
  /** In-app: rows of consumed_challenges, and the most any one challenge has (must be 1). */
  consumedChallenges: { rows: number; maxPerChallenge: number } | null
  /** Push: approved challenges, those whose token was handed over, and completed flows whose challenge is not both (must be 0). */
  pushChallenges: { approved: number; tokenIssued: number; incomplete: number } | null
  /** Completed flows' tokens missing from used_tokens (must be 0). */
  validatedNotRecorded: number
  /** A sample of validated tokens validated again, each on another node than the first time: every one must be refused. */
  replays: { tried: number; refused: number; answers: Record<string, number> }
  /** In-app: challenges verified on two nodes at once, and their tokens validated on two at once; exactly one of each pair may succeed. */
  races: { tried: number; oneVerified: number; oneValidated: number; refusals: Record<string, number> } | null
  /** Empty when everything above holds. */
  problems: string[]
}

/**
 * Checks the database after the load of `flow` (before anything else touches it), then probes
 * single use over HTTP: replays of validated tokens, and, for the in-app flow, races.
 * @param users the enrolled users (the races use some of them)
 */
export async function checkCorrectness(
  databaseUrl: string,
  tenantId: string,
  flow: FlowKind,
  load: LoadResult,
  api: CountersignApi,
  users: readonly BenchUser[],
): Promise<CorrectnessReport> {
  const records = load.total.records
  const push = isPushFlow(flow)
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  let stored: Pick<CorrectnessReport, 'actionsByState' | 'lost' | 'consumedChallenges' | 'pushChallenges' | 'validatedNotRecorded'>
  try {
    stored = await readStored(client, tenantId, records, push)
  } finally {
    await client.end()
  }
  const calls = load.total.okCalls[push ? 'answer' : 'verify'] ?? 0
  const report: CorrectnessReport = {
    nodes: api.nodeCount,
    flows: { completed: load.total.flows, failed: load.total.erroredFlows },
    ...stored,
    succeeded: { actions: stored.actionsByState.CHALLENGE_SUCCEEDED ?? 0, calls, call: push ? 'answer' : 'verify' },
    replays: await replay(api, sample(records, REPLAYS)),
    races: push ? null : await race(api, users),
    problems: [],
  }
  report.problems = problemsOf(report)
  return report
}

async function readStored(client: pg.Client, tenantId: string, records: readonly FlowRecord[], push: boolean) {
  const count = async (text: string, values: unknown[]): Promise<number> => Number((await client.query<{ n: number }>(text, values)).rows[0]?.n ?? 0)
  const states = await client.query<{ state: string; n: number }>(
    'SELECT state, count(*)::int AS n FROM actions WHERE tenant_id = $1 AND action_code = $2 GROUP BY state ORDER BY state',
    [tenantId, ACTION],
  )
  const lost = await count(
    `SELECT count(*)::int AS n FROM unnest($2::text[]) AS k(key)
       LEFT JOIN actions a ON a.tenant_id = $1 AND a.idempotency_key = k.key
      WHERE a.state IS DISTINCT FROM 'CHALLENGE_SUCCEEDED'`,
    [tenantId, records.map((r) => r.idempotencyKey)],
  )
  const validatedNotRecorded = await count(
    `SELECT count(*)::int AS n FROM unnest($2::uuid[]) AS j(jti)
       LEFT JOIN used_tokens u ON u.tenant_id = $1 AND u.jti = j.jti
      WHERE u.jti IS NULL`,
    [tenantId, records.map((r) => jtiOf(r.token))],
  )
  let consumedChallenges: CorrectnessReport['consumedChallenges'] = null
  let pushChallenges: CorrectnessReport['pushChallenges'] = null
  if (push) {
    const { rows } = await client.query<{ approved: number; issued: number }>(
      `SELECT count(*) FILTER (WHERE state = 'approved')::int AS approved, count(*) FILTER (WHERE token_issued_at IS NOT NULL)::int AS issued
         FROM challenges WHERE tenant_id = $1 AND kind = 'push'`,
      [tenantId],
    )
    const incomplete = await count(
      `SELECT count(*)::int AS n FROM unnest($2::text[]) AS p(id)
         LEFT JOIN challenges c ON c.tenant_id = $1 AND c.challenge_id = p.id
        WHERE c.state IS DISTINCT FROM 'approved' OR c.token_issued_at IS NULL`,
      [tenantId, records.map((r) => r.challengeId ?? '')],
    )
    pushChallenges = { approved: rows[0]?.approved ?? 0, tokenIssued: rows[0]?.issued ?? 0, incomplete }
  } else {
    // The primary key allows one row per challenge; counting shows it rather than assuming it.
    const { rows } = await client.query<{ total: number; most: number }>(
      `SELECT COALESCE(sum(n), 0)::int AS total, COALESCE(max(n), 0)::int AS most
         FROM (SELECT count(*) AS n FROM consumed_challenges WHERE tenant_id = $1 GROUP BY nonce) AS per_challenge`,
      [tenantId],
    )
    consumedChallenges = { rows: rows[0]?.total ?? 0, maxPerChallenge: rows[0]?.most ?? 0 }
  }
  return {
    actionsByState: Object.fromEntries(states.rows.map((r) => [r.state, r.n])),
    lost,
    consumedChallenges,
    pushChallenges,
    validatedNotRecorded,
  }
}

/** The token's jti, read without verifying (the server verified it when it was validated). */
function jtiOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown }
  return String(payload.jti)
}

/** Up to `count` records spread evenly over the run. */
function sample<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items]
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!)
}

async function replay(api: CountersignApi, records: readonly FlowRecord[]): Promise<CorrectnessReport['replays']> {
  const answers: Record<string, number> = {}
  for (const record of records) {
    const answer = await api.validateAgain(record, (record.validatedOn + 1) % api.nodeCount)
    answers[answer] = (answers[answer] ?? 0) + 1
  }
  return { tried: records.length, refused: answers['refused token_already_used'] ?? 0, answers }
}

async function race(api: CountersignApi, users: readonly BenchUser[]): Promise<NonNullable<CorrectnessReport['races']>> {
  const result = { tried: 0, oneVerified: 0, oneValidated: 0, refusals: {} as Record<string, number> }
  for (let i = 0; i < RACES; i++) {
    const nodes = [i % api.nodeCount, (i + 1) % api.nodeCount] as const
    const outcome = await api.raceVerification(users[i % users.length]!, nodes)
    result.tried += 1
    if (outcome.verified === 1) result.oneVerified += 1
    if (outcome.validated === 1) result.oneValidated += 1
    for (const refusal of outcome.refusals) result.refusals[refusal] = (result.refusals[refusal] ?? 0) + 1
  }
  return result
}

function problemsOf(r: CorrectnessReport): string[] {
  const problems: string[] = []
  if (r.lost > 0) problems.push(`${r.lost} completed flows whose action is not CHALLENGE_SUCCEEDED`)
  if (r.succeeded.actions !== r.succeeded.calls) {
    problems.push(`${r.succeeded.actions} CHALLENGE_SUCCEEDED actions, but ${r.succeeded.calls} ${r.succeeded.call} calls answered 200`)
  }
  if (r.consumedChallenges) {
    if (r.consumedChallenges.maxPerChallenge > 1) problems.push(`a challenge was consumed ${r.consumedChallenges.maxPerChallenge} times`)
    if (r.consumedChallenges.rows !== r.succeeded.calls) problems.push(`${r.consumedChallenges.rows} consumed challenges for ${r.succeeded.calls} verifications`)
  }
  if (r.pushChallenges) {
    if (r.pushChallenges.incomplete > 0) problems.push(`${r.pushChallenges.incomplete} completed flows whose challenge is not approved with its token handed over`)
    if (r.pushChallenges.approved !== r.succeeded.calls) problems.push(`${r.pushChallenges.approved} approved challenges for ${r.succeeded.calls} approvals`)
  }
  if (r.validatedNotRecorded > 0) problems.push(`${r.validatedNotRecorded} validated tokens not recorded as used`)
  if (r.replays.refused !== r.replays.tried) problems.push(`${r.replays.tried - r.replays.refused} of ${r.replays.tried} tokens validated twice were not refused as used`)
  if (r.races && r.races.oneVerified !== r.races.tried) problems.push(`${r.races.tried - r.races.oneVerified} of ${r.races.tried} raced challenges were not verified exactly once`)
  if (r.races && r.races.oneValidated !== r.races.tried) problems.push(`${r.races.tried - r.races.oneValidated} of ${r.races.tried} raced tokens were not validated exactly once`)
  return problems
}

/** The lines of a correctness report under the results table. */
export function formatCorrectness(label: string, r: CorrectnessReport): string[] {
  const states = Object.entries(r.actionsByState).map(([state, n]) => `${n} ${state}`).join(', ') || 'none'
  const counts = (answers: Record<string, number>) => Object.entries(answers).map(([answer, n]) => `${n} ${answer}`).join(', ')
  const elsewhere = r.nodes > 1 ? ' on another node' : ''
  const twice = r.nodes > 1 ? 'on two nodes at once' : 'twice at once'
  const lines = [
    `${label} correctness (whole run, warm-up and tail included: ${r.flows.completed} flows completed, ${r.flows.failed} failed):`,
    `  actions: ${states}; CHALLENGE_SUCCEEDED ${r.succeeded.actions} for ${r.succeeded.calls} ${r.succeeded.call} calls answered 200; completed flows whose action is not: ${r.lost}`,
  ]
  if (r.consumedChallenges) lines.push(`  in-app challenges consumed: ${r.consumedChallenges.rows} rows, at most ${r.consumedChallenges.maxPerChallenge} per challenge`)
  if (r.pushChallenges) {
    lines.push(
      `  push challenges: ${r.pushChallenges.approved} approved, ${r.pushChallenges.tokenIssued} with the token handed over; completed flows whose challenge is not both: ${r.pushChallenges.incomplete}`,
    )
  }
  lines.push(
    `  tokens: validated but not recorded as used: ${r.validatedNotRecorded}; validated again${elsewhere}: ${r.replays.refused} of ${r.replays.tried} refused (${counts(r.replays.answers) || 'none tried'})`,
  )
  if (r.races) {
    lines.push(
      `  races: ${r.races.tried} challenges verified ${twice}, exactly one succeeded ${r.races.oneVerified} times; ` +
        `their tokens validated ${twice}, exactly one valid ${r.races.oneValidated} times (losers: ${counts(r.races.refusals) || 'none'})`,
    )
  }
  lines.push(r.problems.length === 0 ? '  correct: no state lost, nothing consumed or validated twice' : `  INCORRECT: ${r.problems.join('; ')}`)
  return lines
}
