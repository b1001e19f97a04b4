// [ext] What the hosted challenge page (track's `url`) needs to know about the action its
// token is for: where to send the user afterwards and which ways of completing it apply.
import type { HostedChallengeResponse } from '@countersign/protocol'
import * as actionsRepo from '../storage/actions-repo.ts'
import * as credentialsRepo from '../storage/credentials-repo.ts'
import { callerFromToken, requireToken, type ClientCaller } from './client-auth.ts'
import type { Deps } from './deps.ts'
import { ApiError } from './errors.ts'
import { PUSH_NAMESPACES } from './push.ts'

export async function hostedChallenge(deps: Deps, caller: ClientCaller): Promise<HostedChallengeResponse> {
  const token = requireToken(caller)
  const { tenant } = caller
  const key = { userId: token.sub, actionCode: token.other.actionCode, idempotencyKey: token.other.idempotencyKey }
  const [action, credentials] = await Promise.all([
    actionsRepo.findAction(deps.db, tenant.tenantId, key),
    credentialsRepo.listCredentials(deps.db, tenant.tenantId, key.userId),
  ])
  if (!action) throw new ApiError('not_found', 'The action of this token does not exist')
  const inApp = credentials.some((c) => c.namespace === 'in-app')
  return {
    tenantId: tenant.tenantId,
    ...key,
    state: action.state,
    ...(action.redirectUrl !== null ? { redirectUrl: action.redirectUrl } : {}),
    verificationMethods: [...(token.other.methods ?? tenant.actionSettings(key.actionCode).verificationMethods)],
    credentials: { inApp, push: credentials.some((c) => PUSH_NAMESPACES.includes(c.namespace)) },
    canEnroll: !inApp && token.scope.split(' ').includes('add:authenticators'),
    expiresAt: new Date(token.exp * 1000).toISOString(),
  }
}

/**
 * The pages that may frame the hosted page for this token (the official browser SDK's popup
 * mode shows it in an iframe on the tenant's page): the tenant's allowed origins and the
 * origin of the action's `redirectUrl`, both set with the tenant's keys. None for a token
 * that does not verify, so the page cannot be framed at all.
 */
export async function framingOrigins(deps: Deps, token: string): Promise<string[]> {
  let caller: ClientCaller
  try {
    caller = await callerFromToken(deps, token)
  } catch {
    return []
  }
  const claims = requireToken(caller)
  const action = await actionsRepo.findAction(deps.db, caller.tenant.tenantId, {
    userId: claims.sub,
    actionCode: claims.other.actionCode,
    idempotencyKey: claims.other.idempotencyKey,
  })
  const origins = new Set(caller.tenant.settings.allowedOrigins)
  if (action?.redirectUrl) origins.add(new URL(action.redirectUrl).origin)
  // Only origins a CSP source list can carry literally (no spaces, quotes or semicolons).
  return [...origins].filter((origin) => /^https?:\/\/[A-Za-z0-9.[\]:-]+$/.test(origin))
}
