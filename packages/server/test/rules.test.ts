// Rules: how track decides an outcome from an action code's configuration and its CEL rules,
// each signal on a history built for it, conditions refused when saved, failures contained
// at evaluation, and the dry run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TrackResponse } from '@countersign/protocol'
import { createHarness, type Harness } from './support/harness.ts'
import { expectError, expectOk, tenantApi, uniqueId, type TenantApi } from './support/api.ts'

let h: Harness
let api: TenantApi

beforeAll(async () => {
  h = await createHarness()
  api = tenantApi(h, await h.newTenant())
})
afterAll(() => h.close())

const HOUR = 3_600_000
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

/** A fresh action code with a configuration and the given rules; returns the code and rule IDs. */
async function actionWithRules(
  rules: Array<{ condition: string; outcome?: string; priority?: number; isActive?: boolean; verificationMethods?: string[] }>,
  settings: Record<string, unknown> = {},
): Promise<{ code: string; ruleIds: string[] }> {
  const code = uniqueId('act').replace(/[^a-zA-Z0-9_-]/g, '')
  expectOk(await api.manage('POST', '/action-configurations', { actionCode: code, ...settings }), 201)
  const ruleIds: string[] = []
  for (const [i, rule] of rules.entries()) {
    const created = expectOk(
      await api.manage('POST', `/action-configurations/${code}/rules`, { name: `rule ${i}`, outcome: 'CHALLENGE', ...rule }),
      201,
    )
    ruleIds.push(created.ruleId)
  }
  return { code, ruleIds }
}

const track = (userId: string, code: string, body: object = {}): Promise<TrackResponse> => api.track(userId, code, body)

async function actionOf(userId: string, code: string, idempotencyKey: string) {
  return expectOk(await api.server('GET', `/v1/users/${userId}/actions/${code}/${idempotencyKey}`))
}

