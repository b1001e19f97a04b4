// `GET /v1/client/hosted-challenge` (Bearer, the track token): what this page needs to know
// about the token's action. The client SDK has no call for it, since only this page uses it.
import type { Result } from '@countersign/client'
import type { HostedChallengeResponse } from '@countersign/protocol'

export type HostedChallenge = HostedChallengeResponse

/**
 * Fetches the action the token is for. Failures carry the server's `errorCode` (e.g.
 * `expired_token`, `invalid_token`) and status, or `network_error` / `api_error`, as the
 * client SDK reports them.
 *
 * @example const info = await fetchHostedChallenge(token); if (info.data) render(info.data)
 */
export async function fetchHostedChallenge(token: string, signal?: AbortSignal): Promise<Result<HostedChallenge>> {
  let response: Response
  let body: unknown
  try {
    response = await fetch('/v1/client/hosted-challenge', {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
      signal,
    })
    body = await response.json().catch(() => undefined)
  } catch (cause) {
    return { error: 'The server could not be reached', errorCode: 'network_error', cause }
  }
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined
  // As the browser SDK reads Client API answers: a body with an `error` key is an error.
  if (!response.ok || !record || 'error' in record) {
    const errorCode = typeof record?.errorCode === 'string' ? record.errorCode : typeof record?.error === 'string' ? record.error : 'api_error'
    const description = typeof record?.errorDescription === 'string' ? record.errorDescription : `HTTP ${response.status}`
    return { error: description, errorCode, status: response.status }
  }
  if (!isHostedChallenge(record)) return { error: 'The server’s answer is not a hosted challenge', errorCode: 'api_error', status: response.status }
  return { data: record }
}

function isHostedChallenge(body: Record<string, unknown>): body is HostedChallenge {
  const credentials = body.credentials as Record<string, unknown> | undefined
  return (
    typeof body.userId === 'string' &&
    typeof body.actionCode === 'string' &&
    typeof body.state === 'string' &&
    Array.isArray(body.verificationMethods) &&
    typeof credentials === 'object' &&
    credentials !== null &&
    typeof credentials.inApp === 'boolean' &&
    typeof credentials.push === 'boolean' &&
    typeof body.canEnroll === 'boolean' &&
    typeof body.expiresAt === 'string' &&
    (body.redirectUrl === undefined || typeof body.redirectUrl === 'string')
  )
}
