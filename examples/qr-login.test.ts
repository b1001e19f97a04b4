// The QR sign-in example against a server listening on loopback (the integration database):
// the page's token signs in the phone's user.
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../packages/server/test/support/harness.ts'
import { runQrLogin } from './qr-login.ts'

let h: Harness
let apiUrl: string

beforeAll(async () => {
  h = await createHarness()
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  apiUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/v1`
})
afterAll(() => h.close())

describe('examples/qr-login.ts', () => {
  it('signs the phone’s user in on the page that showed the code', async () => {
    const tenant = await h.newTenant()
    const lines: string[] = []
    const result = await runQrLogin({ apiUrl, secretKey: tenant.secretKey, tenantId: tenant.tenantId, drawCode: true, log: (line) => lines.push(line) })

    expect(result.states).toEqual(['unclaimed', 'claimed', 'approved'])
    expect(result.svg).toMatch(/^<svg [^>]*width="240"/)
    expect(result.validation).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', userId: result.userId, action: 'signIn', verificationMethod: 'QR_CODE' })
    expect(lines.join('\n')).toContain('“Sign in on Firefox on Linux in Lisbon?”')
    expect(lines.some((line) => line.includes('▄'))).toBe(true)
  })
})
