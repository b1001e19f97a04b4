// @countersign/client: the device SDK core. Runs in browsers, React Native and Node: only
// `fetch`, Web Crypto (in MemoryKeyStore) and injected platform services; no node: imports,
// no Buffer. Platform key stores live in `@countersign/client/browser` and `/node`; the QR
// code renderer in `@countersign/client/qr`.
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
export type { ClientContext } from './credentials.ts'
export type { CredentialNamespace } from './device-key.ts'
export {
  PushClient,
  PUSH_NAMESPACE,
  type AddPushCredentialOptions,
  type ChallengeReference,
  type PushVerification,
  type StartPushOptions,
  type StartedPush,
  type UpdatePushChallengeOptions,
  type UpdatePushCredentialOptions,
  type VerifyPushOptions,
  type WaitForPushOptions,
} from './push.ts'
export {
  QrCodeClient,
  QR_CODE_NAMESPACE,
  type QrCodeChallenge,
  type StartQrOptions,
  type UpdateQrChallengeOptions,
} from './qr-code.ts'
export { DeviceClient, DEVICE_NAMESPACE } from './device.ts'
export type {
  ClaimedQrChallenge,
  DecisionDetails,
  DecisionOptions,
  DecisionResult,
  PushChallenge,
} from './out-of-band.ts'
export type { Approval, OnStateChange, OutOfBandState, PollingOptions } from './waiting.ts'
export { signedDecisionMessage, transactionHash, type Decision, type SignedDecisionInput } from './decision.ts'
export { EventStreamParser, serverSentEvents, type ServerSentEvent } from './event-stream.ts'
export { challengeIdFromQrPayload, qrPayload } from './qr-payload.ts'
export { MemoryKeyStore } from './memory-key-store.ts'
export { browserDeviceName } from './user-agent.ts'
export { p1363ToDer, derToP1363, isP256Spki, p256SpkiFromPoint } from './der.ts'
export { clientErrorCodes, type Result, type Success, type Failure, type ClientErrorCode } from './result.ts'
export type { TokenStorage } from './storage.ts'
export { normaliseBaseUrl, tenantBasicAuthorization, type FetchLike } from './transport.ts'
