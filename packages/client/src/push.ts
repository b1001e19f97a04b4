// Push verification (PROTOCOL.md §3 and §4). Two sides use this namespace: the phone holds a
// push credential, finds the request waiting for it and signs the user's decision; the page
// that started the action asks for the push and waits for the answer, then hands the new
// token to its backend, which validates it.
import type { OutOfBandState, PushChallengeResponse, UpdatePushCredentialResponse } from '@countersign/protocol'
import { followChallenge } from './challenge-follow.ts'
import {
  addCredential,
  CredentialClient,
  encodePublicKeyQuery,
  type AddCredentialOptions,
  type ClientContext,
  type Credential,
} from './credentials.ts'
import {
  answerChallenge,
  decisionDetails,
  getPendingChallenge,
  type DecisionDetails,
  type DecisionOptions,
  type DecisionResult,
  type PushChallenge,
} from './out-of-band.ts'
import { clientFailure, success, type Result } from './result.ts'
import { hasStrings, isRecord, type Auth } from './transport.ts'
import { approvalOf, type Approval, type OnStateChange, type PollingOptions } from './waiting.ts'

/** The key-store namespace and Client API path segment of push credentials. */
export const PUSH_NAMESPACE = 'push'

export interface AddPushCredentialOptions extends AddCredentialOptions {
  /** The APNs device token or FCM registration token the server sends requests to. */
  pushToken?: string
}

/**
 * The push challenge to answer: the object from `getChallenge()` (no extra request), or its
 * `challengeId` alone, in which case the pending challenge is fetched again (one more
 * signature) and must be that one.
 */
export type ChallengeReference = { challenge: DecisionDetails; challengeId?: string } | { challenge?: undefined; challengeId: string }

export type UpdatePushChallengeOptions = ChallengeReference & DecisionOptions

export interface UpdatePushCredentialOptions {
  /** A new push token; omitted, the server keeps the stored one. */
  pushToken?: string
  /** Start the credential's lifetime again (when the tenant gives push credentials one). */
  resetExpiry?: boolean
}

/** The initiating page's request for a push. */
export interface StartPushOptions {
  /** The token from the backend's track(); defaults to the one given to setToken. */
  token?: string
  /** The action code; must be the token's. */
  action?: string
  /** Ask only this push device of the user. */
  userAuthenticatorId?: string
}

/** `challengeId`, `expiresAt`, `verificationCode` (number matching: show it) and `deliveryResults`. */
export type StartedPush = PushChallengeResponse

export interface VerifyPushOptions {
  /** The token the push was started with; defaults to the one given to setToken. */
  token?: string
  challengeId: string
}

/** One poll: the flags, the state, and the new token (once, on the first look after approval). */
export interface PushVerification {
  isVerified: boolean
  isConsumed: boolean
  state?: OutOfBandState
  token?: string
}

export interface WaitForPushOptions extends PollingOptions {
  /** The token the push was started with; defaults to the one given to setToken. */
  token?: string
  challengeId: string
  /** Called on each change: `unclaimed` (waiting for the phone), then `approved`, `rejected` or `expired`. */
  onStateChange?: OnStateChange
}

const isStartedPush = (body: unknown): body is StartedPush => hasStrings(body, 'challengeId')
const isVerification = (body: unknown): body is Record<string, unknown> & { isVerified: boolean; isConsumed: boolean } =>
  isRecord(body) && typeof body.isVerified === 'boolean' && typeof body.isConsumed === 'boolean'
const isUpdatedCredential = (body: unknown): body is UpdatePushCredentialResponse =>
  hasStrings(body, 'userAuthenticatorId', 'userId', 'lastVerifiedAt')
const isUpdateMessage = (body: unknown): body is { challengeId: string; message: string } => hasStrings(body, 'challengeId', 'message')

/**
 * Push verification. Every method resolves to a {@link Result}; none throws for API,
 * network or key-store failures.
 */
export class PushClient extends CredentialClient {
  constructor(context: ClientContext) {
    super(context, PUSH_NAMESPACE)
  }

  // ---- The phone ----

  /**
   * Enrolls this device for push: registers its push key (created when there is none) and
   * the token push notifications go to, for the user the token belongs to.
   *
   * @example
   * await client.push.addCredential({ token, pushToken: fcmToken, devicePlatform: 'android' })
   */
  override addCredential(options: AddPushCredentialOptions = {}): Promise<Result<Credential>> {
    const { pushToken, ...rest } = options
    return addCredential(this.context, this.key, rest, pushToken === undefined ? {} : { pushToken })
  }

  /**
   * The push request waiting for this device, or undefined. Call it when a notification
   * arrives or the app opens. The device signs a fresh server nonce first (reason
   * `get_challenge`), so a store whose key needs the user prompts here too.
   *
   * @example
   * const { data: challenge } = await client.push.getChallenge()
   * if (challenge) showApproval(challenge.actionCode, challenge.transaction, challenge.verificationCodeRequired)
   */
  getChallenge(): Promise<Result<PushChallenge | undefined>> {
    return getPendingChallenge(this.context, this.key)
  }

