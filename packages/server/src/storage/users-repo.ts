import { sql } from 'drizzle-orm'
import type { CredentialNamespace } from '@countersign/protocol'
import { authenticatorEventData } from './credentials-repo.ts'
import { queryRows, type Db } from './database.ts'
import { outboxCtes } from './outbox.ts'

export interface UserRow {
  userId: string
  email: string | null
  emailVerified: boolean
  phoneNumber: string | null
  phoneNumberVerified: boolean
  username: string | null
  displayName: string | null
  custom: Record<string, unknown> | null
  locale: string | null
  createdAt: Date
  updatedAt: Date
  /** Namespaces the user has a credential in. */
  enrolledNamespaces: CredentialNamespace[]
}

export interface UserAttributes {
  email?: string | undefined
  emailVerified?: boolean | undefined
  phoneNumber?: string | undefined
  phoneNumberVerified?: boolean | undefined
  username?: string | undefined
  displayName?: string | undefined
  custom?: Record<string, unknown> | undefined
  locale?: string | undefined
}

const USER_COLUMNS = sql`u.user_id AS "userId", u.email, u.email_verified AS "emailVerified",
  u.phone_number AS "phoneNumber", u.phone_number_verified AS "phoneNumberVerified", u.username,
  u.display_name AS "displayName", u.custom, u.locale, u.created_at AS "createdAt", u.updated_at AS "updatedAt"`

export async function findUser(db: Db, tenantId: string, userId: string): Promise<UserRow | null> {
  const [row] = await queryRows<UserRow>(
    db,
    sql`SELECT ${USER_COLUMNS},
               COALESCE((SELECT array_agg(DISTINCT c.namespace ORDER BY c.namespace) FROM credentials c
                          WHERE c.tenant_id = u.tenant_id AND c.user_id = u.user_id), '{}') AS "enrolledNamespaces"
          FROM users u
         WHERE u.tenant_id = ${tenantId} AND u.user_id = ${userId}`,
  )
  return row ?? null
}

/**
 * Creates the user or changes the given attributes; omitted ones stay as they are. `custom`
 * replaces the stored object as a whole.
 */
export async function upsertUser(db: Db, tenantId: string, userId: string, attributes: UserAttributes, now: Date): Promise<UserRow> {
  const a = attributes
  const [row] = await queryRows<UserRow>(
    db,
    sql`INSERT INTO users AS u (tenant_id, user_id, email, email_verified, phone_number, phone_number_verified,
                                username, display_name, custom, locale, created_at, updated_at)
        VALUES (${tenantId}, ${userId}, ${a.email ?? null}, ${a.emailVerified ?? false}, ${a.phoneNumber ?? null},
                ${a.phoneNumberVerified ?? false}, ${a.username ?? null}, ${a.displayName ?? null},
                ${a.custom === undefined ? null : JSON.stringify(a.custom)}::jsonb, ${a.locale ?? null}, ${now}, ${now})
        ON CONFLICT (tenant_id, user_id) DO UPDATE SET
          email = ${a.email === undefined ? sql`u.email` : sql`EXCLUDED.email`},
          email_verified = ${a.emailVerified === undefined ? sql`u.email_verified` : sql`EXCLUDED.email_verified`},
          phone_number = ${a.phoneNumber === undefined ? sql`u.phone_number` : sql`EXCLUDED.phone_number`},
          phone_number_verified = ${a.phoneNumberVerified === undefined ? sql`u.phone_number_verified` : sql`EXCLUDED.phone_number_verified`},
          username = ${a.username === undefined ? sql`u.username` : sql`EXCLUDED.username`},
          display_name = ${a.displayName === undefined ? sql`u.display_name` : sql`EXCLUDED.display_name`},
          custom = ${a.custom === undefined ? sql`u.custom` : sql`EXCLUDED.custom`},
          locale = ${a.locale === undefined ? sql`u.locale` : sql`EXCLUDED.locale`},
          updated_at = EXCLUDED.updated_at
        RETURNING ${USER_COLUMNS},
          COALESCE((SELECT array_agg(DISTINCT c.namespace ORDER BY c.namespace) FROM credentials c
                     WHERE c.tenant_id = u.tenant_id AND c.user_id = u.user_id), '{}') AS "enrolledNamespaces"`,
  )
  return row!
}

