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

/** Methods a challenge can be made with (DEVICE is the legacy namespace of all three; PASSKEY is not served). */
export const ChallengeMethod = z.enum(['IN_APP', 'PUSH', 'QR_CODE'])
export type ChallengeMethod = z.infer<typeof ChallengeMethod>

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

// A surrogate that is not half of a pair: not Unicode, so JSON can escape it but UTF-8 cannot encode it.
// No lookbehind: this file also runs in browsers that lack it.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/

/**
 * Whether PostgreSQL stores this text as given: `text` and `jsonb` refuse a NUL character, and
 * a lone surrogate is refused by `jsonb` and silently turned into U+FFFD by `text`.
 */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text)
}

/** A string the server stores or looks up in the database. Every such request field is one. */
export const StoredText = z.string().refine(isStorableText, 'must be Unicode text without NUL characters')

/** The tenant's own user identifier: any printable text up to 255 characters. */
export const UserId = StoredText
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

/** How deeply custom data may nest; the JSON encoder and jsonb give out at a few thousand levels. */
export const MAX_CUSTOM_DEPTH = 32

/**
 * Whether a JSON value nests at most `maxDepth` levels and all its keys and strings are
 * storable text. Walks with its own stack: the value may be nested too deeply to recurse.
 */
export function isStorableJson(value: unknown, maxDepth: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }]
  while (pending.length > 0) {
    const { value: next, depth } = pending.pop()!
    if (typeof next === 'string') {
      if (!isStorableText(next)) return false
    } else if (typeof next === 'object' && next !== null) {
      if (depth >= maxDepth) return false
      for (const [key, item] of Object.entries(next)) {
        if (!isStorableText(key)) return false
        pending.push({ value: item, depth: depth + 1 })
      }
    }
  }
  return true
}

/** Flat custom data as the existing SDKs type it; nested values are kept as given, within limits the database can store. */
export const CustomData = z
  .record(StoredText.max(128), z.unknown())
  .refine((data) => isStorableJson(data, MAX_CUSTOM_DEPTH), `must nest at most ${MAX_CUSTOM_DEPTH} levels and hold only Unicode text without NUL characters`)

export const IsoDateTime = z.string().describe('ISO 8601 date-time')

const errorCodeValues = Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]
/** One of the registry's error codes. */
export const ErrorCodeSchema = z.enum(errorCodeValues)
export const ErrorBody = z
  .object({
    error: z.enum(errorCodeValues),
    errorCode: z.enum(errorCodeValues),
    errorDescription: z.string(),
    /** Structured facts about the refusal, for codes that have them (invalid_rule_condition: message, position, line, column). */
    details: z.record(z.string(), z.unknown()).optional(),
    requestId: z.string().optional(),
  })
  .describe('Every error response: a stable machine-readable code and a public description')
export type ErrorBody = z.infer<typeof ErrorBody>

/**
 * [ext] Display fields of a transaction (amount, currency, payee, …): what the phone shows and
 * a v2 signed decision covers. Flat, so every phone can show it and every SDK hash it alike.
 */
export const TransactionDetails = z
  .record(
    z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'field names are letters, digits, _ . -'),
    z.union([StoredText.max(1024), z.number().finite(), z.boolean(), z.null()]),
  )
  .refine((fields) => Object.keys(fields).length <= 32, 'at most 32 fields')
  .describe('[ext] Transaction display fields, e.g. {"amount": 100, "currency": "EUR", "payee": "ACME"}')
export type TransactionDetails = z.infer<typeof TransactionDetails>