  /**
   * Approves or denies a push request with a v2 signed decision over the action, its
   * idempotency key, the code the user typed and the transaction details the phone showed
   * (PROTOCOL.md §4). Pass the challenge from `getChallenge()`; with only `challengeId` the
   * pending challenge is fetched again. `reportFraud` with a denial tells the server the user
   * did not start this: it blocks further pushes to the user.
   *
   * @example
   * const answered = await client.push.updateChallenge({ challenge, approved: true, verificationCode: typed })
   * if (answered.errorCode === 'invalid_verification_code') showWrongCode()
   */
  async updateChallenge(options: UpdatePushChallengeOptions): Promise<Result<DecisionResult>> {
    const details = await decisionDetails(this.context, this.key, options)
    if (details.error !== undefined) return details
    return answerChallenge(this.context, this.key, details.data, options)
  }

  /**
   * Updates the push token (e.g. after the OS rotated it) and/or resets the credential's
   * expiry: the server issues a nonce, the device signs it (reason `update_credential`).
   *
   * @example
   * await client.push.updateCredential({ pushToken: newToken, resetExpiry: true })
   */
  async updateCredential(options: UpdatePushCredentialOptions = {}): Promise<Result<UpdatePushCredentialResponse>> {
    const { transport } = this.context
    const local = await this.key.require()
    if (local.error !== undefined) return local
    const nonce = await transport.request({
      method: 'POST',
      path: `/client/user-authenticators/${PUSH_NAMESPACE}/sign?publicKey=${encodePublicKeyQuery(local.data.publicKey)}`,
      auth: { kind: 'tenant' },
      accept: isUpdateMessage,
    })
    if (nonce.error !== undefined) return nonce
    const signature = await this.key.signDer(nonce.data.message, 'update_credential')
    if (signature.error !== undefined) return signature
    return transport.request({
      method: 'PATCH',
      path: `/client/user-authenticators/${PUSH_NAMESPACE}`,
      auth: { kind: 'tenant' },
      body: {
        challengeId: nonce.data.challengeId,
        publicKey: local.data.publicKey,
        signature: signature.data,
        pushToken: options.pushToken,
        // Sent only as true, as the mobile SDKs send it.
        resetExpiry: options.resetExpiry === true ? true : undefined,
      },
      accept: isUpdatedCredential,
    })
  }

  // ---- The initiating page ----

  /**
   * Asks the user's phone to approve the token's action. Show `verificationCode` when it is
   * present (number matching): the user types it on the phone.
   *
   * @example
   * const started = await client.push.challenge({ token: tokenFromTrack })
   * if (started.data?.verificationCode) show(`Enter ${started.data.verificationCode} on your phone`)
   */
  async challenge(options: StartPushOptions = {}): Promise<Result<StartedPush>> {
    const auth = await this.bearer(options.token)
    if (auth.error !== undefined) return auth
    return this.context.transport.request({
      method: 'POST',
      path: '/client/challenge/push',
      auth: auth.data,
      body: { action: options.action, userAuthenticatorId: options.userAuthenticatorId },
      accept: isStartedPush,
    })
  }

  /**
   * One look at a push request: `isVerified` once approved, `isConsumed` once answered or
   * expired, and `token` (from the response's `accessToken`) on the first look after approval.
   */
  async verify(options: VerifyPushOptions): Promise<Result<PushVerification>> {
    const auth = await this.bearer(options.token)
    if (auth.error !== undefined) return auth
    const polled = await this.context.transport.request({
      method: 'POST',
      path: '/client/verify/push',
      auth: auth.data,
      body: { challengeId: options.challengeId },
      accept: isVerification,
    })
    if (polled.error !== undefined) return polled
    const { accessToken, state, isVerified, isConsumed } = polled.data
    const verification: PushVerification = { isVerified, isConsumed }
    if (typeof state === 'string') verification.state = state as OutOfBandState
    if (typeof accessToken === 'string') verification.token = accessToken
    return success(verification)
  }

  /**
   * Waits until the phone answers: streams the request's state (Server-Sent Events), or polls
   * where streaming is unavailable. `data.token` is the new token for the backend to validate.
   * A denial gives `challenge_rejected`, a request that ran out `challenge_expired`, an abort
   * `aborted`.
   *
   * @example
   * const result = await client.push.waitForResult({ challengeId, signal, onStateChange: (s) => render(s) })
   * if (result.data) await fetch('/api/confirm', { method: 'POST', body: JSON.stringify({ token: result.data.token }) })
   */
  async waitForResult(options: WaitForPushOptions): Promise<Result<Approval>> {
    const auth = await this.bearer(options.token)
    if (auth.error !== undefined) return auth
    const { challengeId } = options
    const followed = await followChallenge(this.context.transport, {
      streamPath: '/client/verify/push/stream',
      pollPath: '/client/verify/push',
      auth: auth.data,
      body: { challengeId },
      signal: options.signal,
      stream: options.stream,
      pollIntervalMs: options.pollIntervalMs,
      onView: (view) => options.onStateChange?.(view.state),
    })
    if (followed.error !== undefined) return followed
    return approvalOf(challengeId, followed.data)
  }

  private async bearer(token: string | undefined): Promise<Result<Auth>> {
    const bearer = token ?? (await this.context.getToken())
    return bearer ? success({ kind: 'bearer', token: bearer }) : clientFailure('token_not_set')
  }
}
