// CountersignManagement against the real server over a socket: every method once, with the
// answers the server actually gives (not the fake fetch of src/management.test.ts). The device
// side of an enrollment goes through the server's test support, as a phone would send it.
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../server/test/support/harness.ts'
import { tenantApi, uniqueId } from '../../server/test/support/api.ts'
import { Countersign } from '../src/countersign.ts'
import { CountersignManagement } from '../src/management.ts'
import { rejection } from './support/fake-fetch.ts'

let h: Harness
let apiUrl: string
/** `METHOD /path` of every call the clients below made, for the coverage check at the end. */
const sent = new Set<string>()
const recordingFetch: typeof fetch = (input, init) => {
  sent.add(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`)
  return fetch(input, init)
}

beforeAll(async () => {
  h = await createHarness()
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  apiUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/v1`
})
afterAll(() => h.close())

/** A tenant of its own, with both clients for it. */
async function freshTenant() {
  const tenant = await h.newTenant()
  return {
    tenant,
    management: new CountersignManagement({ managementKey: tenant.managementKey, apiUrl, retries: 0, fetch: recordingFetch }),
    countersign: new Countersign({ secretKey: tenant.secretKey, apiUrl, retries: 0 }),
  }
}

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterator) items.push(item)
  return items
}

describe('tenant and API keys', () => {
  it('reads and changes the tenant', async () => {
    const { tenant, management } = await freshTenant()
    expect(await management.tenant.get()).toMatchObject({ tenantId: tenant.tenantId, allowedOrigins: [] })
    const updated = await management.tenant.update({ name: 'Bank of Examples', allowedOrigins: ['https://bank.example'] })
    expect(updated).toMatchObject({ tenantId: tenant.tenantId, name: 'Bank of Examples', allowedOrigins: ['https://bank.example'] })
    expect((await management.tenant.get()).name).toBe('Bank of Examples')
  })

  it('issues a key shown once, lists it without the key, and revokes it at once', async () => {
    const { management } = await freshTenant()
    const created = await management.apiKeys.create({ type: 'management', name: 'ops script' })
    expect(created).toMatchObject({ type: 'management', name: 'ops script', keyId: expect.any(String), key: expect.any(String) })

    const second = new CountersignManagement({ managementKey: created.key, apiUrl, retries: 0 })
    expect((await second.tenant.get()).tenantId).toBe((await management.tenant.get()).tenantId)
    const listed = await management.apiKeys.list()
    expect(listed).toContainEqual(expect.objectContaining({ keyId: created.keyId, type: 'management', name: 'ops script' }))
    expect(JSON.stringify(listed)).not.toContain(created.key)

    await management.apiKeys.revoke(created.keyId)
    const refused = await rejection(second.tenant.get())
    expect({ statusCode: refused.statusCode, errorCode: refused.errorCode }).toEqual({ statusCode: 401, errorCode: 'unauthorized' })
    expect((await management.apiKeys.list()).find((k) => k.keyId === created.keyId)?.revokedAt).toEqual(expect.any(String))
    expect((await rejection(management.apiKeys.revoke(created.keyId))).errorCode).toBe('not_found')
  })

  it('refuses a secret key used as the management key, without repeating it', async () => {
    const { tenant } = await freshTenant()
    const wrong = new CountersignManagement({ managementKey: tenant.secretKey, apiUrl, retries: 0 })
    const error = await rejection(wrong.tenant.get())
    expect({ statusCode: error.statusCode, errorCode: error.errorCode }).toEqual({ statusCode: 401, errorCode: 'unauthorized' })
    expect(JSON.stringify(error) + error.message).not.toContain(tenant.secretKey)
  })

  it('answers a malformed change with invalid_request (the Management API is strict)', async () => {
    const { management } = await freshTenant()
    const error = await rejection(management.tenant.update({ nmae: 'typo' } as never))
    expect({ statusCode: error.statusCode, errorCode: error.errorCode }).toEqual({ statusCode: 400, errorCode: 'invalid_request' })
  })
})

