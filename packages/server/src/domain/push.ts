import { randomBytes } from 'node:crypto'
import type {
  ChallengeMethod,
  CredentialNamespace,
  PendingChallengeResponse,
  PushChallengeRequest,
  PushChallengeResponse,
  UpdatePushCredentialRequest,
  UpdatePushCredentialResponse,
  VerifyPushResponse,
} from '@countersign/protocol'
import * as repo from '../storage/challenges-repo.ts'
import { findCredentialByKey } from '../storage/credentials-repo.ts'
import { iso } from './actions.ts'
import { requireToken, type ClientCaller } from './client-auth.ts'
import { now, type Deps } from './deps.ts'
import { publicKeyFromBody, publicKeyFromQuery, refuseIfLocked, requireDeviceSignature, signatureBytes } from './device-keys.ts'
import { ApiError } from './errors.ts'
import { initiatorView, newChallengeId, newVerificationCode, shownToPhone, wakeWebhooks } from './out-of-band.ts'
import { challengeLifetimeSeconds, isUuid, type TenantContext } from './tenants.ts'

/** Credentials that receive push challenges: push ones, and the legacy shared device ones. */
export const PUSH_NAMESPACES: readonly CredentialNamespace[] = ['push', 'device']
/** How long a device has to sign the nonce it was given. */
const SIGNING_NONCE_TTL_MS = 5 * 60_000

/** Where a request came from, shown to the phone. */
export interface RequestOrigin {
  ipAddress: string | null
  userAgent: string | null
  deviceId?: string | null
}

/**
 * Starts a push challenge for the token's action: every push device of the user (or the one
 * named) is asked to approve. Within the user's push limits, and refused while the user has
 * reported a push as not theirs. Built-in senders deliver it where configured; a
 * `push.created` webhook lets the tenant deliver it itself; the app may also just poll.
 */
export async function startPushChallenge(
  deps: Deps,
  caller: ClientCaller,
  request: PushChallengeRequest,
  origin: RequestOrigin,
): Promise<PushChallengeResponse> {
  const token = requireToken(caller)
  if (request.action !== undefined && request.action !== token.other.actionCode) {
    throw new ApiError('invalid_request', 'action differs from the action of the token')
  }
  return createPush(deps, caller.tenant, {
    userId: token.sub,
    actionCode: token.other.actionCode,
    idempotencyKey: token.other.idempotencyKey,
    targetCredentialId: request.userAuthenticatorId ?? null,
    origin,
    narrowedTo: token.other.methods,
  })
}

