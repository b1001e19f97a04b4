// What the server logs during whole flows, at the most verbose level: request IDs yes;
// secrets, tokens, signatures and the hosted-page URL's query never.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CreatedTenant } from '../src/domain/tenants.ts'
import { basicAuth, createHarness, newDevice, type Harness } from './support/harness.ts'

const logLines: string[] = []
let h: Harness
let tenant: CreatedTenant

beforeAll(async () => {
  h = await createHarness({}, { logLines })
  tenant = await h.newTenant()
})
afterAll(() => h.close())

describe('logs', () => {
  it('carry request IDs and no secret key, token, signature or challenge', async () => {
    const secrets: string[] = [tenant.secretKey, tenant.secretKey.split('.').at(-1)!]
    const server = (url: string, payload: object) =>
      h.inject({ method: 'POST', url, headers: { authorization: basicAuth(tenant.secretKey) }, payload })

    const enrollment = (await server('/v1/users/logged/actions/addAuthenticator', {})).json()
    const device = newDevice()
    await h.inject({
      method: 'POST',
      url: '/v1/client/user-authenticators/in-app',
      headers: { authorization: `Bearer ${enrollment.token}` },
      payload: { publicKey: device.publicKey },
    })
    const payment = (await server('/v1/users/logged/actions/authorizePayment', {})).json()
    const { challengeId } = (
      await h.inject({ method: 'POST', url: '/v1/client/challenge', headers: { authorization: `Bearer ${payment.token}` }, payload: {} })
    ).json()
    const badSignature = device.sign('something else')
    await h.inject({
      method: 'POST',
      url: '/v1/client/verify/in-app',
      headers: { authorization: `Bearer ${payment.token}` },
      payload: { challengeId, publicKey: device.publicKey, signature: badSignature },
    })
    const goodSignature = device.sign(challengeId)
    const verified = (
      await h.inject({
        method: 'POST',
        url: '/v1/client/verify/in-app',
        headers: { authorization: `Bearer ${payment.token}` },
        payload: { challengeId, publicKey: device.publicKey, signature: goodSignature },
      })
    ).json()
    await server('/v1/validate', { token: verified.token })
    // A wrong key and a hosted-page URL with its token in the query.
    await h.inject({ method: 'GET', url: '/v1/users/logged', headers: { authorization: basicAuth(`${tenant.secretKey}x`) } })
    await h.inject({ method: 'GET', url: `/challenge?token=${payment.token}` })

    secrets.push(enrollment.token, payment.token, verified.token, challengeId, badSignature, goodSignature)
    const log = logLines.join('\n')
    expect(logLines.length).toBeGreaterThan(20)
    expect(log).toContain('"reqId"')
    for (const secret of secrets) expect(log).not.toContain(secret)
  })
})
