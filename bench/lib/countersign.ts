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
} as const
export type FlowKind = keyof typeof FLOW_CALLS
export type Call = (typeof FLOW_CALLS)[FlowKind][number]
export const FLOW_KINDS = Object.keys(FLOW_CALLS) as FlowKind[]

const ACTION = 'authorizePayment'

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
   * brief). A push credential gets no push token, so no push service is ever contacted: the
   * phone finds its challenge by fetching it, as it does when a notification is lost.
   */
  async enroll(user: BenchUser, flow: FlowKind): Promise<void> {
    const tracked = await this.#http.post(`users/${user.userId}/actions/addAuthenticator`, this.#secretAuth, {
      scope: 'add:authenticators',
    })
    const token = expectString(tracked, 'token', 'enroll')
    const added = await this.#http.post(`client/user-authenticators/${flow}`, `Bearer ${token}`, {
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
    const bearer = await this.#track(user, amount, observe)

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
    const bearer = await this.#track(user, amount, observe)

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

  close(): void {
    this.#http.close()
  }

  /** Tracks a payment; returns the Bearer authorization of its token. */
  async #track(user: BenchUser, amount: number, observe: CallObserver): Promise<string> {
    const tracked = await this.#timed('track', observe, () =>
      this.#http.post(`users/${user.userId}/actions/${ACTION}`, this.#secretAuth, { custom: { amount } }),
    )
    if (tracked.status !== 200) throw new FlowError('track', describe('track', tracked))
    // An enrolled user paying must be challenged; ALLOW here would measure a shorter flow.
    if (tracked.body?.state !== 'CHALLENGE_REQUIRED') {
      throw new FlowError('track', `track 200 state=${String(tracked.body?.state)}`)
    }
    return `Bearer ${expectString(tracked, 'token', 'track')}`
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
