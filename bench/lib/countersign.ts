// The calls a real integration makes, over HTTP: the tenant backend (secret key, HTTP Basic),
// the browser or app holding the track token (Bearer) and the phone (tenant ID, P-256 key).
// Each call is timed and either returns what the next step needs or throws a FlowError whose
// `key` says which call failed and how.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { EventStream, JsonClient, NetworkError, type JsonResponse, type ServerEvent } from './http.ts'
import type { BenchTenant } from './server.ts'

/** The calls of each flow, in order; also the latency columns of the report. */
export const FLOW_CALLS = {
  /** The device app answers its own challenge with its key. */
  'in-app': ['track', 'challenge', 'verify', 'validate'],
  /**
   * The browser asks, the phone approves: push start (browser) → signing nonce, pending
   * challenge, answer (phone) → poll for the token (browser).
   */
  push: ['track', 'push', 'sign', 'pending', 'answer', 'verify', 'validate'],
  /**
   * The push flow with the browser streaming instead of polling: it opens the challenge's
   * Server-Sent Events stream (`stream`: until its first event) before the phone answers, and
   * takes the token from the approval's event (`event`: from the phone sending its approval to
   * the event arriving). With several nodes the stream is on another node than the answer, so
   * the event crosses PostgreSQL's LISTEN/NOTIFY.
   */
  'push-stream': ['track', 'push', 'stream', 'sign', 'pending', 'answer', 'event', 'validate'],
  /**
   * Track alone, as the tenant backend calls it before every payment, with the signals rules
   * read (IP address, device ID, amount, payee); the action has no rules.
   */
  track: ['track'],
  /** The same tracks on an action with five active rules (see rule-set.ts). */
  'track-rules': ['track'],
  /**
   * Both in one window, so whatever else the machine does falls on both alike: a track on an
   * action without rules and one on an action with the five, in random order.
   */
  'track-paired': ['track', 'track-rules'],
} as const
/** Columns of FLOW_CALLS that time something other than an HTTP request, left out of calls/s. */
export const NOT_REQUESTS: ReadonlySet<string> = new Set(['event'])
export type FlowKind = keyof typeof FLOW_CALLS
export type Call = (typeof FLOW_CALLS)[FlowKind][number]
export const FLOW_KINDS = Object.keys(FLOW_CALLS) as FlowKind[]

/** The action every flow tracks; in the track-rules and track-paired flows it has the rules. */
export const ACTION = 'authorizePayment'
/** The track-paired flow's action without rules. */
export const PLAIN_ACTION = 'authorizeTransfer'

/** The flows that track only. */
export const TRACK_FLOWS = ['track', 'track-rules', 'track-paired'] as const satisfies readonly FlowKind[]
export type TrackFlow = (typeof TRACK_FLOWS)[number]
export function isTrackFlow(flow: FlowKind): flow is TrackFlow {
  return (TRACK_FLOWS as readonly FlowKind[]).includes(flow)
}

/** Which credential a flow's users enroll: the phone of a push flow, the device app otherwise. */
const CREDENTIAL_OF: Record<FlowKind, 'in-app' | 'push'> = {
  'in-app': 'in-app',
  push: 'push',
  'push-stream': 'push',
  track: 'in-app',
  'track-rules': 'in-app',
  'track-paired': 'in-app',
}

/** The flows whose users approve on a phone (push credentials, push limits, one flow per user at a time). */
export function isPushFlow(flow: FlowKind): flow is 'push' | 'push-stream' {
  return flow === 'push' || flow === 'push-stream'
}

/**
 * Public addresses the users connect from: well-known resolvers and root servers, located by
 * the server's bundled country database in the US, AU, DE, NL, KR, JP, BR, CA, TW and CY —
 * never in a country the rule set blocks (rule-set.ts).
 */
