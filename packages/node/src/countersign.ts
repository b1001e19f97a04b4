import type {
  ActionResponse,
  Authenticator,
  QueryUserActionsResponse,
  QueryUsersResponse,
  TrackRequest,
  TrackResponse,
  UpdateActionRequest,
  UpdateUserRequest,
  UpdateUserResponse,
  UserResponse,
  ValidateResponse,
  ActionState,
} from '@countersign/protocol'
import { segment, Transport, type TransportOptions } from './transport.ts'
import { Webhooks } from './webhooks.ts'

export { VERSION } from './transport.ts'

export interface CountersignOptions extends TransportOptions {
  /** The tenant's secret key. Sent as the HTTP Basic username; never put in an error. */
  secretKey: string
  /** The webhook endpoint's signing secret (`whsec_…`), for {@link Countersign.webhooks}. */
  webhookSecret?: string
  /** How far a webhook's signed timestamp may be from the local clock, either way (s). Default 300. */
  webhookToleranceSeconds?: number
}

export interface TrackParams {
  userId: string
  action: string
  /** Optional request fields; pass `idempotencyKey` to make the call safe to retry. */
  attributes?: TrackRequest
}

export interface ValidateChallengeParams {
  token: string
  /** When given, the token must belong to this user. */
  userId?: string
  /** When given, the token must be for this action code. */
  action?: string
}

export interface GetActionParams {
  userId: string
  action: string
  idempotencyKey: string
}

export interface UpdateActionParams extends GetActionParams {
  attributes: UpdateActionRequest
}

export interface QueryUserActionsParams {
  userId: string
  /** Start of the window (ISO 8601 or a `Date`); the server allows at most 30 days back. */
  fromDate?: string | Date
  /** Only these action codes. */
  actionCodes?: string[]
  /** Only actions in this state. */
  state?: ActionState
}

export interface GetUserParams {
  userId: string
}

export interface UpdateUserParams {
  userId: string
  /** Fields to set; omitted fields are left unchanged. */
  attributes: UpdateUserRequest
}

export type DeleteUserParams = GetUserParams
export type GetAuthenticatorsParams = GetUserParams

export interface QueryUsersParams {
  username?: string
  email?: string
  phoneNumber?: string
  /** Page size, 1 to 100 (server default 20). */
  limit?: number
  /** `lastEvaluatedUserId` of the previous page. */
  lastEvaluatedUserId?: string
}

export interface DeleteAuthenticatorParams {
  userId: string
  userAuthenticatorId: string
}

/** What {@link Countersign.validateChallenge} returns: `action` and `actionCode` carry the same value. */
export type ValidateChallengeResponse = ValidateResponse

/**
 * Server SDK for tenant backends: tracks actions, validates challenge tokens and manages
 * users and their authenticators over the Countersign Server API (secret key). Method names
 * and shapes follow `@authsignal/node`, so switching is a matter of changing the import.
 *
 * Every method rejects with a {@link CountersignError} on failure.
 *
 * @example
 * const countersign = new Countersign({
 *   secretKey: process.env.COUNTERSIGN_SECRET_KEY!,
 *   apiUrl: 'http://127.0.0.1:8080/v1',
 * })
 */
export class Countersign {
  /**
   * Verifies webhook deliveries with `webhookSecret` (or a secret passed to `verify`).
   *
   * @example
   * const event = countersign.webhooks.verify(rawBody, req.headers)
   */
  readonly webhooks: Webhooks

  // Private: the key inside must not show up in console.log(countersign) or JSON.stringify.
  readonly #transport: Transport

  constructor(options: CountersignOptions) {
    this.#transport = new Transport(options.secretKey, options, { client: 'Countersign', keyOption: 'secretKey' })
    this.webhooks = new Webhooks({ secret: options.webhookSecret, toleranceSeconds: options.webhookToleranceSeconds })
  }

