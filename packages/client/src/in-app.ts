// In-app verification from the device (ARCHITECTURE.md "The two flows", PROTOCOL.md §3):
// enroll a device key, look it up, remove it, and answer a challenge with it.
import type { CredentialResponse, VerifyInAppResponse } from '@countersign/protocol'
import { base64, base64urlnopad } from '@scure/base'
import { derToP1363, isP256Spki, p1363ToDer } from './der.ts'
import type { KeyStore, SignReason } from './key-store.ts'
import { clientFailure, success, type Failure, type Result } from './result.ts'
import { hasStrings, type Auth, type Transport } from './transport.ts'

/** The key-store namespace and Client API path segment of in-app credentials. */
export const IN_APP_NAMESPACE = 'in-app'

/** A device credential as the server describes it. */
export type Credential = CredentialResponse

/** What a completed in-app challenge returns: a new token for the backend to validate. */
export type VerifyResult = VerifyInAppResponse

export interface AddCredentialOptions {
  /** A token from the backend's track(); defaults to the one given to setToken. */
  token?: string
  /**
   * Create the key so that every signature needs the user's biometric or passcode. Applies
   * when this call creates the key; an existing key keeps the policy it was created with.
   */
  userAuthenticationRequired?: boolean
  /** Shown to the user and operator in authenticator lists, e.g. "Ana's iPhone". */
  deviceName?: string
  /** `ios`, `android`, `web`, … */
  devicePlatform?: string
}

export interface VerifyOptions {
  /** The action code to verify, e.g. `authorizePayment`. */
  action?: string
}

/** What the in-app API needs from its client: HTTP, keys, the current token and a clock. */
export interface InAppContext {
  transport: Transport
  keyStore: KeyStore
  getToken(): Promise<string | undefined>
  setToken(token: string): void
  now(): number
}

/** The time-bucket message that removes a credential: `${floor(unix / 600)}.0` (PROTOCOL.md §3). */
export function removeCredentialMessage(nowMs: number): string {
  // Mirrors removeCredentialMessage in @countersign/protocol (a test holds them equal); the
  // SDK imports no runtime code from there so that no schema library ships to phones.
  return `${Math.floor(nowMs / 1000 / 600)}.0`
}

/**
 * The `publicKey` query parameter as the iOS SDK sends it: the standard-base64 SPKI string,
 * base64url-encoded (no padding) once more.
 */
export function encodePublicKeyQuery(publicKey: string): string {
  return encodeURIComponent(base64urlnopad.encode(new TextEncoder().encode(publicKey)))
}

const isCredential = (body: unknown): body is Credential => hasStrings(body, 'userAuthenticatorId', 'userId')
const isChallenge = (body: unknown): body is { challengeId: string } => hasStrings(body, 'challengeId')
const isVerifyResult = (body: unknown): body is VerifyResult =>
  hasStrings(body, 'token', 'userId', 'userAuthenticatorId')
const isRemoved = (body: unknown): body is { removedAuthenticatorId?: string } =>
  typeof body === 'object' && body !== null

/**
 * In-app verification with a device-bound P-256 key. Every method resolves to a
 * {@link Result}; none throws for API, network or key-store failures.
 */
export class InAppClient {
  constructor(private readonly context: InAppContext) {}

  /**
   * Enrolls this device: registers its in-app public key for the user the token belongs to.
   *
   * Reuses the key already on the device for this namespace (as the official mobile SDKs do),
   * and creates one only when there is none. A key this call created is deleted again if the
   * server refuses it, so a failed enrollment leaves the device as it was. To enroll again
   * with a different `userAuthenticationRequired`, call removeCredential first.
   *
   * @example
   * const result = await client.inapp.addCredential({ token, userAuthenticationRequired: true })
   * if (result.error !== undefined) console.warn(result.errorCode)
   */
  async addCredential(options: AddCredentialOptions = {}): Promise<Result<Credential>> {
    const { keyStore, transport } = this.context
    const token = options.token ?? (await this.context.getToken())
    if (!token) return clientFailure('token_not_set')

    const existing = await keyStoreCall(() => keyStore.getPublicKey(IN_APP_NAMESPACE))
    if (existing.error !== undefined) return existing
    let spki = existing.data
    let created = false
    if (!spki) {
      const userAuthenticationRequired = options.userAuthenticationRequired ?? false
      const createdKey = await keyStoreCall(() => keyStore.create(IN_APP_NAMESPACE, { userAuthenticationRequired }))
      if (createdKey.error !== undefined) return createdKey
      spki = createdKey.data.publicKey
      created = true
    }
    if (!isP256Spki(spki)) {
      if (created) await keyStoreCall(() => keyStore.delete(IN_APP_NAMESPACE))
      return malformedPublicKey()
    }

    const result = await transport.request({
      method: 'POST',
      path: `/client/user-authenticators/${IN_APP_NAMESPACE}`,
      auth: { kind: 'bearer', token },
      body: {
        publicKey: base64.encode(spki),
        deviceName: options.deviceName,
        devicePlatform: options.devicePlatform,
        // Only a key created now is known to have this policy; a reused key keeps its own.
        userAuthenticationRequired: created ? (options.userAuthenticationRequired ?? false) : undefined,
      },
      accept: isCredential,
    })
    // The server refused (an HTTP error status): drop the key we made so the device holds no
    // unregistered key. After a network error or a garbled 2xx the outcome is unknown (the key
    // may be registered), so it is kept and a retry reuses it.
    if (result.error !== undefined && created && result.status !== undefined && result.status >= 400) {
      await keyStoreCall(() => keyStore.delete(IN_APP_NAMESPACE))
    }
    return result
  }

