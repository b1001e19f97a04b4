// Client API (device side): PROTOCOL.md §3. Keys and signatures arrive exactly as existing
// mobile SDKs produce them: standard base64 of an X.509 SPKI, standard base64 of a DER
// ECDSA-SHA256 signature.
import { z } from 'zod'
import {
  ActionCode,
  ActionState,
  ChallengeMethod,
  CredentialNamespace,
  CustomData,
  IsoDateTime,
  StoredText,
  TransactionDetails,
  VerificationMethod,
} from './common.ts'

/** Base64 of an X.509 SubjectPublicKeyInfo (P-256 SPKI is 91 bytes; room for odd encodings). */
export const PublicKey = z.string().min(1).max(1024).describe('Base64 X.509 SubjectPublicKeyInfo of a P-256 key')
/** Base64 of a DER ECDSA-SHA256 signature (at most 72 bytes for P-256). */
export const Signature = z.string().min(1).max(512).describe('Base64 DER ECDSA-SHA256 signature')
// Stored text: a NUL or lone surrogate would reach the database as a lookup key.
export const ChallengeId = StoredText.min(1).max(512)

export const NamespaceParams = z.object({ namespace: CredentialNamespace })

export const ChallengeRequest = z.object({ action: ActionCode.optional() })
export type ChallengeRequest = z.infer<typeof ChallengeRequest>
export const ChallengeResponse = z.object({ challengeId: z.string() })
export type ChallengeResponse = z.infer<typeof ChallengeResponse>

export const AddCredentialRequest = z.object({
  publicKey: PublicKey,
  deviceName: StoredText.max(255).optional(),
  devicePlatform: StoredText.max(32).optional().describe('ios, android, web, …'),
  pushToken: StoredText.max(4096).optional(),
  performAttestation: z
    .object({ provider: z.string().max(64), token: z.string().max(16384), keyId: z.string().max(255).optional() })
    .optional(),
  userAuthenticationRequired: z
    .boolean()
    .optional()
    .describe('[ext] whether the device key demands biometrics or passcode for every signature'),
})
export type AddCredentialRequest = z.infer<typeof AddCredentialRequest>

export const CredentialResponse = z.object({
  userAuthenticatorId: z.string(),
  userId: z.string(),
  verificationMethod: VerificationMethod,
  createdAt: IsoDateTime,
  verifiedAt: IsoDateTime,
  lastVerifiedAt: IsoDateTime.optional(),
  // An ISO string, as the SDK releases that implement push-credential expiry (Android 4.2,
  // iOS 2.12) decode it; absent unless the tenant gives push credentials a lifetime.
  expiresAt: IsoDateTime.optional().describe('When the credential stops working unless its expiry is reset'),
  deviceName: z.string().optional(),
  devicePlatform: z.string().optional(),
})
export type CredentialResponse = z.infer<typeof CredentialResponse>

export const GetCredentialQuery = z.object({ publicKey: PublicKey.describe('The key, base64-encoded once more') })

export const RemoveCredentialRequest = z.object({
  publicKey: PublicKey,
  signature: Signature.describe('Signature over the current 10-minute time bucket'),
})
export const RemoveCredentialResponse = z.object({ removedAuthenticatorId: z.string() })
export type RemoveCredentialResponse = z.infer<typeof RemoveCredentialResponse>

export const VerifyInAppRequest = z.object({
  challengeId: ChallengeId,
  publicKey: PublicKey,
  signature: Signature.describe('Signature over the UTF-8 bytes of challengeId'),
})
export type VerifyInAppRequest = z.infer<typeof VerifyInAppRequest>

export const VerifyInAppResponse = z.object({
  token: z.string(),
  userId: z.string(),
  userAuthenticatorId: z.string(),
  username: z.string().optional(),
})
export type VerifyInAppResponse = z.infer<typeof VerifyInAppResponse>

// ---- Push and QR code (PROTOCOL.md §3; docs/protocol-decisions.md) ----

/** Namespaces whose credentials can fetch push challenges. */
export const PushNamespaceParams = z.object({ namespace: z.enum(['push', 'device']) })
/** Namespaces whose credentials can claim QR challenges. */
export const QrNamespaceParams = z.object({ namespace: z.enum(['qr-code', 'device']) })
/** Namespaces whose credentials can answer push or QR challenges. */
export const AnswerNamespaceParams = z.object({ namespace: z.enum(['push', 'qr-code', 'device']) })