/** Creates and delivers a push challenge; shared by the browser's request and track's [ext] option. */
export async function createPush(
  deps: Deps,
  tenant: TenantContext,
  input: {
    userId: string
    actionCode: string
    idempotencyKey: string
    targetCredentialId: string | null
    origin: RequestOrigin
    /** The methods the rule that decided the action allows, when it narrowed them. */
    narrowedTo?: readonly ChallengeMethod[] | undefined
  },
): Promise<PushChallengeResponse> {
  const { settings } = tenant
  const at = now(deps)
  const expiresAt = new Date(at.getTime() + challengeLifetimeSeconds(tenant, input.actionCode, 'PUSH', input.narrowedTo) * 1000)
  const verificationCode = tenant.actionSettings(input.actionCode).numberMatching ? newVerificationCode(settings.numberMatchingDigits) : null
  if (input.targetCredentialId !== null && !isUuid(input.targetCredentialId.toLowerCase())) {
    throw new ApiError('not_found', 'The user has no such push device')
  }
  const result = await repo.createPushChallenge(
    deps.db,
    tenant.tenantId,
    {
      challengeId: newChallengeId(),
      userId: input.userId,
      actionCode: input.actionCode,
      idempotencyKey: input.idempotencyKey,
      targetCredentialId: input.targetCredentialId,
      verificationCode,
      ipAddress: input.origin.ipAddress,
      userAgent: input.origin.userAgent,
      deviceId: input.origin.deviceId ?? null,
      expiresAt,
    },
    { maxPending: settings.pushMaxPending, maxPerHour: settings.pushMaxPerHour, pushNamespaces: PUSH_NAMESPACES },
    at,
  )
  switch (result.outcome) {
    case 'created':
      break
    case 'no_user':
    case 'no_action':
      throw new ApiError('invalid_token', 'The token’s action no longer exists')
    case 'push_blocked':
      throw new ApiError('push_blocked')
    case 'no_devices':
      throw new ApiError('not_found', input.targetCredentialId ? 'The user has no such push device' : 'The user has no push device')
    case 'too_many_pending':
      throw new ApiError('too_many_requests', 'The user has too many unanswered push requests', undefined, { 'retry-after': String(settings.pushChallengeTtlSeconds) })
    case 'too_many_per_hour':
      throw new ApiError('too_many_requests', 'The user has had too many push requests this hour', undefined, { 'retry-after': '3600' })
    case 'action_state':
      throw new ApiError('invalid_action_state', `A push cannot be sent while the action is ${result.state}`)
  }
  const { challenge, devices } = result
  wakeWebhooks(deps, tenant)
  const deliveryResults = await deps.push.deliver(
    tenant.tenantId,
    devices,
    {
      title: 'Approval request',
      body: verificationCode ? `Approve ${challenge.actionCode}? Enter the code shown on your screen.` : `Approve ${challenge.actionCode}?`,
      data: { challengeId: challenge.challengeId, actionCode: challenge.actionCode, tenantId: tenant.tenantId },
      expiresAt,
    },
    deps.clock(),
  )
  if (deliveryResults.some((r) => r.status !== 'skipped')) {
    await repo.recordDeliveryResults(deps.db, tenant.tenantId, challenge.challengeId, deliveryResults)
  }
  deps.log.info(
    { tenantId: tenant.tenantId, actionCode: challenge.actionCode, devices: devices.length, sent: deliveryResults.filter((r) => r.status === 'sent').length },
    'push challenge created',
  )
  return {
    challengeId: challenge.challengeId,
    expiresAt: iso(challenge.expiresAt),
    ...(verificationCode ? { verificationCode } : {}),
    deliveryResults,
  }
}

/** The browser polls its push challenge: approved (with the new token, once), denied, expired or pending. */
export async function verifyPush(deps: Deps, caller: ClientCaller, challengeId: string): Promise<VerifyPushResponse> {
  const token = requireToken(caller)
  const row = await repo.findChallenge(deps.db, caller.tenant.tenantId, challengeId)
  // Another action's or user's challenge answers as an unknown one: IDs are not enumerable.
  if (!row || row.kind !== 'push' || row.userId !== token.sub || row.idempotencyKey !== token.other.idempotencyKey) {
    throw new ApiError('invalid_challenge')
  }
  const view = await initiatorView(deps, caller.tenant, row)
  return {
    isVerified: view.isVerified,
    isConsumed: view.isConsumed,
    ...(view.accessToken ? { accessToken: view.accessToken } : {}),
    state: view.state,
  }
}

/**
 * Gives the device a fresh nonce to sign (before fetching its pending challenge or updating
 * its credential). The nonce is kept on the credential: those requests do not send it back.
 * A key no credential holds still gets a nonce, so the answer says nothing about enrollment.
 */
export async function issueSigningNonce(
  deps: Deps,
  tenant: TenantContext,
  namespace: CredentialNamespace,
  publicKeyQuery: string,
): Promise<{ challengeId: string; message: string }> {
  const key = publicKeyFromQuery(publicKeyQuery)
  const nonce = randomBytes(32)
  const at = now(deps)
  await repo.storeSigningNonce(deps.db, tenant.tenantId, key.spkiHash, [namespace], nonce, new Date(at.getTime() + SIGNING_NONCE_TTL_MS), at)
  const message = nonce.toString('base64url')
  return { challengeId: message, message }
}

/**
 * The device's pending push challenge. With `X-Authsignal-Signature` (a signature over the
 * nonce the device was just given) the nonce is checked and spent; without it — older SDKs,
 * or a newer one whose nonce request failed — the challenge is shown unless the tenant
 * requires the signature. Answering it needs a signature either way.
 */
