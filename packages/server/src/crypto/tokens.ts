import { randomUUID } from 'node:crypto'
import { createDecoder, createSigner, createVerifier } from 'fast-jwt'
import type { ChallengeMethod, TokenClaims } from '@countersign/protocol'

/** What a token is issued for; the claims are built from it. */
export interface TokenSubject {
  userId: string
  username?: string | undefined
  actionCode: string
  idempotencyKey: string
  scope: string
  /** Only these challenge methods, when a rule narrowed the action's. */
  methods?: readonly ChallengeMethod[] | undefined
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: 'invalid_token' | 'expired_token' }

/** Signs and checks one tenant's tokens. Built once per tenant and cached: fast-jwt compiles per key. */
export interface TokenCodec {
  sign(subject: TokenSubject, nowMs: number, ttlSeconds: number): { token: string; claims: TokenClaims }
  verify(token: string, nowMs: number): TokenCheck
}

export function createTokenCodec(tenantId: string, tokenKey: Buffer, issuer: string): TokenCodec {
  const signer = createSigner({ key: tokenKey, algorithm: 'HS256' })
  // Expiry is checked below against the injected clock; everything else by fast-jwt. Only
  // HS256 is accepted, so `alg: none` and HS/ES confusion fail here, and no header field
  // (kid, jku, x5u) is ever used to find a key.
  const verifier = createVerifier({
    key: tokenKey,
    algorithms: ['HS256'],
    allowedAud: tenantId,
    allowedIss: issuer,
    ignoreExpiration: true,
    ignoreNotBefore: true,
    requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp', 'jti', 'other'],
    checkTyp: 'JWT',
  })

  return {
    sign(subject, nowMs, ttlSeconds) {
      const iat = Math.floor(nowMs / 1000)
      const claims: TokenClaims = {
        sub: subject.userId,
        iss: issuer,
        aud: tenantId,
        iat,
        exp: iat + ttlSeconds,
        jti: randomUUID(),
        scope: subject.scope,
        other: {
          tenantId,
          userId: subject.userId,
          ...(subject.username !== undefined ? { username: subject.username } : {}),
          actionCode: subject.actionCode,
          idempotencyKey: subject.idempotencyKey,
          publishableKey: tenantId,
          ...(subject.methods !== undefined ? { methods: [...subject.methods] } : {}),
        },
      }
      return { token: signer(claims), claims }
    },
    verify(token, nowMs) {
      let payload: unknown
      try {
        payload = verifier(token)
      } catch {
        return { ok: false, reason: 'invalid_token' }
      }
      // fast-jwt skips aud/iss checks on absent claims and accepts an array aud: insist on
      // exactly this tenant and issuer.
      if (
        !isTokenClaims(payload) ||
        payload.aud !== tenantId ||
        payload.iss !== issuer ||
        payload.other.tenantId !== tenantId ||
        payload.other.userId !== payload.sub
      ) {
        return { ok: false, reason: 'invalid_token' }
      }
      const now = Math.floor(nowMs / 1000)
      if (payload.exp <= now) return { ok: false, reason: 'expired_token' }
      // A token from the future (clock skew beyond a minute, or forged iat) is not yet valid.
      if (payload.iat > now + 60) return { ok: false, reason: 'invalid_token' }
      return { ok: true, claims: payload }
    },
  }
}

const decodeUnverified = createDecoder({ complete: true })

/**
 * The tenant a token claims to belong to, read without verifying it — only to choose which
 * tenant's key to verify it with. Returns null for anything that is not an HS256 JWT.
 */
export function claimedTenantOf(token: string): string | null {
  if (token.length > 8192) return null
  try {
    const { header, payload } = decodeUnverified(token) as { header: Record<string, unknown>; payload: unknown }
    if (header.alg !== 'HS256') return null
    const tenantId = (payload as { other?: { tenantId?: unknown } } | null)?.other?.tenantId
    return typeof tenantId === 'string' ? tenantId : null
  } catch {
    return null
  }
}

function isTokenClaims(value: unknown): value is TokenClaims {
  if (typeof value !== 'object' || value === null) return false
  const c = value as Record<string, unknown>
  const other = c.other as Record<string, unknown> | undefined
  return (
    typeof c.sub === 'string' &&
    typeof c.iat === 'number' &&
    typeof c.exp === 'number' &&
    typeof c.jti === 'string' &&
    typeof c.scope === 'string' &&
    typeof other === 'object' &&
    other !== null &&
    typeof other.tenantId === 'string' &&
    typeof other.userId === 'string' &&
    typeof other.actionCode === 'string' &&
    typeof other.idempotencyKey === 'string' &&
    (other.methods === undefined || (Array.isArray(other.methods) && other.methods.every((m) => typeof m === 'string')))
  )
}