export const PublicKeyQuery = z.object({ publicKey: PublicKey.describe('The key, base64-encoded once more') })

/** A single-use nonce for the device to sign (pending-challenge fetch). */
export const SigningMessageResponse = z.object({ message: z.string() })
/** A single-use nonce for the device to sign, and the ID to send back with it (credential update). */
export const UpdateSigningMessageResponse = z.object({ challengeId: z.string(), message: z.string() })

/** [ext] What a v2 signed decision needs from the device (PROTOCOL.md §4). */
export const SignatureVersion = z.union([z.literal(1), z.literal(2)])
export const SignatureFormatField = z.enum(['der', 'p1363'])

export const PendingChallengeResponse = z.object({
  // Android requires this key in every answer, also when nothing is pending.
  userAuthenticatorId: z.string(),
  challengeId: z.string().optional(),
  userId: z.string().optional(),
  actionCode: z.string().optional(),
  idempotencyKey: z.string().optional(),
  deviceId: z.string().optional(),
  userAgent: z.string().optional(),
  ipAddress: z.string().optional(),
  custom: z.record(z.string(), z.unknown()).optional(),
  transaction: TransactionDetails.optional().describe('[ext] What the user is approving; covered by a v2 signature'),
  verificationCodeRequired: z.boolean().optional().describe('[ext] The user must enter the code the initiating side shows'),
  signedDecisionRequired: z.boolean().optional().describe('[ext] Only a v2 signed decision is accepted'),
  challengeExpiresAt: IsoDateTime.optional().describe('[ext] When the challenge can no longer be answered'),
})
export type PendingChallengeResponse = z.infer<typeof PendingChallengeResponse>

export const AnswerChallengeRequest = z.object({
  challengeId: ChallengeId,
  publicKey: PublicKey,
  signature: Signature.describe('v1: over the challenge ID; v2: over the signed-decision message'),
  approved: z.boolean(),
  verificationCode: StoredText.max(16).nullable().optional(),
  signatureVersion: SignatureVersion.optional().describe('[ext] 2 for a signed decision (PROTOCOL.md §4)'),
  signatureFormat: SignatureFormatField.optional().describe('[ext] der (default) or p1363 (raw r‖s) for v2'),
  reportFraud: z.boolean().optional().describe('[ext] With a denial: the user did not start this; block push requests'),
})
export type AnswerChallengeRequest = z.infer<typeof AnswerChallengeRequest>

export const AnswerChallengeResponse = z.object({ isVerified: z.boolean() })
export type AnswerChallengeResponse = z.infer<typeof AnswerChallengeResponse>

export const ClaimChallengeRequest = z.object({
  challengeId: ChallengeId,
  publicKey: PublicKey,
  signature: Signature.describe('Signature over the challenge ID'),
})
export type ClaimChallengeRequest = z.infer<typeof ClaimChallengeRequest>

export const ClaimChallengeResponse = z.object({
  success: z.boolean(),
  userId: z.string().optional(),
  ipAddress: z.string().optional(),
  userAgent: z.string().optional(),
  actionCode: z.string().optional(),
  idempotencyKey: z.string().optional(),
  custom: z.record(z.string(), z.unknown()).optional(),
  transaction: TransactionDetails.optional().describe('[ext]'),
  verificationCodeRequired: z.boolean().optional().describe('[ext]'),
  signedDecisionRequired: z.boolean().optional().describe('[ext]'),
  challengeExpiresAt: IsoDateTime.optional().describe('[ext]'),
})
export type ClaimChallengeResponse = z.infer<typeof ClaimChallengeResponse>

export const UpdatePushCredentialRequest = z.object({
  challengeId: ChallengeId.describe('The challengeId from POST …/push/sign'),
  publicKey: PublicKey,
  signature: Signature.describe('Signature over the message from POST …/push/sign'),
  pushToken: StoredText.max(4096).nullable().optional().describe('Omitted: the stored token is kept'),
  resetExpiry: z.boolean().optional(),
})
export type UpdatePushCredentialRequest = z.infer<typeof UpdatePushCredentialRequest>