describe('outcome: default and precedence', () => {
  it('creates a default configuration on an action code’s first track, so operators see it', async () => {
    const code = uniqueId('fresh').replace(/-/g, '_')
    expectError(await api.manage('GET', `/action-configurations/${code}`), 404, 'not_found')
    await track(uniqueId('u'), code)
    const config = expectOk(await api.manage('GET', `/action-configurations/${code}`))
    expect(config).toMatchObject({ actionCode: code, defaultOutcome: 'CHALLENGE', ownSettings: [], ruleCount: 0 })
  })

  it('applies the default outcome: CHALLENGE for enrolled users only, REVIEW and BLOCK for everyone', async () => {
    const userId = uniqueId('u')
    const challenge = await actionWithRules([])
    expect((await track(userId, challenge.code)).state).toBe('ALLOW')
    await api.enroll(userId)
    expect((await track(userId, challenge.code)).state).toBe('CHALLENGE_REQUIRED')

    const review = await actionWithRules([], { defaultOutcome: 'REVIEW' })
    const block = await actionWithRules([], { defaultOutcome: 'BLOCK' })
    const stranger = uniqueId('u')
    expect((await track(stranger, review.code)).state).toBe('REVIEW_REQUIRED')
    expect((await track(stranger, block.code)).state).toBe('BLOCK')
    expect((await track(userId, block.code)).state).toBe('BLOCK')
  })

  it('lets the matching rule with the lowest priority number decide, and records every match', async () => {
    const { code, ruleIds } = await actionWithRules([
      { condition: 'action.custom.amount > 5000.0', outcome: 'BLOCK', priority: 10 },
      { condition: 'action.custom.amount > 1000.0', outcome: 'CHALLENGE', priority: 20 },
      { condition: 'true', outcome: 'ALLOW', priority: 30 },
    ])
    const [block, challenge, allow] = ruleIds as [string, string, string]
    const userId = uniqueId('u')

    const big = await track(userId, code, { custom: { amount: 6000 } })
    expect(big.state).toBe('BLOCK')
    expect([...big.ruleIds].sort()).toEqual([block, challenge, allow].sort())
    const recorded = await actionOf(userId, code, big.idempotencyKey)
    expect(recorded.priorityRuleId).toBe(block)
    expect(recorded.rules.map((r: { ruleId: string }) => r.ruleId).sort()).toEqual([block, challenge, allow].sort())
    expect(recorded.output).toMatchObject({ outcome: 'BLOCK', decidedBy: 'rule' })

    // A rule's CHALLENGE stands for a user without an authenticator (the hosted page offers enrollment).
    const medium = await track(userId, code, { custom: { amount: 2000 } })
    expect(medium).toMatchObject({ state: 'CHALLENGE_REQUIRED', isEnrolled: false })
    expect((await actionOf(userId, code, medium.idempotencyKey)).priorityRuleId).toBe(challenge)

    const small = await track(userId, code, { custom: { amount: 10 } })
    expect(small.state).toBe('ALLOW')
    expect(small.ruleIds).toEqual([allow])
  })

  it('ignores inactive rules and falls back to the default when none matches', async () => {
    const { code } = await actionWithRules([{ condition: 'true', outcome: 'BLOCK', isActive: false }], { defaultOutcome: 'REVIEW' })
    const tracked = await track(uniqueId('u'), code)
    expect(tracked).toMatchObject({ state: 'REVIEW_REQUIRED', ruleIds: [] })
  })

  it('narrows the verification methods to the deciding rule’s, and holds each challenge to them', async () => {
    const { code } = await actionWithRules([{ condition: "action.custom.channel == 'web'", outcome: 'CHALLENGE', verificationMethods: ['PUSH'] }])
    const userId = uniqueId('u')
    await api.enroll(userId)
    const tracked = await track(userId, code, { custom: { channel: 'web' } })
    expect(tracked.state).toBe('CHALLENGE_REQUIRED')
    expect(tracked.allowedVerificationMethods).not.toContain('IN_APP')
    expect((await actionOf(userId, code, tracked.idempotencyKey)).output.verificationMethods).toEqual(['PUSH'])
    // The token carries the narrowing: an in-app or QR challenge for this action is refused.
    expectError(await api.client('POST', '/v1/client/challenge', `Bearer ${tracked.token}`, {}), 403, 'verification_method_not_allowed')
    expectError(await api.client('POST', '/v1/client/challenge/qr-code', `Bearer ${tracked.token}`, {}), 403, 'verification_method_not_allowed')
    // Re-tracking the same key keeps the narrowing; another track of the action without it does not.
    const again = await track(userId, code, { idempotencyKey: tracked.idempotencyKey, custom: { channel: 'web' } })
    expectError(await api.client('POST', '/v1/client/challenge', `Bearer ${again.token}`, {}), 403, 'verification_method_not_allowed')
    const app = await track(userId, code, { custom: { channel: 'app' } })
    expect(app.allowedVerificationMethods).toContain('IN_APP')
    expectOk(await api.client('POST', '/v1/client/challenge', `Bearer ${app.token}`, {}))
  })

  it('refuses a challenge with a method the action’s configuration does not allow', async () => {
    const { code } = await actionWithRules([], { verificationMethods: ['PUSH'] })
    const userId = uniqueId('u')
    await api.enroll(userId)
    const tracked = await track(userId, code)
    expect(tracked.allowedVerificationMethods).toEqual([])
    expectError(await api.client('POST', '/v1/client/challenge', `Bearer ${tracked.token}`, {}), 403, 'verification_method_not_allowed')
  })
})

