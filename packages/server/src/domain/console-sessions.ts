// Console sign-in: an operator's email and password, or a management key (how the first
// operator gets in). A session is a random secret in an HttpOnly cookie, stored hashed; it
// ends after CONSOLE_SESSION_HOURS, after CONSOLE_IDLE_MINUTES unused, at sign-out, when its
// operator is removed, or when the management key it was opened with is revoked.
import { randomUUID } from 'node:crypto'
import type { ConsoleSession, CreateOperatorRequest, Operator, SignInRequest } from '@countersign/protocol'
import { hashPassword, passwordMatches } from '../crypto/passwords.ts'
import { sha256 } from '../crypto/p256.ts'
import { hashesEqual, issueSession, parseSession } from '../crypto/secrets.ts'
import * as repo from '../storage/operators-repo.ts'
import { authenticateManagementKey } from './api-key-auth.ts'
import { audited, type Actor } from './audit.ts'
import { now, type Deps } from './deps.ts'
import { ApiError } from './errors.ts'
import type { TenantContext } from './tenants.ts'

/** Sessions are touched at most this often, so a busy console does not write on every call. */
const TOUCH_EVERY_MS = 60_000

export interface OpenedSession {
  /** The cookie value: shown to the browser once, stored only as a hash. */
  cookie: string
  session: ConsoleSession
}

export interface SessionCaller {
  tenant: TenantContext
  actor: Actor
  session: ConsoleSession
  sessionId: string
}

const signInRefused = () => new ApiError('unauthorized', 'The email and password do not match an operator')

/**
 * Signs in and opens a session. Wrong credentials count against the client address (as wrong
 * API keys do) and against the email, whether or not an operator has it: from the fifth
 * failure in a row each attempt must wait longer, up to 15 minutes. The same 401 answers an
 * unknown email and a wrong password, after the same work.
 */
export async function signIn(deps: Deps, request: SignInRequest, clientAddress: string): Promise<OpenedSession> {
  const at = now(deps)
  if ('managementKey' in request) {
    const { tenant, actor } = await authenticateManagementKey(deps, request.managementKey, clientAddress)
    return openSession(deps, tenant, actor, { operatorId: null, email: null, keyId: actor.slice('management_key:'.length) }, at)
  }
  await deps.apiKeyFailures.refuseIfBlocked(clientAddress)
  const emailHash = sha256(request.email.toLowerCase())
  const wait = await repo.signInWait(deps.db, emailHash, at)
  if (wait) throw waitUntil(wait, at)
  const candidates = (await repo.findOperatorsByEmail(deps.db, request.email)).filter(
    (o) => request.tenantId === undefined || o.tenantId === request.tenantId,
  )
  const matching: repo.OperatorRow[] = []
  if (candidates.length === 0) await passwordMatches(null, request.password)
  for (const operator of candidates) if (await passwordMatches(operator.passwordHash, request.password)) matching.push(operator)
  if (matching.length === 0) {
    await deps.apiKeyFailures.recordFailure(clientAddress)
    await repo.recordFailedSignIn(deps.db, emailHash, at)
    deps.log.info('console sign-in refused')
    throw signInRefused()
  }
  if (matching.length > 1) {
    throw new ApiError('conflict', 'This email and password open more than one tenant: sign in with tenantId as well')
  }
  const operator = matching[0]!
  const tenant = await deps.tenants.find(operator.tenantId, deps.clock())
  if (!tenant) throw signInRefused()
  await repo.recordSignIn(deps.db, emailHash, operator.tenantId, operator.operatorId, at)
  return openSession(
    deps,
    tenant,
    `operator:${operator.operatorId}`,
    { operatorId: operator.operatorId, email: operator.email, keyId: null },
    at,
  )
}

function waitUntil(retryAfter: Date, at: Date): ApiError {
  const seconds = Math.max(1, Math.ceil((retryAfter.getTime() - at.getTime()) / 1000))
  return new ApiError('too_many_requests', 'Too many failed sign-ins with this email; retry later', undefined, {
    'retry-after': String(seconds),
  })
}

