import {
  assertCanConfirmUser,
  confirmUserOrThrow,
  KeyStoreError,
  type ConfirmUser,
  type CreateKeyOptions,
  type KeyStore,
  type SignOptions,
} from './key-store.ts'

/** Web Crypto's name for ECDSA over P-256 with SHA-256 (FIPS 186-4). */
export const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const

interface MemoryKey {
  privateKey: CryptoKey
  publicKey: Uint8Array
  userAuthenticationRequired: boolean
}

/**
 * Keeps non-extractable Web Crypto keys in memory: they are gone when the process ends. For
 * tests, and for Node ≥ 20 or any runtime with `crypto.subtle` where a key need not outlive
 * the process. Signatures are P1363.
 *
 * @example
 * const client = new CountersignClient({ tenantId, baseUrl, keyStore: new MemoryKeyStore() })
 */
export class MemoryKeyStore implements KeyStore {
  readonly signatureFormat = 'p1363'
  private readonly keys = new Map<string, MemoryKey>()
  private readonly confirmUser: ConfirmUser | undefined

  constructor(options: { confirmUser?: ConfirmUser } = {}) {
    this.confirmUser = options.confirmUser
  }

  async create(namespace: string, options: CreateKeyOptions): Promise<{ publicKey: Uint8Array }> {
    assertCanConfirmUser(this.confirmUser, options)
    const pair = await globalThis.crypto.subtle.generateKey(ECDSA_P256, false, ['sign', 'verify'])
    const publicKey = new Uint8Array(await globalThis.crypto.subtle.exportKey('spki', pair.publicKey))
    this.keys.set(namespace, {
      privateKey: pair.privateKey,
      publicKey,
      userAuthenticationRequired: options.userAuthenticationRequired,
    })
    return { publicKey: publicKey.slice() }
  }

  async getPublicKey(namespace: string): Promise<Uint8Array | undefined> {
    return this.keys.get(namespace)?.publicKey.slice()
  }

  async sign(namespace: string, message: Uint8Array, options?: SignOptions): Promise<Uint8Array> {
    const key = this.keys.get(namespace)
    if (!key) throw new KeyStoreError('key_not_found', `No key in namespace ${namespace}`)
    if (key.userAuthenticationRequired) await confirmUserOrThrow(this.confirmUser, namespace, options?.reason ?? 'verify')
    return new Uint8Array(await globalThis.crypto.subtle.sign(ECDSA_SHA256, key.privateKey, new Uint8Array(message)))
  }

  async delete(namespace: string): Promise<void> {
    this.keys.delete(namespace)
  }
}