describe('signals', () => {
  it('device.isNew and device.count: a device ID this user never sent before', async () => {
    const { code } = await actionWithRules([{ condition: 'device.isNew', outcome: 'BLOCK' }])
    const userId = uniqueId('u')
    expect((await track(userId, code, { deviceId: 'phone-1' })).state).toBe('BLOCK')
    expect((await track(userId, code, { deviceId: 'phone-1' })).state).toBe('ALLOW')
    expect((await track(userId, code, { deviceId: 'phone-2' })).state).toBe('BLOCK')
    // No device ID: nothing is new.
    expect((await track(userId, code)).state).toBe('ALLOW')
    // Another user's devices do not count.
    expect((await track(uniqueId('u'), code, { deviceId: 'phone-1' })).state).toBe('BLOCK')

    const many = await actionWithRules([{ condition: 'device.count >= 2', outcome: 'REVIEW' }])
    expect((await track(userId, many.code, { deviceId: 'phone-1' })).state).toBe('REVIEW_REQUIRED')
    expect((await track(uniqueId('u'), many.code, { deviceId: 'phone-1' })).state).toBe('ALLOW')
  })

  it('ip.isNew: an address this user never came from', async () => {
    const { code } = await actionWithRules([{ condition: 'ip.isNew', outcome: 'CHALLENGE' }])
    const userId = uniqueId('u')
    expect((await track(userId, code, { ipAddress: '203.0.113.10' })).state).toBe('CHALLENGE_REQUIRED')
    expect((await track(userId, code, { ipAddress: '203.0.113.10' })).state).toBe('ALLOW')
    expect((await track(userId, code, { ipAddress: '203.0.113.11' })).state).toBe('CHALLENGE_REQUIRED')
  })

  it('velocity: counts in the last hour and day, by code, failures and distinct addresses', async () => {
    const { code } = await actionWithRules([
      { condition: 'velocity.sameAction1h >= 2', outcome: 'BLOCK', priority: 1 },
      { condition: 'velocity.actions24h >= 4', outcome: 'REVIEW', priority: 2 },
    ])
    const userId = uniqueId('u')
    expect((await track(userId, code)).state).toBe('ALLOW')
    expect((await track(userId, code)).state).toBe('ALLOW')
    expect((await track(userId, code)).state).toBe('BLOCK')
    // An hour later the hourly window is empty again; the day still holds three.
    h.clock.advance(HOUR + 1000)
    expect((await track(userId, 'otherAction')).state).toBe('ALLOW')
    expect((await track(userId, code)).state).toBe('REVIEW_REQUIRED')

    const failures = await actionWithRules([{ condition: 'velocity.failedChallenges24h >= 1', outcome: 'BLOCK' }])
    const other = uniqueId('u')
    const first = await track(other, 'transfer')
    expect((await track(other, failures.code)).state).toBe('ALLOW')
    expectOk(await api.server('PATCH', `/v1/users/${other}/actions/transfer/${first.idempotencyKey}`, { state: 'CHALLENGE_FAILED' }))
    expect((await track(other, failures.code)).state).toBe('BLOCK')

    const addresses = await actionWithRules([{ condition: 'velocity.distinctIps24h >= 2', outcome: 'BLOCK' }])
    const roamer = uniqueId('u')
    await track(roamer, 'login', { ipAddress: '198.51.100.1' })
    expect((await track(roamer, addresses.code, { ipAddress: '198.51.100.1' })).state).toBe('ALLOW')
    await track(roamer, 'login', { ipAddress: '198.51.100.2' })
    expect((await track(roamer, addresses.code)).state).toBe('BLOCK')
  })

  it('travel.impossible: Sydney, then London an hour later; the same trip over two days is possible', async () => {
    const { code } = await actionWithRules([{ condition: 'travel.impossible', outcome: 'REVIEW' }])
    const traveller = uniqueId('u')
    // 1.1.1.1 is in Australia and 81.2.69.160 in the United Kingdom in the bundled database.
    expect((await track(traveller, code, { ipAddress: '1.1.1.1' })).state).toBe('ALLOW')
    h.clock.advance(HOUR)
    const jump = await track(traveller, code, { ipAddress: '81.2.69.160' })
    expect(jump.state).toBe('REVIEW_REQUIRED')
    const recorded = expectOk(await api.manage('GET', `/actions?userId=${traveller}&limit=1`)).items[0]
    expect(recorded.context.travel).toMatchObject({ impossible: true, previousCountry: 'AU' })
    expect(recorded.context.travel.distanceKm).toBeGreaterThan(10_000)

    const patient = uniqueId('u')
    await track(patient, code, { ipAddress: '1.1.1.1' })
    h.clock.advance(48 * HOUR)
    expect((await track(patient, code, { ipAddress: '81.2.69.160' })).state).toBe('ALLOW')
    // Unknown locations (a private address) never make travel impossible.
    expect((await track(patient, code, { ipAddress: '10.1.2.3' })).state).toBe('ALLOW')
  })

  it('ip.country, ip.inCidr and userAgent.isBot', async () => {
    const { code } = await actionWithRules([
      { condition: "ip.country == 'US'", outcome: 'BLOCK', priority: 1 },
      { condition: "ip.inCidr('10.0.0.0/8')", outcome: 'ALLOW', priority: 2 },
      { condition: 'userAgent.isBot', outcome: 'REVIEW', priority: 3 },
      { condition: 'true', outcome: 'CHALLENGE', priority: 4 },
    ])
    const userId = uniqueId('u')
    expect((await track(userId, code, { ipAddress: '8.8.8.8' })).state).toBe('BLOCK')
    expect((await track(userId, code, { ipAddress: '10.20.30.40' })).state).toBe('ALLOW')
    expect((await track(userId, code, { ipAddress: '81.2.69.160', userAgent: 'curl/8.5.0' })).state).toBe('REVIEW_REQUIRED')
    expect((await track(userId, code, { ipAddress: '81.2.69.160', userAgent: CHROME })).state).toBe('CHALLENGE_REQUIRED')
  })

  it('user signals: enrollment, authenticator count, custom attributes and age', async () => {
    const { code } = await actionWithRules([
      { condition: "user.custom.tier == 'gold'", outcome: 'ALLOW', priority: 1 },
      { condition: 'user.authenticatorCount >= 1 && user.ageDays < 1.0', outcome: 'REVIEW', priority: 2 },
      { condition: '!user.isEnrolled', outcome: 'BLOCK', priority: 3 },
    ])
    const userId = uniqueId('u')
    expect((await track(userId, code)).state).toBe('BLOCK')
    await api.enroll(userId)
    expect((await track(userId, code)).state).toBe('REVIEW_REQUIRED')
    h.clock.advance(2 * 24 * HOUR)
    expect((await track(userId, code)).state).toBe('CHALLENGE_REQUIRED')
    expectOk(await api.server('PATCH', `/v1/users/${userId}`, { custom: { tier: 'gold' } }))
    expect((await track(userId, code)).state).toBe('ALLOW')
  })

  it('value lists: list(alias).contains(…) and `in`, read fresh at each track', async () => {
    const alias = uniqueId('payees').replace(/-/g, '_')
    expectOk(await api.manage('POST', '/value-lists', { alias, name: 'Blocked payees', itemType: 'string', items: ['mallory'] }), 201)
    const { code } = await actionWithRules([{ condition: `list('${alias}').contains(action.transaction.payee)`, outcome: 'BLOCK' }])
    const userId = uniqueId('u')
    expect((await track(userId, code, { transaction: { payee: 'mallory' } })).state).toBe('BLOCK')
    expect((await track(userId, code, { transaction: { payee: 'alice' } })).state).toBe('ALLOW')
    expectOk(await api.manage('PATCH', `/value-lists/${alias}`, { items: ['alice'] }))
    expect((await track(userId, code, { transaction: { payee: 'alice' } })).state).toBe('BLOCK')
    expect((await track(userId, code, { transaction: { payee: 'mallory' } })).state).toBe('ALLOW')

    const numbers = uniqueId('amounts').replace(/-/g, '_')
    expectOk(await api.manage('POST', '/value-lists', { alias: numbers, name: 'Odd amounts', itemType: 'number', items: [13, 666] }), 201)
    const inList = await actionWithRules([{ condition: `action.custom.amount in list('${numbers}')`, outcome: 'REVIEW' }])
    expect((await track(userId, inList.code, { custom: { amount: 666 } })).state).toBe('REVIEW_REQUIRED')
    expect((await track(userId, inList.code, { custom: { amount: 7 } })).state).toBe('ALLOW')
  })

  it('reads no history a rule set does not use', async () => {
    const userId = uniqueId('u')
    for (let i = 0; i < 3; i++) await track(userId, 'warmup', { ipAddress: '203.0.113.50', deviceId: 'd' })
    const { code } = await actionWithRules([{ condition: 'action.custom.amount > 1.0', outcome: 'REVIEW' }])
    await track(userId, code, { custom: { amount: 5 }, ipAddress: '203.0.113.51', deviceId: 'd' })
    const [recorded] = expectOk(await api.manage('GET', `/actions?userId=${userId}&actionCode=${code}`)).items
    expect(recorded.context.velocity.actions24h).toBe(0)
    expect(recorded.context.device.count).toBe(0)
    expect(recorded.output.signals).toEqual(['request'])
    // An action without rules stores no context at all.
    const [plain] = expectOk(await api.manage('GET', `/actions?userId=${userId}&actionCode=warmup&limit=1`)).items
    expect(plain).not.toHaveProperty('context')
  })
})

