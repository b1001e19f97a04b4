// Server API (secret key, HTTP Basic): PROTOCOL.md §2. Requests strip unknown fields, so a
// newer official SDK sending an attribute we do not know yet is not refused.
import { z } from 'zod'
import { PushChallengeResponse } from './client-api.ts'
import {
  ActionCode,
  ActionState,
  CustomData,
  ErrorCodeSchema,
  TransactionDetails,
  IdempotencyKey,
  IsoDateTime,
  isStorableText,
  StoredText,
  UserId,
  VerificationMethod,
} from './common.ts'

const Email = StoredText.max(320)
const PhoneNumber = StoredText.max(32)
const Username = StoredText.max(255)
const Locale = StoredText.max(35)

export const UserActionParams = z.object({ userId: UserId, action: ActionCode })
export const ActionParams = UserActionParams.extend({ idempotencyKey: IdempotencyKey })
export const UserParams = z.object({ userId: UserId })
export const AuthenticatorParams = UserParams.extend({ userAuthenticatorId: z.string().min(1).max(64) })

export const TrackRequest = z.object({
  idempotencyKey: IdempotencyKey.optional(),
  // Only http(s): the hosted page redirects the browser here, so javascript: or data: would be an injection.
  redirectUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .refine(isStorableText, 'must be Unicode text without NUL characters')
    .optional(),
  redirectToSettings: z.boolean().optional(),
  ipAddress: StoredText.max(64).optional(),
  userAgent: StoredText.max(1024).optional(),
  deviceId: StoredText.max(255).optional(),
  scope: z
    .string()
    .max(255)
    .optional()
    .describe('Space-separated scopes granted to the returned token (read:authenticators by default)'),
  email: Email.optional(),
  phoneNumber: PhoneNumber.optional(),
  username: Username.optional(),
  custom: CustomData.optional(),
  transaction: TransactionDetails.optional(),
  locale: Locale.optional(),
  challengeMethod: z
    .literal('PUSH')
    .optional()
    .describe('[ext] When the outcome is CHALLENGE_REQUIRED, also send a push challenge to the user’s push devices'),
  pushUserAuthenticatorId: z.string().max(64).optional().describe('[ext] With challengeMethod PUSH: only this device'),
})
export type TrackRequest = z.infer<typeof TrackRequest>

export const TrackResponse = z.object({
  idempotencyKey: z.string(),
  state: ActionState,
  url: z.string(),
  token: z.string(),
  isEnrolled: z.boolean(),
  enrolledVerificationMethods: z.array(VerificationMethod),
  allowedVerificationMethods: z.array(VerificationMethod),
  defaultVerificationMethod: VerificationMethod.optional(),
  ruleIds: z.array(z.string()),
  pushChallenge: PushChallengeResponse.optional().describe('[ext] The push challenge sent, with challengeMethod PUSH'),
  pushChallengeRefused: ErrorCodeSchema.optional().describe('[ext] Why no push challenge was sent (push_blocked, too_many_requests, not_found, …)'),
})
export type TrackResponse = z.infer<typeof TrackResponse>

export const RuleSummary = z.object({ ruleId: z.string(), name: z.string(), description: z.string().optional() })

export const ActionResponse = z.object({
  userId: z.string(),
  actionCode: z.string(),
  idempotencyKey: z.string(),
  state: ActionState,
  stateUpdatedAt: IsoDateTime,
  createdAt: IsoDateTime,
  verificationMethod: VerificationMethod.optional(),
  verifiedByAuthenticatorId: z.string().optional(),
  ruleIds: z.array(z.string()),
  priorityRuleId: z.string().optional(),
  rules: z.array(RuleSummary),
  output: z.unknown().optional(),
  transaction: TransactionDetails.optional(),
})
export type ActionResponse = z.infer<typeof ActionResponse>

export const UpdateActionRequest = z.object({ state: ActionState })
export type UpdateActionRequest = z.infer<typeof UpdateActionRequest>

export const QueryUserActionsQuery = z.object({
  codes: StoredText
    .max(2048)
    .optional()
    .describe('Comma-separated action codes'),
  fromDate: z.iso.datetime({ offset: true }).optional().describe('Start of the window; at most 30 days ago'),
  state: ActionState.optional(),
})
export type QueryUserActionsQuery = z.infer<typeof QueryUserActionsQuery>

