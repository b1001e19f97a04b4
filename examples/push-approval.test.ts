// The push example against a server listening on loopback (the integration database): the
// page gets a token the backend validates, and a denial fails the action.
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../packages/server/test/support/harness.ts'
import { runPushApproval } from './push-approval.ts'

let h: Harness
let apiUrl: string

beforeAll(async () => {
  h = await createHarness()
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  apiUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/v1`
})
afterAll(() => h.close())

describe('examples/push-approval.ts', () => {
  it('approves a payment with number matching, then denies one', async () => {
    const tenant = await h.newTenant({ numberMatching: true })
    const lines: string[] = []
    const result = await runPushApproval({ apiUrl, secretKey: tenant.secretKey, tenantId: tenant.tenantId, log: (line) => lines.push(line) })

    expect(result.payment.state).toBe('CHALLENGE_REQUIRED')
    expect(result.shownCode).toMatch(/^\d{2}$/)
    expect(result.states).toEqual(['unclaimed', 'approved'])
    expect(result.validation).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', verificationMethod: 'PUSH', userId: result.userId })
    expect(result.deniedResult.errorCode).toBe('challenge_rejected')
    expect(result.deniedAction.state).toBe('CHALLENGE_FAILED')
    expect(lines.join('\n')).toContain(`the user types the code from the page: ${result.shownCode}`)
  })

  it('runs without number matching too', async () => {
    const tenant = await h.newTenant()
    const result = await runPushApproval({ apiUrl, secretKey: tenant.secretKey, tenantId: tenant.tenantId, log: () => undefined })
    expect(result.shownCode).toBeUndefined()
    expect(result.validation).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED' })
  })
})
