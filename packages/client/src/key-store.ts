// The platform service that holds device keys (STYLE.md §8). The SDK core never touches a
// private key: it asks a KeyStore to create, look up, use and delete one, so a React Native app
// can keep keys in the Secure Enclave or Android Keystore and a browser in IndexedDB.

/** How a KeyStore returns signatures. */
export type SignatureFormat = 'der' | 'p1363'

/**
 * Why a signature is being made; a store may show it in a biometric prompt.
 *
 * - `verify`: answer an in-app challenge.
 * - `remove_credential`: remove this device's credential.
 * - `get_challenge`: prove the key before fetching the pending push challenge.
 * - `claim_challenge`: claim a scanned QR code (the user has not decided yet).
 * - `approve_challenge` / `deny_challenge`: sign the user's decision on a push or QR request.
 * - `update_credential`: update the push token or reset the credential's expiry.
 */
export type SignReason =
  | 'verify'
  | 'remove_credential'
  | 'get_challenge'
  | 'claim_challenge'
  | 'approve_challenge'
  | 'deny_challenge'
  | 'update_credential'

export interface CreateKeyOptions {
  /**
   * Demand the user's biometric or passcode before every signature with this key. A store
   * that cannot honour it must throw rather than create a weaker key.
   */
  userAuthenticationRequired: boolean
}

export interface SignOptions {
  reason: SignReason
}

/**
 * Where device keys live. Implement it over the platform's key store; every key is ECDSA P-256
 * and is addressed by a namespace (`'in-app'` for in-app verification).
 *
 * Contract:
 * - `create` makes a new key pair for `namespace`, replacing any key already there, and returns
 *   its public key as an X.509 SubjectPublicKeyInfo (DER, uncompressed point: 91 bytes).
 * - `getPublicKey` returns that SPKI, or `undefined` when the namespace has no key.
 * - `sign` signs `message` (the raw bytes, not a hash) with ECDSA-SHA256 and returns the
 *   signature in the store's declared {@link KeyStore.signatureFormat}. When the key demands
 *   user authentication, `sign` prompts first and throws a {@link KeyStoreError} with code
 *   `'user_cancelled'` if the user declines.
 * - `delete` removes the key; deleting a missing key is not an error.
 * - Failures are thrown. The SDK turns them into results with errorCode `'user_cancelled'`
 *   (an error whose `code` is `'user_cancelled'`) or `'key_store_error'` (anything else).
 *
 * @example
 * const store: KeyStore = new MemoryKeyStore()
 * const { publicKey } = await store.create('in-app', { userAuthenticationRequired: false })
 */
export interface KeyStore {
  /**
   * `'der'` (what Secure Enclave, Android Keystore and node:crypto produce) or `'p1363'`
   * (r‖s, 64 bytes: what Web Crypto produces). The SDK converts P1363 to DER for the wire.
   */
  readonly signatureFormat: SignatureFormat
  create(namespace: string, options: CreateKeyOptions): Promise<{ publicKey: Uint8Array }>
  getPublicKey(namespace: string): Promise<Uint8Array | undefined>
  sign(namespace: string, message: Uint8Array, options?: SignOptions): Promise<Uint8Array>
  delete(namespace: string): Promise<void>
}

export type KeyStoreErrorCode = 'user_cancelled' | 'key_not_found' | 'key_store_error'

/** What a KeyStore throws. Check it with {@link isKeyStoreError}, which works across realms. */
export class KeyStoreError extends Error {
  override readonly name = 'KeyStoreError'
  constructor(
    readonly code: KeyStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** True for a KeyStoreError, also one from another copy of this package (no `instanceof`). */
export function isKeyStoreError(value: unknown): value is KeyStoreError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'KeyStoreError' &&
    typeof (value as { code?: unknown }).code === 'string'
  )
}

/**
 * The app's own check that the user is present, for stores whose platform cannot enforce it
 * (Web Crypto, a file): re-enter a PIN, a WebAuthn user-verification ceremony, a CLI prompt.
 * Resolve `true` to allow the signature; `false` or a rejection cancels it.
 */
export type ConfirmUser = (request: { namespace: string; reason: SignReason }) => Promise<boolean>

/** Runs `confirmUser` before a signature with a key that demands user authentication. */
export async function confirmUserOrThrow(
  confirmUser: ConfirmUser | undefined,
  namespace: string,
  reason: SignReason,
): Promise<void> {
  if (!confirmUser) {
    // Fail closed: a key created to need the user must never sign without asking.
    throw new KeyStoreError('key_store_error', 'This key requires user authentication but no confirmUser was given')
  }
  let confirmed: boolean
  try {
    confirmed = await confirmUser({ namespace, reason })
  } catch (cause) {
    throw new KeyStoreError('user_cancelled', 'The user did not confirm the signature', { cause })
  }
  if (confirmed !== true) throw new KeyStoreError('user_cancelled', 'The user did not confirm the signature')
}

/** Throws before creating a key that would require user authentication nobody can give. */
export function assertCanConfirmUser(confirmUser: ConfirmUser | undefined, options: CreateKeyOptions): void {
  if (options.userAuthenticationRequired && !confirmUser) {
    throw new KeyStoreError(
      'key_store_error',
      'userAuthenticationRequired needs a confirmUser callback on this key store',
    )
  }
}
