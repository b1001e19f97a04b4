// Console sign-in and sessions: an operator's email and password or a management key open a
// session held in an HttpOnly cookie; the cookie then stands for a management key on every
// Management API route, but only in requests the console itself sends (CSRF guard). Sessions
// end on sign-out, when idle, at their absolute end, with their operator, and with the key
// they were opened with. Failed sign-ins slow down per operator.
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEntry, ConsoleSession, Operator } from '@countersign/protocol'
import { queryRows } from '../src/storage/database.ts'
import { createHarness, type Harness } from './support/harness.ts'
import { expectError, expectOk, tenantApi, uniqueId, type Method, type Response, type TenantApi } from './support/api.ts'

let h: Harness
let api: TenantApi

beforeAll(async () => {
  h = await createHarness()
  api = tenantApi(h, await h.newTenant())
})
afterAll(() => h.close())

const CONSOLE = { 'x-countersign-console': '1' }
const PASSWORD = 'correct horse battery staple'

function signIn(body: object, headers: Record<string, string> = CONSOLE): Promise<Response> {
  return h.inject({ method: 'POST', url: '/v1/management/session', payload: body, headers })
}

/** The session cookie a sign-in set, as a browser would send it back. */
function cookieOf(res: Response): string {
  const cookie = res.cookies.find((c) => c.name === 'countersign_session')
  expect(cookie, 'session cookie').toBeDefined()
  return `countersign_session=${cookie!.value}`
}

function asConsole(
  cookie: string,
  method: Method,
  url: string,
  payload?: object,
  headers: Record<string, string> = CONSOLE,
): Promise<Response> {
  return h.inject({ method, url: `/v1/management${url}`, headers: { cookie, ...headers }, ...(payload ? { payload } : {}) })
}

async function newOperator(target: TenantApi = api): Promise<Operator & { password: string }> {
  const email = `${uniqueId('op')}@bank.example`
  const created = expectOk(await target.manage('POST', '/operators', { email, password: PASSWORD }), 201) as Operator
  return { ...created, password: PASSWORD }
}

async function operatorSession(target: TenantApi = api): Promise<{ operator: Operator; cookie: string; session: ConsoleSession }> {
  const operator = await newOperator(target)
  const res = await signIn({ email: operator.email, password: PASSWORD })
  return { operator, cookie: cookieOf(res), session: expectOk(res) }
}

