import type { FastifyRequest } from 'fastify'
import { CONSOLE_HEADER, SESSION_COOKIE } from '@countersign/protocol'
import type { ApiKeyType } from '../crypto/secrets.ts'
import { authenticateApiKey, authenticateManagementKey } from '../domain/api-key-auth.ts'
import { authenticateSession } from '../domain/console-sessions.ts'
import type { Deps } from '../domain/deps.ts'
import { ApiError } from '../domain/errors.ts'
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

/**
 * An operator's request: the tenant and the actor the audit log names. A script sends its
 * management key as HTTP Basic; the console sends its session cookie, and must prove the
 * request came from the console itself (consoleOnly).
 */
export async function authenticateOperator(deps: Deps, request: FastifyRequest): Promise<{ tenant: TenantContext; actor: string }> {
  const cookie = request.cookies[SESSION_COOKIE]
  const fromConsole = cookie !== undefined || request.headers[CONSOLE_HEADER] !== undefined
  if (request.headers.authorization !== undefined || !fromConsole) {
    return authenticateManagementKey(deps, basicUsername(request.headers.authorization), request.ip)
  }
  // The console without its cookie (expired, or signed out in another tab): a plain 401, with
  // no WWW-Authenticate that would make the browser ask for a password.
  if (cookie === undefined) throw new ApiError('unauthorized', 'Sign in to the console')
  consoleOnly(request)
  return authenticateSession(deps, cookie)
}

/**
 * Cross-site request forgery guard for cookie-authenticated calls. A page on another origin
 * can make the browser send the cookie (SameSite=Strict aside), but it cannot add a custom
 * header without a CORS preflight, which the Management API never grants; and a browser
 * names the page's origin, which must be this server's.
 */
export function consoleOnly(request: FastifyRequest): void {
  const { origin } = request.headers
  const site = request.headers['sec-fetch-site']
  const sameOrigin = origin === undefined || origin === `${request.protocol}://${request.host}`
  if (request.headers[CONSOLE_HEADER] !== '1' || !sameOrigin || (site !== undefined && site !== 'same-origin')) {
    throw new ApiError('csrf_check_failed')
  }
}