  /**
   * Tracks an action for a user and returns the decision: `state` (`ALLOW`, `BLOCK`,
   * `CHALLENGE_REQUIRED`, …) and a short-lived `token` for the device SDK. Creates the user on
   * first use. Retried after a transient failure only when `attributes.idempotencyKey` is given,
   * since without one a repeat would track a second action.
   *
   * @example
   * const { state, token } = await countersign.track({
   *   userId: 'user-42',
   *   action: 'authorizePayment',
   *   attributes: { idempotencyKey: paymentId, ipAddress: req.ip },
   * })
   * if (state === 'CHALLENGE_REQUIRED') return { challengeToken: token }
   */
  async track({ userId, action, attributes }: TrackParams): Promise<TrackResponse> {
    return (await this.#transport.send({
      method: 'POST',
      path: `/users/${segment('userId', userId)}/actions/${segment('action', action)}`,
      body: attributes ?? {},
      idempotent: attributes?.idempotencyKey !== undefined,
      expectsBody: true,
    })) as TrackResponse
  }

  /**
   * Validates a token returned by the device after a challenge, and consumes it. Check
   * `isValid` and `state === 'CHALLENGE_SUCCEEDED'` before carrying out the action. A token
   * that does not validate is an answer (`isValid: false` with `error`), not a rejection.
   * Never retried: the first attempt may have consumed the token.
   *
   * The answer carries the action code as `action` (as `@authsignal/node` returns it) and as
   * `actionCode`.
   *
   * @example
   * const result = await countersign.validateChallenge({ token, userId: 'user-42', action: 'authorizePayment' })
   * if (!result.isValid || result.state !== 'CHALLENGE_SUCCEEDED') throw new Forbidden()
   */
  async validateChallenge({ token, userId, action }: ValidateChallengeParams): Promise<ValidateChallengeResponse> {
    const result = (await this.#transport.send({
      method: 'POST',
      path: '/validate',
      body: { token, userId, action },
      idempotent: false,
      expectsBody: true,
    })) as ValidateResponse
    const actionCode = result.actionCode ?? result.action
    return actionCode === undefined ? result : { ...result, action: actionCode, actionCode }
  }

  /**
   * Reads one tracked action. Rejects with `errorCode: 'not_found'` (404) when there is no
   * such action, as `@authsignal/node` does.
   *
   * @example
   * const { state, rules } = await countersign.getAction({
   *   userId: 'user-42',
   *   action: 'authorizePayment',
   *   idempotencyKey,
   * })
   */
  async getAction({ userId, action, idempotencyKey }: GetActionParams): Promise<ActionResponse> {
    return (await this.#transport.send({
      method: 'GET',
      path: actionPath(userId, action, idempotencyKey),
      idempotent: true,
      expectsBody: true,
    })) as ActionResponse
  }

  /**
   * Sets the state of a tracked action, e.g. after a manual review.
   *
   * @example
   * await countersign.updateAction({
   *   userId: 'user-42',
   *   action: 'authorizePayment',
   *   idempotencyKey,
   *   attributes: { state: 'REVIEW_SUCCEEDED' },
   * })
   */
  async updateAction({ userId, action, idempotencyKey, attributes }: UpdateActionParams): Promise<ActionResponse> {
    return (await this.#transport.send({
      method: 'PATCH',
      path: actionPath(userId, action, idempotencyKey),
      body: { state: attributes.state },
      idempotent: true,
      expectsBody: true,
    })) as ActionResponse
  }

  /**
   * Lists a user's recent actions (the server's window is 30 days at most), optionally only
   * some action codes or one state.
   *
   * @example
   * const actions = await countersign.queryUserActions({
   *   userId: 'user-42',
   *   actionCodes: ['authorizePayment', 'changeEmail'],
   *   state: 'CHALLENGE_SUCCEEDED',
   * })
   */
  async queryUserActions({ userId, fromDate, actionCodes, state }: QueryUserActionsParams): Promise<QueryUserActionsResponse> {
    const query = new URLSearchParams()
    if (actionCodes !== undefined && actionCodes.length > 0) query.set('codes', actionCodes.join(','))
    if (fromDate !== undefined) query.set('fromDate', fromDate instanceof Date ? fromDate.toISOString() : fromDate)
    if (state !== undefined) query.set('state', state)
    return (await this.#transport.send({
      method: 'GET',
      path: `/users/${segment('userId', userId)}/actions`,
      query,
      idempotent: true,
      expectsBody: true,
    })) as QueryUserActionsResponse
  }

  /**
   * Reads a user: enrollment, attributes and verification methods. Rejects with
   * `errorCode: 'not_found'` when the user has never been tracked.
   *
   * @example
   * const { isEnrolled, enrolledVerificationMethods } = await countersign.getUser({ userId: 'user-42' })
   */
  async getUser({ userId }: GetUserParams): Promise<UserResponse> {
    return (await this.#transport.send({
      method: 'GET',
      path: `/users/${segment('userId', userId)}`,
      idempotent: true,
      expectsBody: true,
    })) as UserResponse
  }

  /**
   * Updates a user's attributes; omitted fields are left unchanged.
   *
   * @example
   * await countersign.updateUser({ userId: 'user-42', attributes: { email: 'ada@example.com' } })
   */
  async updateUser({ userId, attributes }: UpdateUserParams): Promise<UpdateUserResponse> {
    return (await this.#transport.send({
      method: 'PATCH',
      path: `/users/${segment('userId', userId)}`,
      body: attributes,
      idempotent: true,
      expectsBody: true,
    })) as UpdateUserResponse
  }

  /**
   * Deletes a user with their authenticators and action history.
   *
   * @example
   * await countersign.deleteUser({ userId: 'user-42' })
   */
  async deleteUser({ userId }: DeleteUserParams): Promise<void> {
    await this.#transport.send({
      method: 'DELETE',
      path: `/users/${segment('userId', userId)}`,
      idempotent: true,
      expectsBody: false,
    })
  }

  /**
   * Finds users by username, email or phone number, a page at a time.
   *
   * @example
   * let page = await countersign.queryUsers({ email: 'ada@example.com', limit: 50 })
   * while (page.lastEvaluatedUserId !== undefined) {
   *   page = await countersign.queryUsers({ email: 'ada@example.com', limit: 50, lastEvaluatedUserId: page.lastEvaluatedUserId })
   * }
   */
  async queryUsers(params: QueryUsersParams = {}): Promise<QueryUsersResponse> {
    const query = new URLSearchParams()
    const { username, email, phoneNumber, limit, lastEvaluatedUserId } = params
    if (username !== undefined) query.set('username', username)
    if (email !== undefined) query.set('email', email)
    if (phoneNumber !== undefined) query.set('phoneNumber', phoneNumber)
    if (limit !== undefined) query.set('limit', String(limit))
    if (lastEvaluatedUserId !== undefined) query.set('lastEvaluatedUserId', lastEvaluatedUserId)
    return (await this.#transport.send({
      method: 'GET',
      path: '/users',
      query,
      idempotent: true,
      expectsBody: true,
    })) as QueryUsersResponse
  }

  /**
   * Lists a user's authenticators (enrolled devices).
   *
   * @example
   * const authenticators = await countersign.getAuthenticators({ userId: 'user-42' })
   * const locked = authenticators.filter((a) => a.isLocked)
   */
  async getAuthenticators({ userId }: GetAuthenticatorsParams): Promise<Authenticator[]> {
    return (await this.#transport.send({
      method: 'GET',
      path: `/users/${segment('userId', userId)}/authenticators`,
      idempotent: true,
      expectsBody: true,
    })) as Authenticator[]
  }

  /**
   * Removes one of a user's authenticators, e.g. a lost phone.
   *
   * @example
   * await countersign.deleteAuthenticator({ userId: 'user-42', userAuthenticatorId })
   */
  async deleteAuthenticator({ userId, userAuthenticatorId }: DeleteAuthenticatorParams): Promise<void> {
    await this.#transport.send({
      method: 'DELETE',
      path: `/users/${segment('userId', userId)}/authenticators/${segment('userAuthenticatorId', userAuthenticatorId)}`,
      idempotent: true,
      expectsBody: false,
    })
  }
}

function actionPath(userId: string, action: string, idempotencyKey: string): string {
  return `/users/${segment('userId', userId)}/actions/${segment('action', action)}/${segment('idempotencyKey', idempotencyKey)}`
}