const PUBLIC_ADDRESSES = [
  '8.8.8.8',
  '1.1.1.1',
  '9.9.9.9',
  '208.67.222.222',
  '84.200.69.80',
  '80.80.80.80',
  '168.126.63.1',
  '202.12.27.33',
  '200.221.11.100',
  '76.76.2.0',
  '101.101.101.101',
  '94.140.14.14',
  '193.0.14.129',
  '139.130.4.5',
  '195.46.39.39',
  '64.6.64.6',
] as const
/** Addresses per user: few enough that no user reaches the rule set's distinct-IP limit. */
const ADDRESSES_PER_USER = 3
/** Payees the users pay; none is on the rule set's blocked list. */
const PAYEES = ['ACME Ltd', 'Kiwi Power', 'City Council', 'Harbour Dental', 'Green Grocer', 'Northern Rail'] as const

/** A failed call or a failed assertion; `key` groups errors in the report (e.g. "verify 409 challenge_consumed"). */
export class FlowError extends Error {
  override name = 'FlowError'
  constructor(
    /** A call of a flow, `enroll`, or the peer's `token`. */
    readonly call: Call | 'enroll' | 'token',
    readonly key: string,
  ) {
    super(key)
  }
}

/** A phone: a P-256 key pair as the platform key store would hold it. */
export interface Device {
  /** Standard base64 of the SPKI DER, as devices send it. */
  publicKey: string
  /** `publicKey` as the push endpoints take it in `?publicKey=`: base64 once more, URL-encoded. */
  publicKeyQuery: string
  sign(message: string): string
}

export function newDevice(): Device {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64')
  return {
    publicKey: spki,
    publicKeyQuery: encodeURIComponent(Buffer.from(spki, 'utf8').toString('base64')),
    sign: (message) => signDer(privateKey, message),
  }
}

function signDer(privateKey: KeyObject, message: string): string {
  // Devices send a DER-encoded ECDSA-SHA256 signature over the UTF-8 bytes (PROTOCOL.md §3).
  return sign('sha256', Buffer.from(message, 'utf8'), { key: privateKey, dsaEncoding: 'der' }).toString('base64')
}

export interface BenchUser {
  userId: string
  device: Device
  /** The device ID the app sends with track. */
  deviceId: string
  /** The user's few public IP addresses, one of which each track comes from. */
  addresses: readonly string[]
}

/**
 * The `index`th benchmark user with a new device key and a few addresses of its own.
 * @example const users = Array.from({ length: 200 }, (_, i) => newBenchUser(i))
 */
export function newBenchUser(index: number): BenchUser {
  const first = (index * ADDRESSES_PER_USER) % PUBLIC_ADDRESSES.length
  return {
    userId: `bench-user-${index}`,
    device: newDevice(),
    deviceId: `bench-device-${index}`,
    addresses: Array.from({ length: ADDRESSES_PER_USER }, (_, i) => PUBLIC_ADDRESSES[(first + i) % PUBLIC_ADDRESSES.length]!),
  }
}

/** A payment as the tenant backend tracks it: where from, on which device, how much, to whom. */
export interface Payment {
  ipAddress: string
  deviceId: string
  amount: number
  payee: string
  currency: string
}

/** A payment of `amount` by `user` from one of its addresses to one of the usual payees. */
export function paymentBy(user: BenchUser, amount: number): Payment {
  return {
    ipAddress: user.addresses[Math.floor(Math.random() * user.addresses.length)]!,
    deviceId: user.deviceId,
    amount,
    payee: PAYEES[Math.floor(Math.random() * PAYEES.length)]!,
    currency: 'NZD',
  }
}

/** Called after every completed HTTP call, successful or not. */
export type CallObserver = (call: Call, ms: number, ok: boolean) => void

/** What a completed in-app or push flow leaves behind, for checking the database after the run (correctness.ts). */
export interface FlowRecord {
  userId: string
  idempotencyKey: string
  /** The token the flow validated; a second validation must be refused. */
  token: string
  /** The node that validated it. */
  validatedOn: number
  /** The push challenge the phone approved (push flows). */
  challengeId?: string
}

