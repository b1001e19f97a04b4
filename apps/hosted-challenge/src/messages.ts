// What the user reads when something fails: one plain sentence per error code, what to do
// next, and never the server's own description (it is written for developers) or a stack.

export interface Explanation {
  title: string
  detail: string
  /** Whether trying the same thing again on this page can help. */
  retryable: boolean
}

const GO_BACK = 'Go back and try again.'

/**
 * The explanation of a failed call, by its `errorCode` (a server code from
 * `@countersign/protocol` errorCodes, or a client SDK code).
 *
 * @example explain('expired_token').detail // 'This request has expired; go back and try again.'
 */
export function explain(errorCode: string): Explanation {
  switch (errorCode) {
    case 'expired_token':
      return { title: 'Request expired', detail: 'This request has expired; go back and try again.', retryable: false }
    case 'missing_token':
      return {
        title: 'This link is incomplete',
        detail: `This page was opened without a request, or it was reloaded. ${GO_BACK}`,
        retryable: false,
      }
    case 'invalid_token':
    case 'unauthorized':
      return { title: 'This link is not valid', detail: `It may have been used already or copied incompletely. ${GO_BACK}`, retryable: false }
    case 'invalid_action_state':
    case 'conflict':
      return { title: 'This request is already finished', detail: `It was completed or cancelled elsewhere. ${GO_BACK}`, retryable: false }
    case 'challenge_rejected':
      return { title: 'Request denied', detail: 'You denied this request on your phone, so it was not completed.', retryable: false }
    case 'verification_rejected':
      return { title: 'Request declined', detail: `This request could not be approved. ${GO_BACK}`, retryable: false }
    case 'invalid_verification_code':
      return { title: 'The code did not match', detail: `The number typed on the phone was wrong, so the request failed. ${GO_BACK}`, retryable: false }
    case 'push_blocked':
      return {
        title: 'Requests to your phone are paused',
        detail: 'A request was reported as not yours, so no more are sent until support clears it. Use another way below, or contact support.',
        retryable: false,
      }
    case 'challenge_expired':
      return { title: 'The request expired', detail: 'Nobody answered in time.', retryable: true }
    case 'too_many_requests':
      return { title: 'Too many attempts', detail: 'Wait a minute, then try again.', retryable: true }
    case 'network_error':
      return { title: 'You seem to be offline', detail: 'We could not reach the server. Check your connection and try again.', retryable: true }
    case 'service_unavailable':
    case 'internal_error':
    case 'api_error':
      return { title: 'Something went wrong', detail: 'The service did not answer as expected. Try again in a moment.', retryable: true }
    case 'invalid_credential':
    case 'credential_not_found':
      return { title: 'This browser is not set up', detail: 'This browser no longer holds a registered key for you. Use another way, or go back and try again.', retryable: false }
    case 'credential_locked':
      return { title: 'This browser is locked', detail: 'Too many failed attempts. Try again later, or use another way.', retryable: false }
    case 'key_store_error':
      return {
        title: 'This browser could not use its key',
        detail: 'Its storage may be blocked (private browsing, or site data turned off). Use another way, or allow site data.',
        retryable: true,
      }
    case 'user_cancelled':
      return { title: 'Cancelled', detail: 'Nothing was confirmed.', retryable: true }
    case 'forbidden':
      return { title: 'Not allowed', detail: `This request does not allow adding a device. ${GO_BACK}`, retryable: false }
    case 'verification_method_not_allowed':
      return { title: 'Not available', detail: 'This way of confirming is not allowed for this request.', retryable: false }
    case 'origin_not_allowed':
      return { title: 'Not available here', detail: 'This service does not accept requests from this page. Contact support.', retryable: false }
    case 'token_already_issued':
      return { title: 'Already confirmed', detail: `This request was confirmed in another window. ${GO_BACK}`, retryable: false }
    case 'no_return_origin':
      return {
        title: 'Cannot return to the app',
        detail: 'This page cannot tell which site opened it, so it cannot safely hand back the result. Contact support.',
        retryable: false,
      }
    case 'invalid_redirect_url':
      return { title: 'Cannot return to the app', detail: 'The address to return to is not a web address. Contact support.', retryable: false }
    case 'opener_mismatch':
      return {
        title: 'Opened from the wrong site',
        detail: 'This request belongs to another site than the one that opened this page, so its result would not reach it.',
        retryable: false,
      }
    default:
      return { title: 'Something went wrong', detail: `${GO_BACK} (${errorCode})`, retryable: false }
  }
}
