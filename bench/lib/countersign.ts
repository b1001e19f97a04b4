// The calls a real integration makes, over HTTP: the tenant backend (secret key, HTTP Basic)
// and the device app (Bearer token, P-256 key). Each call is timed and either returns what
// the next step needs or throws a FlowError whose `key` says which call failed and how.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { JsonClient, NetworkError, type JsonResponse } from './http.ts'

export const CALLS = ['track', 'challenge', 'verify', 'validate'] as const
export type Call = (typeof CALLS)[number]

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
  sign(message: string): string
}

export function newDevice(): Device {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
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

  constructor(apiUrl: string, secretKey: string, maxSockets: number) {
    this.#http = new JsonClient(apiUrl, maxSockets)
    // The secret key is the HTTP Basic username with an empty password, as the server SDKs send it.
    this.#secretAuth = `Basic ${Buffer.from(`${secretKey}:`).toString('base64')}`
  }

  /** Resolves to the /readyz status, or rejects while nothing listens yet. */
  readiness(): Promise<number> {
    return this.#http.getStatus('/readyz')
  }

  /** Enrolls `user.device` as the user's in-app credential (the enrollment flow of the brief). */
  async enroll(user: BenchUser): Promise<void> {
    const tracked = await this.#http.post(`users/${user.userId}/actions/addAuthenticator`, this.#secretAuth, {
      scope: 'add:authenticators',
    })
    const token = expectString(tracked, 'token', 'enroll')
    const added = await this.#http.post('client/user-authenticators/in-app', `Bearer ${token}`, {
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
  async flow(user: BenchUser, amount: number, observe: CallObserver): Promise<void> {
    const tracked = await this.#timed('track', observe, () =>
      this.#http.post(`users/${user.userId}/actions/${ACTION}`, this.#secretAuth, { custom: { amount } }),
    )
    if (tracked.status !== 200) throw new FlowError('track', describe('track', tracked))
    // An enrolled user paying must be challenged; ALLOW here would measure a shorter flow.
    if (tracked.body?.state !== 'CHALLENGE_REQUIRED') {
      throw new FlowError('track', `track 200 state=${String(tracked.body?.state)}`)
    }
    const bearer = `Bearer ${expectString(tracked, 'token', 'track')}`

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

    const validated = await this.#timed('validate', observe, () =>
      this.#http.post('validate', this.#secretAuth, { token, userId: user.userId, action: ACTION }),
    )
    if (validated.status !== 200) throw new FlowError('validate', describe('validate', validated))
    if (validated.body?.isValid !== true) {
      throw new FlowError('validate', `validate 200 isValid=false ${String(validated.body?.error ?? '')}`.trim())
    }
  }

  close(): void {
    this.#http.close()
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