/**
 * How long the streaming browser waits for the approval's event. Without a notification a
 * node re-reads a followed challenge every 5 s, so a lost NOTIFY shows as a slow event, not a
 * missing one; this is far beyond both.
 */
const EVENT_TIMEOUT_MS = 15_000

/** The two outcomes of a raced verification (raceVerification). */
export interface RaceOutcome {
  /** Verify requests of the pair that answered 200 with a token: exactly one may. */
  verified: number
  /** Validations of that token, sent to both nodes at once, that answered isValid: exactly one may. */
  validated: number
  /** How the losers were refused, e.g. "verify 409 challenge_consumed". */
  refusals: string[]
}

export class CountersignApi {
  /** One client per server node; a flow's calls go to different nodes (#at). */
  readonly #nodes: JsonClient[]
  readonly #secretAuth: string
  readonly #tenantAuth: string

  /**
   * @param nodeUrls the API URL (…/v1) of every node serving the tenant; by default the
   *   tenant's own. Each gets a pool of `maxSockets` connections.
   */
  constructor(tenant: BenchTenant, maxSockets: number, nodeUrls: readonly string[] = [tenant.apiUrl]) {
    if (nodeUrls.length === 0) throw new Error('no server nodes')
    this.#nodes = nodeUrls.map((url) => new JsonClient(url, maxSockets))
    // Both are the HTTP Basic username with an empty password: the secret key as the server
    // SDKs send it, the tenant ID as the mobile SDKs do.
    this.#secretAuth = `Basic ${Buffer.from(`${tenant.secretKey}:`).toString('base64')}`
    this.#tenantAuth = `Basic ${Buffer.from(`${tenant.tenantId}:`).toString('base64')}`
  }

  get nodeCount(): number {
    return this.#nodes.length
  }

  /**
   * The node call `call` (0-based, in the flow's order) of flow number `flow` goes to: the
   * next node for each call, starting one further for each flow, so with three nodes or more
   * an in-app challenge is issued on one node, answered on the next and validated on a third,
   * and every node sees every kind of call.
   */
  nodeOf(flow: number, call: number): number {
    return (flow + call) % this.#nodes.length
  }

  /** Resolves to the /readyz status of `node`, or rejects while nothing listens there yet. */
  readiness(node = 0): Promise<number> {
    return this.#nodes[node]!.getStatus('/readyz')
  }

