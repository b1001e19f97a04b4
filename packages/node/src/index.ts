// @countersign/node: the Server API SDK for tenant backends. Runtime code here imports only
// relative modules; everything from @countersign/protocol is a type, so no schema library
// reaches the bundle.
export {
  Countersign,
  VERSION,
  type CountersignOptions,
  type TrackParams,
  type ValidateChallengeParams,
  type ValidateChallengeResponse,
  type GetActionParams,
  type UpdateActionParams,
  type QueryUserActionsParams,
  type GetUserParams,
  type UpdateUserParams,
  type DeleteUserParams,
  type QueryUsersParams,
  type GetAuthenticatorsParams,
  type DeleteAuthenticatorParams,
} from './countersign.ts'
export {
  CountersignError,
  isCountersignError,
  type CountersignErrorCode,
  type CountersignErrorInit,
  type SdkErrorCode,
} from './errors.ts'
export { MAX_RETRY_AFTER_MS } from './retry.ts'
export {
  DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
  verifyWebhook,
  Webhooks,
  type VerifyWebhookOptions,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookHeaders,
  type WebhooksOptions,
} from './webhooks.ts'
export type {
  ActionResponse,
  ActionState,
  Authenticator,
  ErrorCode,
  QueryUserActionsResponse,
  QueryUsersResponse,
  TrackRequest,
  TrackResponse,
  UpdateActionRequest,
  UpdateUserRequest,
  UpdateUserResponse,
  UserResponse,
  ValidateError,
  ValidateResponse,
  VerificationMethod,
} from '@countersign/protocol'
