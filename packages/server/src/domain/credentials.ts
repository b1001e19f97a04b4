import { randomUUID } from 'node:crypto'
import {
  acceptedTimeBucketMessages,
  scopesOf,
  verificationMethodOf,
  type ActionState,
  type AddCredentialRequest,
  type CredentialNamespace,
  type CredentialResponse,
  type RemoveCredentialResponse,
} from '@countersign/protocol'
import * as repo from '../storage/credentials-repo.ts'
import { iso, optional } from './actions.ts'
import { requireToken, type ClientCaller } from './client-auth.ts'
import { now, type Deps } from './deps.ts'
import { publicKeyFromBody, publicKeyFromQuery, requireDeviceSignature, signatureBytes } from './device-keys.ts'
import { ApiError } from './errors.ts'
import { wakeWebhooks } from './out-of-band.ts'
import type { TenantContext } from './tenants.ts'

/** States of the token's action in which a device may be enrolled with it. */
const ENROLLABLE_STATES: ReadonlySet<ActionState> = new Set(['ALLOW', 'CHALLENGE_SUCCEEDED', 'REVIEW_SUCCEEDED'])

/**
 * Enrolls a device key for the token's user. The first authenticator may be added with a
 * default token; another needs the add:authenticators scope. Either way the token's action
 * must allow it: a CHALLENGE_REQUIRED action must first be completed (by a device already
 * enrolled, through push or QR), so a token alone never adds a second device, and the token
 * that adds one is spent by it: one approval, one device.
 */
export async function addCredential(
  deps: Deps,
  caller: ClientCaller,
  namespace: CredentialNamespace,
  request: AddCredentialRequest,
): Promise<CredentialResponse> {
  const token = requireToken(caller)
  const { tenant } = caller
  const key = publicKeyFromBody(request.publicKey)
  const result = await repo.insertCredential(
    deps.db,
    tenant.tenantId,
    {
      credentialId: randomUUID(),
      userId: token.sub,
      namespace,
      spki: key.spki,
      spkiHash: key.spkiHash,
      deviceName: request.deviceName ?? null,
      devicePlatform: request.devicePlatform ?? null,
      pushToken: request.pushToken ?? null,
      userAuthenticationRequired: request.userAuthenticationRequired ?? false,
      // Push credentials live pushCredentialTtlDays from enrollment (0: no expiry); the app
      // resets the expiry with PATCH …/push resetExpiry.
      expiresAt:
        namespace === 'push' && tenant.settings.pushCredentialTtlDays > 0
          ? new Date(deps.clock() + tenant.settings.pushCredentialTtlDays * 86_400_000)
          : null,
    },
    { jti: token.jti, idempotencyKey: token.other.idempotencyKey, actionCode: token.other.actionCode, expiresAt: new Date(token.exp * 1000) },
    now(deps),
    (facts) => {
      if (facts.tokenUsed) throw new ApiError('invalid_token', 'This token has already been validated')
      if (facts.actionState === null) throw new ApiError('invalid_token', 'The token’s action no longer exists')
      if (facts.existingCredentials > 0 && !scopesOf(token).includes('add:authenticators')) {
        throw new ApiError('forbidden', 'Adding another authenticator needs a token with the add:authenticators scope')
      }
      if (!ENROLLABLE_STATES.has(facts.actionState)) {
        throw new ApiError('invalid_action_state', `A device cannot be enrolled while the action is ${facts.actionState}`)
      }
      // One approval adds one device: a token that adds a user's second (or later) device is spent by it.
      return { spendToken: facts.existingCredentials > 0 }
    },
  )
  switch (result.outcome) {
    case 'inserted':
      wakeWebhooks(deps, tenant)
      deps.log.info({ tenantId: tenant.tenantId, credentialId: result.credential.credentialId, namespace }, 'credential added')
      return credentialResponse(result.credential)
    case 'duplicate_key':
      throw new ApiError('conflict', 'This public key is already enrolled')
    case 'no_user':
      throw new ApiError('not_found', 'The token’s user no longer exists')
  }
}

/** The credential holding this public key, for a device checking whether it is still enrolled. */
export async function getCredential(
  deps: Deps,
  tenant: TenantContext,
  namespace: CredentialNamespace,
  publicKeyQuery: string,
): Promise<CredentialResponse> {
  const key = publicKeyFromQuery(publicKeyQuery)
  const row = await repo.findCredentialByKey(deps.db, tenant.tenantId, key.spkiHash, [namespace])
  if (!row) throw new ApiError('not_found', 'No credential holds this key')
  return credentialResponse(row)
}

/**
 * Removes the credential holding this key. The device proves possession by signing the
 * current (or previous) 10-minute time bucket.
 */
export async function removeCredential(
  deps: Deps,
  tenant: TenantContext,
  namespace: CredentialNamespace,
  request: { publicKey: string; signature: string },
): Promise<RemoveCredentialResponse> {
  const key = publicKeyFromBody(request.publicKey)
  const signature = signatureBytes(request.signature)
  await requireDeviceSignature(deps, tenant, key, [namespace], acceptedTimeBucketMessages(deps.clock()), signature)
  const row = await repo.findCredentialByKey(deps.db, tenant.tenantId, key.spkiHash, [namespace])
  if (!row || !(await repo.deleteCredential(deps.db, tenant.tenantId, row.userId, row.credentialId, now(deps)))) {
    throw new ApiError('not_found', 'No credential holds this key')
  }
  wakeWebhooks(deps, tenant)
  deps.log.info({ tenantId: tenant.tenantId, credentialId: row.credentialId, namespace }, 'credential removed by device')
  return { removedAuthenticatorId: row.credentialId }
}

export function credentialResponse(row: repo.CredentialRow): CredentialResponse {
  return {
    userAuthenticatorId: row.credentialId,
    userId: row.userId,
    verificationMethod: verificationMethodOf[row.namespace],
    createdAt: iso(row.createdAt),
    verifiedAt: iso(row.verifiedAt),
    ...(row.lastVerifiedAt ? { lastVerifiedAt: iso(row.lastVerifiedAt) } : {}),
    ...(row.expiresAt ? { expiresAt: iso(row.expiresAt) } : {}),
    ...optional('deviceName', row.deviceName),
    ...optional('devicePlatform', row.devicePlatform),
  }
}