export const UpdatePushCredentialResponse = z.object({
  userAuthenticatorId: z.string(),
  userId: z.string(),
  lastVerifiedAt: IsoDateTime,
  pushToken: z.string().optional(),
  expiresAt: IsoDateTime.optional(),
})
export type UpdatePushCredentialResponse = z.infer<typeof UpdatePushCredentialResponse>

export const PushChallengeRequest = z.object({
  action: ActionCode.optional().describe('Defaults to the token’s action; must match it'),
  userAuthenticatorId: z.string().max(64).optional().describe('Send to this push device only'),
})
export type PushChallengeRequest = z.infer<typeof PushChallengeRequest>

export const DeliveryResult = z.object({
  userAuthenticatorId: z.string(),
  provider: z.enum(['apns', 'fcm', 'none']),
  status: z.enum(['sent', 'failed', 'skipped']),
  statusCode: z.number().int().optional(),
  error: z.string().optional(),
  invalidToken: z.boolean().optional(),
})
export type DeliveryResult = z.infer<typeof DeliveryResult>

export const PushChallengeResponse = z.object({
  challengeId: z.string(),
  expiresAt: IsoDateTime.optional().describe('[ext]'),
  verificationCode: z.string().optional().describe('[ext] Number matching: show this; the user enters it on the phone'),
  deliveryResults: z.array(DeliveryResult).optional(),
})
export type PushChallengeResponse = z.infer<typeof PushChallengeResponse>

/** [ext] Where a push or QR challenge stands, for pages that want more than the flags. */
export const OutOfBandState = z.enum(['unclaimed', 'claimed', 'approved', 'rejected', 'expired'])
export type OutOfBandState = z.infer<typeof OutOfBandState>

export const VerifyPushRequest = z.object({ challengeId: ChallengeId })
export const VerifyPushResponse = z.object({
  isVerified: z.boolean(),
  isConsumed: z.boolean(),
  accessToken: z.string().optional().describe('Handed out once, on the first poll after approval'),
  state: OutOfBandState.optional().describe('[ext]'),
})
export type VerifyPushResponse = z.infer<typeof VerifyPushResponse>

export const QrChallengeRequest = z.object({
  action: ActionCode.optional().describe('Required without a token; must match the token’s action with one'),
  custom: CustomData.optional().describe('Shown to the phone: put nothing secret here'),
})
export type QrChallengeRequest = z.infer<typeof QrChallengeRequest>

export const QrChallengeResponse = z.object({
  challengeId: z.string(),
  expiresAt: IsoDateTime,
  deviceCode: z.string().describe('The browser’s secret for polling this challenge'),
  verificationCode: z.string().optional().describe('[ext] Number matching'),
})
export type QrChallengeResponse = z.infer<typeof QrChallengeResponse>

export const VerifyQrRequest = z.object({ challengeId: ChallengeId, deviceCode: StoredText.min(1).max(256) })
export const VerifyQrResponse = z.object({
  isClaimed: z.boolean(),
  isConsumed: z.boolean(),
  isVerified: z.boolean(),
  accessToken: z.string().optional(),
  state: OutOfBandState.optional().describe('[ext]'),
})
export type VerifyQrResponse = z.infer<typeof VerifyQrResponse>

// ── Hosted challenge page (`/challenge?token=…`, Countersign extension) ──────────────────

/**
 * What the hosted page needs to know about the action its token is for (Bearer, the track
 * token). `verificationMethods` are the methods this action may be completed with;
 * `credentials` says which the user can use; `canEnroll` is true when the token allows adding
 * an in-app credential (scope `add:authenticators`) and the user has none.
 */
export const HostedChallengeResponse = z.object({
  tenantId: z.string(),
  userId: z.string(),
  actionCode: z.string(),
  idempotencyKey: z.string(),
  state: ActionState,
  /** Where to send the user with the new token when done; absent when track gave none. */
  redirectUrl: z.string().optional(),
  verificationMethods: z.array(ChallengeMethod),
  credentials: z.object({ inApp: z.boolean(), push: z.boolean() }),
  canEnroll: z.boolean(),
  expiresAt: IsoDateTime,
})
export type HostedChallengeResponse = z.infer<typeof HostedChallengeResponse>