/** Deletes the user with their credentials and action history (foreign keys cascade). */
/**
 * Deletes a user with their authenticators, challenges and history. Each authenticator is
 * deleted by name, in the same statement, so its authenticator.deleted event is queued like
 * any other removal (a cascade would delete it silently).
 */
export async function deleteUser(db: Db, tenantId: string, userId: string, now: Date): Promise<boolean> {
  const rows = await queryRows<{ userId: string }>(
    db,
    sql`WITH removed AS (
          DELETE FROM credentials WHERE tenant_id = ${tenantId} AND user_id = ${userId} RETURNING *
        ), ${outboxCtes('removed', tenantId, 'authenticator.deleted', authenticatorEventData('removed'), now)}
        DELETE FROM users WHERE tenant_id = ${tenantId} AND user_id = ${userId} RETURNING user_id AS "userId"`,
  )
  return rows.length > 0
}

export interface UserQuery {
  username?: string | undefined
  email?: string | undefined
  phoneNumber?: string | undefined
  limit: number
  lastEvaluatedUserId?: string | undefined
}

/** Pages through the tenant's users in user ID order, optionally filtered by an exact attribute. */
export async function queryUsers(db: Db, tenantId: string, query: UserQuery): Promise<UserRow[]> {
  const filters = [sql`u.tenant_id = ${tenantId}`]
  if (query.username !== undefined) filters.push(sql`u.username = ${query.username}`)
  if (query.email !== undefined) filters.push(sql`u.email = ${query.email}`)
  if (query.phoneNumber !== undefined) filters.push(sql`u.phone_number = ${query.phoneNumber}`)
  if (query.lastEvaluatedUserId !== undefined) filters.push(sql`u.user_id > ${query.lastEvaluatedUserId}`)
  return queryRows<UserRow>(
    db,
    sql`SELECT ${USER_COLUMNS}, '{}'::text[] AS "enrolledNamespaces" FROM users u
         WHERE ${sql.join(filters, sql` AND `)}
         ORDER BY u.user_id LIMIT ${query.limit}`,
  )
}

export interface UserSearchRow {
  userId: string
  email: string | null
  username: string | null
  phoneNumber: string | null
  displayName: string | null
  createdAt: Date
  authenticatorCount: number
}

/**
 * Finds users for an operator: an exact email, username or phone number, or a user ID
 * beginning with the query; all users without one. In user ID order, after `afterUserId`.
 */
export async function searchUsers(db: Db, tenantId: string, query: string | undefined, afterUserId: string | undefined, limit: number): Promise<UserSearchRow[]> {
  const filters = [sql`u.tenant_id = ${tenantId}`]
  if (query) {
    const prefix = `${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    filters.push(sql`(u.user_id LIKE ${prefix} OR u.email = ${query} OR u.username = ${query} OR u.phone_number = ${query})`)
  }
  if (afterUserId !== undefined) filters.push(sql`u.user_id > ${afterUserId}`)
  return queryRows<UserSearchRow>(
    db,
    sql`SELECT u.user_id AS "userId", u.email, u.username, u.phone_number AS "phoneNumber", u.display_name AS "displayName",
               u.created_at AS "createdAt",
               (SELECT count(*)::int FROM credentials c WHERE c.tenant_id = u.tenant_id AND c.user_id = u.user_id) AS "authenticatorCount"
          FROM users u WHERE ${sql.join(filters, sql` AND `)}
         ORDER BY u.user_id LIMIT ${limit}`,
  )
}

/** Whether push is blocked for the user (they reported a push request as not theirs). */
export async function isPushBlocked(db: Db, tenantId: string, userId: string): Promise<boolean> {
  const [row] = await queryRows<{ blocked: boolean }>(
    db,
    sql`SELECT push_blocked_at IS NOT NULL AS blocked FROM users WHERE tenant_id = ${tenantId} AND user_id = ${userId}`,
  )
  return row?.blocked ?? false
}
