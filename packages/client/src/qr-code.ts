// QR-code verification (PROTOCOL.md §3 and §4). A page shows a QR code for a challenge (an
// anonymous login, or the action of a token); the user's phone scans it, claims it, shows
// what it is for and signs the user's decision; the page receives the new token.
import type { OutOfBandState, QrChallengeResponse } from '@countersign/protocol'
import { followChallenge, type ChallengeView } from './challenge-follow.ts'
import { CredentialClient, type ClientContext } from './credentials.ts'
import {
  answerChallenge,
  claimChallenge,
  type ClaimedQrChallenge,
  type DecisionDetails,
  type DecisionResult,
} from './out-of-band.ts'
import { clientFailure, failure, type Result } from './result.ts'
import { hasStrings, type Auth } from './transport.ts'
import { approvalOf, type Approval, type PollingOptions } from './waiting.ts'

/** The key-store namespace and Client API path segment of QR-code credentials. */
export const QR_CODE_NAMESPACE = 'qr-code'

/** The browser SDK refreshes its QR code every 9 minutes; so do we at most. */
const MAX_REFRESH_MS = 9 * 60_000
/** Refresh this long before the server's expiry, to cover clock skew and a slow request. */
const REFRESH_MARGIN_MS = 30_000
const MIN_REFRESH_MS = 5_000

export interface UpdateQrChallengeOptions {
  /** The claimed challenge from `claimChallenge()`: its action and details are what is signed. */
  challenge: DecisionDetails
  approved: boolean
  /** The number-matching code the user typed (when `verificationCodeRequired`). */
  verificationCode?: string
}

/** A QR challenge for the page to show: render `challengeId` (see `@countersign/client/qr`). */
export interface QrCodeChallenge {
  challengeId: string
  expiresAt: string
  /** Number matching: show it beside the QR code; the user types it on the phone. */
  verificationCode?: string
}

export interface StartQrOptions extends PollingOptions {
  /** The action code; required without `token` (an anonymous login, e.g. `signIn`). */
  action?: string
  /** A token from track(): the challenge is then for that action and user. Never taken from setToken. */
  token?: string
  /** Shown to the phone when it claims the code; put nothing secret here. */
  custom?: Record<string, unknown>
  /**
   * Called with each state of the challenge on show: `unclaimed` first (render its QR code),
   * then `claimed` (a phone scanned it: hide the code), `approved` or `rejected`. After a
   * refresh it starts again with `unclaimed` for the new challenge.
   */
  onStateChange(state: OutOfBandState, challenge: QrCodeChallenge): void
  /** Called when a new challenge replaces one about to expire (before its `unclaimed`). */
  onRefresh?(challenge: QrCodeChallenge, previous: QrCodeChallenge): void
  /** How long a QR code is shown before it is replaced; by default until 30 s before it expires, at most 9 minutes. */
  refreshIntervalMs?: number
}

const isQrChallenge = (body: unknown): body is QrChallengeResponse => hasStrings(body, 'challengeId', 'expiresAt', 'deviceCode')

/**
 * QR-code verification. Every method resolves to a {@link Result}; none throws for API,
 * network or key-store failures.
 */
export class QrCodeClient extends CredentialClient {
  constructor(context: ClientContext) {
    super(context, QR_CODE_NAMESPACE)
  }

  // ---- The phone: addCredential, getCredential and removeCredential as for every namespace ----

  /**
   * Claims a scanned QR code (a signature over its challenge ID, reason `claim_challenge`):
   * the page hides the code and no other device can take it. `data` says what the request is
   * for (`actionCode`, `transaction`, `custom`, where it comes from, `verificationCodeRequired`);
   * show it, then call updateChallenge with the user's answer.
   *
   * @example
   * const claimed = await client.qr.claimChallenge({ challengeId: challengeIdFromQrPayload(scanned) })
   */
  claimChallenge(options: { challengeId: string }): Promise<Result<ClaimedQrChallenge>> {
    return claimChallenge(this.context, this.key, options.challengeId)
  }