export const UserActionSummary = z.object({
  actionCode: z.string(),
  idempotencyKey: z.string(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  state: ActionState,
  stateUpdatedAt: IsoDateTime,
  verificationMethod: VerificationMethod.optional(),
  verifiedByAuthenticatorId: z.string().optional(),
  ipAddress: z.string().optional(),
  userAgent: z.string().optional(),
})
export const QueryUserActionsResponse = z.array(UserActionSummary)
export type QueryUserActionsResponse = z.infer<typeof QueryUserActionsResponse>

export const ValidateRequest = z.object({
  token: z.string().min(1).max(8192),
  userId: UserId.optional(),
  action: ActionCode.optional(),
})
export type ValidateRequest = z.infer<typeof ValidateRequest>

/** Why a token did not validate, in `error` of an `isValid: false` answer. */
export const ValidateError = z.enum([
  'invalid_token',
  'expired_token',
  'token_already_used',
  'user_mismatch',
  'action_mismatch',
  'action_not_found',
])
export type ValidateError = z.infer<typeof ValidateError>

export const ValidateResponse = z.object({
  isValid: z.boolean(),
  state: ActionState.optional(),
  stateUpdatedAt: IsoDateTime.optional(),
  userId: z.string().optional(),
  action: z.string().optional(),
  actionCode: z.string().optional(),
  idempotencyKey: z.string().optional(),
  verificationMethod: VerificationMethod.optional(),
  error: ValidateError.optional(),
})
export type ValidateResponse = z.infer<typeof ValidateResponse>

const UserAttributeFields = {
  email: Email.optional(),
  emailVerified: z.boolean().optional(),
  phoneNumber: PhoneNumber.optional(),
  phoneNumberVerified: z.boolean().optional(),
  username: Username.optional(),
  displayName: StoredText.max(255).optional(),
  custom: CustomData.optional(),
  locale: Locale.optional(),
}

export const UpdateUserRequest = z.object(UserAttributeFields)
export type UpdateUserRequest = z.infer<typeof UpdateUserRequest>

// Responses carry custom data as stored: data stored before a request limit was tightened
// must still be readable.
const StoredCustomData = z.record(z.string(), z.unknown())

export const UpdateUserResponse = z.object({ userId: z.string(), ...UserAttributeFields, custom: StoredCustomData.optional() })
export type UpdateUserResponse = z.infer<typeof UpdateUserResponse>

export const UserResponse = z.object({
  userId: z.string(),
  isEnrolled: z.boolean(),
  email: z.string().optional(),
  emailVerified: z.boolean(),
  phoneNumber: z.string().optional(),
  phoneNumberVerified: z.boolean(),
  username: z.string().optional(),
  displayName: z.string().optional(),
  custom: StoredCustomData.optional(),
  locale: z.string().optional(),
  enrolledVerificationMethods: z.array(VerificationMethod),
  allowedVerificationMethods: z.array(VerificationMethod),
  defaultVerificationMethod: VerificationMethod.optional(),
})
export type UserResponse = z.infer<typeof UserResponse>

export const QueryUsersQuery = z.object({
  username: Username.optional(),
  email: Email.optional(),
  phoneNumber: PhoneNumber.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  lastEvaluatedUserId: UserId.optional(),
})
export type QueryUsersQuery = z.infer<typeof QueryUsersQuery>

export const UserSummary = z.object({
  userId: z.string(),
  email: z.string().optional(),
  emailVerified: z.boolean(),
  phoneNumber: z.string().optional(),
  phoneNumberVerified: z.boolean(),
  username: z.string().optional(),
})
export const QueryUsersResponse = z.object({
  users: z.array(UserSummary),
  lastEvaluatedUserId: z.string().optional(),
})
export type QueryUsersResponse = z.infer<typeof QueryUsersResponse>

export const Authenticator = z.object({
  userId: z.string(),
  userAuthenticatorId: z.string(),
  verificationMethod: VerificationMethod,
  createdAt: IsoDateTime,
  verifiedAt: IsoDateTime.optional(),
  lastVerifiedAt: IsoDateTime.optional(),
  displayName: z.string().optional(),
  deviceName: z.string().optional(),
  devicePlatform: z.string().optional(),
  userAuthenticationRequired: z.boolean(),
  isLocked: z.boolean().describe('Locked after repeated failed signatures'),
  lockedUntil: IsoDateTime.optional(),
  failedAttempts: z.number().int(),
})
export type Authenticator = z.infer<typeof Authenticator>
export const AuthenticatorsResponse = z.array(Authenticator)
