import { parseApiKey, type ApiKeyType } from '../crypto/secrets.ts'
import type { Deps } from './deps.ts'
import { ApiError } from './errors.ts'
import type { TenantContext } from './tenants.ts'

/**
 * The tenant behind a presented API key, for a request from `clientAddress`. A client that
 * keeps presenting wrong keys is refused (429) before its next guess is checked; each wrong
 * key counts against it.
 */
export async function authenticateApiKey(
  deps: Deps,
  presented: string | null,
  type: ApiKeyType,
  clientAddress: string,
): Promise<TenantContext> {
  await deps.apiKeyFailures.refuseIfBlocked(clientAddress)
  if (!presented) {
    throw new ApiError('unauthorized', `Send the ${type} key as the HTTP Basic username`, undefined, {
      'www-authenticate': 'Basic realm="countersign"',
    })
  }
  try {
    return await deps.tenants.authenticate(presented, type, deps.clock())
  } catch (error) {
    if (error instanceof ApiError && error.code === 'unauthorized') await deps.apiKeyFailures.recordFailure(clientAddress)
    throw error
  }
}

/** An operator's management key: the tenant, and who is acting for the audit log. */
export async function authenticateManagementKey(
  deps: Deps,
  presented: string | null,
  clientAddress: string,
): Promise<{ tenant: TenantContext; actor: string }> {
  const tenant = await authenticateApiKey(deps, presented, 'management', clientAddress)
  return { tenant, actor: `management_key:${parseApiKey(presented!)!.keyId}` }
}
