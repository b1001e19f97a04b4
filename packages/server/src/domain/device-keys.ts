import { fromBase64, utf8, type CredentialNamespace } from '@countersign/protocol'
import { InvalidPublicKeyError, parseP256PublicKey, verifyP256Signature, type DevicePublicKey, type SignatureFormat } from '../crypto/p256.ts'
import * as credentialsRepo from '../storage/credentials-repo.ts'
import { now, type Deps } from './deps.ts'
import { ApiError } from './errors.ts'
import type { TenantContext } from './tenants.ts'

/** A `publicKey` from a JSON body: standard base64 of the SPKI. */
export function publicKeyFromBody(value: string): DevicePublicKey {
  return parseKey(fromBase64(value.trim()))
}

/**
 * A `publicKey` from a query string, where existing SDKs base64-encode it a second time
 * (iOS base64url, Android standard base64 without URL-escaping, so `+` may arrive as a
 * space). Single-encoded keys are accepted too.
 */
export function publicKeyFromQuery(value: string): DevicePublicKey {
  const once = fromBase64(value.trim().replace(/ /g, '+'))
  if (!once) throw new ApiError('invalid_public_key')
  if (once.length !== 91) {
    const inner = String.fromCharCode(...once)
    if (/^[A-Za-z0-9+/_=-]+$/.test(inner)) return parseKey(fromBase64(inner))
  }
  return parseKey(once)
}

function parseKey(spki: Uint8Array | null): DevicePublicKey {
  if (!spki) throw new ApiError('invalid_public_key')
  try {
    return parseP256PublicKey(spki)
  } catch (error) {
    if (error instanceof InvalidPublicKeyError) throw new ApiError('invalid_public_key', undefined, { reason: error.message })
    throw error
  }
}

export function signatureBytes(value: string): Uint8Array {
  const bytes = fromBase64(value.trim())
  if (!bytes || bytes.length === 0) throw new ApiError('invalid_request', 'signature is not base64')
  return bytes
}

/**
 * Checks a device's DER signature over one of `messages`. A failure counts towards the lock
 * of the credential holding this key (when there is one) and answers 401 invalid_signature;
 * it changes nothing else, so an attacker cannot fail a user's action.
 */
export async function requireDeviceSignature(
  deps: Deps,
  tenant: TenantContext,
  key: DevicePublicKey,
  namespaces: readonly CredentialNamespace[],
  messages: readonly string[],
  signature: Uint8Array,
  format: SignatureFormat = 'der',
): Promise<void> {
  if (messages.some((message) => verifyP256Signature(key, utf8(message), signature, format))) return
  const state = await credentialsRepo.recordFailedSignature(
    deps.db,
    tenant.tenantId,
    key.spkiHash,
    namespaces,
    tenant.settings.credentialLockThreshold,
    tenant.settings.credentialLockSeconds,
    now(deps),
  )
  deps.log.info({ tenantId: tenant.tenantId, failedAttempts: state?.failedAttempts, locked: Boolean(state?.lockedUntil) }, 'device signature refused')
  throw new ApiError('invalid_signature')
}

/** 423 with Retry-After when the credential is locked at `nowMs`. */
export function refuseIfLocked(lockedUntil: Date | string | null, nowMs: number): void {
  if (lockedUntil === null) return
  const until = new Date(lockedUntil).getTime()
  if (until > nowMs) {
    throw new ApiError('credential_locked', undefined, undefined, { 'retry-after': String(Math.ceil((until - nowMs) / 1000)) })
  }
}
