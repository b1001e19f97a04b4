// What the initiating page gets when it waits for a push or QR answer.
import type { OutOfBandState } from '@countersign/protocol'
import type { ChallengeView } from './challenge-follow.ts'
import { clientFailure, failure, success, type Result } from './result.ts'

export type { OutOfBandState } from '@countersign/protocol'

/** An approved challenge and the token it earned: hand `token` to the backend to validate. */
export interface Approval {
  challengeId: string
  token: string
}

export type OnStateChange = (state: OutOfBandState) => void

export interface PollingOptions {
  /** Stops waiting; the result is then `aborted`. */
  signal?: AbortSignal
  /** Milliseconds between polls when streaming is unavailable (default 3000). */
  pollIntervalMs?: number
  /** `false` polls from the start instead of trying the event stream. */
  stream?: boolean
}

/** The result a terminal view stands for. */
export function approvalOf(challengeId: string, view: ChallengeView): Result<Approval> {
  switch (view.state) {
    case 'approved':
      return view.token ? success({ challengeId, token: view.token }) : clientFailure('token_already_issued')
    case 'rejected':
      return clientFailure('challenge_rejected')
    case 'expired':
      return failure('challenge_expired', 'The challenge expired before the phone answered it.')
    case 'unclaimed':
    case 'claimed':
      return failure('api_error', `The challenge is still ${view.state}`)
    default:
      return assertNever(view.state)
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected challenge state ${String(value)}`)
}
