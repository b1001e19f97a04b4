// In-app verification from the device (ARCHITECTURE.md "The two flows", PROTOCOL.md §3):
// enroll a device key, look it up, remove it, and answer a challenge with it.
import type { VerifyInAppResponse } from '@countersign/protocol'
import { CredentialClient, type ClientContext } from './credentials.ts'
import type { NamespaceKey } from './device-key.ts'
import type { Result } from './result.ts'
import { hasStrings, type Auth } from './transport.ts'

export {
  encodePublicKeyQuery,
  removeCredentialMessage,
  type AddCredentialOptions,
  type Credential,
} from './credentials.ts'

/** The key-store namespace and Client API path segment of in-app credentials. */
export const IN_APP_NAMESPACE = 'in-app'

/** What a completed in-app challenge returns: a new token for the backend to validate. */
export type VerifyResult = VerifyInAppResponse

export interface VerifyOptions {
  /** The action code to verify, e.g. `authorizePayment`. */
  action?: string
}

/** What the in-app API needs from its client: HTTP, keys, the current token and a clock. */
export type InAppContext = ClientContext

const isChallenge = (body: unknown): body is { challengeId: string } => hasStrings(body, 'challengeId')
const isVerifyResult = (body: unknown): body is VerifyResult => hasStrings(body, 'token', 'userId', 'userAuthenticatorId')

/**
 * In-app verification with a device-bound P-256 key. Every method resolves to a
 * {@link Result}; none throws for API, network or key-store failures.
 */
export class InAppClient extends CredentialClient {
  constructor(context: InAppContext) {
    super(context, IN_APP_NAMESPACE)
  }

  /**
   * Answers an in-app challenge: fetches a challenge, signs it with the device key (the
   * platform may ask the user first) and returns the new token, which also becomes the
   * client's current token. Without `action`, it completes the action of the current token
   * (Bearer auth). With `action`, it uses tenant auth and the signature alone identifies the
   * user: the server records a new action of that code, whatever token is set (the rule the
   * iOS SDK follows, so a token left from an earlier verify never leaks into another action).
   *
   * @example
   * client.setToken(tokenFromTrack)
   * const result = await client.inapp.verify()
   * if (result.data) await api.post('/payments/confirm', { token: result.data.token })
   */
  verify(options: VerifyOptions = {}): Promise<Result<VerifyResult>> {
    return verifyWithKey(this.context, this.key, '/client/verify/in-app', options)
  }
}

/**
 * The in-app challenge round trip, for the `in-app` namespace (`/client/verify/in-app`) and the
 * legacy `device` one (`/client/verify/device`): get a challenge, sign its ID, trade the
 * signature for a token.
 */
export async function verifyWithKey(
  context: ClientContext,
  key: NamespaceKey,
  verifyPath: string,
  options: VerifyOptions,
): Promise<Result<VerifyResult>> {
  const { transport } = context
  const local = await key.require()
  if (local.error !== undefined) return local

  const token = await context.getToken()
  const auth: Auth = token && options.action === undefined ? { kind: 'bearer', token } : { kind: 'tenant' }
  const challenge = await transport.request({
    method: 'POST',
    path: '/client/challenge',
    auth,
    body: { action: options.action },
    accept: isChallenge,
  })
  if (challenge.error !== undefined) return challenge

  const { challengeId } = challenge.data
  const signature = await key.signDer(challengeId, 'verify')
  if (signature.error !== undefined) return signature

  const result = await transport.request({
    method: 'POST',
    path: verifyPath,
    auth,
    body: { challengeId, publicKey: local.data.publicKey, signature: signature.data },
    accept: isVerifyResult,
  })
  if (result.data) context.setToken(result.data.token)
  return result
}
