import type {
  ClaimChallengeRequest,
  ClaimChallengeResponse,
  CredentialNamespace,
  QrChallengeRequest,
  QrChallengeResponse,
  VerifyQrResponse,
} from '@countersign/protocol'
import { hashesEqual } from '../crypto/secrets.ts'
import * as repo from '../storage/challenges-repo.ts'
import { iso } from './actions.ts'
import type { ClientCaller } from './client-auth.ts'
import { now, type Deps } from './deps.ts'
import { publicKeyFromBody, refuseIfLocked, requireDeviceSignature, signatureBytes } from './device-keys.ts'
import { ApiError } from './errors.ts'
import { ANSWERING_NAMESPACES, refusalFor } from './answers.ts'
import { announce, hashDeviceCode, initiatorView, newChallengeId, newDeviceCode, newVerificationCode, shownToPhone } from './out-of-band.ts'
import type { RequestOrigin } from './push.ts'
import { challengeLifetimeSeconds, type TenantContext } from './tenants.ts'

/**
 * Creates a QR-code challenge for a browser to show. With a token it is bound to the token's
 * action and user; with only the tenant ID it is an anonymous login that the claiming device's
 * user completes. The `deviceCode` is the browser's secret for polling; only its hash is kept.
 */
export async function createQrChallenge(
  deps: Deps,
  caller: ClientCaller,
  request: QrChallengeRequest,
  origin: RequestOrigin,
): Promise<QrChallengeResponse> {
  const { tenant, token } = caller
  if (token && request.action !== undefined && request.action !== token.other.actionCode) {
    throw new ApiError('invalid_request', 'action differs from the action of the token')
  }
  const actionCode = token?.other.actionCode ?? request.action
  if (!actionCode) throw new ApiError('invalid_request', 'Name the action when calling without a token')
  const lifetime = challengeLifetimeSeconds(tenant, actionCode, 'QR_CODE', token?.other.methods)
  const at = now(deps)
  const { deviceCode, hash } = newDeviceCode()
  const verificationCode = tenant.actionSettings(actionCode).numberMatching ? newVerificationCode(tenant.settings.numberMatchingDigits) : null
  const row = await repo.insertQrChallenge(
    deps.db,
    tenant.tenantId,
    {
      challengeId: newChallengeId(),
      userId: token?.sub ?? null,
      actionCode,
      idempotencyKey: token?.other.idempotencyKey ?? null,
      deviceCodeHash: hash,
      verificationCode,
      ipAddress: origin.ipAddress,
      userAgent: origin.userAgent,
      custom: request.custom ?? null,
      expiresAt: new Date(at.getTime() + lifetime * 1000),
    },
    at,
  )
  if (!row) throw new ApiError('invalid_token', 'The token’s user no longer exists')
  return {
    challengeId: row.challengeId,
    expiresAt: iso(row.expiresAt),
    deviceCode,
    ...(verificationCode ? { verificationCode } : {}),
  }
}

/** The browser polls its QR challenge with the device code it was given. */
export async function verifyQr(deps: Deps, tenant: TenantContext, request: { challengeId: string; deviceCode: string }): Promise<VerifyQrResponse> {
  const row = await findQrForBrowser(deps, tenant, request.challengeId, request.deviceCode)
  const view = await initiatorView(deps, tenant, row)
  return {
    isClaimed: view.isClaimed,
    isConsumed: view.isConsumed,
    isVerified: view.isVerified,
    ...(view.accessToken ? { accessToken: view.accessToken } : {}),
    state: view.state,
  }
}

/** The challenge, if `deviceCode` is its browser's secret (compared in constant time). */
export async function findQrForBrowser(deps: Deps, tenant: TenantContext, challengeId: string, deviceCode: string): Promise<repo.ChallengeWithAction> {
  const row = await repo.findChallenge(deps.db, tenant.tenantId, challengeId)
  if (!row || row.kind !== 'qr' || !row.deviceCodeHash || !hashesEqual(row.deviceCodeHash, hashDeviceCode(deviceCode))) {
    throw new ApiError('invalid_challenge')
  }
  return row
}

/**
 * A device claims a scanned QR code: it signed the challenge ID. The browser may then hide the
 * code. The device learns where the request comes from and what it is for.
 */
export async function claimQrChallenge(
  deps: Deps,
  tenant: TenantContext,
  namespace: CredentialNamespace,
  request: ClaimChallengeRequest,
): Promise<ClaimChallengeResponse> {
  const key = publicKeyFromBody(request.publicKey)
  const namespaces = namespace === 'device' ? ['device' as const] : ANSWERING_NAMESPACES.qr
  await requireDeviceSignature(deps, tenant, key, namespaces, [request.challengeId], signatureBytes(request.signature))
  const at = now(deps)
  const outcome = await repo.claimQrChallenge(deps.db, tenant.tenantId, request.challengeId, key.spkiHash, namespaces, at)
  if (!outcome.claimed) {
    if (!outcome.credentialId) throw new ApiError('invalid_credential', 'No credential holds this key')
    refuseIfLocked(outcome.lockedUntil, deps.clock())
    const row = await repo.findChallenge(deps.db, tenant.tenantId, request.challengeId)
    throw refusalFor(row, outcome.credentialUserId, 'qr', deps.clock())
  }
  announce(deps, tenant, request.challengeId)
  const row = (await repo.findChallenge(deps.db, tenant.tenantId, request.challengeId))!
  return { success: true, userId: row.userId!, ...shownToPhone(row, tenant.actionSettings(row.actionCode).requireSignedDecision) }
}

