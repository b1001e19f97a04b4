// Enroll, look up and remove a device credential in any namespace (PROTOCOL.md §3):
// `POST|GET /client/user-authenticators/{ns}` and `…/{ns}/remove`. The namespace clients
// (in-app, push, QR code, legacy device) share these, each with its own key.
import type { CredentialResponse } from '@countersign/protocol'
import { base64, base64urlnopad } from '@scure/base'
import { keyStoreCall, malformedPublicKey, NamespaceKey, type CredentialNamespace } from './device-key.ts'
import { isP256Spki } from './der.ts'
import type { KeyStore } from './key-store.ts'
import { clientFailure, success, type Failure, type Result } from './result.ts'
import { hasStrings, isRecord, type Transport } from './transport.ts'

/** A device credential as the server describes it. */
export type Credential = CredentialResponse

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

/** What a namespace client needs from CountersignClient: HTTP, keys, the current token and a clock. */
export interface ClientContext {
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
const isRemoved = (body: unknown): body is { removedAuthenticatorId?: string } => isRecord(body)

/**
 * Registers the namespace's key for the token's user, creating the key only when there is
 * none (as the official mobile SDKs do). A key this call created is deleted again if the
 * server refuses it. `extraBody` carries namespace fields such as `pushToken`.
 */
export async function addCredential(
  context: ClientContext,
  key: NamespaceKey,
  options: AddCredentialOptions,
  extraBody: Record<string, unknown> = {},
): Promise<Result<Credential>> {
  const { keyStore, namespace } = key
  const token = options.token ?? (await context.getToken())
  if (!token) return clientFailure('token_not_set')

  const existing = await keyStoreCall(() => keyStore.getPublicKey(namespace))
  if (existing.error !== undefined) return existing
  let spki = existing.data
  let created = false
  if (!spki) {
    const userAuthenticationRequired = options.userAuthenticationRequired ?? false
    const createdKey = await keyStoreCall(() => keyStore.create(namespace, { userAuthenticationRequired }))
    if (createdKey.error !== undefined) return createdKey
    spki = createdKey.data.publicKey
    created = true
  }
  if (!isP256Spki(spki)) {
    if (created) await keyStoreCall(() => keyStore.delete(namespace))
    return malformedPublicKey()
  }

  const result = await context.transport.request({
    method: 'POST',
    path: `/client/user-authenticators/${namespace}`,
    auth: { kind: 'bearer', token },
    body: {
      publicKey: base64.encode(spki),
      deviceName: options.deviceName,
      devicePlatform: options.devicePlatform,
      // Only a key created now is known to have this policy; a reused key keeps its own.
      userAuthenticationRequired: created ? (options.userAuthenticationRequired ?? false) : undefined,
      ...extraBody,
    },
    accept: isCredential,
  })
  // The server refused (an HTTP error status): drop the key we made so the device holds no
  // unregistered key. After a network error or a garbled 2xx the outcome is unknown (the key
  // may be registered), so it is kept and a retry reuses it.
  if (result.error !== undefined && created && result.status !== undefined && result.status >= 400) {
    await keyStoreCall(() => keyStore.delete(namespace))
  }
  return result
}

/** The server's record of the namespace's credential; undefined when there is no key or the server does not know it. */
export async function getCredential(context: ClientContext, key: NamespaceKey): Promise<Result<Credential | undefined>> {
  const local = await key.find()
  if (local.error !== undefined) return local
  if (!local.data) return success(undefined)

  const result = await context.transport.request({
    method: 'GET',
    path: `/client/user-authenticators/${key.namespace}?publicKey=${encodePublicKeyQuery(local.data.publicKey)}`,
    auth: { kind: 'tenant' },
    accept: isCredential,
  })
  if (result.error !== undefined && isServerNotFound(result)) return success(undefined)
  return result
}

/**
 * Removes the namespace's credential on the server, then deletes the local key. `data` is
 * false when the device had no key. If the server already forgot the credential the key is
 * deleted all the same; on any other failure it is kept so the call can be retried.
 */
export async function removeCredential(context: ClientContext, key: NamespaceKey): Promise<Result<boolean>> {
  const local = await key.find()
  if (local.error !== undefined) return local
  if (!local.data) return success(false)

  const signature = await key.signDer(removeCredentialMessage(context.now()), 'remove_credential')
  if (signature.error !== undefined) return signature

  const result = await context.transport.request({
    method: 'POST',
    path: `/client/user-authenticators/${key.namespace}/remove`,
    auth: { kind: 'tenant' },
    body: { publicKey: local.data.publicKey, signature: signature.data },
    accept: isRemoved,
  })
  if (result.error !== undefined && !isServerNotFound(result) && result.errorCode !== 'invalid_credential') return result

  const deleted = await keyStoreCall(() => key.keyStore.delete(key.namespace))
  if (deleted.error !== undefined) return deleted
  return success(true)
}

/** A 404 in Countersign's own error format (not a wrong baseUrl, which gives `api_error`). */
export function isServerNotFound(result: Failure): boolean {
  return result.status === 404 && result.errorCode !== 'api_error'
}

/**
 * A namespace's credential on this device (`in-app`, `push`, `qr-code`, or the legacy
 * `device`): one key in the key store, enrolled, looked up and removed alike. Each namespace's
 * client extends it with its own calls.
 */
export class CredentialClient {
  protected readonly key: NamespaceKey

  constructor(
    protected readonly context: ClientContext,
    namespace: CredentialNamespace,
  ) {
    this.key = new NamespaceKey(context.keyStore, namespace)
  }

  /**
   * Enrolls this device: registers the namespace's public key for the user the token belongs to.
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
  addCredential(options: AddCredentialOptions = {}): Promise<Result<Credential>> {
    return addCredential(this.context, this.key, options)
  }

  /**
   * The server's record of this device's credential; `data` is undefined when the device
   * has no key or the server does not know it.
   *
   * @example
   * const { data: credential } = await client.inapp.getCredential()
   * if (!credential) showEnrollButton()
   */
  getCredential(): Promise<Result<Credential | undefined>> {
    return getCredential(this.context, this.key)
  }

  /**
   * Removes this device's credential from the server, then deletes the local key. `data` is
   * true when a credential was removed, false when the device had no key. If the server
   * already forgot the credential the local key is deleted all the same. On any other
   * failure the key is kept, so the call can be retried.
   *
   * @example
   * await client.inapp.removeCredential()   // e.g. on logout from a shared device
   */
  removeCredential(): Promise<Result<boolean>> {
    return removeCredential(this.context, this.key)
  }
}
