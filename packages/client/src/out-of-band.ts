// Push and QR code on the phone (PROTOCOL.md §3 and §4): find the pending push challenge,
// claim a scanned QR code, and sign the user's decision. Decisions are always v2 signed
// decisions: the signature covers the action, idempotency key, verification code and the
// transaction details the phone showed, so a server record that differs from what the user
// saw fails verification, and a denial can never be replayed as an approval.
import type {
  AnswerChallengeResponse,
  ClaimChallengeResponse,
  PendingChallengeResponse,
} from '@countersign/protocol'
import { encodePublicKeyQuery, type ClientContext } from './credentials.ts'
import { signedDecisionMessage } from './decision.ts'
import type { NamespaceKey } from './device-key.ts'
import { clientFailure, failure, success, type Result } from './result.ts'
import { hasStrings, isRecord } from './transport.ts'

/**
 * The part of a challenge a v2 decision signs, as the server sent it to the phone: from
 * `push.getChallenge()` or `qr.claimChallenge()`. Show `transaction` (and `custom`) to the
 * user before they decide.
 */
export interface DecisionDetails {
  challengeId: string
  actionCode: string
  idempotencyKey?: string | undefined
  transaction?: Record<string, unknown> | undefined
}

/** A push challenge waiting for this device's answer. */
export type PushChallenge = PendingChallengeResponse & { challengeId: string; userId: string; actionCode: string }

/** A QR challenge this device claimed: what it is for, to show before the user decides. */
export type ClaimedQrChallenge = ClaimChallengeResponse & { challengeId: string; userId: string; actionCode: string }

export interface DecisionOptions {
  approved: boolean
  /** The number-matching code the user typed (when `verificationCodeRequired`). */
  verificationCode?: string | undefined
  /** With a denial: the user did not start this request; the server blocks further pushes. */
  reportFraud?: boolean | undefined
}

/** `{ isVerified }`: true when the approval was recorded, false for a recorded denial. */
export type DecisionResult = AnswerChallengeResponse

const isSigningMessage = (body: unknown): body is { message: string } => hasStrings(body, 'message')
const isPending = (body: unknown): body is PendingChallengeResponse => hasStrings(body, 'userAuthenticatorId')
const isClaim = (body: unknown): body is ClaimChallengeResponse =>
  isRecord(body) && body.success === true && hasStrings(body, 'userId', 'actionCode')
const isAnswer = (body: unknown): body is AnswerChallengeResponse => isRecord(body) && typeof body.isVerified === 'boolean'

/**
 * The newest unanswered push challenge for the namespace's credential, or undefined. Proves
 * the key first: the server hands out a fresh nonce, the device signs it (reason
 * `get_challenge`) and sends the signature as `X-Authsignal-Signature`.
 */
export async function getPendingChallenge(context: ClientContext, key: NamespaceKey): Promise<Result<PushChallenge | undefined>> {
  const { transport } = context
  const local = await key.require()
  if (local.error !== undefined) return local
  const query = `publicKey=${encodePublicKeyQuery(local.data.publicKey)}`

  const nonce = await transport.request({
    method: 'POST',
    path: `/client/user-authenticators/${key.namespace}/challenge/sign?${query}`,
    auth: { kind: 'tenant' },
    accept: isSigningMessage,
  })
  if (nonce.error !== undefined) return nonce
  const signature = await key.signDer(nonce.data.message, 'get_challenge')
  if (signature.error !== undefined) return signature

  const pending = await transport.request({
    method: 'GET',
    path: `/client/user-authenticators/${key.namespace}/challenge?${query}`,
    auth: { kind: 'tenant' },
    headers: { 'X-Authsignal-Signature': signature.data },
    accept: isPending,
  })
  if (pending.error !== undefined) return pending
  const body = pending.data
  // As the mobile SDKs read it: nothing is pending unless both the challenge and user are named.
  if (typeof body.challengeId !== 'string' || body.challengeId === '' || typeof body.userId !== 'string') return success(undefined)
  if (typeof body.actionCode !== 'string' || body.actionCode === '') {
    return failure('api_error', 'The pending challenge has no action code')
  }
  return success(body as PushChallenge)
}