  /**
   * Enrolls `user.device` as the user's credential for `flow` (the enrollment flow of the
   * brief): a push credential for the push flows, an in-app one for the others. A push
   * credential gets no push token, so no push service is ever contacted: the phone finds its
   * challenge by fetching it, as it does when a notification is lost.
   */
  async enroll(user: BenchUser, flow: FlowKind): Promise<void> {
    const http = this.#nodes[0]!
    const tracked = await http.post(`users/${user.userId}/actions/addAuthenticator`, this.#secretAuth, {
      scope: 'add:authenticators',
    })
    const token = expectString(tracked, 'token', 'enroll')
    const added = await http.post(`client/user-authenticators/${CREDENTIAL_OF[flow]}`, `Bearer ${token}`, {
      publicKey: user.device.publicKey,
      deviceName: 'bench',
      devicePlatform: 'android',
    })
    if (added.status !== 200 || added.body?.userId !== user.userId) throw new FlowError('enroll', describe('enroll', added))
  }

  /**
   * One complete in-app verification: track a payment (challenged, since the user is
   * enrolled) → fetch a challenge → sign and verify it → validate the new token once.
   * `flow` numbers the flow, to spread its calls over the nodes (nodeOf).
   */
  async inAppFlow(user: BenchUser, amount: number, observe: CallObserver, flow = 0): Promise<FlowRecord> {
    const { bearer, idempotencyKey } = await this.#track(this.#at(flow, 0), user, { custom: { amount } }, observe)

    const challenge = await this.#timed('challenge', observe, () => this.#at(flow, 1).post('client/challenge', bearer, {}))
    const challengeId = expectString(challenge, 'challengeId', 'challenge')

    const verified = await this.#timed('verify', observe, () =>
      this.#at(flow, 2).post('client/verify/in-app', bearer, {
        challengeId,
        publicKey: user.device.publicKey,
        signature: user.device.sign(challengeId),
      }),
    )
    const token = expectString(verified, 'token', 'verify')

    await this.#validate(this.#at(flow, 3), user, token, observe)
    return { userId: user.userId, idempotencyKey, token, validatedOn: this.nodeOf(flow, 3) }
  }

  /**
   * One complete push approval: track a payment (challenged) → the browser starts a push →
   * the phone gets a nonce, fetches its pending challenge with the nonce signed, and approves
   * it with the challenge ID signed → the browser polls once and gets the new token → the
   * backend validates it. The caller makes sure no other flow uses `user` meanwhile: a second
   * nonce would replace the first, and the phone is shown only its newest challenge.
   */
  async pushFlow(user: BenchUser, amount: number, observe: CallObserver, flow = 0): Promise<FlowRecord> {
    const { bearer, idempotencyKey } = await this.#track(this.#at(flow, 0), user, { custom: { amount } }, observe)
    const challengeId = await this.#startPush(this.#at(flow, 1), bearer, observe)
    await this.#approveOnPhone(user, challengeId, observe, this.#at(flow, 2), this.#at(flow, 3), this.#at(flow, 4))

    // One poll, after the approval: the token is handed over on the first poll that sees it.
    const polled = await this.#timed('verify', observe, () => this.#at(flow, 5).post('client/verify/push', bearer, { challengeId }))
    if (polled.status === 200 && polled.body?.isVerified !== true) {
      throw new FlowError('verify', `verify 200 state=${String(polled.body?.state)}`)
    }
    const token = expectString(polled, 'accessToken', 'verify')

    await this.#validate(this.#at(flow, 6), user, token, observe)
    return { userId: user.userId, idempotencyKey, token, validatedOn: this.nodeOf(flow, 6), challengeId }
  }

  /**
   * The push approval with the browser streaming: after starting the push it opens the
   * challenge's event stream and waits for its first event, then the phone approves, and the
   * browser takes the token from the approval's event. The stream is on the node after the
   * one the phone answers on (nodeOf(flow, 5) against 4), so with two nodes or more the event
   * reaches the browser only through PostgreSQL's LISTEN/NOTIFY.
   */
  async pushStreamFlow(user: BenchUser, amount: number, observe: CallObserver, flow = 0): Promise<FlowRecord> {
    const { bearer, idempotencyKey } = await this.#track(this.#at(flow, 0), user, { custom: { amount } }, observe)
    const challengeId = await this.#startPush(this.#at(flow, 1), bearer, observe)

    const stream = await this.#openStream(this.#at(flow, 5), bearer, challengeId, observe)
    let token: string
    try {
      const approvedAt = await this.#approveOnPhone(user, challengeId, observe, this.#at(flow, 2), this.#at(flow, 3), this.#at(flow, 4))
      token = await this.#approvalEvent(stream, approvedAt, observe)
    } finally {
      stream.close()
    }

    await this.#validate(this.#at(flow, 6), user, token, observe)
    return { userId: user.userId, idempotencyKey, token, validatedOn: this.nodeOf(flow, 6), challengeId }
  }

  /**
   * One track of `payment` and nothing else, as the tenant backend makes it before a payment,
   * with everything a rule may read: address, device ID, `custom.amount` and the transaction.
   * The user is enrolled, and no BLOCK or REVIEW rule of the benchmark's matches these
   * payments, so the answer must be CHALLENGE_REQUIRED with or without rules: both flows do
   * the same work but for the rules.
   */
  async trackFlow(user: BenchUser, payment: Payment, observe: CallObserver, flow = 0): Promise<void> {
    await this.#track(this.#at(flow, 0), user, trackRequest(payment), observe)
  }

  /**
   * The same payment tracked twice, on the action without rules (call `track`) and on the one
   * with them (call `track-rules`), in random order so that neither is always the one that
   * finds the caches warm.
   */
  async pairedTrackFlow(user: BenchUser, payment: Payment, observe: CallObserver, flow = 0): Promise<void> {
    // Both on one node, so the two calls of a pair differ by the rules only.
    const http = this.#at(flow, 0)
    const plain = () => this.#track(http, user, trackRequest(payment), observe, { call: 'track', action: PLAIN_ACTION })
    const ruled = () => this.#track(http, user, trackRequest(payment), observe, { call: 'track-rules', action: ACTION })
    const [first, second] = Math.random() < 0.5 ? [plain, ruled] : [ruled, plain]
    await first()
    await second()
  }

  /**
   * Tracks `payment` for `userId` outside the measurement (the rule set's self-check) and
   * returns the state and the IDs of the rules that matched.
   */
  async trackOnce(userId: string, payment: Payment): Promise<{ state: string; ruleIds: string[] }> {
    const tracked = await this.#nodes[0]!.post(`users/${userId}/actions/${ACTION}`, this.#secretAuth, trackRequest(payment))
    const state = tracked.body?.state
    const ruleIds = tracked.body?.ruleIds
    if (tracked.status !== 200 || typeof state !== 'string') throw new FlowError('track', describe('track', tracked))
    return { state, ruleIds: Array.isArray(ruleIds) ? ruleIds.map(String) : [] }
  }

  /**
   * Validates a flow's token a second time, on `node`: a token validates once, on any node.
   * Returns how the server answered, e.g. "refused token_already_used" (the right answer) or
   * "valid".
   */
  async validateAgain(record: FlowRecord, node: number): Promise<string> {
    const validated = await this.#nodes[node]!.post('validate', this.#secretAuth, { token: record.token, userId: record.userId, action: ACTION })
    if (validated.status !== 200) return describe('validate', validated)
    return validated.body?.isValid === true ? 'valid' : `refused ${String(validated.body?.error)}`
  }

  /**
   * A race for one in-app challenge: `user` tracks and fetches a challenge, signs it once, and
   * sends the same verification to `nodes[0]` and `nodes[1]` at the same moment; then the
   * winner's token is validated on both at once. Single use must hold across nodes: exactly
   * one of each pair succeeds. Not part of the measured load.
   */
  async raceVerification(user: BenchUser, nodes: readonly [number, number]): Promise<RaceOutcome> {
    const ignore: CallObserver = () => {}
    const [a, b] = [this.#nodes[nodes[0]]!, this.#nodes[nodes[1]]!]
    const { bearer } = await this.#track(a, user, { custom: { amount: 1 } }, ignore)
    const challengeId = expectString(await b.post('client/challenge', bearer, {}), 'challengeId', 'challenge')
    const request = { challengeId, publicKey: user.device.publicKey, signature: user.device.sign(challengeId) }
    const answers = await Promise.all([a, b].map((http) => http.post('client/verify/in-app', bearer, request)))
    const tokens = answers.flatMap((r) => (r.status === 200 && typeof r.body?.token === 'string' ? [r.body.token] : []))
    const refusals = answers.filter((r) => r.status !== 200).map((r) => describe('verify', r))
    let validated = 0
    if (tokens.length === 1) {
      const body = { token: tokens[0], userId: user.userId, action: ACTION }
      const validations = await Promise.all([a, b].map((http) => http.post('validate', this.#secretAuth, body)))
      validated = validations.filter((r) => r.status === 200 && r.body?.isValid === true).length
      refusals.push(...validations.filter((r) => r.body?.isValid !== true).map((r) => (r.status === 200 ? `validate 200 ${String(r.body?.error)}` : describe('validate', r))))
    }
    return { verified: tokens.length, validated, refusals }
  }

  close(): void {
    for (const http of this.#nodes) http.close()
  }

  #at(flow: number, call: number): JsonClient {
    return this.#nodes[this.nodeOf(flow, call)]!
  }

  /**
   * Tracks a payment with request `body` (by default as call `track` of ACTION); returns the
   * Bearer authorization of its token and the action's idempotency key.
   */
  async #track(
    http: JsonClient,
    user: BenchUser,
    body: object,
    observe: CallObserver,
    { call = 'track', action = ACTION }: { call?: Call; action?: string } = {},
  ): Promise<{ bearer: string; idempotencyKey: string }> {
    const tracked = await this.#timed(call, observe, () => http.post(`users/${user.userId}/actions/${action}`, this.#secretAuth, body))
    if (tracked.status !== 200) throw new FlowError(call, describe(call, tracked))
    // An enrolled user paying must be challenged; ALLOW here would measure a shorter flow.
    if (tracked.body?.state !== 'CHALLENGE_REQUIRED') {
      throw new FlowError(call, `${call} 200 state=${String(tracked.body?.state)}`)
    }
    return { bearer: `Bearer ${expectString(tracked, 'token', call)}`, idempotencyKey: expectString(tracked, 'idempotencyKey', call) }
  }

  /** The browser starts a push to the user's phone; returns the challenge ID. */
  async #startPush(http: JsonClient, bearer: string, observe: CallObserver): Promise<string> {
    const started = await this.#timed('push', observe, () => http.post('client/challenge/push', bearer, {}))
    const challengeId = expectString(started, 'challengeId', 'push')
    // Without a push token nothing is sent; anything else would measure a push service too.
    const deliveries = started.body?.deliveryResults
    if (!Array.isArray(deliveries) || deliveries.length !== 1 || (deliveries[0] as { status?: unknown }).status !== 'skipped') {
      throw new FlowError('push', `push 200 deliveryResults=${JSON.stringify(deliveries)}`)
    }
    return challengeId
  }

  /**
   * The phone's part: a signing nonce (`sign`), its pending challenge fetched with the nonce
   * signed (`pending`), which must be `challengeId`, and the approval (`answer`), each on the
   * node given. Returns when the approval was sent (performance.now()).
   */
  async #approveOnPhone(user: BenchUser, challengeId: string, observe: CallObserver, signOn: JsonClient, pendingOn: JsonClient, answerOn: JsonClient): Promise<number> {
    const key = user.device.publicKeyQuery
    // Body-less, tenant-authenticated: the phone has no token, only its key.
    const nonce = await this.#timed('sign', observe, () => signOn.post(`client/user-authenticators/push/challenge/sign?publicKey=${key}`, this.#tenantAuth))
    const message = expectString(nonce, 'message', 'sign')

    const pending = await this.#timed('pending', observe, () =>
      pendingOn.get(`client/user-authenticators/push/challenge?publicKey=${key}`, this.#tenantAuth, {
        'x-authsignal-signature': user.device.sign(message),
      }),
    )
    if (pending.status !== 200) throw new FlowError('pending', describe('pending', pending))
    // The phone answers what it was shown; it must be this flow's challenge.
    const shown = pending.body?.challengeId
    if (shown === undefined) throw new FlowError('pending', 'pending 200 nothing pending')
    if (shown !== challengeId) throw new FlowError('pending', 'pending 200 another challenge')

    const body = { challengeId: shown, publicKey: user.device.publicKey, signature: user.device.sign(shown), approved: true }
    const approvedAt = performance.now()
    const answered = await this.#timed('answer', observe, () => answerOn.post('client/user-authenticators/push/challenge', this.#tenantAuth, body))
    if (answered.status !== 200) throw new FlowError('answer', describe('answer', answered))
    if (answered.body?.isVerified !== true) throw new FlowError('answer', 'answer 200 isVerified=false')
    return approvedAt
  }

  /**
   * Opens the push challenge's event stream on `http` and waits for its first event, the
   * state before any answer (`stream`: from the request to that event).
   */
  async #openStream(http: JsonClient, bearer: string, challengeId: string, observe: CallObserver): Promise<EventStream> {
    const started = performance.now()
    let stream: EventStream | undefined
    try {
      const opened = await http.openEventStream('client/verify/push/stream', bearer, { challengeId })
      if (!(opened instanceof EventStream)) {
        observe('stream', performance.now() - started, false)
        throw new FlowError('stream', describe('stream', opened))
      }
      stream = opened
      const first = await stream.next(EVENT_TIMEOUT_MS)
      observe('stream', first.receivedAt - started, true)
      const state = first.data?.state
      if (state !== 'unclaimed' && state !== 'claimed') throw new FlowError('stream', `stream 200 first state=${String(state)}`)
      return stream
    } catch (error) {
      stream?.close()
      if (error instanceof NetworkError) {
        observe('stream', performance.now() - started, false)
        throw new FlowError('stream', `stream network ${error.code}`)
      }
      throw error
    }
  }

  /**
   * Waits for the approval's event and returns the token it hands over; `event` is timed from
   * `approvedAt`, when the phone sent its approval.
   */
  async #approvalEvent(stream: EventStream, approvedAt: number, observe: CallObserver): Promise<string> {
    for (;;) {
      let event: ServerEvent
      try {
        event = await stream.next(EVENT_TIMEOUT_MS)
      } catch (error) {
        observe('event', performance.now() - approvedAt, false)
        throw new FlowError('event', `event network ${error instanceof NetworkError ? error.code : String(error)}`)
      }
      const state = event.data?.state
      if (state === 'unclaimed' || state === 'claimed') continue
      const token = event.data?.accessToken
      const ok = state === 'approved' && typeof token === 'string'
      observe('event', event.receivedAt - approvedAt, ok)
      if (!ok) throw new FlowError('event', state === 'approved' ? 'event approved without accessToken' : `event state=${String(state)}`)
      return token
    }
  }

  /** The backend validates the new token once, for this user and action. */
  async #validate(http: JsonClient, user: BenchUser, token: string, observe: CallObserver): Promise<void> {
    const validated = await this.#timed('validate', observe, () => http.post('validate', this.#secretAuth, { token, userId: user.userId, action: ACTION }))
    if (validated.status !== 200) throw new FlowError('validate', describe('validate', validated))
    if (validated.body?.isValid !== true) {
      throw new FlowError('validate', `validate 200 isValid=false ${String(validated.body?.error ?? '')}`.trim())
    }
  }

  /** Times one call; a call counts as ok when it answered 200 (assertions on the body come after). */
  async #timed(call: Call, observe: CallObserver, send: () => Promise<JsonResponse>): Promise<JsonResponse> {
    const started = performance.now()
    try {
      const response = await send()
      observe(call, performance.now() - started, response.status === 200)
      return response
    } catch (error) {
      observe(call, performance.now() - started, false)
      if (error instanceof NetworkError) throw new FlowError(call, `${call} network ${error.code}`)
      throw error
    }
  }
}

/** The track request of a payment: `custom.amount` and the transaction's display fields. */
function trackRequest(payment: Payment) {
  return {
    ipAddress: payment.ipAddress,
    deviceId: payment.deviceId,
    custom: { amount: payment.amount },
    transaction: { payee: payment.payee, amount: payment.amount, currency: payment.currency },
  }
}

function expectString(response: JsonResponse, field: string, call: Call | 'enroll'): string {
  const value = response.body?.[field]
  if (response.status === 200 && typeof value === 'string') return value
  throw new FlowError(call, describe(call, response))
}

/** "verify 409 challenge_consumed": the status and the server's stable error code, never its message. */
function describe(call: Call | 'enroll', response: JsonResponse): string {
  const code = response.body?.errorCode ?? response.body?.error
  return `${call} ${response.status} ${typeof code === 'string' ? code : response.status === 200 ? 'unexpected body' : 'no error code'}`
}