describe('action configurations and rules', () => {
  it('configures an action code, adds a rule that decides tracks, and dry-runs it', async () => {
    const { management, countersign } = await freshTenant()
    const configuration = await management.actionConfigurations.create({ actionCode: 'authorizePayment', defaultOutcome: 'ALLOW' })
    expect(configuration).toMatchObject({ actionCode: 'authorizePayment', defaultOutcome: 'ALLOW', ownSettings: ['defaultOutcome'], ruleCount: 0 })
    expect((await rejection(management.actionConfigurations.create({ actionCode: 'authorizePayment' }))).errorCode).toBe('conflict')

    const updated = await management.actionConfigurations.update('authorizePayment', { challengeTtlSeconds: 120 })
    expect(updated).toMatchObject({ challengeTtlSeconds: 120, ownSettings: ['challengeTtlSeconds', 'defaultOutcome'] })

    const rule = await management.rules.create('authorizePayment', { name: 'Large payments', outcome: 'BLOCK', condition: 'action.custom.amount > 1000' })
    expect(rule).toMatchObject({ actionCode: 'authorizePayment', isActive: true, priority: 100, outcome: 'BLOCK' })
    expect(await management.rules.get('authorizePayment', rule.ruleId)).toEqual(rule)
    expect(await management.rules.list('authorizePayment')).toEqual([rule])
    expect(await management.actionConfigurations.get('authorizePayment')).toMatchObject({ ruleCount: 1, challengeTtlSeconds: 120 })
    expect((await management.actionConfigurations.list()).map((c) => c.actionCode)).toEqual(['authorizePayment'])

    const tracked = await countersign.track({ userId: uniqueId('payer'), action: 'authorizePayment', attributes: { custom: { amount: 5000 } } })
    expect(tracked.state).toBe('BLOCK')

    const dryRun = await management.rules.dryRun('authorizePayment', {
      context: { action: { custom: { amount: 20 } } },
      condition: 'action.custom.amount > 10',
    })
    expect(dryRun).toMatchObject({ outcome: 'ALLOW', decidedBy: 'default', rules: [expect.objectContaining({ ruleId: rule.ruleId, matched: false })], draft: { matched: true } })

    const renamed = await management.rules.update('authorizePayment', rule.ruleId, { name: 'Very large payments', priority: 5 })
    expect(renamed).toMatchObject({ ruleId: rule.ruleId, name: 'Very large payments', priority: 5, condition: rule.condition })
    await management.rules.delete('authorizePayment', rule.ruleId)
    expect((await rejection(management.rules.get('authorizePayment', rule.ruleId))).errorCode).toBe('not_found')

    await management.actionConfigurations.delete('authorizePayment')
    const gone = await rejection(management.actionConfigurations.get('authorizePayment'))
    expect({ statusCode: gone.statusCode, errorCode: gone.errorCode }).toEqual({ statusCode: 404, errorCode: 'not_found' })
  })

  it('dry-runs a past action by its user and idempotency key', async () => {
    const { management, countersign } = await freshTenant()
    await management.actionConfigurations.create({ actionCode: 'signIn' })
    const userId = uniqueId('signer')
    const { idempotencyKey } = await countersign.track({ userId, action: 'signIn', attributes: { custom: { amount: 7 } } })
    const dryRun = await management.rules.dryRun('signIn', { userId, idempotencyKey, condition: 'action.custom.amount == 7' })
    expect(dryRun.draft).toMatchObject({ matched: true })
  })

  it('refuses a condition that does not compile, with where it went wrong in details', async () => {
    const { management } = await freshTenant()
    await management.actionConfigurations.create({ actionCode: 'authorizePayment' })
    const error = await rejection(management.rules.create('authorizePayment', { name: 'Broken', outcome: 'BLOCK', condition: 'action.custom.amount >' }))
    expect({ statusCode: error.statusCode, errorCode: error.errorCode }).toEqual({ statusCode: 400, errorCode: 'invalid_rule_condition' })
    expect(error.details).toEqual({ message: expect.any(String), position: expect.any(Number), line: 1, column: expect.any(Number) })
    expect(error.details!.column).toBe(error.details!.position! + 1)

    const rule = await management.rules.create('authorizePayment', { name: 'Fine', outcome: 'BLOCK', condition: 'true' })
    const multiline = await rejection(management.rules.update('authorizePayment', rule.ruleId, { condition: 'true &&\n  )' }))
    expect(multiline.errorCode).toBe('invalid_rule_condition')
    expect(multiline.details).toMatchObject({ line: 2, message: expect.any(String) })
  })
})

