import type { ChallengeMethod, Scope } from './common.ts'

/**
 * Claims of a Countersign token (JWT, HS256, signed by the server with a per-tenant key).
 * Existing SDKs decode `other`; the authoritative check is always `POST /v1/validate`.
 */
export interface TokenClaims {
  sub: string
  iss: string
  aud: string
  iat: number
  exp: number
  jti: string
  scope: string
  other: {
    tenantId: string
    userId: string
    username?: string
    actionCode: string
    idempotencyKey: string
    publishableKey: string
    /** [ext] The methods a challenge of this action may use, when the rule that decided it narrowed them. */
    methods?: ChallengeMethod[]
  }
}

export function scopesOf(claims: Pick<TokenClaims, 'scope'>): Scope[] {
  return claims.scope.split(' ').filter(Boolean) as Scope[]
}
