import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'
import type { OutOfBandState } from '@countersign/protocol'
import * as repo from '../storage/challenges-repo.ts'
import type { Deps } from './deps.ts'
import type { TenantContext } from './tenants.ts'

// What push and QR-code challenges share: IDs, codes, the state a browser sees, and the
// one-time hand-over of the token an approval earns.

/** A push or QR challenge ID: 128 random bits, shaped like a UUID (existing SDKs treat it as text). */
export function newChallengeId(): string {
  const hex = randomBytes(16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** A number-matching code of `digits` digits, uniformly random. */
export function newVerificationCode(digits: number): string {
  return String(randomInt(0, 10 ** digits)).padStart(digits, '0')
}

/** Whether the code the phone sent is the challenge's, compared in constant time. */
export function verificationCodeMatches(expected: string, presented: string | null | undefined): boolean {
  if (typeof presented !== 'string') return false
  const a = createHash('sha256').update(expected).digest()
  const b = createHash('sha256').update(presented.trim()).digest()
  return timingSafeEqual(a, b)
}

/** The QR browser's polling secret and its stored hash. */
export function newDeviceCode(): { deviceCode: string; hash: Buffer } {
  const deviceCode = randomBytes(32).toString('base64url')
  return { deviceCode, hash: hashDeviceCode(deviceCode) }
}

export function hashDeviceCode(deviceCode: string): Buffer {
  return createHash('sha256').update(deviceCode, 'utf8').digest()
}

/** The state the initiating side sees (the browser SDK's names). */
export function outOfBandState(row: repo.ChallengeRow, nowMs: number): OutOfBandState {
  switch (row.state) {
    case 'approved':
      return 'approved'
    case 'denied':
      return 'rejected'
    case 'pending':
    case 'claimed':
      if (new Date(row.expiresAt).getTime() <= nowMs) return 'expired'
      return row.state === 'pending' ? 'unclaimed' : 'claimed'
    default:
      return assertNever(row.state)
  }
}

export interface InitiatorView {
  state: OutOfBandState
  isClaimed: boolean
  isConsumed: boolean
  isVerified: boolean
  accessToken?: string
}

/**
 * What the initiating browser learns on a poll or stream event. The token of an approval is
 * handed over once: the poll that marks it issued gets it, later ones see only the approval.
 */
export async function initiatorView(deps: Deps, tenant: TenantContext, row: repo.ChallengeWithAction): Promise<InitiatorView> {
  const state = outOfBandState(row, deps.clock())
  const view: InitiatorView = {
    state,
    isClaimed: row.claimedAt !== null,
    isConsumed: state === 'approved' || state === 'rejected' || state === 'expired',
    isVerified: state === 'approved',
  }
  if (state === 'approved' && row.tokenIssuedAt === null && row.userId && row.idempotencyKey) {
    if (await repo.markTokenIssued(deps.db, tenant.tenantId, row.challengeId, new Date(deps.clock()))) {
      view.accessToken = tenant.tokens.sign(
        {
          userId: row.userId,
          username: row.username ?? undefined,
          actionCode: row.actionCode,
          idempotencyKey: row.idempotencyKey,
          scope: row.actionScope ?? 'read:authenticators',
        },
        deps.clock(),
        tenant.settings.tokenTtlSeconds,
      ).token
    }
  }
  return view
}

/** Tells this node's streams, and the webhook worker, that a challenge changed. */
export function announce(deps: Deps, tenant: TenantContext, challengeId: string): void {
  deps.challengeWatch.changed(tenant.tenantId, challengeId)
  wakeWebhooks(deps, tenant)
}

/**
 * Wakes this node's webhook delivery after a change that may have queued events, so they go
 * out now rather than at the next poll. Only for tenants with an endpoint: the others queue none.
 */
export function wakeWebhooks(deps: Deps, tenant: TenantContext): void {
  if (tenant.hasWebhooks) deps.webhooks.poke()
}

function assertNever(value: never): never {
  throw new Error(`unexpected challenge state ${String(value)}`)
}
