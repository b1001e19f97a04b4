import { z } from 'zod'
import { errorCodes, type ErrorCode } from './errors.ts'

/** Every state a tracked action can be in (`UserActionState` in the existing SDKs). */
export const ActionState = z.enum([
  'ALLOW',
  'BLOCK',
  'CHALLENGE_REQUIRED',
  'CHALLENGE_SUCCEEDED',
  'CHALLENGE_FAILED',
  'REVIEW_REQUIRED',
  'REVIEW_SUCCEEDED',
  'REVIEW_FAILED',
])
export type ActionState = z.infer<typeof ActionState>

/** What a rule (or the default configuration) decides for a tracked action. */
export const RuleOutcome = z.enum(['ALLOW', 'CHALLENGE', 'REVIEW', 'BLOCK'])
export type RuleOutcome = z.infer<typeof RuleOutcome>

export const VerificationMethod = z.enum(['IN_APP', 'PUSH', 'QR_CODE', 'DEVICE', 'PASSKEY'])
export type VerificationMethod = z.infer<typeof VerificationMethod>

/** Client API credential namespaces; `device` is the legacy one shared by all three flows. */
export const CredentialNamespace = z.enum(['in-app', 'push', 'qr-code', 'device'])
export type CredentialNamespace = z.infer<typeof CredentialNamespace>

export const verificationMethodOf: Record<CredentialNamespace, VerificationMethod> = {
  'in-app': 'IN_APP',
  push: 'PUSH',
  'qr-code': 'QR_CODE',
  device: 'DEVICE',
}

export const Scope = z.enum([
  'read:authenticators',
  'add:authenticators',
  'update:authenticators',
  'remove:authenticators',
])
export type Scope = z.infer<typeof Scope>

/** The tenant's own user identifier: any printable text up to 255 characters. */
export const UserId = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^\p{Cc}]+$/u, 'must be printable text')
  // `.` and `..` cannot travel as a path segment: clients resolve them before sending.
  .refine((id) => id !== '.' && id !== '..', 'must not be . or ..')
  .describe('The tenant’s own user identifier')

export const ActionCode = z
  .string()
  .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must match ^[a-zA-Z0-9_-]{1,64}$')
  .describe('Action code, e.g. authorizePayment')

export const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')

/** Flat custom data as the existing SDKs type it; nested values are kept as given. */
export const CustomData = z.record(z.string().max(128), z.unknown())

export const IsoDateTime = z.string().describe('ISO 8601 date-time')

const errorCodeValues = Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]
export const ErrorBody = z
  .object({
    error: z.enum(errorCodeValues),
    errorCode: z.enum(errorCodeValues),
    errorDescription: z.string(),
    requestId: z.string().optional(),
  })
  .describe('Every error response: a stable machine-readable code and a public description')
export type ErrorBody = z.infer<typeof ErrorBody>
