import { randomUUID } from 'node:crypto'
import { signWebhook } from '../crypto/webhook-signature.ts'
import type { Deps } from './deps.ts'
import type { TenantContext } from './tenants.ts'

/** What the action.verify webhook is told about the approval it may veto. */
export interface VerificationRequest {
  userId: string
  actionCode: string
  idempotencyKey: string | null
  verificationMethod: 'IN_APP' | 'DEVICE' | 'PUSH' | 'QR_CODE'
  userAuthenticatorId: string
  challengeId: string
  transaction: Record<string, unknown> | null
}

/**
 * Asks the action's action.verify webhook whether an approval may stand, before the action
 * moves to CHALLENGE_SUCCEEDED. A 2xx answer allows it; any other status, a timeout or an
 * unreachable receiver vetoes it (an approval is never let through because a check failed).
 * The call is signed like every webhook, with the tenant's verification webhook secret.
 */
export async function verificationAllows(deps: Deps, tenant: TenantContext, url: string, request: VerificationRequest): Promise<boolean> {
  const id = randomUUID()
  const body = JSON.stringify({
    version: 1,
    id,
    source: deps.config.COUNTERSIGN_PUBLIC_URL,
    time: new Date(deps.clock()).toISOString(),
    tenantId: tenant.tenantId,
    type: 'action.verify',
    data: request,
  })
  try {
    const response = await deps.fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Countersign-Webhooks/1',
        ...signWebhook(tenant.verificationWebhookSecret, body, { id, timestamp: Math.floor(deps.clock() / 1000) }),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.config.VERIFICATION_WEBHOOK_TIMEOUT_MS),
    })
    await response.body?.cancel().catch(() => undefined)
    const allowed = response.status >= 200 && response.status < 300
    deps.log.info({ tenantId: tenant.tenantId, actionCode: request.actionCode, status: response.status, allowed }, 'action.verify webhook answered')
    return allowed
  } catch (error) {
    deps.log.warn(
      { tenantId: tenant.tenantId, actionCode: request.actionCode, reason: error instanceof Error ? error.name : 'unknown' },
      'action.verify webhook failed; the approval is refused',
    )
    return false
  }
}
