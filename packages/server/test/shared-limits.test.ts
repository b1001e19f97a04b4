// Limits that protect the service from one client IP are shared by every node through Redis
// when REDIS_URL is set (ARCHITECTURE.md, What runs where): failures counted on one node
// refuse the address on another. Without Redis, or while Redis does not answer, each node
// still holds the limit on its own and requests do not wait for Redis.
// Runs where TEST_REDIS_URL names a Redis server (.ci/run starts one and sets it).
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CreatedTenant } from '../src/domain/tenants.ts'
import { basicAuth, createHarness, type Harness } from './support/harness.ts'

const REDIS = process.env.TEST_REDIS_URL

describe.runIf(REDIS)('request limits shared through Redis', () => {
  let nodeA: Harness
  let nodeB: Harness
  let tenant: CreatedTenant
  beforeAll(async () => {
    // A prefix of this run's own, as one installation's nodes would share one.
    const env = {
      REDIS_URL: REDIS!,
      REDIS_KEY_PREFIX: `cs-test-${randomBytes(6).toString('hex')}`,
      API_KEY_FAILURES_PER_WINDOW: '5',
      API_KEY_FAILURE_WINDOW_SECONDS: '60',
    }
    nodeA = await createHarness(env)
    nodeB = await createHarness(env)
    tenant = await nodeA.newTenant()
  })
  afterAll(async () => {
    await nodeA?.close()
    await nodeB?.close()
  })

  const getUser = (node: Harness, key: string, remoteAddress: string) =>
    node.inject({ method: 'GET', url: '/v1/users/nobody', headers: { authorization: basicAuth(key) }, remoteAddress })

  it('counts one address’s failures on every node together', async () => {
    const attacker = '203.0.113.50'
    const wrongKey = `${tenant.secretKey.slice(0, -4)}AAAA`
    for (let i = 0; i < 3; i++) expect((await getUser(nodeA, wrongKey, attacker)).json().errorCode).toBe('unauthorized')
    for (let i = 0; i < 2; i++) expect((await getUser(nodeB, wrongKey, attacker)).json().errorCode).toBe('unauthorized')
    // Five in all: both nodes now refuse the address, even with the right key.
    for (const node of [nodeA, nodeB]) {
      const refused = await getUser(node, tenant.secretKey, attacker)
      expect(refused.statusCode).toBe(429)
      expect(refused.json().errorCode).toBe('too_many_requests')
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(50)
    }
    expect((await getUser(nodeB, tenant.secretKey, '198.51.100.50')).json().errorCode).toBe('not_found')
  })
})

describe('request limits when Redis does not answer', () => {
  let node: Harness
  let tenant: CreatedTenant
  beforeAll(async () => {
    // Nothing listens on port 1: every Redis command fails at once.
    node = await createHarness({ REDIS_URL: 'redis://127.0.0.1:1', API_KEY_FAILURES_PER_WINDOW: '3', API_KEY_FAILURE_WINDOW_SECONDS: '60' })
    tenant = await node.newTenant()
  })
  afterAll(() => node?.close())

  it('still limits the address on this node, without waiting for Redis or failing a request', async () => {
    const attacker = '203.0.113.51'
    const wrongKey = `${tenant.secretKey.slice(0, -4)}AAAA`
    const started = performance.now()
    for (let i = 0; i < 3; i++)
      expect(
        (
          await node.inject({
            method: 'GET',
            url: '/v1/users/nobody',
            headers: { authorization: basicAuth(wrongKey) },
            remoteAddress: attacker,
          })
        ).statusCode,
      ).toBe(401)
    const refused = await node.inject({
      method: 'GET',
      url: '/v1/users/nobody',
      headers: { authorization: basicAuth(tenant.secretKey) },
      remoteAddress: attacker,
    })
    expect(refused.statusCode).toBe(429)
    const served = await node.inject({
      method: 'GET',
      url: '/v1/users/nobody',
      headers: { authorization: basicAuth(tenant.secretKey) },
      remoteAddress: '198.51.100.51',
    })
    expect(served.json().errorCode).toBe('not_found')
    // Five requests, none of which waited out a Redis timeout (2 s each).
    expect(performance.now() - started).toBeLessThan(2000)
  })
})
