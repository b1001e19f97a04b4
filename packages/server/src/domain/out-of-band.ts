import { randomBytes, randomInt } from 'node:crypto'
import type { ClaimChallengeResponse, OutOfBandState } from '@countersign/protocol'
import { sha256 } from '../crypto/p256.ts'
import { hashesEqual } from '../crypto/secrets.ts'
import * as repo from '../storage/challenges-repo.ts'
import { iso } from './actions.ts'
import type { Deps } from './deps.ts'
import { assertNever } from './errors.ts'
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
  return hashesEqual(sha256(expected), sha256(presented.trim()))
}

/** The QR browser's polling secret and its stored hash. */
export function newDeviceCode(): { deviceCode: string; hash: Uint8Array } {
  const deviceCode = randomBytes(32).toString('base64url')
  return { deviceCode, hash: hashDeviceCode(deviceCode) }
}

export function hashDeviceCode(deviceCode: string): Uint8Array {
  return sha256(deviceCode)
}

/**
 * What the phone is shown of a challenge before it answers — where the request came from,
 * what it is for, and what an answer must carry — for the pending push fetch and the QR claim.
 */
export function shownToPhone(
  row: repo.ChallengeWithAction,
  requireSignedDecision: boolean,
): Omit<ClaimChallengeResponse, 'success' | 'userId'> & { deviceId?: string } {
  return {
    actionCode: row.actionCode,
    ...(row.idempotencyKey ? { idempotencyKey: row.idempotencyKey } : {}),
    ...(row.deviceId ? { deviceId: row.deviceId } : {}),
    ...(row.userAgent ? { userAgent: row.userAgent } : {}),
    ...(row.ipAddress ? { ipAddress: row.ipAddress } : {}),
    ...(row.custom ? { custom: row.custom } : {}),
    ...(row.transaction ? { transaction: row.transaction } : {}),
    verificationCodeRequired: row.verificationCode !== null,
    signedDecisionRequired: requireSignedDecision,
    challengeExpiresAt: iso(row.expiresAt),
  }
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
        tenant.actionSettings(row.actionCode).tokenTtlSeconds,
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

/** How often a follower re-reads its challenge even without a notification (a missed NOTIFY, expiry). */
const RECHECK_MS = 5000
const TERMINAL: ReadonlySet<OutOfBandState> = new Set(['approved', 'rejected', 'expired'])

/** What a follower reads: the state, and the token when this read was the one handed it. */
export interface FollowedView {
  state: OutOfBandState
  accessToken?: string | undefined
}

/**
 * Follows a challenge for a live page (an SSE stream, a WebSocket): reads it whenever this or
 * another node says it changed, and every few seconds, one read at a time — two at once could
 * report a token-less `approved` first, and pages stop listening at the first `approved`.
 * `onChange` gets each view whose state differs from the last, or that carries the token; the
 * follower stops itself after approved, rejected or expired. Returns the way to stop earlier.
 */
export function followChallenge<V extends FollowedView>(
  deps: Deps,
  target: { tenantId: string; challengeId: string },
  from: OutOfBandState,
  read: () => Promise<V | null>,
  onChange: (view: V) => void,
): () => void {
  let last = from
  let stopped = false
  let reading: Promise<void> = Promise.resolve()
  const readNow = async (): Promise<void> => {
    if (stopped) return
    const view = await read()
    if (stopped || !view) return
    if (view.state === last && view.accessToken === undefined) return
    last = view.state
    onChange(view)
    if (TERMINAL.has(view.state)) stop()
  }
  const refresh = () => {
    reading = reading.then(readNow).catch((error: unknown) => deps.log.warn({ err: error, tenantId: target.tenantId }, 'challenge follow read failed'))
  }
  const unwatch = deps.challengeWatch.watch(target.tenantId, target.challengeId, refresh)
  const recheck = setInterval(refresh, RECHECK_MS)
  function stop(): void {
    if (stopped) return
    stopped = true
    unwatch()
    clearInterval(recheck)
  }
  return stop
}

/** The initiating side's view of a challenge it created (the WebSocket holds no device code); null when gone. */
export async function initiatorViewOf(deps: Deps, tenant: TenantContext, challengeId: string): Promise<InitiatorView | null> {
  const row = await repo.findChallenge(deps.db, tenant.tenantId, challengeId)
  return row ? initiatorView(deps, tenant, row) : null
}

/** Whether nothing more will happen to a challenge in this state. */
export function isFinal(state: OutOfBandState): boolean {
  return TERMINAL.has(state)
}
