// The rules of the track-rules flow, put in place the way an operator would: through the
// Management API (management key, HTTP Basic), on the running server. Five rules read every
// kind of signal a track can cost: velocity and address history (one more database statement),
// the address's country (an in-memory lookup) and a value list (read in that same statement).
import { ACTION, PLAIN_ACTION, type CountersignApi, type Payment, type TrackFlow } from './countersign.ts'
import { JsonClient, type JsonResponse } from './http.ts'
import type { BenchTenant } from './server.ts'

/**
 * At most this many actions of a user in an hour before the velocity rule blocks. The load
 * gives no user more tracks than this, of either action (ExclusiveUsers), so the rule is
 * evaluated on every track but never decides: with and without rules, every track is the same
 * CHALLENGE_REQUIRED.
 */
export const ACTIONS_PER_HOUR_LIMIT = 1000

const BLOCKED_PAYEES = { alias: 'blocked_payees', name: 'Blocked payees', itemType: 'string', items: ['Mule Account Ltd', 'Quick Crypto Cash', 'Gift Card Wholesale'] } as const

/** A Management API rule, as POSTed to …/action-configurations/{actionCode}/rules. */
export interface BenchRule {
  name: string
  outcome: 'ALLOW' | 'CHALLENGE' | 'REVIEW' | 'BLOCK'
  /** Lower wins when several match. */
  priority: number
  condition: string
}

/**
 * The five rules, in priority order. None matches the benchmark's payments except the last,
 * whose CHALLENGE is the action's default anyway: users pay from at most three addresses, in
 * countries that are not blocked, to payees that are not on the list.
 */
export const BENCH_RULES: readonly BenchRule[] = [
  { name: 'Too many actions in an hour', outcome: 'BLOCK', priority: 10, condition: `velocity.actions1h > ${ACTIONS_PER_HOUR_LIMIT}` },
  { name: 'Sanctioned country', outcome: 'BLOCK', priority: 20, condition: `ip.country in ['KP', 'IR']` },
  { name: 'Blocked payee', outcome: 'BLOCK', priority: 30, condition: `list('${BLOCKED_PAYEES.alias}').contains(action.transaction.payee)` },
  { name: 'Many addresses in a day', outcome: 'REVIEW', priority: 40, condition: 'velocity.distinctIps24h > 5' },
  { name: 'Large payment from a new address', outcome: 'CHALLENGE', priority: 50, condition: 'ip.isNew && action.custom.amount > 1000.0' },
]

/** The operator's side of the server, for setting up the action, its rules and the value list. */
export class ManagementClient {
  readonly #http: JsonClient
  readonly #auth: string

  constructor(tenant: BenchTenant) {
    this.#http = new JsonClient(tenant.apiUrl, 1)
    this.#auth = `Basic ${Buffer.from(`${tenant.managementKey}:`).toString('base64')}`
  }

  /** Configures `actionCode` with the tenant's defaults; one that exists already is left as it is. */
  async configureAction(actionCode: string): Promise<void> {
    const created = await this.#http.post('management/action-configurations', this.#auth, { actionCode })
    if (created.status !== 201 && created.status !== 409) throw setupError('create action configuration', created)
  }

  /** Creates a value list that rules name with list('alias'). */
  async createValueList(list: typeof BLOCKED_PAYEES): Promise<void> {
    const created = await this.#http.post('management/value-lists', this.#auth, list)
    if (created.status !== 201) throw setupError(`create value list ${list.alias}`, created)
  }

  /** Adds an active rule to `actionCode`; returns its ID. */
  async createRule(actionCode: string, rule: BenchRule): Promise<string> {
    const created = await this.#http.post(`management/action-configurations/${actionCode}/rules`, this.#auth, rule)
    const ruleId = created.body?.ruleId
    if (created.status !== 201 || typeof ruleId !== 'string') throw setupError(`create rule "${rule.name}"`, created)
    return ruleId
  }

  close(): void {
    this.#http.close()
  }
}