  /**
   * Approves or denies a claimed QR code with a v2 signed decision over the action and the
   * details the phone showed (PROTOCOL.md §4).
   *
   * @example
   * await client.qr.updateChallenge({ challenge: claimed.data, approved: true })
   */
  updateChallenge(options: UpdateQrChallengeOptions): Promise<Result<DecisionResult>> {
    return answerChallenge(this.context, this.key, options.challenge, options)
  }

  // ---- The page that shows the code ----

  /**
   * Shows a QR code until a phone approves it: creates the challenge, follows its state (an
   * event stream, or polls), replaces it with a new one before it expires (and when it
   * expires unanswered), and resolves with the token when the phone approves. A denial gives
   * `challenge_rejected`; `signal` stops it with `aborted`. Without `token` it is an anonymous
   * login: the token is for the phone's user, which the backend learns when it validates it.
   *
   * @example
   * const result = await client.qr.challenge({
   *   action: 'signIn',
   *   onStateChange: (state, challenge) => {
   *     if (state === 'unclaimed') img.innerHTML = qrSvg(qrPayload({ challengeId: challenge.challengeId }))
   *     if (state === 'claimed') img.textContent = 'Approve on your phone'
   *   },
   * })
   * if (result.data) await fetch('/api/login', { method: 'POST', body: JSON.stringify({ token: result.data.token }) })
   */
  async challenge(options: StartQrOptions): Promise<Result<Approval>> {
    const { transport } = this.context
    const { signal } = options
    const auth: Auth = options.token ? { kind: 'bearer', token: options.token } : { kind: 'tenant' }
    let previous: QrCodeChallenge | undefined
    for (;;) {
      if (signal?.aborted) return clientFailure('aborted')
      const created = await transport.request({
        method: 'POST',
        path: '/client/challenge/qr-code',
        auth,
        body: { action: options.action, custom: options.custom },
        signal,
        accept: isQrChallenge,
      })
      if (created.error !== undefined) return created
      const { deviceCode, ...shown } = created.data
      const challenge: QrCodeChallenge = shown
      const createdAt = this.context.now()
      if (previous) options.onRefresh?.(challenge, previous)
      previous = challenge
      options.onStateChange('unclaimed', challenge)

      // A refresh replaces a code nobody has scanned; a claimed one is left for the phone to answer.
      let state: OutOfBandState = 'unclaimed'
      let refreshing = false
      const refresh = new AbortController()
      const forward = () => refresh.abort()
      signal?.addEventListener('abort', forward, { once: true })
      const timer = setTimeout(
        () => {
          if (state !== 'unclaimed') return
          refreshing = true
          refresh.abort()
        },
        options.refreshIntervalMs ?? this.refreshDelay(challenge.expiresAt),
      )
      let followed: Result<ChallengeView>
      try {
        followed = await followChallenge(transport, {
          streamPath: '/client/verify/qr-code/stream',
          pollPath: '/client/verify/qr-code',
          // Always tenant auth: the device code proves the page, as the browser SDK polls.
          auth: { kind: 'tenant' },
          body: { challengeId: challenge.challengeId, deviceCode },
          signal: refresh.signal,
          stream: options.stream,
          pollIntervalMs: options.pollIntervalMs,
          initialState: 'unclaimed',
          onView: (view) => {
            state = view.state
            options.onStateChange(view.state, challenge)
          },
        })
      } finally {
        clearTimeout(timer)
        signal?.removeEventListener('abort', forward)
      }
      if (followed.error !== undefined) {
        if (followed.errorCode === 'aborted' && refreshing && !signal?.aborted) continue
        return followed
      }
      if (followed.data.state === 'expired') {
        // Unanswered until it ran out: show a new code, unless it never had a useful life
        // (a server whose clock is far ahead would otherwise make this spin).
        if (this.context.now() - createdAt < MIN_REFRESH_MS) {
          return failure('challenge_expired', 'The QR code expired as soon as it was created; check the clocks.')
        }
        continue
      }
      return approvalOf(challenge.challengeId, followed.data)
    }
  }

  private refreshDelay(expiresAt: string): number {
    const untilExpiry = Date.parse(expiresAt) - this.context.now() - REFRESH_MARGIN_MS
    if (Number.isNaN(untilExpiry)) return MAX_REFRESH_MS
    return Math.min(MAX_REFRESH_MS, Math.max(MIN_REFRESH_MS, untilExpiry))
  }
}
