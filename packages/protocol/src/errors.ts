/**
 * The one registry of error codes Countersign puts on the wire. A code is never reused or
 * renamed: SDKs and tenant backends branch on it. Each entry carries the HTTP status it is
 * sent with and a public description that is safe to show (it never names a secret).
 *
 * @example
 * if (body.errorCode === 'challenge_consumed') retryWithNewChallenge()
 */
export const errorCodes = {
  invalid_request: { status: 400, description: 'The request is malformed or a field is invalid.' },
  invalid_public_key: { status: 400, description: 'The public key is not a P-256 SubjectPublicKeyInfo.' },
  invalid_challenge: { status: 400, description: 'The challenge ID is not one this tenant issued.' },
  unauthorized: { status: 401, description: 'The credentials are missing, wrong or revoked.' },
  invalid_token: { status: 401, description: 'The token is not valid for this request.' },
  expired_token: { status: 401, description: 'The token has expired.' },
  invalid_signature: { status: 401, description: 'The signature does not verify.' },
  invalid_credential: { status: 401, description: 'The credential is unknown or not usable.' },
  credential_locked: { status: 423, description: 'The credential is locked after repeated failed signatures.' },
  forbidden: { status: 403, description: 'The token does not grant this operation.' },
  not_found: { status: 404, description: 'The resource does not exist.' },
  conflict: { status: 409, description: 'The request conflicts with the current state.' },
  invalid_action_state: { status: 409, description: 'The action is not in a state that allows this.' },
  challenge_expired: { status: 410, description: 'The challenge has expired.' },
  challenge_consumed: { status: 409, description: 'The challenge has already been used.' },
  challenge_not_claimed: { status: 409, description: 'The QR challenge must be claimed by this device before it is answered.' },
  push_blocked: { status: 403, description: 'The user reported a push request as not theirs; an operator must clear the block.' },
  signed_decision_required: { status: 400, description: 'This action accepts only v2 signed decisions.' },
  invalid_verification_code: { status: 400, description: 'The verification code does not match; the challenge has failed.' },
  verification_rejected: { status: 409, description: 'The tenant’s verification webhook refused the approval; the challenge has failed.' },
  payload_too_large: { status: 413, description: 'The request body is too large.' },
  invalid_rule_condition: { status: 400, description: 'The rule condition is not valid CEL over the rule context; see the error and its position.' },
  verification_method_not_allowed: { status: 403, description: 'The action’s configuration does not allow this verification method.' },
  origin_not_allowed: { status: 403, description: 'The tenant does not allow Client API calls from this origin.' },
  csrf_check_failed: { status: 403, description: 'A console session request must come from the console: same origin, with the X-Countersign-Console header.' },
  headers_too_large: { status: 431, description: 'The request headers are too large.' },
  unsupported_media_type: { status: 415, description: 'Send the body as application/json.' },
  too_many_requests: { status: 429, description: 'Too many requests; retry later.' },
  internal_error: { status: 500, description: 'Something went wrong; quote the request ID to the operator.' },
  service_unavailable: { status: 503, description: 'The service is temporarily unavailable; retry later.' },
} as const satisfies Record<string, { status: number; description: string }>

export type ErrorCode = keyof typeof errorCodes

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCodes, value)
}