/** What a track flow tracks: one action without rules (track), with them (track-rules), or one of each (track-paired). */
const ACTIONS_OF: Record<TrackFlow, ReadonlyArray<{ actionCode: typeof ACTION; rules: boolean } | { actionCode: typeof PLAIN_ACTION; rules: false }>> = {
  track: [{ actionCode: ACTION, rules: false }],
  'track-rules': [{ actionCode: ACTION, rules: true }],
  'track-paired': [
    { actionCode: ACTION, rules: true },
    { actionCode: PLAIN_ACTION, rules: false },
  ],
}

/** Says what setUpTrackFlow puts in place, for the progress output. */
export function describeSetup(flow: TrackFlow): string {
  return ACTIONS_OF[flow].map(({ actionCode, rules }) => `${actionCode} ${rules ? `with ${BENCH_RULES.length} rules (checked with probe tracks)` : 'without rules'}`).join(', ')
}

/**
 * Configures the actions `flow` tracks and, on the one with rules, adds the blocked-payee list
 * and the five rules, then checks that they are in force (checkRules). Every action is
 * configured the same way, so the rules are the only difference between them.
 * @example await setUpTrackFlow(tenant, api, 'track-rules')
 */
export async function setUpTrackFlow(tenant: BenchTenant, api: CountersignApi, flow: TrackFlow): Promise<void> {
  const management = new ManagementClient(tenant)
  try {
    for (const { actionCode, rules } of ACTIONS_OF[flow]) {
      await management.configureAction(actionCode)
      if (rules) await addRules(management, api)
    }
  } finally {
    management.close()
  }
}

/** Adds the list and the rules to ACTION, the action the probes track, and checks them. */
async function addRules(management: ManagementClient, api: CountersignApi): Promise<void> {
  await management.createValueList(BLOCKED_PAYEES)
  const ruleIds = new Map<string, string>()
  for (const rule of BENCH_RULES) ruleIds.set(rule.name, await management.createRule(ACTION, rule))
  await checkRules(api, (name) => ruleIds.get(name)!)
}

/**
 * Tracks a few payments of a user of its own (not enrolled, so not one of the load's) that
 * should trip the rules, and checks each outcome: a benchmark whose rules silently read
 * nothing (no address history, an empty country, a missing list) would measure too little.
 */
async function checkRules(api: CountersignApi, ruleId: (name: string) => string): Promise<void> {
  const userId = 'bench-rules-probe'
  const payment = (change: Partial<Payment>): Payment => ({ ipAddress: '8.8.8.8', deviceId: 'bench-probe-device', amount: 5000, payee: 'ACME Ltd', currency: 'NZD', ...change })
  const probes: Array<{ what: string; payment: Payment; state: string; ruleIds: string[] }> = [
    // Its first action: the address is new, and the amount large.
    { what: 'a large payment from a new address', payment: payment({}), state: 'CHALLENGE_REQUIRED', ruleIds: [ruleId('Large payment from a new address')] },
    // The same address again: no longer new, so no rule; the default CHALLENGE lets a user without an authenticator through.
    { what: 'a large payment from a known address', payment: payment({}), state: 'ALLOW', ruleIds: [] },
    { what: 'a payment to a blocked payee', payment: payment({ payee: 'Quick Crypto Cash', amount: 10 }), state: 'BLOCK', ruleIds: [ruleId('Blocked payee')] },
    // 175.45.176.0/22 is North Korea's.
    { what: 'a payment from North Korea', payment: payment({ ipAddress: '175.45.176.1', amount: 10 }), state: 'BLOCK', ruleIds: [ruleId('Sanctioned country')] },
  ]
  for (const probe of probes) {
    const tracked = await api.trackOnce(userId, probe.payment)
    const same = tracked.state === probe.state && tracked.ruleIds.length === probe.ruleIds.length && probe.ruleIds.every((id) => tracked.ruleIds.includes(id))
    if (!same) {
      throw new Error(
        `rule check: ${probe.what} gave ${tracked.state} with rules [${tracked.ruleIds.join(', ')}], expected ${probe.state} with [${probe.ruleIds.join(', ')}]`,
      )
    }
  }
}

/** Setup is not measured: a failure ends the run, with the server's status and error code. */
function setupError(what: string, response: JsonResponse): Error {
  const code = response.body?.errorCode
  return new Error(`${what}: ${response.status} ${typeof code === 'string' ? code : 'no error code'}`)
}
