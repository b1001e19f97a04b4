// What each way of confirming (push, QR code, this device) shares with the page.
import type { CountersignClient, Failure } from '@countersign/client'
import type { ChallengeMethod } from '@countersign/protocol'

export interface FlowContext {
  client: CountersignClient
  /** The track token: Bearer auth for every challenge this page starts. */
  token: string
  /** Aborted when the page is done (approved, denied, expired): every flow stops. */
  signal: AbortSignal
  /** A method earned a new token: the page hands it over (once; later calls are ignored). */
  approve(token: string, method: ChallengeMethod): void
  /** A failure that ends the whole request (denied, expired token, …): the page shows it. */
  end(failure: Pick<Failure, 'errorCode' | 'status'>): void
}

/**
 * Failures after which no method on this page can succeed: the token is dead, or the action
 * has failed or finished (a denial moves it to CHALLENGE_FAILED). Anything else concerns one
 * method only, which can be tried again or another used instead.
 */
export function endsRequest(errorCode: string): boolean {
  return [
    'expired_token',
    'invalid_token',
    'unauthorized',
    'invalid_action_state',
    'challenge_rejected',
    'verification_rejected',
    'invalid_verification_code',
    'token_already_issued',
    'origin_not_allowed',
  ].includes(errorCode)
}
