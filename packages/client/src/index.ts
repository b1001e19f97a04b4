// @countersign/client: the device SDK core. Runs in browsers, React Native and Node: only
// `fetch`, Web Crypto (in MemoryKeyStore) and injected platform services; no node: imports,
// no Buffer. Platform key stores live in `@countersign/client/browser` and `/node`.
export { CountersignClient, type CountersignClientOptions } from './client.ts'
export {
  InAppClient,
  IN_APP_NAMESPACE,
  encodePublicKeyQuery,
  removeCredentialMessage,
  type AddCredentialOptions,
  type Credential,
  type VerifyOptions,
  type VerifyResult,
} from './in-app.ts'
export {
  KeyStoreError,
  isKeyStoreError,
  confirmUserOrThrow,
  assertCanConfirmUser,
  type KeyStore,
  type KeyStoreErrorCode,
  type CreateKeyOptions,
  type SignOptions,
  type SignReason,
  type SignatureFormat,
  type ConfirmUser,
} from './key-store.ts'
export { MemoryKeyStore } from './memory-key-store.ts'
export { p1363ToDer, derToP1363, isP256Spki, p256SpkiFromPoint } from './der.ts'
export { clientErrorCodes, type Result, type Success, type Failure, type ClientErrorCode } from './result.ts'
export type { TokenStorage } from './storage.ts'
export { normaliseBaseUrl, tenantBasicAuthorization, type FetchLike } from './transport.ts'