describe('conditions', () => {
  it('are refused when saved if they do not compile, with the position of the error', async () => {
    const { code } = await actionWithRules([])
    const refusals: Array<[string, number, number]> = [
      ['action.custom.amount > ', 1, 24],
      ['action.custm == 1', 1, 8],
      ['amount > 5', 1, 1],
      ['true &&\n  velocity.actions1h > "x"', 2, 3],
    ]
    for (const [condition, line, column] of refusals) {
      const body = expectError(
        await api.manage('POST', `/action-configurations/${code}/rules`, { name: 'bad', outcome: 'BLOCK', condition }),
        400,
        'invalid_rule_condition',
      )
      expect(body.details).toMatchObject({ line, column })
      expect(typeof (body.details as { position: number }).position).toBe('number')
    }
    for (const condition of ["list('no_such_list').contains(1)", 'action.code', '[1].all(x, [2].exists(y, y == x))']) {
      expectError(
        await api.manage('POST', `/action-configurations/${code}/rules`, { name: 'bad', outcome: 'BLOCK', condition }),
        400,
        'invalid_rule_condition',
      )
    }
    expect(expectOk(await api.manage('GET', `/action-configurations/${code}/rules`)).items).toEqual([])
  })

  it('that fail at evaluation are recorded, count as not matching, and never fail the track', async () => {
    const { code, ruleIds } = await actionWithRules([
      { condition: 'action.custom.amount > 100.0', outcome: 'BLOCK', priority: 1 },
      { condition: "ip.inCidr('not-a-range')", outcome: 'BLOCK', priority: 2 },
      { condition: 'true', outcome: 'REVIEW', priority: 3 },
    ])
    const userId = uniqueId('u')
    // No amount in custom: the first rule's field lookup fails.
    const tracked = await track(userId, code, { custom: { note: 'no amount' }, ipAddress: '203.0.113.1' })
    expect(tracked.state).toBe('REVIEW_REQUIRED')
    expect(tracked.ruleIds).toEqual([ruleIds[2]])
    const recorded = await actionOf(userId, code, tracked.idempotencyKey)
    expect(recorded.output.errors.map((e: { ruleId: string }) => e.ruleId).sort()).toEqual([ruleIds[0], ruleIds[1]].sort())
  })
})

