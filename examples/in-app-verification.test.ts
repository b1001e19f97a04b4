// End to end over a real socket: the example, with both SDKs, against a server listening on
// loopback (the integration database).
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../packages/server/test/support/harness.ts'
import { runExample, tenantIdOf } from './in-app-verification.ts'

let h: Harness
let apiUrl: string

beforeAll(async () => {
  h = await createHarness()
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  apiUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/v1`
})
afterAll(() => h.close())

describe('examples/in-app-verification.ts', () => {
  it('runs enrollment and authentication with both SDKs over HTTP', async () => {
    const tenant = await h.newTenant()
    const lines: string[] = []
    const result = await runExample({ apiUrl, secretKey: tenant.secretKey, tenantId: tenant.tenantId, log: (l) => lines.push(l) })

    expect(result.enrollment.token).toEqual(expect.any(String))
    expect(result.added.userId).toBe(result.userId)
    expect(result.payment.state).toBe('CHALLENGE_REQUIRED')
    expect(result.validation).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', action: 'authorizePayment' })
    expect(result.replay).toMatchObject({ isValid: false, error: 'token_already_used' })
    expect(result.signInValidation).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED' })
    expect(result.removed).toBe(true)
    expect(result.authenticators).toEqual([])
    expect(lines.join('\n')).toContain('validateChallenge → isValid true')
  })

  it('finds the tenant ID inside a secret key', async () => {
    const tenant = await h.newTenant()
    expect(tenantIdOf(tenant.secretKey)).toBe(tenant.tenantId)
    expect(tenantIdOf('not a key')).toBeUndefined()
  })
})