export async function getPendingPushChallenge(
  deps: Deps,
  tenant: TenantContext,
  namespace: CredentialNamespace,
  publicKeyQuery: string,
  signatureHeader: string | undefined,
): Promise<PendingChallengeResponse> {
  const key = publicKeyFromQuery(publicKeyQuery)
  const at = now(deps)
  let spend: Uint8Array | null = null
  if (signatureHeader) {
    const nonce = await repo.readSigningNonce(deps.db, tenant.tenantId, key.spkiHash, [namespace], at)
    if (!nonce) throw new ApiError('invalid_challenge', 'Ask for a new message to sign first')
    await requireDeviceSignature(deps, tenant, key, [namespace], [Buffer.from(nonce).toString('base64url')], signatureBytes(signatureHeader))
    spend = nonce
  } else if (tenant.settings.requireSignedPushFetch) {
    throw new ApiError('invalid_signature', 'Sign the message from …/challenge/sign and send it as X-Authsignal-Signature')
  }
  const found = await repo.findPendingPushChallenge(deps.db, tenant.tenantId, key.spkiHash, [namespace], spend, at)
  if (!found.credentialId) {
    throw spend ? new ApiError('invalid_challenge', 'This message was used or replaced; ask for a new one') : new ApiError('invalid_credential')
  }
  const c = found.challenge
  if (!c) return { userAuthenticatorId: found.credentialId }
  return {
    userAuthenticatorId: found.credentialId,
    challengeId: c.challengeId,
    userId: c.userId!,
    ...shownToPhone(c, tenant.actionSettings(c.actionCode).requireSignedDecision),
  }
}

/**
 * Updates a push credential's token and/or resets its expiry. The device signed the nonce it
 * was given by …/push/sign and sends it back as `challengeId`. An omitted push token keeps
 * the stored one; an expired credential cannot be revived.
 */
export async function updatePushCredential(
  deps: Deps,
  tenant: TenantContext,
  namespace: CredentialNamespace,
  request: UpdatePushCredentialRequest,
): Promise<UpdatePushCredentialResponse> {
  const key = publicKeyFromBody(request.publicKey)
  await requireDeviceSignature(deps, tenant, key, [namespace], [request.challengeId], signatureBytes(request.signature))
  const nonce = Buffer.from(request.challengeId, 'base64url')
  if (nonce.toString('base64url') !== request.challengeId || nonce.length !== 32) throw new ApiError('invalid_challenge')
  const at = now(deps)
  const ttlDays = tenant.settings.pushCredentialTtlDays
  const change = {
    ...(request.pushToken !== undefined && request.pushToken !== null ? { pushToken: request.pushToken } : {}),
    ...(request.resetExpiry && ttlDays > 0 ? { expiresAt: new Date(at.getTime() + ttlDays * 86_400_000) } : {}),
  }
  const row = await repo.updatePushCredential(deps.db, tenant.tenantId, key.spkiHash, [namespace], nonce, change, at)
  if (!row) {
    const locked = await lockedUntilOf(deps, tenant, key.spkiHash, namespace)
    refuseIfLocked(locked, deps.clock())
    throw new ApiError('invalid_challenge', 'This message was used, replaced or has expired, or the credential has expired')
  }
  deps.log.info({ tenantId: tenant.tenantId, credentialId: row.credentialId, pushToken: 'pushToken' in change, resetExpiry: 'expiresAt' in change }, 'push credential updated')
  return {
    userAuthenticatorId: row.credentialId,
    userId: row.userId,
    lastVerifiedAt: iso(row.lastVerifiedAt),
    ...(row.pushToken ? { pushToken: row.pushToken } : {}),
    ...(row.expiresAt ? { expiresAt: iso(row.expiresAt) } : {}),
  }
}

async function lockedUntilOf(deps: Deps, tenant: TenantContext, spkiHash: Uint8Array, namespace: CredentialNamespace): Promise<Date | null> {
  const row = await findCredentialByKey(deps.db, tenant.tenantId, spkiHash, [namespace])
  return row?.lockedUntil ?? null
}
