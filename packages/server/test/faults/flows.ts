// Complete in-app flows as a real integration makes them: the backend tracks a payment with
// its secret key, the app fetches a challenge with the track token, the device signs it and
// verifies, the backend validates the new token. Every flow names its own idempotency key, so
// a flow cut off by a fault (a 503, a killed server) can be carried on afterwards from the step
// it reached, and the database can be checked against what each flow saw.
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { NoResponse, type HttpCalls, type Reply } from './http-calls.ts'

/** The action the load tracks. */
export const PAYMENT_ACTION = 'authorizePayment'
/** An action whose action.verify webhook the receiver can hold: its verify calls stay in flight. */
export const SLOW_ACTION = 'approveSlowPayment'

export interface Tenant {
  tenantId: string
  secretKey: string
}

export interface Device {
  /** Standard base64 of the SPKI DER, as devices send it. */
  publicKey: string
  sign(message: string): string
}

export function newDevice(): Device {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    // DER-encoded ECDSA-SHA256 over the UTF-8 bytes of the message (PROTOCOL.md §3).
    sign: (message) => sign('sha256', Buffer.from(message, 'utf8'), { key: privateKey, dsaEncoding: 'der' }).toString('base64'),
  }
}

export interface FaultUser {
  userId: string
  device: Device
  credentialId: string
}

type Step = 'track' | 'challenge' | 'verify' | 'validate'

export interface Flow {
  id: number
  /** The run's label when the flow started. */
  window: string
  user: FaultUser
  action: string
  idempotencyKey: string
  bearer: string | null
  challengeId: string | null
  /** committed: an unanswered verify consumed the challenge; its token never reached the app. */
  verify: 'pending' | 'ok' | 'committed'
  token: string | null
  validate: 'pending' | 'valid' | 'committed'
  /** Steps a call of which got a 503 or no answer: it may have taken effect or not. */
  uncertain: Set<Step>
  /** Every failed call, as "verify 503 service_unavailable" or "verify network ECONNRESET". */
  failures: string[]
  /** Successes the client saw; more than one for a single-use step is a double spend. */
  verifyOks: number
  validOks: number
}

export function isComplete(flow: Flow): boolean {
  return flow.verify !== 'pending' && (flow.verify === 'committed' || flow.validate !== 'pending')
}

/** The jti claim of a token (its payload is not checked here; the server's validate does that). */
export function jtiOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown }
  if (typeof payload.jti !== 'string') throw new Error('token without jti')
  return payload.jti
}

/** The 16-byte nonce inside an in-app challenge ID (crypto/challenge-id.ts), as hex. */
export function nonceOf(challengeId: string): string {
  return Buffer.from(challengeId, 'base64url').subarray(5, 21).toString('hex')
}

function basic(username: string): string {
  return `Basic ${Buffer.from(`${username}:`).toString('base64')}`
}

/** The refusal or failure of one call, keyed by status and the server's stable error code. */
function describe(step: string, reply: Reply): string {
  const code = reply.body?.errorCode ?? reply.body?.error
  return `${step} ${reply.status} ${typeof code === 'string' ? code : 'no-error-code'}`
}

/** Every flow of the run, in the order they started. */
export class FlowBook {
  readonly flows: Flow[] = []

  start(window: string, user: FaultUser, action: string): Flow {
    const flow: Flow = {
      id: this.flows.length + 1,
      window,
      user,
      action,
      idempotencyKey: randomUUID(),
      bearer: null,
      challengeId: null,
      verify: 'pending',
      token: null,
      validate: 'pending',
      uncertain: new Set(),
      failures: [],
      verifyOks: 0,
      validOks: 0,
    }
    this.flows.push(flow)
    return flow
  }

  incomplete(): Flow[] {
    return this.flows.filter((flow) => !isComplete(flow))
  }
}

export class FlowClient {
  readonly #secret: string

  constructor(
    readonly http: HttpCalls,
    readonly tenant: Tenant,
  ) {
    this.#secret = basic(tenant.secretKey)
  }

  /** Enrolls a new device key for `userId` (track addAuthenticator → add the in-app credential). */
  async enroll(userId: string): Promise<FaultUser> {
    const device = newDevice()
    const tracked = await this.http.post('enroll-track', null, `/v1/users/${userId}/actions/addAuthenticator`, this.#secret, { scope: 'add:authenticators' })
    if (tracked.status !== 200 || typeof tracked.body?.token !== 'string') throw new Error(`enrollment of ${userId}: ${describe('track', tracked)}`)
    const added = await this.http.post('enroll', null, '/v1/client/user-authenticators/in-app', `Bearer ${tracked.body.token}`, {
      publicKey: device.publicKey,
      deviceName: 'fault suite',
      devicePlatform: 'android',
    })
    const credentialId = added.body?.userAuthenticatorId
    if (added.status !== 200 || typeof credentialId !== 'string') throw new Error(`enrollment of ${userId}: ${describe('enroll', added)}`)
    return { userId, device, credentialId }
  }

  /**
   * Takes `flow` as far as it goes: from the step it reached to a validated token. Returns
   * false at the first call that fails (the failure is recorded on the flow); a later call
   * carries on from there.
   */
  async advance(flow: Flow): Promise<boolean> {
    try {
      if (flow.bearer === null) await this.#track(flow)
      if (flow.verify === 'pending' && flow.challengeId === null) await this.#challenge(flow)
      if (flow.verify === 'pending') await this.#verify(flow)
      if (flow.verify === 'ok' && flow.validate === 'pending') await this.#validate(flow)
      return true
    } catch (error) {
      if (error instanceof StepFailed) return false
      throw error
    }
  }

  /** Presents a completed flow's challenge again: the server must refuse it (single use). */
  async replayVerify(flow: Flow): Promise<Reply | NoResponse> {
    return this.http
      .post('replay-verify', flow.id, '/v1/client/verify/in-app', flow.bearer!, this.#verifyBody(flow))
      .catch((error: unknown) => (error instanceof NoResponse ? error : Promise.reject(error)))
  }

  /** Validates a validated token again: the server must say it was used. */
  async replayValidate(flow: Flow): Promise<Reply | NoResponse> {
    return this.http
      .post('replay-validate', flow.id, '/v1/validate', this.#secret, { token: flow.token, userId: flow.user.userId, action: flow.action })
      .catch((error: unknown) => (error instanceof NoResponse ? error : Promise.reject(error)))
  }

  async #track(flow: Flow): Promise<void> {
    const reply = await this.#call(flow, 'track', `/v1/users/${flow.user.userId}/actions/${flow.action}`, this.#secret, {
      idempotencyKey: flow.idempotencyKey,
      custom: { amount: 100 + (flow.id % 900) },
    })
    // The user is enrolled and the action has no rules: a payment must be challenged.
    if (reply.body?.state !== 'CHALLENGE_REQUIRED' || typeof reply.body.token !== 'string') {
      this.#fail(flow, `track 200 state=${String(reply.body?.state)}`)
    }
    flow.bearer = `Bearer ${reply.body.token as string}`
  }

