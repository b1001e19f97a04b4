// The calls a real integration makes, over HTTP: the tenant backend (secret key, HTTP Basic),
// the browser or app holding the track token (Bearer) and the phone (tenant ID, P-256 key).
// Each call is timed and either returns what the next step needs or throws a FlowError whose
// `key` says which call failed and how.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { JsonClient, NetworkError, type JsonResponse } from './http.ts'
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
const CREDENTIAL_OF: Record<FlowKind, 'in-app' | 'push'> = { 'in-app': 'in-app', push: 'push', track: 'in-app', 'track-rules': 'in-app', 'track-paired': 'in-app' }

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
    readonly call: Call | 'enroll',
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

export class CountersignApi {
  readonly #http: JsonClient
  readonly #secretAuth: string
  readonly #tenantAuth: string

  constructor(tenant: BenchTenant, maxSockets: number) {
    this.#http = new JsonClient(tenant.apiUrl, maxSockets)
    // Both are the HTTP Basic username with an empty password: the secret key as the server
    // SDKs send it, the tenant ID as the mobile SDKs do.
    this.#secretAuth = `Basic ${Buffer.from(`${tenant.secretKey}:`).toString('base64')}`
    this.#tenantAuth = `Basic ${Buffer.from(`${tenant.tenantId}:`).toString('base64')}`
  }

  /** Resolves to the /readyz status, or rejects while nothing listens yet. */
  readiness(): Promise<number> {
    return this.#http.getStatus('/readyz')
  }