  /**
   * The server's record of this device's in-app credential; `data` is undefined when the device
   * has no key or the server does not know it.
   *
   * @example
   * const { data: credential } = await client.inapp.getCredential()
   * if (!credential) showEnrollButton()
   */
  async getCredential(): Promise<Result<Credential | undefined>> {
    const local = await keyStoreCall(() => this.context.keyStore.getPublicKey(IN_APP_NAMESPACE))
    if (local.error !== undefined) return local
    if (!local.data) return success(undefined)
    if (!isP256Spki(local.data)) return malformedPublicKey()

    const result = await this.context.transport.request({
      method: 'GET',
      path: `/client/user-authenticators/${IN_APP_NAMESPACE}?publicKey=${encodePublicKeyQuery(base64.encode(local.data))}`,
      auth: { kind: 'tenant' },
      accept: isCredential,
    })
    if (result.error !== undefined && isServerNotFound(result)) return success(undefined)
    return result
  }

  /**
   * Removes this device's in-app credential from the server, then deletes the local key.
   * `data` is true when a credential was removed, false when the device had no key. If the
   * server already forgot the credential the local key is deleted all the same. On any other
   * failure the key is kept, so the call can be retried.
   *
   * @example
   * await client.inapp.removeCredential()   // e.g. on logout from a shared device
   */
  async removeCredential(): Promise<Result<boolean>> {
    const { keyStore, transport } = this.context
    const local = await keyStoreCall(() => keyStore.getPublicKey(IN_APP_NAMESPACE))
    if (local.error !== undefined) return local
    if (!local.data) return success(false)
    if (!isP256Spki(local.data)) return malformedPublicKey()

    const message = removeCredentialMessage(this.context.now())
    const signature = await this.sign(new TextEncoder().encode(message), 'remove_credential')
    if (signature.error !== undefined) return signature

    const result = await transport.request({
      method: 'POST',
      path: `/client/user-authenticators/${IN_APP_NAMESPACE}/remove`,
      auth: { kind: 'tenant' },
      body: { publicKey: base64.encode(local.data), signature: signature.data },
      accept: isRemoved,
    })
    if (result.error !== undefined && !isServerNotFound(result) && result.errorCode !== 'invalid_credential') return result

    const deleted = await keyStoreCall(() => keyStore.delete(IN_APP_NAMESPACE))
    if (deleted.error !== undefined) return deleted
    return success(true)
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
  async verify(options: VerifyOptions = {}): Promise<Result<VerifyResult>> {
    const { keyStore, transport } = this.context
    const local = await keyStoreCall(() => keyStore.getPublicKey(IN_APP_NAMESPACE))
    if (local.error !== undefined) return local
    if (!local.data) return clientFailure('credential_not_found')
    if (!isP256Spki(local.data)) return malformedPublicKey()

    const token = await this.context.getToken()
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
    const signature = await this.sign(new TextEncoder().encode(challengeId), 'verify')
    if (signature.error !== undefined) return signature

    const result = await transport.request({
      method: 'POST',
      path: '/client/verify/in-app',
      auth,
      body: { challengeId, publicKey: base64.encode(local.data), signature: signature.data },
      accept: isVerifyResult,
    })
    if (result.data) this.context.setToken(result.data.token)
    return result
  }

  /** Signs with the in-app key and encodes the signature for the wire: base64 of DER. */
  private async sign(message: Uint8Array, reason: SignReason): Promise<Result<string>> {
    const { keyStore } = this.context
    const raw = await keyStoreCall(() => keyStore.sign(IN_APP_NAMESPACE, message, { reason }))
    if (raw.error !== undefined) return raw
    try {
      let der: Uint8Array
      if (keyStore.signatureFormat === 'p1363') {
        if (raw.data.length !== 64) throw new RangeError('A P-256 P1363 signature is 64 bytes')
        der = p1363ToDer(raw.data)
      } else {
        // Parse strictly before sending, so a store bug shows up here and not as invalid_signature.
        derToP1363(raw.data)
        der = raw.data
      }
      return success(base64.encode(der))
    } catch (cause) {
      return clientFailure('key_store_error', {
        cause,
        error: `The key store returned a malformed ${keyStore.signatureFormat} signature`,
      })
    }
  }
}

/** Runs a key-store operation, turning a throw into `user_cancelled` or `key_store_error`. */
async function keyStoreCall<T>(operation: () => Promise<T>): Promise<Result<T>> {
  try {
    return success(await operation())
  } catch (cause) {
    // Duck-typed: a React Native native module rejects with an Error carrying `code`.
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined
    const message = cause instanceof Error && cause.message ? cause.message : undefined
    if (code === 'user_cancelled') return clientFailure('user_cancelled', { cause, error: message })
    if (code === 'key_not_found') return clientFailure('credential_not_found', { cause })
    return clientFailure('key_store_error', { cause, error: message && `Key store: ${message}` })
  }
}

function malformedPublicKey(): Failure {
  return clientFailure('key_store_error', {
    error: 'The key store returned a public key that is not an uncompressed P-256 SubjectPublicKeyInfo',
  })
}

/** A 404 in Countersign's own error format (not a wrong baseUrl, which gives `api_error`). */
function isServerNotFound(result: Failure): boolean {
  return result.status === 404 && result.errorCode !== 'api_error'
}