describe('signing in', () => {
  it('opens a session for an operator: HttpOnly, SameSite=Strict cookie scoped to the Management API', async () => {
    const operator = await newOperator()
    const res = await signIn({ email: operator.email.toUpperCase(), password: PASSWORD })
    const session = expectOk(res) as ConsoleSession
    expect(session).toMatchObject({
      tenantId: api.tenant.tenantId,
      apiUrl: 'http://countersign.test/v1',
      actor: `operator:${operator.operatorId}`,
      operator: { operatorId: operator.operatorId, email: operator.email },
    })
    const lifetime = Date.parse(session.expiresAt) - h.clock()
    expect(lifetime).toBeGreaterThan(12 * 3600 * 1000 - 60_000)
    expect(lifetime).toBeLessThanOrEqual(12 * 3600 * 1000)
    const cookie = res.cookies.find((c) => c.name === 'countersign_session')!
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/v1/management', maxAge: 12 * 3600 })
    expect(cookie.secure).toBeFalsy() // the public URL here is http; Secure is set for https
    expect(JSON.stringify(session)).not.toContain(cookie.value)

    const listed = expectOk(await api.manage('GET', '/operators')).items as Operator[]
    expect(Date.parse(listed.find((o) => o.operatorId === operator.operatorId)!.lastSignedInAt!)).toBeLessThanOrEqual(h.clock())
  })

  it('opens a session with a management key, for the first operator', async () => {
    const res = await signIn({ managementKey: api.tenant.managementKey })
    expect(expectOk(res)).toMatchObject({ tenantId: api.tenant.tenantId, actor: `management_key:${api.tenant.managementKeyId}` })
    expect(expectOk(res).operator).toBeUndefined()
    const me = expectOk(await asConsole(cookieOf(res), 'GET', '/session'))
    expect(me.actor).toBe(`management_key:${api.tenant.managementKeyId}`)
  })

  it('refuses a wrong password and an unknown email alike', async () => {
    const operator = await newOperator()
    const wrong = expectError(await signIn({ email: operator.email, password: 'not the password at all' }), 401, 'unauthorized')
    const unknown = expectError(await signIn({ email: 'nobody@bank.example', password: PASSWORD }), 401, 'unauthorized')
    expect(wrong.errorDescription).toBe(unknown.errorDescription)
    expectError(await signIn({ managementKey: api.tenant.secretKey }), 401, 'unauthorized')
    expectError(await signIn({ email: operator.email }), 400, 'invalid_request')
    expectError(await signIn({ email: operator.email, password: PASSWORD, extra: 1 }), 400, 'invalid_request')
  })

  it('slows down after five failures in a row with one email, and a success resets the count', async () => {
    const operator = await newOperator()
    for (let i = 0; i < 5; i++) expectError(await signIn({ email: operator.email, password: `wrong ${i}` }), 401, 'unauthorized')
    // The fifth failure made the next attempt wait, even with the right password.
    const waiting = await signIn({ email: operator.email, password: PASSWORD })
    expectError(waiting, 429, 'too_many_requests')
    expect(Number(waiting.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    h.clock.advance(1100)
    expectError(await signIn({ email: operator.email, password: 'wrong again' }), 401, 'unauthorized')
    // Each failure doubles the wait: now two seconds.
    h.clock.advance(1100)
    expectError(await signIn({ email: operator.email, password: PASSWORD }), 429, 'too_many_requests')
    h.clock.advance(1000)
    expectOk(await signIn({ email: operator.email, password: PASSWORD }))
    // Counting starts again from zero.
    expectError(await signIn({ email: operator.email, password: 'wrong after success' }), 401, 'unauthorized')
    expectOk(await signIn({ email: operator.email, password: PASSWORD }))
  })

  it('slows down an email no operator has in the same way, so the answers do not tell which emails exist', async () => {
    const operator = await newOperator()
    const nobody = `${uniqueId('nobody')}@bank.example`
    const answers = async (email: string) => {
      const seen: string[] = []
      for (let i = 0; i < 6; i++) {
        const res = await signIn({ email, password: `wrong ${i}` })
        seen.push(`${res.statusCode} ${res.json().errorCode} ${res.headers['retry-after'] ?? ''}`)
      }
      return seen
    }
    const known = await answers(operator.email)
    expect(await answers(nobody)).toEqual(known)
    expect(known.at(-1)).toBe('429 too_many_requests 1')
  })

  it('one email’s failures do not slow down another', async () => {
    const victim = await newOperator()
    const other = await newOperator()
    for (let i = 0; i < 6; i++) await signIn({ email: victim.email, password: `wrong ${i}` })
    expectOk(await signIn({ email: other.email, password: PASSWORD }))
  })

  it('needs the console header, and a same-origin request when the browser names an origin', async () => {
    const operator = await newOperator()
    const body = { email: operator.email, password: PASSWORD }
    expectError(await signIn(body, {}), 403, 'csrf_check_failed')
    expectError(await signIn(body, { ...CONSOLE, origin: 'https://evil.example' }), 403, 'csrf_check_failed')
    expectError(await signIn(body, { ...CONSOLE, 'sec-fetch-site': 'cross-site' }), 403, 'csrf_check_failed')
    expectOk(await signIn(body, { ...CONSOLE, origin: 'http://localhost:80', host: 'localhost:80', 'sec-fetch-site': 'same-origin' }))
  })
})

describe('a session', () => {
  it('stands for the tenant’s management key on Management API routes, and the audit log names the operator', async () => {
    const { operator, cookie } = await operatorSession()
    const created = expectOk(await asConsole(cookie, 'POST', '/api-keys', { type: 'secret', name: 'from the console' }), 201)
    expectOk(await asConsole(cookie, 'DELETE', `/api-keys/${created.keyId}`), 204)
    const audit = expectOk(await api.manage('GET', '/audit-log?limit=200')).items as AuditEntry[]
    const actions = audit.filter((e) => e.actor === `operator:${operator.operatorId}`).map((e) => `${e.event} ${e.target}`)
    expect(actions).toEqual([
      `api_key.revoked ${created.keyId}`,
      `api_key.created ${created.keyId}`,
      `console.signed_in ${operator.operatorId}`,
    ])
  })

  it('is refused without the console header or from another origin (CSRF)', async () => {
    const { cookie } = await operatorSession()
    const keysBefore = expectOk(await api.manage('GET', '/api-keys')).items.length
    expectError(await asConsole(cookie, 'GET', '/api-keys', undefined, {}), 403, 'csrf_check_failed')
    expectError(await asConsole(cookie, 'POST', '/api-keys', { type: 'secret' }, {}), 403, 'csrf_check_failed')
    expectError(
      await asConsole(cookie, 'POST', '/api-keys', { type: 'secret' }, { ...CONSOLE, origin: 'https://evil.example' }),
      403,
      'csrf_check_failed',
    )
    // Nothing was created by the refused requests.
    expect(expectOk(await api.manage('GET', '/api-keys')).items).toHaveLength(keysBefore)
  })

  it('gives no access to the Server API or another tenant', async () => {
    const { cookie } = await operatorSession()
    const serverCall = await h.inject({ method: 'GET', url: '/v1/users/someone', headers: { cookie, ...CONSOLE } })
    expectError(serverCall, 401, 'unauthorized')
    const other = tenantApi(h, await h.newTenant())
    const theirs = await newOperator(other)
    const mine = expectOk(await asConsole(cookie, 'GET', '/operators')).items as Operator[]
    expect(mine.map((o) => o.operatorId)).not.toContain(theirs.operatorId)
    expectError(await asConsole(cookie, 'DELETE', `/operators/${theirs.operatorId}`), 404, 'not_found')
    expect((expectOk(await other.manage('GET', '/operators')).items as Operator[]).map((o) => o.operatorId)).toContain(theirs.operatorId)
  })

  it('is not ended by a cookie that names it but lacks its secret', async () => {
    const { cookie } = await operatorSession()
    const [tenantId, sessionId, secret] = cookie.slice('countersign_session='.length).split('.') as [string, string, string]
    const forged = `countersign_session=${tenantId}.${sessionId}.${secret.startsWith('A') ? 'B' : 'A'}${secret.slice(1)}`
    expectOk(await asConsole(forged, 'DELETE', '/session'), 204)
    expectOk(await asConsole(cookie, 'GET', '/session'))
  })

  it('answers the console without its cookie with a plain 401: no WWW-Authenticate for the browser to prompt with', async () => {
    const res = await h.inject({ method: 'GET', url: '/v1/management/users', headers: CONSOLE })
    expectError(res, 401, 'unauthorized')
    expect(res.headers['www-authenticate']).toBeUndefined()
    // A script without a key still gets the Basic challenge.
    expect((await h.inject({ method: 'GET', url: '/v1/management/users' })).headers['www-authenticate']).toBe('Basic realm="countersign"')
  })

  it('ends at sign-out, and signing out twice is not an error', async () => {
    const { cookie } = await operatorSession()
    const out = await asConsole(cookie, 'DELETE', '/session')
    expectOk(out, 204)
    expect(out.cookies.find((c) => c.name === 'countersign_session')?.value).toBe('')
    expectError(await asConsole(cookie, 'GET', '/session'), 401, 'unauthorized')
    expectError(await asConsole(cookie, 'GET', '/api-keys'), 401, 'unauthorized')
    expectOk(await asConsole(cookie, 'DELETE', '/session'), 204)
    expectError(await h.inject({ method: 'DELETE', url: '/v1/management/session', headers: CONSOLE }), 401, 'unauthorized')
  })

  it('ends after 30 idle minutes, and use keeps it alive', async () => {
    const { cookie } = await operatorSession()
    h.clock.advance(29 * 60_000)
    expectOk(await asConsole(cookie, 'GET', '/session'))
    h.clock.advance(29 * 60_000)
    expectOk(await asConsole(cookie, 'GET', '/session'))
    h.clock.advance(31 * 60_000)
    expectError(await asConsole(cookie, 'GET', '/session'), 401, 'unauthorized')
  })

  it('ends 12 hours after sign-in however busy', async () => {
    const { cookie } = await operatorSession()
    // Used every 29 minutes: never idle, 11 h 36 min in.
    for (let i = 0; i < 24; i++) {
      h.clock.advance(29 * 60_000)
      expectOk(await asConsole(cookie, 'GET', '/session'))
    }
    h.clock.advance(25 * 60_000)
    expectError(await asConsole(cookie, 'GET', '/session'), 401, 'unauthorized')
  })

  it('ends when its operator is removed', async () => {
    const { operator, cookie } = await operatorSession()
    expectOk(await api.manage('DELETE', `/operators/${operator.operatorId}`), 204)
    expectError(await asConsole(cookie, 'GET', '/api-keys'), 401, 'unauthorized')
    expectError(await signIn({ email: operator.email, password: PASSWORD }), 401, 'unauthorized')
  })

  it('opened with a management key, ends when that key is revoked', async () => {
    const spare = expectOk(await api.manage('POST', '/api-keys', { type: 'management', name: 'spare' }), 201)
    const cookie = cookieOf(await signIn({ managementKey: spare.key }))
    expectOk(await asConsole(cookie, 'GET', '/api-keys'))
    expectOk(await api.manage('DELETE', `/api-keys/${spare.keyId}`), 204)
    expectError(await asConsole(cookie, 'GET', '/api-keys'), 401, 'unauthorized')
  })

  it('refuses a forged or altered cookie', async () => {
    const { cookie } = await operatorSession()
    const value = cookie.slice('countersign_session='.length)
    const altered = value.slice(0, -2) + (value.endsWith('AA') ? 'BB' : 'AA')
    expectError(await asConsole(`countersign_session=${altered}`, 'GET', '/api-keys'), 401, 'unauthorized')
    expectError(await asConsole('countersign_session=nonsense', 'GET', '/api-keys'), 401, 'unauthorized')
    const [tenantId, sessionId] = value.split('.')
    const otherTenant = (await h.newTenant()).tenantId
    expect(tenantId).toBe(api.tenant.tenantId)
    expectError(
      await asConsole(`countersign_session=${otherTenant}.${sessionId}.${value.split('.')[2]}`, 'GET', '/api-keys'),
      401,
      'unauthorized',
    )
  })
})

describe('operators', () => {
  it('are added, listed and removed with audit entries; an email is unique within a tenant', async () => {
    const email = `${uniqueId('op')}@bank.example`
    const created = expectOk(await api.manage('POST', '/operators', { email, password: PASSWORD }), 201) as Operator
    expect(created).toEqual({ operatorId: expect.stringMatching(/^[0-9a-f-]{36}$/), email, createdAt: expect.any(String) })
    expect(Date.parse(created.createdAt)).toBeLessThanOrEqual(h.clock())
    expect(JSON.stringify(created)).not.toContain('password')
    expectError(await api.manage('POST', '/operators', { email: email.toUpperCase(), password: PASSWORD }), 409, 'conflict')
    expectError(await api.manage('POST', '/operators', { email: 'short@bank.example', password: 'fourteen chars' }), 400, 'invalid_request')
    expectError(await api.manage('POST', '/operators', { email: 'not an email', password: PASSWORD }), 400, 'invalid_request')

    expectOk(await api.manage('DELETE', `/operators/${created.operatorId}`), 204)
    expectError(await api.manage('DELETE', `/operators/${created.operatorId}`), 404, 'not_found')
    const audit = (expectOk(await api.manage('GET', '/audit-log?limit=200')).items as AuditEntry[]).filter(
      (e) => e.target === created.operatorId,
    )
    expect(audit.map((e) => e.event)).toEqual(['operator.deleted', 'operator.created'])
    expect(JSON.stringify(audit)).not.toContain(PASSWORD)
  })

  it('store only an Argon2id hash of the password', async () => {
    const operator = await newOperator()
    const [row] = await queryRows<{ hash: string }>(
      h.database.db,
      sql`SELECT password_hash AS hash FROM operators WHERE tenant_id = ${api.tenant.tenantId} AND operator_id = ${operator.operatorId}`,
    )
    const stored = row!.hash
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(stored).not.toContain(PASSWORD)
  })

  it('may share an email across tenants; signing in then names the tenant when the password opens both', async () => {
    const email = `${uniqueId('op')}@bank.example`
    const other = tenantApi(h, await h.newTenant())
    expectOk(await api.manage('POST', '/operators', { email, password: PASSWORD }), 201)
    expectOk(await other.manage('POST', '/operators', { email, password: `${PASSWORD} (other)` }), 201)
    expect(expectOk(await signIn({ email, password: PASSWORD })).tenantId).toBe(api.tenant.tenantId)
    expect(expectOk(await signIn({ email, password: `${PASSWORD} (other)` })).tenantId).toBe(other.tenant.tenantId)

    const third = tenantApi(h, await h.newTenant())
    expectOk(await third.manage('POST', '/operators', { email, password: PASSWORD }), 201)
    expectError(await signIn({ email, password: PASSWORD }), 409, 'conflict')
    expect(expectOk(await signIn({ email, password: PASSWORD, tenantId: third.tenant.tenantId })).tenantId).toBe(third.tenant.tenantId)
    expectError(await signIn({ email, password: PASSWORD, tenantId: other.tenant.tenantId }), 401, 'unauthorized')
  })
})

describe('overview statistics', () => {
  it('count actions per outcome and challenge results per day, zeros included', async () => {
    const stats = tenantApi(h, await h.newTenant())
    const userId = uniqueId('user')
    const { device } = await stats.enroll(userId)
    // Enrollment's track and one for a user with no credential are allowed; one challenged
    // action is completed, one left open.
    await stats.completeFlow(userId, device, 'pay')
    await stats.track(userId, 'pay')
    await stats.track(uniqueId('unenrolled'), 'pay')
    const body = expectOk(await stats.manage('GET', '/stats?days=3'))
    expect(body.interval).toBe('day')
    expect(body.buckets).toHaveLength(3)
    const today = body.buckets.at(-1)
    expect(today.start).toBe(`${new Date(h.clock()).toISOString().slice(0, 10)}T00:00:00.000Z`)
    expect(today.outcomes).toEqual({ ALLOW: 2, CHALLENGE: 2, REVIEW: 0, BLOCK: 0 })
    expect(today.challenges).toEqual({ succeeded: 1, failed: 0, open: 1 })
    expect(body.buckets[0].outcomes).toEqual({ ALLOW: 0, CHALLENGE: 0, REVIEW: 0, BLOCK: 0 })

    const hourly = expectOk(await stats.manage('GET', '/stats?days=1&interval=hour'))
    expect(hourly.buckets).toHaveLength(24)
    expect(hourly.buckets.at(-1).outcomes.CHALLENGE).toBe(2)
    expectError(await stats.manage('GET', '/stats?days=8&interval=hour'), 400, 'invalid_request')
    expectError(await stats.manage('GET', '/stats?days=91'), 400, 'invalid_request')
  })
})
