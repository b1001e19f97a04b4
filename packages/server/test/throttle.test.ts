// Failed secret-key attempts are limited per client IP: after the limit the address is
// refused (429 with Retry-After) until the window ends, right key or not; other addresses
// are not affected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CreatedTenant } from '../src/domain/tenants.ts'
import { basicAuth, createHarness, type Harness } from './support/harness.ts'

let h: Harness
let tenant: CreatedTenant
beforeAll(async () => {
  h = await createHarness({ API_KEY_FAILURES_PER_WINDOW: '5', API_KEY_FAILURE_WINDOW_SECONDS: '1' })
  tenant = await h.newTenant()
})
afterAll(() => h.close())

const getUser = (key: string, remoteAddress: string) =>
  h.inject({ method: 'GET', url: '/v1/users/nobody', headers: { authorization: basicAuth(key) }, remoteAddress })

describe('failed API-key attempts per client IP', () => {
  it('refuses an address after five failures until the window ends, and only that address', async () => {
    const attacker = '203.0.113.7'
    const wrongKey = `${tenant.secretKey.slice(0, -4)}AAAA`
    for (let i = 0; i < 5; i++) expect((await getUser(wrongKey, attacker)).json().errorCode).toBe('unauthorized')

    const refused = await getUser(tenant.secretKey, attacker)
    expect(refused.statusCode).toBe(429)
    expect(refused.json().errorCode).toBe('too_many_requests')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)

    // Another address with the right key is served (the user does not exist: 404, not 401/429).
    expect((await getUser(tenant.secretKey, '198.51.100.9')).json().errorCode).toBe('not_found')

    await new Promise((resolve) => setTimeout(resolve, 1_100)) // the 1 s window ends
    expect((await getUser(tenant.secretKey, attacker)).json().errorCode).toBe('not_found')
  })

  it('does not count successful requests', async () => {
    const busy = '192.0.2.44'
    for (let i = 0; i < 10; i++) expect((await getUser(tenant.secretKey, busy)).statusCode).toBe(404)
  })
})