  async #challenge(flow: Flow): Promise<void> {
    const reply = await this.#call(flow, 'challenge', '/v1/client/challenge', flow.bearer!, {})
    if (typeof reply.body?.challengeId !== 'string') this.#fail(flow, 'challenge 200 without challengeId')
    flow.challengeId = reply.body.challengeId as string
  }

  async #verify(flow: Flow): Promise<void> {
    const reply = await this.#call(flow, 'verify', '/v1/client/verify/in-app', flow.bearer!, this.#verifyBody(flow), (refusal) => {
      // An earlier verify of this challenge that got no answer may have committed: then the
      // challenge is spent and the action already succeeded. The database check confirms it.
      const spent = refusal.status === 409 && (refusal.body?.errorCode === 'challenge_consumed' || refusal.body?.errorCode === 'invalid_action_state')
      if (spent && flow.uncertain.has('verify')) {
        flow.verify = 'committed'
        return true
      }
      return false
    })
    if (flow.verify === 'committed') return
    if (typeof reply.body?.token !== 'string') this.#fail(flow, 'verify 200 without token')
    flow.verifyOks++
    flow.verify = 'ok'
    flow.token = reply.body.token as string
  }

  async #validate(flow: Flow): Promise<void> {
    const reply = await this.#call(flow, 'validate', '/v1/validate', this.#secret, { token: flow.token, userId: flow.user.userId, action: flow.action })
    if (reply.body?.isValid === true) {
      flow.validOks++
      flow.validate = 'valid'
      return
    }
    // As with verify: an unanswered validate may have used the token.
    if (reply.body?.error === 'token_already_used' && flow.uncertain.has('validate')) {
      flow.validate = 'committed'
      return
    }
    this.#fail(flow, `validate 200 isValid=${String(reply.body?.isValid)} ${String(reply.body?.error ?? '')}`.trim())
  }

  #verifyBody(flow: Flow) {
    return { challengeId: flow.challengeId, publicKey: flow.user.device.publicKey, signature: flow.user.device.sign(flow.challengeId!) }
  }

  /**
   * One call of a flow; a status other than 200 fails the step unless `accept` takes the
   * refusal. A 503 or no answer leaves the step uncertain.
   */
  async #call(flow: Flow, step: Step, path: string, authorization: string, payload: object, accept?: (refusal: Reply) => boolean): Promise<Reply> {
    let reply: Reply
    try {
      reply = await this.http.post(step, flow.id, path, authorization, payload)
    } catch (error) {
      if (!(error instanceof NoResponse)) throw error
      flow.uncertain.add(step)
      this.#fail(flow, `${step} network ${error.code}`)
    }
    if (reply.status === 200) return reply
    if (accept?.(reply)) return reply
    if (reply.status >= 500) flow.uncertain.add(step)
    this.#fail(flow, describe(step, reply))
  }

  #fail(flow: Flow, failure: string): never {
    flow.failures.push(failure)
    throw new StepFailed(failure)
  }
}

class StepFailed extends Error {
  override name = 'StepFailed'
}

/**
 * `workers` loops, each starting flow after flow until stop(); a failed flow is left where it
 * stopped and the worker pauses briefly (as a client backing off) before starting the next.
 */
export class Load {
  #stopped = false
  readonly #workers: Promise<void>[]

  constructor(
    client: FlowClient,
    book: FlowBook,
    options: { users: FaultUser[]; action: string; workers: number; window: () => string; backoffMs?: number },
  ) {
    const { users, action, window, backoffMs = 100 } = options
    let turn = 0
    this.#workers = Array.from({ length: options.workers }, async () => {
      while (!this.#stopped) {
        const flow = book.start(window(), users[turn++ % users.length]!, action)
        if (!(await client.advance(flow)) && !this.#stopped) await sleep(backoffMs)
      }
    })
  }

  /** No new flows; resolves once every worker's current flow has ended. */
  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all(this.#workers)
  }

  /** No new flows; does not wait (the server is gone and the calls in flight are failing). */
  halt(): void {
    this.#stopped = true
  }
}
