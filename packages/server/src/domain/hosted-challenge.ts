// [ext] What the hosted challenge page (track's `url`) needs to know about the action its
// token is for: where to send the user afterwards and which ways of completing it apply.
import type { HostedChallengeResponse } from '@countersign/protocol'
import * as actionsRepo from '../storage/actions-repo.ts'
import * as credentialsRepo from '../storage/credentials-repo.ts'
import { requireToken, type ClientCaller } from './client-auth.ts'
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
    ...key,
    state: action.state,
    ...(action.redirectUrl !== null ? { redirectUrl: action.redirectUrl } : {}),
    verificationMethods: [...(token.other.methods ?? tenant.actionSettings(key.actionCode).verificationMethods)],
    credentials: { inApp, push: credentials.some((c) => PUSH_NAMESPACES.includes(c.namespace)) },
    canEnroll: !inApp && token.scope.split(' ').includes('add:authenticators'),
    expiresAt: new Date(token.exp * 1000).toISOString(),
  }
}