describe('value lists', () => {
  it('creates, reads, changes and deletes a list, refusing while an active rule uses it', async () => {
    const { management } = await freshTenant()
    const created = await management.valueLists.create({ alias: 'blocked_payees', name: 'Blocked payees', itemType: 'string', items: ['NZ01', 'NZ01', 'NZ02'] })
    expect(created).toMatchObject({ alias: 'blocked_payees', itemType: 'string', items: ['NZ01', 'NZ02'] })
    expect(await management.valueLists.get('blocked_payees')).toEqual(created)
    expect(await management.valueLists.list()).toEqual([expect.objectContaining({ alias: 'blocked_payees', itemCount: 2 })])
    expect((await management.valueLists.update('blocked_payees', { items: ['NZ03'] })).items).toEqual(['NZ03'])

    await management.actionConfigurations.create({ actionCode: 'pay' })
    const rule = await management.rules.create('pay', { name: 'Blocked', outcome: 'BLOCK', condition: "list('blocked_payees').contains(action.custom.payee)" })
    expect((await rejection(management.valueLists.delete('blocked_payees'))).errorCode).toBe('conflict')
    await management.rules.delete('pay', rule.ruleId)
    await management.valueLists.delete('blocked_payees')
    expect((await rejection(management.valueLists.get('blocked_payees'))).errorCode).toBe('not_found')

    // A condition naming a list that does not exist: the details carry only the message.
    const missing = await rejection(management.rules.create('pay', { name: 'Gone', outcome: 'BLOCK', condition: "list('blocked_payees').contains('x')" }))
    expect(missing.errorCode).toBe('invalid_rule_condition')
    expect(missing.details).toEqual({ message: expect.stringContaining('blocked_payees') })
  })
})

describe('webhooks', () => {
  it('adds an endpoint, shows its deliveries, queues one again, and removes it', async () => {
    const { management, countersign } = await freshTenant()
    const created = await management.webhooks.create({ url: 'https://hooks.example.com/countersign', events: ['*'], description: 'audit sink' })
    expect(created).toMatchObject({ url: 'https://hooks.example.com/countersign', events: ['*'], enabled: true, secret: expect.any(String) })
    const { secret, ...endpoint } = created
    expect(await management.webhooks.get(created.webhookId)).toEqual(endpoint)
    expect(JSON.stringify(await management.webhooks.list())).not.toContain(secret)

    // No delivery worker runs here, so the event stays queued.
    await countersign.track({ userId: uniqueId('hooked'), action: 'signIn' })
    const deliveries = await management.webhooks.deliveries(created.webhookId)
    expect(deliveries).toEqual([expect.objectContaining({ type: 'action.created', state: 'pending', attempts: 0 })])
    await management.webhooks.retry(created.webhookId, deliveries[0]!.eventId)
    const missing = await rejection(management.webhooks.retry(created.webhookId, '00000000-0000-4000-8000-000000000000'))
    expect(missing.errorCode).toBe('not_found')

    expect(await management.webhooks.update(created.webhookId, { enabled: false })).toMatchObject({ enabled: false })
    await management.webhooks.delete(created.webhookId)
    expect(await management.webhooks.list()).toEqual([])
  })
})

describe('users', () => {
  it('finds users a page at a time, and all of them through the iterator', async () => {
    const { management, countersign } = await freshTenant()
    const prefix = uniqueId('paged')
    const userIds = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]
    for (const userId of userIds) await countersign.track({ userId, action: 'signIn' })

    const first = await management.users.search({ query: prefix, limit: 2 })
    expect(first.items).toHaveLength(2)
    expect(first.nextCursor).toEqual(expect.any(String))
    const second = await management.users.search({ query: prefix, limit: 2, cursor: first.nextCursor })
    expect(second.items).toHaveLength(1)
    expect(second.nextCursor).toBeUndefined()

    const all = await collect(management.users.all({ query: prefix, limit: 2 }))
    expect(all.map((u) => u.userId).sort()).toEqual(userIds)
    expect(all.map((u) => u.userId)).toEqual([...first.items, ...second.items].map((u) => u.userId))
  })

  it('reads a user, unlocks and revokes their authenticator, clears a push block and deletes them', async () => {
    const { tenant, management } = await freshTenant()
    // A slash, a space and a question mark: each must stay inside the one path segment.
    const userId = `${uniqueId('ada')}/b c?d`
    const { credential } = await tenantApi(h, tenant).enroll(userId)

    const user = await management.users.get(userId)
    expect(user).toMatchObject({ userId, authenticatorCount: 1, pushBlocked: false })
    expect(user.authenticators).toEqual([expect.objectContaining({ userAuthenticatorId: credential.userAuthenticatorId })])
    expect(user.recentActions).toEqual([expect.objectContaining({ actionCode: 'addAuthenticator' })])

    await management.users.unlockAuthenticator(userId, credential.userAuthenticatorId)
    expect(await management.users.clearPushBlock(userId)).toEqual({ cleared: false })
    await management.users.revokeAuthenticator(userId, credential.userAuthenticatorId)
    expect((await management.users.get(userId)).authenticators).toEqual([])
    expect((await rejection(management.users.revokeAuthenticator(userId, credential.userAuthenticatorId))).errorCode).toBe('not_found')

    await management.users.delete(userId)
    const gone = await rejection(management.users.get(userId))
    expect({ statusCode: gone.statusCode, errorCode: gone.errorCode }).toEqual({ statusCode: 404, errorCode: 'not_found' })
  })
})

