// Client API (device side): PROTOCOL.md §3. Keys and signatures arrive exactly as existing
// mobile SDKs produce them: standard base64 of an X.509 SPKI, standard base64 of a DER
// ECDSA-SHA256 signature.
import { z } from 'zod'
import { ActionCode, CredentialNamespace, IsoDateTime, StoredText, VerificationMethod } from './common.ts'

/** Base64 of an X.509 SubjectPublicKeyInfo (P-256 SPKI is 91 bytes; room for odd encodings). */
export const PublicKey = z.string().min(1).max(1024).describe('Base64 X.509 SubjectPublicKeyInfo of a P-256 key')
/** Base64 of a DER ECDSA-SHA256 signature (at most 72 bytes for P-256). */
export const Signature = z.string().min(1).max(512).describe('Base64 DER ECDSA-SHA256 signature')
export const ChallengeId = z.string().min(1).max(512)

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
  // A number, unlike the other timestamps: the iOS SDK decodes it as Double (Unix seconds) and
  // fails the whole response on a string; the Android SDK's credential model holds a Long.
  expiresAt: z.number().int().optional().describe('Unix seconds'),
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
