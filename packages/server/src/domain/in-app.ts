import { randomUUID } from 'node:crypto'
import type { ChallengeResponse, VerifyInAppRequest, VerifyInAppResponse } from '@countersign/protocol'
import { issueChallengeId, openChallengeId } from '../crypto/challenge-id.ts'
import * as repo from '../storage/actions-repo.ts'
import { findCredentialByKey } from '../storage/credentials-repo.ts'
import type { ClientCaller } from './client-auth.ts'
import { now, type Deps } from './deps.ts'
import { publicKeyFromBody, refuseIfLocked, requireDeviceSignature, signatureBytes } from './device-keys.ts'
import { ApiError } from './errors.ts'
import { wakeWebhooks } from './out-of-band.ts'
import { challengeLifetimeSeconds } from './tenants.ts'
import { verificationAllows } from './verification-webhook.ts'

export const IN_APP_NAMESPACES = ['in-app', 'device'] as const

/**
 * The action recorded when a device verifies with only the tenant ID and names no action (the
 * legacy device SDKs' verify() does this): the token then says the user proved possession of
 * an enrolled device, and nothing more.
 */
export const DEFAULT_VERIFY_ACTION: Record<'IN_APP' | 'DEVICE', string> = {
  IN_APP: 'inAppVerification',
  DEVICE: 'deviceVerification',
}

/**
 * Issues an in-app challenge. It writes nothing: the ID carries its own expiry and action and
 * is authenticated with the tenant's challenge key; the verify that consumes it records it.
 */
export function createChallenge(deps: Deps, caller: ClientCaller, action: string | undefined): ChallengeResponse {
  if (caller.token && action !== undefined && action !== caller.token.other.actionCode) {
    throw new ApiError('invalid_request', 'action differs from the action of the token')
  }
  const actionCode = action ?? caller.token?.other.actionCode ?? null
  const expiresAt = new Date(deps.clock() + challengeLifetimeSeconds(caller.tenant, actionCode, 'IN_APP', caller.token?.other.methods) * 1000)
  const { challengeId } = issueChallengeId(caller.tenant.challengeKey, caller.tenant.tenantId, expiresAt, actionCode)
  return { challengeId }
}

/**
 * Completes an in-app verification: the device signed the challenge ID with its enrolled
 * key. With a token, the token's action moves to CHALLENGE_SUCCEEDED; with only the tenant
 * ID, a new action of the challenge's code (or DEFAULT_VERIFY_ACTION when it names none) is
 * recorded as succeeded for the key's user.
 * Either way a new token for that action is returned for the backend to validate.
 */
export async function verifyInApp(
  deps: Deps,
  caller: ClientCaller,
  request: VerifyInAppRequest,
  verificationMethod: 'IN_APP' | 'DEVICE' = 'IN_APP',
): Promise<VerifyInAppResponse> {
  const { tenant, token } = caller
  const challenge = openChallengeId(tenant.challengeKey, tenant.tenantId, request.challengeId)
  if (!challenge) throw new ApiError('invalid_challenge')
  if (challenge.expiresAt.getTime() <= deps.clock()) throw new ApiError('challenge_expired')
  if (token && challenge.action !== null && challenge.action !== token.other.actionCode) {
    throw new ApiError('invalid_challenge', 'The challenge was issued for another action')
  }
  const key = publicKeyFromBody(request.publicKey)
  const signature = signatureBytes(request.signature)
  await requireDeviceSignature(deps, tenant, key, IN_APP_NAMESPACES, [request.challengeId], signature)
  const actionCode = token?.other.actionCode ?? challenge.action ?? DEFAULT_VERIFY_ACTION[verificationMethod]
  // A challenge issued without an action is checked against the action it now completes.
  if (challenge.action === null) challengeLifetimeSeconds(tenant, actionCode, 'IN_APP', token?.other.methods)
  await askVerificationWebhook(deps, caller, key.spkiHash, actionCode, request.challengeId, verificationMethod)

  const input: repo.VerificationInput = {
    spkiHash: key.spkiHash,
    namespaces: IN_APP_NAMESPACES,
    challengeNonce: challenge.nonce,
    challengeExpiresAt: challenge.expiresAt,
    verificationMethod,
  }
  const at = now(deps)
  let subject: { userId: string; actionCode: string; idempotencyKey: string; scope: string }
  let outcome: repo.VerificationOutcome
  if (token) {
    subject = { userId: token.sub, actionCode: token.other.actionCode, idempotencyKey: token.other.idempotencyKey, scope: token.scope }
    outcome = await repo.completeTokenVerification(deps.db, tenant.tenantId, { jti: token.jti, ...subject }, input, at)
  } else {
    subject = { userId: '', actionCode, idempotencyKey: randomUUID(), scope: 'read:authenticators' }
    outcome = await repo.completeDeviceVerification(deps.db, tenant.tenantId, subject, input, at)
    subject.userId = outcome.credentialUserId ?? ''
  }
  explainRefusal(outcome, token !== null ? token.sub : null, deps.clock())
  wakeWebhooks(deps, tenant)

  const { token: newToken } = tenant.tokens.sign(
    { ...subject, username: outcome.username ?? undefined },
    deps.clock(),
    tenant.actionSettings(subject.actionCode).tokenTtlSeconds,
  )
  deps.log.info(
    { tenantId: tenant.tenantId, credentialId: outcome.credentialId, actionCode: subject.actionCode, idempotencyKey: subject.idempotencyKey },
    'in-app verification succeeded',
  )
  return {
    token: newToken,
    userId: subject.userId,
    userAuthenticatorId: outcome.credentialId!,
    ...(outcome.username ? { username: outcome.username } : {}),
  }
}

