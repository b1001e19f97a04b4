import type { FastifyRequest } from 'fastify'
import type { ApiKeyType } from '../crypto/secrets.ts'
import { authenticateApiKey, authenticateManagementKey } from '../domain/api-key-auth.ts'
import type { Deps } from '../domain/deps.ts'
import type { TenantContext } from '../domain/tenants.ts'

/**
 * The tenant behind an HTTP Basic API key (username = key, empty password), as the existing
 * server SDKs send it. Parsing only; the domain decides.
 */
export function authenticateRequest(deps: Deps, request: FastifyRequest, type: ApiKeyType): Promise<TenantContext> {
  return authenticateApiKey(deps, basicUsername(request.headers.authorization), type, request.ip)
}

function basicUsername(header: string | undefined): string | null {
  if (!header) return null
  const match = /^Basic\s+([A-Za-z0-9+/=_-]{1,1024})\s*$/i.exec(header)
  if (!match) return null
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const user = decoded.split(':', 1)[0]
  return user ? user : null
}

/** An operator's request: the tenant behind its management key and the actor the audit log names. */
export function authenticateOperator(deps: Deps, request: FastifyRequest): Promise<{ tenant: TenantContext; actor: string }> {
  return authenticateManagementKey(deps, basicUsername(request.headers.authorization), request.ip)
}
