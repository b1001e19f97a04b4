// The device key of one namespace (PROTOCOL.md §3, "Key and signature formats"): read it
// from the key store, check its shape, and sign with it in the encodings the wire carries.
// Every failure becomes a Result, never a throw.
import { base64 } from '@scure/base'
import { derToP1363, isP256Spki, p1363ToDer } from './der.ts'
import type { KeyStore, SignatureFormat, SignReason } from './key-store.ts'
import { clientFailure, success, type Failure, type Result } from './result.ts'

/**
 * The Client API path segment of a credential, and the key-store namespace of its key. Each
 * has its own key, as the official mobile SDKs keep them; `device` is the legacy namespace
 * whose one credential answers in-app, push and QR challenges alike.
 */
export type CredentialNamespace = 'in-app' | 'push' | 'qr-code' | 'device'

/** An enrolled key: its SPKI bytes and the standard-base64 string the wire carries. */
export interface LocalKey {
  spki: Uint8Array
  publicKey: string
}

/** A signature as a v2 decision sends it: base64 in the key store's own format. */
export interface EncodedSignature {
  signature: string
  format: SignatureFormat
}

/** The key-store operations of one namespace, with the SDK's checks around them. */
export class NamespaceKey {
  constructor(
    readonly keyStore: KeyStore,
    readonly namespace: CredentialNamespace,
  ) {}

  /** The public key, or undefined when the namespace has none; a malformed one is a failure. */
  async find(): Promise<Result<LocalKey | undefined>> {
    const found = await keyStoreCall(() => this.keyStore.getPublicKey(this.namespace))
    if (found.error !== undefined) return found
    if (!found.data) return success(undefined)
    if (!isP256Spki(found.data)) return malformedPublicKey()
    return success({ spki: found.data, publicKey: base64.encode(found.data) })
  }

  /** The public key; `credential_not_found` when the device has none. */
  async require(): Promise<Result<LocalKey>> {
    const found = await this.find()
    if (found.error !== undefined) return found
    return found.data ? success(found.data) : clientFailure('credential_not_found')
  }

  /** Signs the UTF-8 bytes of `message` and encodes the signature for the wire: base64 of DER. */
  async signDer(message: string, reason: SignReason): Promise<Result<string>> {
    const signed = await this.signNative(message, reason)
    if (signed.error !== undefined) return signed
    if (signed.data.format === 'der') return success(signed.data.signature)
    return success(base64.encode(p1363ToDer(base64.decode(signed.data.signature))))
  }

  /**
   * Signs the UTF-8 bytes of `message` and returns the signature in the store's own format
   * (checked: strict DER, or exactly 64 bytes of P1363). v2 decisions carry it as is, with
   * `signatureFormat` saying which.
   */
  async signNative(message: string, reason: SignReason): Promise<Result<EncodedSignature>> {
    const { keyStore } = this
    const raw = await keyStoreCall(() => keyStore.sign(this.namespace, new TextEncoder().encode(message), { reason }))
    if (raw.error !== undefined) return raw
    try {
      if (keyStore.signatureFormat === 'p1363') {
        if (raw.data.length !== 64) throw new RangeError('A P-256 P1363 signature is 64 bytes')
      } else {
        // Parse strictly before sending, so a store bug shows up here and not as invalid_signature.
        derToP1363(raw.data)
      }
      return success({ signature: base64.encode(raw.data), format: keyStore.signatureFormat })
    } catch (cause) {
      return clientFailure('key_store_error', {
        cause,
        error: `The key store returned a malformed ${keyStore.signatureFormat} signature`,
      })
    }
  }
}

/** Runs a key-store operation, turning a throw into `user_cancelled` or `key_store_error`. */
export async function keyStoreCall<T>(operation: () => Promise<T>): Promise<Result<T>> {
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

export function malformedPublicKey(): Failure {
  return clientFailure('key_store_error', {
    error: 'The key store returned a public key that is not an uncompressed P-256 SubjectPublicKeyInfo',
  })
}