/**
 * The action.verify webhook, when the action has one, may veto the approval before the action
 * moves to CHALLENGE_SUCCEEDED; a veto fails the action (with a token) and answers 409.
 */
async function askVerificationWebhook(
  deps: Deps,
  caller: ClientCaller,
  spkiHash: Uint8Array,
  actionCode: string,
  challengeId: string,
  verificationMethod: 'IN_APP' | 'DEVICE',
): Promise<void> {
  const { tenant, token } = caller
  const url = tenant.actionSettings(actionCode).verificationWebhookUrl
  if (!url) return
  const credential = await findCredentialByKey(deps.db, tenant.tenantId, spkiHash, IN_APP_NAMESPACES)
  if (!credential || (token && credential.userId !== token.sub)) throw new ApiError('invalid_credential', 'No credential of this user holds this key')
  const allowed = await verificationAllows(deps, tenant, url, {
    userId: credential.userId,
    actionCode,
    idempotencyKey: token?.other.idempotencyKey ?? null,
    verificationMethod,
    userAuthenticatorId: credential.credentialId,
    challengeId,
    // The details the backend tracked; a device-only verify has no action yet.
    transaction: token
      ? ((await repo.findAction(deps.db, tenant.tenantId, { userId: token.sub, actionCode, idempotencyKey: token.other.idempotencyKey }))?.transaction ?? null)
      : null,
  })
  if (allowed) return
  if (token) {
    const key = { userId: token.sub, actionCode, idempotencyKey: token.other.idempotencyKey }
    if (await repo.failVerifiableAction(deps.db, tenant.tenantId, key, verificationMethod, now(deps))) wakeWebhooks(deps, tenant)
  }
  throw new ApiError('verification_rejected')
}

/** Turns what the verification statement found into the one error that explains it. */
function explainRefusal(outcome: repo.VerificationOutcome, tokenUserId: string | null, nowMs: number): void {
  if (outcome.succeeded) return
  if (outcome.credentialId === null) throw new ApiError('invalid_credential', 'No credential holds this key')
  if (tokenUserId !== null && outcome.credentialUserId !== tokenUserId) {
    throw new ApiError('invalid_credential', 'The key belongs to another user')
  }
  refuseIfLocked(outcome.lockedUntil, nowMs)
  if (outcome.tokenAlreadyUsed) throw new ApiError('invalid_token', 'This token has already been validated')
  if (tokenUserId !== null && outcome.actionState === null) throw new ApiError('invalid_token', 'The token’s action no longer exists')
  if (tokenUserId !== null && outcome.actionState !== 'ALLOW' && outcome.actionState !== 'CHALLENGE_REQUIRED') {
    throw new ApiError('invalid_action_state', `An action in state ${outcome.actionState} cannot be verified`)
  }
  if (!outcome.consumed) throw new ApiError('challenge_consumed')
  // Consumed, but another request completed the action first.
  throw new ApiError('invalid_action_state', 'The action was completed by another request')
}