  /**
   * Enrolls `user.device` as the user's credential for `flow` (the enrollment flow of the
   * brief): a push credential for the push flow, an in-app one for the others. A push
   * credential gets no push token, so no push service is ever contacted: the phone finds its
   * challenge by fetching it, as it does when a notification is lost.
   */
  async enroll(user: BenchUser, flow: FlowKind): Promise<void> {
    const tracked = await this.#http.post(`users/${user.userId}/actions/addAuthenticator`, this.#secretAuth, {
      scope: 'add:authenticators',
    })
    const token = expectString(tracked, 'token', 'enroll')
    const added = await this.#http.post(`client/user-authenticators/${CREDENTIAL_OF[flow]}`, `Bearer ${token}`, {
      publicKey: user.device.publicKey,
      deviceName: 'bench',
      devicePlatform: 'android',
    })
    if (added.status !== 200 || added.body?.userId !== user.userId) throw new FlowError('enroll', describe('enroll', added))
  }

  /**
   * One complete in-app verification: track a payment (challenged, since the user is
   * enrolled) → fetch a challenge → sign and verify it → validate the new token once.
   */
  async inAppFlow(user: BenchUser, amount: number, observe: CallObserver): Promise<void> {
    const bearer = await this.#track(user, { custom: { amount } }, observe)

    const challenge = await this.#timed('challenge', observe, () => this.#http.post('client/challenge', bearer, {}))
    const challengeId = expectString(challenge, 'challengeId', 'challenge')

    const verified = await this.#timed('verify', observe, () =>
      this.#http.post('client/verify/in-app', bearer, {
        challengeId,
        publicKey: user.device.publicKey,
        signature: user.device.sign(challengeId),
      }),
    )
    const token = expectString(verified, 'token', 'verify')

    await this.#validate(user, token, observe)
  }

  /**
   * One complete push approval: track a payment (challenged) → the browser starts a push →
   * the phone gets a nonce, fetches its pending challenge with the nonce signed, and approves
   * it with the challenge ID signed → the browser polls once and gets the new token → the
   * backend validates it. The caller makes sure no other flow uses `user` meanwhile: a second
   * nonce would replace the first, and the phone is shown only its newest challenge.
   */
  async pushFlow(user: BenchUser, amount: number, observe: CallObserver): Promise<void> {
    const bearer = await this.#track(user, { custom: { amount } }, observe)

    const started = await this.#timed('push', observe, () => this.#http.post('client/challenge/push', bearer, {}))
    const challengeId = expectString(started, 'challengeId', 'push')
    // Without a push token nothing is sent; anything else would measure a push service too.
    const deliveries = started.body?.deliveryResults
    if (!Array.isArray(deliveries) || deliveries.length !== 1 || (deliveries[0] as { status?: unknown }).status !== 'skipped') {
      throw new FlowError('push', `push 200 deliveryResults=${JSON.stringify(deliveries)}`)
    }

    const key = user.device.publicKeyQuery
    // Body-less, tenant-authenticated: the phone has no token, only its key.
    const nonce = await this.#timed('sign', observe, () => this.#http.post(`client/user-authenticators/push/challenge/sign?publicKey=${key}`, this.#tenantAuth))
    const message = expectString(nonce, 'message', 'sign')

    const pending = await this.#timed('pending', observe, () =>
      this.#http.get(`client/user-authenticators/push/challenge?publicKey=${key}`, this.#tenantAuth, {
        'x-authsignal-signature': user.device.sign(message),
      }),
    )
    if (pending.status !== 200) throw new FlowError('pending', describe('pending', pending))
    // The phone answers what it was shown; it must be this flow's challenge.
    const shown = pending.body?.challengeId
    if (shown === undefined) throw new FlowError('pending', 'pending 200 nothing pending')
    if (shown !== challengeId) throw new FlowError('pending', 'pending 200 another challenge')

    const answered = await this.#timed('answer', observe, () =>
      this.#http.post('client/user-authenticators/push/challenge', this.#tenantAuth, {
        challengeId: shown,
        publicKey: user.device.publicKey,
        signature: user.device.sign(shown),
        approved: true,
      }),
    )
    if (answered.status !== 200) throw new FlowError('answer', describe('answer', answered))
    if (answered.body?.isVerified !== true) throw new FlowError('answer', 'answer 200 isVerified=false')

    // One poll, after the approval: the token is handed over on the first poll that sees it.
    const polled = await this.#timed('verify', observe, () => this.#http.post('client/verify/push', bearer, { challengeId }))
    if (polled.status === 200 && polled.body?.isVerified !== true) {
      throw new FlowError('verify', `verify 200 state=${String(polled.body?.state)}`)
    }
    const token = expectString(polled, 'accessToken', 'verify')

    await this.#validate(user, token, observe)
  }

  /**
   * One track of `payment` and nothing else, as the tenant backend makes it before a payment,
   * with everything a rule may read: address, device ID, `custom.amount` and the transaction.
   * The user is enrolled, and no BLOCK or REVIEW rule of the benchmark's matches these
   * payments, so the answer must be CHALLENGE_REQUIRED with or without rules: both flows do
   * the same work but for the rules.
   */
  async trackFlow(user: BenchUser, payment: Payment, observe: CallObserver): Promise<void> {
    await this.#track(user, trackRequest(payment), observe)
  }

  /**
   * The same payment tracked twice, on the action without rules (call `track`) and on the one
   * with them (call `track-rules`), in random order so that neither is always the one that
   * finds the caches warm.
   */
  async pairedTrackFlow(user: BenchUser, payment: Payment, observe: CallObserver): Promise<void> {
    const plain = () => this.#track(user, trackRequest(payment), observe, { call: 'track', action: PLAIN_ACTION })
    const ruled = () => this.#track(user, trackRequest(payment), observe, { call: 'track-rules', action: ACTION })
    const [first, second] = Math.random() < 0.5 ? [plain, ruled] : [ruled, plain]
    await first()
    await second()
  }

  /**
   * Tracks `payment` for `userId` outside the measurement (the rule set's self-check) and
   * returns the state and the IDs of the rules that matched.
   */
  async trackOnce(userId: string, payment: Payment): Promise<{ state: string; ruleIds: string[] }> {
    const tracked = await this.#http.post(`users/${userId}/actions/${ACTION}`, this.#secretAuth, trackRequest(payment))
    const state = tracked.body?.state
    const ruleIds = tracked.body?.ruleIds
    if (tracked.status !== 200 || typeof state !== 'string') throw new FlowError('track', describe('track', tracked))
    return { state, ruleIds: Array.isArray(ruleIds) ? ruleIds.map(String) : [] }
  }

  close(): void {
    this.#http.close()
  }

  /**
   * Tracks a payment with request `body` (by default as call `track` of ACTION); returns the
   * Bearer authorization of its token.
   */
  async #track(user: BenchUser, body: object, observe: CallObserver, { call = 'track', action = ACTION }: { call?: Call; action?: string } = {}): Promise<string> {
    const tracked = await this.#timed(call, observe, () => this.#http.post(`users/${user.userId}/actions/${action}`, this.#secretAuth, body))
    if (tracked.status !== 200) throw new FlowError(call, describe(call, tracked))
    // An enrolled user paying must be challenged; ALLOW here would measure a shorter flow.
    if (tracked.body?.state !== 'CHALLENGE_REQUIRED') {
      throw new FlowError(call, `${call} 200 state=${String(tracked.body?.state)}`)
    }
    return `Bearer ${expectString(tracked, 'token', call)}`
  }

  /** The backend validates the new token once, for this user and action. */
  async #validate(user: BenchUser, token: string, observe: CallObserver): Promise<void> {
    const validated = await this.#timed('validate', observe, () =>
      this.#http.post('validate', this.#secretAuth, { token, userId: user.userId, action: ACTION }),
    )
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
