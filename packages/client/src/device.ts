// The legacy `device` namespace (PROTOCOL.md §3): one credential, enrolled once, that answers
// in-app, push and QR challenges alike. Older official SDK versions use it; new apps enroll
// one credential per namespace (`inapp`, `push`, `qr`) instead.
import { CredentialClient, type ClientContext } from './credentials.ts'
import { verifyWithKey, type VerifyOptions, type VerifyResult } from './in-app.ts'
import {
  answerChallenge,
  claimChallenge,
  decisionDetails,
  getPendingChallenge,
  type ClaimedQrChallenge,
  type DecisionResult,
  type PushChallenge,
} from './out-of-band.ts'
import type { UpdatePushChallengeOptions } from './push.ts'
import type { Result } from './result.ts'

/** The key-store namespace and Client API path segment of the legacy shared credential. */
export const DEVICE_NAMESPACE = 'device'

/** The legacy shared credential: the in-app, push and QR calls, all with the `device` key. */
export class DeviceClient extends CredentialClient {
  constructor(context: ClientContext) {
    super(context, DEVICE_NAMESPACE)
  }

  /** Answers an in-app challenge with the shared key (`/client/verify/device`); see `inapp.verify`. */
  verify(options: VerifyOptions = {}): Promise<Result<VerifyResult>> {
    return verifyWithKey(this.context, this.key, '/client/verify/device', options)
  }

  /** The push request waiting for this device, or undefined; see `push.getChallenge`. */
  getChallenge(): Promise<Result<PushChallenge | undefined>> {
    return getPendingChallenge(this.context, this.key)
  }

  /** Claims a scanned QR code; see `qr.claimChallenge`. */
  claimChallenge(options: { challengeId: string }): Promise<Result<ClaimedQrChallenge>> {
    return claimChallenge(this.context, this.key, options.challengeId)
  }

  /**
   * Approves or denies a push request or a claimed QR code with a v2 signed decision; see
   * `push.updateChallenge`. With only `challengeId`, the pending push challenge is fetched.
   */
  async updateChallenge(options: UpdatePushChallengeOptions): Promise<Result<DecisionResult>> {
    const details = await decisionDetails(this.context, this.key, options)
    if (details.error !== undefined) return details
    return answerChallenge(this.context, this.key, details.data, options)
  }
}
