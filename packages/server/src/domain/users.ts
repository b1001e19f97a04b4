import type {
  Authenticator,
  QueryUsersQuery,
  QueryUsersResponse,
  UpdateUserRequest,
  UpdateUserResponse,
  UserResponse,
} from '@countersign/protocol'
import { verificationMethodOf } from '@countersign/protocol'
import * as credentialsRepo from '../storage/credentials-repo.ts'
import * as repo from '../storage/users-repo.ts'
import { allowedMethods, iso, methodsOf, optional } from './actions.ts'
import { now, type Deps } from './deps.ts'
import { ApiError } from './errors.ts'
import { wakeWebhooks } from './out-of-band.ts'
import type { TenantContext } from './tenants.ts'

export async function getUser(deps: Deps, tenant: TenantContext, userId: string): Promise<UserResponse> {
  const user = await repo.findUser(deps.db, tenant.tenantId, userId)
  if (!user) throw new ApiError('not_found', 'No such user')
  return userResponse(user)
}

/** Sets the given attributes (creating the user when new); omitted attributes stay as they are. */
export async function updateUser(
  deps: Deps,
  tenant: TenantContext,
  userId: string,
  attributes: UpdateUserRequest,
): Promise<UpdateUserResponse> {
  const user = await repo.upsertUser(deps.db, tenant.tenantId, userId, attributes, now(deps))
  return { userId: user.userId, ...userAttributes(user) }
}

/** Removes the user, their authenticators and their action history. */
export async function deleteUser(deps: Deps, tenant: TenantContext, userId: string): Promise<void> {
  if (!(await repo.deleteUser(deps.db, tenant.tenantId, userId, now(deps)))) throw new ApiError('not_found', 'No such user')
  wakeWebhooks(deps, tenant)
}

export async function queryUsers(deps: Deps, tenant: TenantContext, query: QueryUsersQuery): Promise<QueryUsersResponse> {
  // One more row than asked tells whether another page follows.
  const rows = await repo.queryUsers(deps.db, tenant.tenantId, { ...query, limit: query.limit + 1 })
  const page = rows.slice(0, query.limit)
  const last = page.at(-1)
  return {
    users: page.map((user) => ({
      userId: user.userId,
      ...optional('email', user.email),
      emailVerified: user.emailVerified,
      ...optional('phoneNumber', user.phoneNumber),
      phoneNumberVerified: user.phoneNumberVerified,
      ...optional('username', user.username),
    })),
    ...(rows.length > query.limit && last ? { lastEvaluatedUserId: last.userId } : {}),
  }
}

export async function getAuthenticators(deps: Deps, tenant: TenantContext, userId: string): Promise<Authenticator[]> {
  const rows = await credentialsRepo.listCredentials(deps.db, tenant.tenantId, userId)
  const at = deps.clock()
  return rows.map((row) => authenticatorResponse(row, at))
}

/** Deletes an authenticator; its signatures fail from the next request on. */
export async function deleteAuthenticator(
  deps: Deps,
  tenant: TenantContext,
  userId: string,
  userAuthenticatorId: string,
): Promise<void> {
  const deleted =
    isUuidLike(userAuthenticatorId) &&
    (await credentialsRepo.deleteCredential(deps.db, tenant.tenantId, userId, userAuthenticatorId, now(deps)))
  if (!deleted) throw new ApiError('not_found', 'No such authenticator')
  wakeWebhooks(deps, tenant)
}

export function authenticatorResponse(row: credentialsRepo.CredentialRow, nowMs: number): Authenticator {
  const lockedUntil = row.lockedUntil ? new Date(row.lockedUntil) : null
  return {
    userId: row.userId,
    userAuthenticatorId: row.credentialId,
    verificationMethod: verificationMethodOf[row.namespace],
    createdAt: iso(row.createdAt),
    verifiedAt: iso(row.verifiedAt),
    ...(row.lastVerifiedAt ? { lastVerifiedAt: iso(row.lastVerifiedAt) } : {}),
    ...optional('displayName', row.deviceName),
    ...optional('deviceName', row.deviceName),
    ...optional('devicePlatform', row.devicePlatform),
    userAuthenticationRequired: row.userAuthenticationRequired,
    isLocked: lockedUntil !== null && lockedUntil.getTime() > nowMs,
    ...(lockedUntil ? { lockedUntil: iso(lockedUntil) } : {}),
    failedAttempts: row.failedAttempts,
  }
}

function userResponse(user: repo.UserRow): UserResponse {
  const enrolled = methodsOf(user.enrolledNamespaces)
  return {
    userId: user.userId,
    isEnrolled: enrolled.length > 0,
    ...userAttributes(user),
    enrolledVerificationMethods: enrolled,
    allowedVerificationMethods: allowedMethods(enrolled),
    ...(enrolled[0] ? { defaultVerificationMethod: enrolled[0] } : {}),
  }
}

/** The user's attributes as the wire carries them: absent rather than null. */
function userAttributes(user: repo.UserRow) {
  return {
    ...optional('email', user.email),
    emailVerified: user.emailVerified,
    ...optional('phoneNumber', user.phoneNumber),
    phoneNumberVerified: user.phoneNumberVerified,
    ...optional('username', user.username),
    ...optional('displayName', user.displayName),
    ...optional('custom', user.custom),
    ...optional('locale', user.locale),
  }
}

/** A UUID in any case (as PostgreSQL reads one); anything else would fail the uuid column's parse. */
function isUuidLike(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
}