describe('dry run', () => {
  it('evaluates a given context and shows each rule’s inputs, recording nothing', async () => {
    const { code, ruleIds } = await actionWithRules([
      { condition: 'action.custom.amount > 1000.0 && velocity.actions1h > 3', outcome: 'BLOCK', priority: 1 },
      { condition: 'ip.isNew', outcome: 'CHALLENGE', priority: 2 },
    ])
    const before = expectOk(await api.manage('GET', `/actions?actionCode=${code}`)).items.length
    const result = expectOk(
      await api.manage('POST', `/action-configurations/${code}/rules/dry-run`, {
        context: { action: { code, custom: { amount: 5000 } }, velocity: { actions1h: 4 }, user: { isEnrolled: true } },
      }),
    )
    expect(result).toMatchObject({ outcome: 'BLOCK', state: 'BLOCK', decidedBy: 'rule', priorityRuleId: ruleIds[0] })
    expect(result.rules[0]).toMatchObject({ matched: true, inputs: { 'action.custom': { amount: 5000 }, 'velocity.actions1h': 4 } })
    expect(result.rules[1]).toMatchObject({ matched: false, inputs: { 'ip.isNew': false } })
    expect(expectOk(await api.manage('GET', `/actions?actionCode=${code}`)).items.length).toBe(before)

    const quiet = expectOk(await api.manage('POST', `/action-configurations/${code}/rules/dry-run`, { context: { user: { isEnrolled: true } } }))
    expect(quiet).toMatchObject({ outcome: 'CHALLENGE', state: 'CHALLENGE_REQUIRED', decidedBy: 'default' })
    const unenrolled = expectOk(await api.manage('POST', `/action-configurations/${code}/rules/dry-run`, { context: {} }))
    expect(unenrolled).toMatchObject({ outcome: 'CHALLENGE', state: 'ALLOW' })
  })

  it('re-decides a past action with rules written after it, and tests a draft condition', async () => {
    const { code } = await actionWithRules([])
    const userId = uniqueId('u')
    const past = await track(userId, code, { ipAddress: '8.8.8.8', custom: { amount: 7 } })
    expectOk(await api.manage('POST', `/action-configurations/${code}/rules`, { name: 'US', outcome: 'BLOCK', condition: "ip.country == 'US'" }), 201)
    const result = expectOk(
      await api.manage('POST', `/action-configurations/${code}/rules/dry-run`, {
        userId,
        idempotencyKey: past.idempotencyKey,
        condition: 'action.custom.amount == 7.0',
      }),
    )
    expect(result).toMatchObject({ outcome: 'BLOCK', decidedBy: 'rule', draft: { matched: true } })
    expect(result.context.ip).toMatchObject({ address: '8.8.8.8', country: 'US' })
    // The past action keeps what it was decided with.
    expect((await actionOf(userId, code, past.idempotencyKey)).state).toBe('ALLOW')
  })

  it('refuses a malformed context, a draft that does not compile and an unknown action', async () => {
    const { code } = await actionWithRules([])
    const path = `/action-configurations/${code}/rules/dry-run`
    expectError(await api.manage('POST', path, { context: { velocity: { actions1h: 'many' } } }), 400, 'invalid_request')
    expectError(await api.manage('POST', path, { context: { nonsense: {} } }), 400, 'invalid_request')
    expectError(await api.manage('POST', path, { context: {}, condition: 'ip.' }), 400, 'invalid_rule_condition')
    expectError(await api.manage('POST', path, { userId: 'nobody', idempotencyKey: 'nothing' }), 404, 'not_found')
    expectError(await api.manage('POST', path, {}), 400, 'invalid_request')
    expectError(await api.manage('POST', '/action-configurations/noSuchCode/rules/dry-run', { context: {} }), 404, 'not_found')
  })
})
