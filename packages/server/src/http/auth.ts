import type { FastifyRequest } from 'fastify'
import type { ApiKeyType } from '../crypto/secrets.ts'
import type { Deps } from '../domain/deps.ts'
import { ApiError } from '../domain/errors.ts'
import type { TenantContext } from '../domain/tenants.ts'

/**
 * The tenant behind an HTTP Basic API key (username = key, empty password), as the existing
 * server SDKs send it.
 */
export async function authenticateApiKey(deps: Deps, request: FastifyRequest, type: ApiKeyType): Promise<TenantContext> {
  // A client that keeps presenting wrong keys is refused before its next guess is checked.
  await deps.apiKeyFailures.refuseIfBlocked(request.ip)
  const key = basicUsername(request.headers.authorization)
  if (!key) {
    throw new ApiError('unauthorized', 'Send the secret key as the HTTP Basic username', undefined, {
      'www-authenticate': 'Basic realm="countersign"',
    })
  }
  try {
    return await deps.tenants.authenticate(key, type, deps.clock())
  } catch (error) {
    if (error instanceof ApiError && error.code === 'unauthorized') await deps.apiKeyFailures.recordFailure(request.ip)
    throw error
  }
}

function basicUsername(header: string | undefined): string | null {
  if (!header) return null
  const match = /^Basic\s+([A-Za-z0-9+/=_-]{1,1024})\s*$/i.exec(header)
  if (!match) return null
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const user = decoded.split(':', 1)[0]
  return user ? user : null
}