async function openSession(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  who: { operatorId: string | null; email: string | null; keyId: string | null },
  at: Date,
): Promise<OpenedSession> {
  const issued = issueSession(tenant.tenantId)
  const expiresAt = new Date(at.getTime() + deps.config.CONSOLE_SESSION_HOURS * 3_600_000)
  await audited(deps, tenant.tenantId, actor, async (tx) => {
    await repo.insertSession(
      tx,
      tenant.tenantId,
      { sessionId: issued.sessionId, secretHash: issued.hash, operatorId: who.operatorId, keyId: who.keyId, expiresAt },
      at,
    )
    return { result: undefined, entry: { event: 'console.signed_in', target: who.operatorId ?? who.keyId ?? '' } }
  })
  return { cookie: issued.value, session: sessionView(deps, tenant, actor, who, expiresAt) }
}

function sessionView(
  deps: Deps,
  tenant: TenantContext,
  actor: Actor,
  who: { operatorId: string | null; email: string | null },
  expiresAt: Date,
): ConsoleSession {
  return {
    tenantId: tenant.tenantId,
    tenantName: tenant.name,
    apiUrl: `${deps.config.COUNTERSIGN_PUBLIC_URL}/v1`,
    actor,
    ...(who.operatorId !== null && who.email !== null ? { operator: { operatorId: who.operatorId, email: who.email } } : {}),
    expiresAt: expiresAt.toISOString(),
  }
}

/** The session a cookie names, or 401: malformed, unknown, expired, idle, or its key revoked. */
export async function authenticateSession(deps: Deps, cookie: string): Promise<SessionCaller> {
  const parsed = parseSession(cookie)
  if (!parsed) throw new ApiError('unauthorized', 'Sign in to the console again')
  const at = now(deps)
  const idleSince = new Date(at.getTime() - deps.config.CONSOLE_IDLE_MINUTES * 60_000)
  const row = await repo.findLiveSession(deps.db, parsed.tenantId, parsed.sessionId, at, idleSince)
  if (!row || !hashesEqual(row.secretHash, parsed.secretHash)) throw new ApiError('unauthorized', 'Sign in to the console again')
  const tenant = await deps.tenants.find(row.tenantId, deps.clock())
  if (!tenant) throw new ApiError('unauthorized', 'Sign in to the console again')
  if (at.getTime() - row.lastSeenAt.getTime() > TOUCH_EVERY_MS) await repo.touchSession(deps.db, row.tenantId, row.sessionId, at)
  const actor = row.operatorId !== null ? `operator:${row.operatorId}` : `management_key:${row.keyId ?? ''}`
  return {
    tenant,
    actor,
    sessionId: row.sessionId,
    session: sessionView(deps, tenant, actor, { operatorId: row.operatorId, email: row.operatorEmail }, row.expiresAt),
  }
}

/** Ends the session a cookie names, if it is one; signing out twice is not an error. */
export async function signOut(deps: Deps, cookie: string): Promise<void> {
  const parsed = parseSession(cookie)
  if (parsed) await repo.deleteSession(deps.db, parsed.tenantId, parsed.sessionId, parsed.secretHash)
}

// ── Operators ────────────────────────────────────────────────────────────────────────────

function operatorView(row: repo.OperatorRow): Operator {
  return {
    operatorId: row.operatorId,
    email: row.email,
    createdAt: row.createdAt.toISOString(),
    ...(row.lastSignedInAt ? { lastSignedInAt: row.lastSignedInAt.toISOString() } : {}),
  }
}

export async function listOperators(deps: Deps, tenantId: string): Promise<Operator[]> {
  return (await repo.listOperators(deps.db, tenantId)).map(operatorView)
}

/** Adds an operator to the tenant. 409 when the tenant already has an operator with this email. */
export async function createOperator(deps: Deps, tenantId: string, actor: Actor, request: CreateOperatorRequest): Promise<Operator> {
  const passwordHash = await hashPassword(request.password)
  return audited(deps, tenantId, actor, async (tx) => {
    const row = await repo.insertOperator(tx, tenantId, { operatorId: randomUUID(), email: request.email, passwordHash }, now(deps))
    if (!row) throw new ApiError('conflict', 'An operator with this email already exists')
    const operator = operatorView(row)
    return { result: operator, entry: { event: 'operator.created', target: operator.operatorId, after: { email: operator.email } } }
  })
}

/** Removes an operator and ends their sessions. */
export async function deleteOperator(deps: Deps, tenantId: string, actor: Actor, operatorId: string): Promise<void> {
  await audited(deps, tenantId, actor, async (tx) => {
    const row = await repo.deleteOperator(tx, tenantId, operatorId)
    if (!row) throw new ApiError('not_found', 'No such operator')
    return { result: undefined, entry: { event: 'operator.deleted', target: operatorId, before: { email: row.email } } }
  })
}