/**
 * Claims a scanned QR challenge with a signature over its ID (reason `claim_challenge`), so
 * the browser can hide the code and no other device can take it. Returns what the request is
 * for, to show before the user decides.
 */
export async function claimChallenge(
  context: ClientContext,
  key: NamespaceKey,
  challengeId: string,
): Promise<Result<ClaimedQrChallenge>> {
  const local = await key.require()
  if (local.error !== undefined) return local
  const signature = await key.signDer(challengeId, 'claim_challenge')
  if (signature.error !== undefined) return signature
  const claimed = await context.transport.request({
    method: 'POST',
    path: `/client/user-authenticators/${key.namespace}/challenge/claim`,
    auth: { kind: 'tenant' },
    body: { challengeId, publicKey: local.data.publicKey, signature: signature.data },
    accept: isClaim,
  })
  if (claimed.error !== undefined) return claimed
  return success({ ...claimed.data, challengeId } as ClaimedQrChallenge)
}

/**
 * Approves or denies a push or claimed QR challenge with a v2 signed decision (reason
 * `approve_challenge` or `deny_challenge`), in the key store's own signature format.
 */
export async function answerChallenge(
  context: ClientContext,
  key: NamespaceKey,
  challenge: DecisionDetails,
  options: DecisionOptions,
): Promise<Result<DecisionResult>> {
  const local = await key.require()
  if (local.error !== undefined) return local
  const decision = options.approved ? 'approved' : 'denied'
  // Trimmed before it is signed and sent, so both carry the same text.
  const verificationCode = options.verificationCode?.trim() || null

  let message: string
  try {
    message = signedDecisionMessage({
      tenantId: context.transport.tenantId,
      challengeId: challenge.challengeId,
      action: challenge.actionCode,
      idempotencyKey: challenge.idempotencyKey ?? null,
      decision,
      verificationCode,
      transaction: challenge.transaction ?? null,
    })
  } catch (cause) {
    return failure('api_error', 'The challenge’s transaction details cannot be signed', { cause })
  }
  const signed = await key.signNative(message, options.approved ? 'approve_challenge' : 'deny_challenge')
  if (signed.error !== undefined) return signed

  return context.transport.request({
    method: 'POST',
    path: `/client/user-authenticators/${key.namespace}/challenge`,
    auth: { kind: 'tenant' },
    body: {
      challengeId: challenge.challengeId,
      publicKey: local.data.publicKey,
      signature: signed.data.signature,
      approved: options.approved,
      verificationCode,
      signatureVersion: 2,
      signatureFormat: signed.data.format,
      ...(options.reportFraud && !options.approved ? { reportFraud: true } : {}),
    },
    accept: isAnswer,
  })
}

/**
 * The challenge a decision is about: the one passed in, or (given only its ID) the device's
 * pending push challenge, fetched again, which must be that one.
 */
export async function decisionDetails(
  context: ClientContext,
  key: NamespaceKey,
  reference: { challenge?: DecisionDetails | undefined; challengeId?: string | undefined },
): Promise<Result<DecisionDetails>> {
  const { challenge, challengeId } = reference
  if (challenge) {
    if (challengeId !== undefined && challengeId !== challenge.challengeId) {
      return clientFailure('challenge_not_found', { error: 'challengeId differs from the challenge passed with it' })
    }
    return success(challenge)
  }
  if (!challengeId) return clientFailure('challenge_not_found', { error: 'Pass the challenge from getChallenge, or its challengeId' })
  const pending = await getPendingChallenge(context, key)
  if (pending.error !== undefined) return pending
  if (pending.data?.challengeId !== challengeId) return clientFailure('challenge_not_found')
  return success(pending.data)
}
