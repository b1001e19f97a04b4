import type { AnswerChallengeRequest, AnswerChallengeResponse, CredentialNamespace } from '@countersign/protocol'
import { signedDecisionMessage } from '@countersign/protocol'
import { randomUUID } from 'node:crypto'
import * as repo from '../storage/challenges-repo.ts'
import { now, type Deps } from './deps.ts'
import { publicKeyFromBody, refuseIfLocked, requireDeviceSignature, signatureBytes } from './device-keys.ts'
import { ApiError } from './errors.ts'
import { announce, verificationCodeMatches } from './out-of-band.ts'
import type { TenantContext } from './tenants.ts'
import { verificationAllows } from './verification-webhook.ts'

/** Credentials that may answer each kind of challenge: its own namespace and the legacy shared one. */
export const ANSWERING_NAMESPACES: Record<repo.ChallengeKind, readonly CredentialNamespace[]> = {
  push: ['push', 'device'],
  qr: ['qr-code', 'device'],
}

/**
 * A device approves or denies a push challenge, or a QR challenge it claimed. v1 signs the
 * challenge ID (existing SDKs); v2 signs the decision itself with the action, idempotency key,
 * verification code and transaction details as the server recorded them (PROTOCOL.md §4), so
 * a denial cannot be replayed as an approval nor an approval moved to other details. Number
 * matching: a wrong code fails the challenge. The action.verify webhook may veto an approval.
 */
export async function answerChallenge(
  deps: Deps,
  tenant: TenantContext,
  namespace: CredentialNamespace,
  request: AnswerChallengeRequest,
): Promise<AnswerChallengeResponse> {
  const key = publicKeyFromBody(request.publicKey)
  const signature = signatureBytes(request.signature)
  const at = now(deps)
  const lookupNamespaces = namespace === 'device' ? (['device'] as const) : (['push', 'qr-code', 'device'] as const)
  const { challenge, credential } = await repo.findChallengeForDevice(deps.db, tenant.tenantId, request.challengeId, key.spkiHash, lookupNamespaces, at)
  if (!challenge) throw new ApiError('invalid_challenge')
  const namespaces = namespace === 'device' ? ['device' as const] : ANSWERING_NAMESPACES[challenge.kind]
  if (!namespaces.includes(namespace)) throw new ApiError('invalid_challenge', `A ${challenge.kind} challenge is answered under another path`)

  const settings = tenant.actionSettings(challenge.actionCode)
  const version = request.signatureVersion ?? 1
  if (settings.requireSignedDecision && version !== 2) throw new ApiError('signed_decision_required')
  const decision = request.approved ? 'approved' : 'denied'
  const message =
    version === 1
      ? request.challengeId
      : signedDecisionMessage({
          tenantId: tenant.tenantId,
          challengeId: challenge.challengeId,
          action: challenge.actionCode,
          idempotencyKey: challenge.idempotencyKey,
          decision,
          verificationCode: request.verificationCode ?? null,
          transaction: challenge.transaction,
        })
  await requireDeviceSignature(deps, tenant, key, namespaces, [message], signature, version === 2 ? (request.signatureFormat ?? 'der') : 'der')

  if (!credential) throw new ApiError('invalid_credential', 'No credential holds this key')
  refuseIfLocked(credential.lockedUntil, deps.clock())
  const eligible = challenge.userId === credential.userId && (challenge.targetCredentialId === null || challenge.targetCredentialId === credential.credentialId)
  const fromState = challenge.kind === 'push' ? 'pending' : 'claimed'
  if (!eligible || challenge.state !== fromState || challenge.expiresAt.getTime() <= deps.clock()) {
    throw refusalFor(challenge, credential.userId, challenge.kind, deps.clock())
  }
  if (challenge.kind === 'qr' && challenge.credentialId !== credential.credentialId) {
    throw new ApiError('challenge_not_claimed', 'Another device claimed this QR code')
  }

  let recorded: 'approved' | 'denied' = decision
  let refusal: ApiError | null = null
  if (decision === 'approved' && challenge.verificationCode !== null && !verificationCodeMatches(challenge.verificationCode, request.verificationCode)) {
    recorded = 'denied'
    refusal = new ApiError('invalid_verification_code')
  }
  if (recorded === 'approved' && settings.verificationWebhookUrl) {
    const allowed = await verificationAllows(deps, tenant, settings.verificationWebhookUrl, {
      userId: credential.userId,
      actionCode: challenge.actionCode,
      idempotencyKey: challenge.idempotencyKey,
      verificationMethod: challenge.kind === 'push' ? 'PUSH' : 'QR_CODE',
      userAuthenticatorId: credential.credentialId,
      challengeId: challenge.challengeId,
      transaction: challenge.transaction,
    })
    if (!allowed) {
      recorded = 'denied'
      refusal = new ApiError('verification_rejected')
    }
  }

  const outcome = await repo.answerChallenge(
    deps.db,
    tenant.tenantId,
    {
      challengeId: challenge.challengeId,
      kind: challenge.kind,
      fromState,
      credentialId: credential.credentialId,
      userId: credential.userId,
      decision: recorded,
      signatureVersion: version,
      newIdempotencyKey: randomUUID(),
      blockPush: challenge.kind === 'push' && decision === 'denied' && request.reportFraud === true,
    },
    now(deps),
  )
  if (!outcome.answered) {
    const row = await repo.findChallenge(deps.db, tenant.tenantId, challenge.challengeId)
    throw refusalFor(row, credential.userId, challenge.kind, deps.clock())
  }
  announce(deps, tenant, challenge.challengeId)
  deps.log.info(
    {
      tenantId: tenant.tenantId,
      kind: challenge.kind,
      decision: recorded,
      signatureVersion: version,
      credentialId: credential.credentialId,
      pushBlocked: outcome.pushBlocked,
    },
    'challenge answered',
  )
  if (refusal) throw refusal
  return { isVerified: recorded === 'approved' }
}

/**
 * Why a device could not claim or answer a challenge. A challenge of another user answers as
 * an unknown one, so a device learns nothing about challenges that are not its user's.
 */
export function refusalFor(row: repo.ChallengeRow | null, deviceUserId: string | null, kind: repo.ChallengeKind, nowMs: number): ApiError {
  if (!row || row.kind !== kind || (row.userId !== null && row.userId !== deviceUserId)) return new ApiError('invalid_challenge')
  if (row.state === 'approved' || row.state === 'denied') return new ApiError('challenge_consumed')
  if (new Date(row.expiresAt).getTime() <= nowMs) return new ApiError('challenge_expired')
  if (kind === 'qr' && row.state === 'claimed') return new ApiError('challenge_consumed', 'Another device claimed this QR code')
  if (kind === 'qr' && row.state === 'pending') return new ApiError('challenge_not_claimed')
  return new ApiError('invalid_challenge')
}