describe('action log and audit log', () => {
  it('pages through the action log, newest first, keeping the filter', async () => {
    const { management, countersign } = await freshTenant()
    const userId = uniqueId('logged')
    const keys: string[] = []
    for (const amount of [1, 2, 3]) {
      keys.push((await countersign.track({ userId, action: 'authorizePayment', attributes: { custom: { amount } } })).idempotencyKey)
      await countersign.track({ userId: uniqueId('other'), action: 'authorizePayment' })
    }

    const first = await management.actions.list({ userId, limit: 2 })
    expect(first.items.map((a) => a.idempotencyKey)).toEqual([keys[2], keys[1]])
    expect(first.nextCursor).toEqual(expect.any(String))
    const all = await collect(management.actions.all({ userId, actionCode: 'authorizePayment', state: 'ALLOW', limit: 2, from: new Date(Date.now() - 60_000) }))
    expect(all.map((a) => a.idempotencyKey)).toEqual([...keys].reverse())
    expect(all.every((a) => a.userId === userId)).toBe(true)
  })

  it('pages through the audit log, naming the key that made each change', async () => {
    const { management } = await freshTenant()
    await management.tenant.update({ name: 'Audited' })
    await management.actionConfigurations.create({ actionCode: 'audited' })
    const rule = await management.rules.create('audited', { name: 'Audited rule', outcome: 'ALLOW', condition: 'true' })

    const first = await management.auditLog.list({ limit: 2 })
    expect(first.items.map((e) => e.event)).toEqual(['rule.created', 'action_configuration.created'])
    expect(first.items[0]).toMatchObject({ target: `audited/${rule.ruleId}`, actor: expect.stringMatching(/^management_key:/) })
    const all = await collect(management.auditLog.all({ limit: 2 }))
    expect(all.map((e) => e.event)).toEqual(['rule.created', 'action_configuration.created', 'tenant.updated'])
    expect(new Set(all.map((e) => e.auditId)).size).toBe(3)
  })
})

describe('operators and statistics', () => {
  it('adds, lists and removes a console operator, who can then sign in no more', async () => {
    const { management } = await freshTenant()
    const email = `${uniqueId('op')}@bank.example`
    const operator = await management.operators.create({ email, password: 'correct horse battery staple' })
    expect(operator).toMatchObject({ email, operatorId: expect.any(String) })
    expect((await management.operators.list()).map((o) => o.operatorId)).toEqual([operator.operatorId])
    const conflict = await rejection(management.operators.create({ email, password: 'correct horse battery staple' }))
    expect(conflict).toMatchObject({ errorCode: 'conflict', statusCode: 409 })
    await management.operators.remove(operator.operatorId)
    expect(await management.operators.list()).toEqual([])
  })

  it('counts actions per outcome for the overview, and finds one action by its idempotency key', async () => {
    const { management, countersign } = await freshTenant()
    const { idempotencyKey } = await countersign.track({ userId: uniqueId('stats'), action: 'signIn' })
    const { interval, buckets } = await management.stats.get({ days: 2 })
    expect(interval).toBe('day')
    expect(buckets).toHaveLength(2)
    expect(buckets.at(-1)!.outcomes.ALLOW).toBe(1)
    expect((await management.actions.list({ idempotencyKey })).items.map((a) => a.idempotencyKey)).toEqual([idempotencyKey])
  })
})

describe('coverage', () => {
  // Guards against a Management API route the SDK has no method for (or this file never calls).
  it('called every Management API operation the server documents', async () => {
    const document = (await (await fetch(new URL('/openapi.json', apiUrl))).json()) as { paths: Record<string, Record<string, unknown>> }
    // The console's own sign-in (a cookie, not the management key) is for browsers, not this client.
    const operations = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/v1/management/') && path !== '/v1/management/session')
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })))
    expect(operations.length).toBeGreaterThanOrEqual(36)
    const uncalled = operations.filter(({ method, path }) => {
      const pattern = new RegExp(`^${method} ${path.replace(/\{[^}]+\}/g, '[^/]+')}$`)
      return ![...sent].some((call) => pattern.test(call))
    })
    expect(uncalled).toEqual([])
  })
})
