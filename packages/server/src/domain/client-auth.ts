import { fromBase64, type TokenClaims } from '@countersign/protocol'
import { claimedTenantOf } from '../crypto/tokens.ts'
import type { Deps } from './deps.ts'
import { ApiError } from './errors.ts'
import type { TenantContext } from './tenants.ts'

/** Who is calling the Client API: a tenant, and the token's claims when a Bearer token was sent. */
export interface ClientCaller {
  tenant: TenantContext
  token: TokenClaims | null
}

/**
 * Authenticates a Client API request from its Authorization header. Accepts `Bearer <token>`
 * and every tenant Basic form existing SDKs send: `base64(tenantId:)` padded (Android),
 * base64url unpadded (iOS), and `base64(encodeURIComponent(tenantId))` with no colon
 * (browser). `X-Authsignal-Tenant-ID`, when sent, must name the same tenant.
 */
export async function authenticateClient(
  deps: Deps,
  authorization: string | undefined,
  tenantHeader: string | undefined,
  origin: string | undefined,
): Promise<ClientCaller> {
  const [scheme, credentials] = (authorization ?? '').trim().split(/\s+/, 2)
  let caller: ClientCaller
  if (scheme?.toLowerCase() === 'bearer' && credentials) {
    caller = await callerFromToken(deps, credentials)
  } else if (scheme?.toLowerCase() === 'basic' && credentials) {
    caller = await callerFromTenantId(deps, tenantIdFromBasic(credentials))
  } else {
    throw new ApiError('unauthorized', 'Send a Bearer token or the tenant ID as HTTP Basic credentials')
  }
  if (tenantHeader !== undefined && tenantHeader !== caller.tenant.tenantId) {
    throw new ApiError('unauthorized', 'X-Authsignal-Tenant-ID does not match the credentials')
  }
  refuseForeignOrigin(deps, caller.tenant, origin)
  return caller
}

/**
 * A tenant that lists allowed origins has its Client API answered only for pages on them, for
 * Countersign's own pages (the hosted challenge page), and for callers that are not web pages,
 * which send no Origin. A preflight cannot be refused this way (it carries no credentials), so
 * the call itself is.
 */
export function refuseForeignOrigin(deps: Pick<Deps, 'config'>, tenant: TenantContext, origin: string | undefined): void {
  const allowed = tenant.settings.allowedOrigins
  if (origin === undefined || allowed.length === 0) return
  if (origin.toLowerCase() === new URL(deps.config.COUNTERSIGN_PUBLIC_URL).origin.toLowerCase()) return
  if (!allowed.some((o) => o.toLowerCase() === origin.toLowerCase())) {
    throw new ApiError('origin_not_allowed', 'This tenant does not allow calls from this origin', { origin: origin.slice(0, 100) })
  }
}

/** A caller proven by a token only this tenant's key could have signed. */
export async function callerFromToken(deps: Deps, token: string): Promise<ClientCaller> {
  const tenantId = claimedTenantOf(token)
  const tenant = tenantId ? await deps.tenants.find(tenantId, deps.clock()) : null
  if (!tenant) throw new ApiError('invalid_token')
  const checked = tenant.tokens.verify(token, deps.clock())
  if (!checked.ok) throw new ApiError(checked.reason)
  return { tenant, token: checked.claims }
}

/** A caller named by tenant ID alone (the device proves the user with a signature). */
export async function callerFromTenantId(deps: Deps, tenantId: string | null): Promise<ClientCaller> {
  const tenant = tenantId ? await deps.tenants.find(tenantId, deps.clock()) : null
  if (!tenant) throw new ApiError('unauthorized')
  return { tenant, token: null }
}

/** The tenant ID in a Basic credential, or null when it cannot be read. */
export function tenantIdFromBasic(credentials: string): string | null {
  const bytes = fromBase64(credentials)
  if (!bytes || bytes.length > 512) return null
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return null
  }
  const user = text.split(':', 1)[0] ?? ''
  try {
    return decodeURIComponent(user)
  } catch {
    return null
  }
}

/** The token's claims, or 401 when the request did not carry a Bearer token. */
export function requireToken(caller: ClientCaller): TokenClaims {
  if (!caller.token) throw new ApiError('unauthorized', 'This request needs the Bearer token from track')
  return caller.token
}
