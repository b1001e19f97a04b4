import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

// An in-app challenge ID authenticates itself: creating one writes nothing, and single use
// is enforced later by the insert that consumes its nonce (ARCHITECTURE.md, Storage).
//
//   challengeId = base64url( version(1) ‖ expiresAt unix s (4, BE) ‖ nonce(16) ‖ len(1) ‖ action ‖ mac(16) )
//   mac = HMAC-SHA256(challengeKey, tenantId ‖ 0x00 ‖ everything before the mac), first 16 bytes
const VERSION = 1
const NONCE_BYTES = 16
const MAC_BYTES = 16
const HEADER_BYTES = 1 + 4 + NONCE_BYTES + 1

export interface InAppChallenge {
  /** 128 random bits; the key of the row that consumes the challenge. */
  nonce: Buffer
  expiresAt: Date
  /** The action the challenge was requested for, when the app named one. */
  action: string | null
}

export function issueChallengeId(
  challengeKey: Buffer,
  tenantId: string,
  expiresAt: Date,
  action: string | null,
): { challengeId: string; challenge: InAppChallenge } {
  const nonce = randomBytes(NONCE_BYTES)
  const actionBytes = Buffer.from(action ?? '', 'utf8')
  const body = Buffer.alloc(HEADER_BYTES + actionBytes.length)
  body.writeUInt8(VERSION, 0)
  body.writeUInt32BE(Math.floor(expiresAt.getTime() / 1000), 1)
  nonce.copy(body, 5)
  body.writeUInt8(actionBytes.length, 5 + NONCE_BYTES)
  actionBytes.copy(body, HEADER_BYTES)
  const challengeId = Buffer.concat([body, mac(challengeKey, tenantId, body)]).toString('base64url')
  return { challengeId, challenge: { nonce, expiresAt: new Date(Math.floor(expiresAt.getTime() / 1000) * 1000), action } }
}

/**
 * Reads a challenge ID back; null when it was not issued for this tenant with this key
 * (forged, truncated, another tenant's). Expiry is the caller's to check against its clock.
 */
export function openChallengeId(challengeKey: Buffer, tenantId: string, challengeId: string): InAppChallenge | null {
  if (!/^[A-Za-z0-9_-]+$/.test(challengeId)) return null
  const raw = Buffer.from(challengeId, 'base64url')
  // Node decodes leniently (spare bits, a stray last character); accept only the one spelling we issue.
  if (raw.toString('base64url') !== challengeId) return null
  if (raw.length < HEADER_BYTES + MAC_BYTES || raw.readUInt8(0) !== VERSION) return null
  const body = raw.subarray(0, raw.length - MAC_BYTES)
  const actionLength = body.readUInt8(5 + NONCE_BYTES)
  if (body.length !== HEADER_BYTES + actionLength) return null
  if (!timingSafeEqual(raw.subarray(body.length), mac(challengeKey, tenantId, body))) return null
  return {
    nonce: Buffer.from(body.subarray(5, 5 + NONCE_BYTES)),
    expiresAt: new Date(body.readUInt32BE(1) * 1000),
    action: actionLength > 0 ? body.subarray(HEADER_BYTES).toString('utf8') : null,
  }
}

function mac(key: Buffer, tenantId: string, body: Buffer): Buffer {
  return createHmac('sha256', key)
    .update(tenantId)
    .update(Buffer.from([0]))
    .update(body)
    .digest()
    .subarray(0, MAC_BYTES)
}
