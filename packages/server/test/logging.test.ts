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
  it('carry no push or QR secret: tokens, device codes, nonces, signatures, push tokens, challenge IDs', async () => {
    const server = (url: string, payload: object) =>
      h.inject({ method: 'POST', url, headers: { authorization: basicAuth(tenant.secretKey) }, payload })
    const client = (method: 'GET' | 'POST', url: string, authorization: string, payload?: object, headers: Record<string, string> = {}) =>
      h.inject({ method, url, headers: { authorization, ...headers }, ...(payload ? { payload } : {}) })
    const tenantBasic = basicAuth(tenant.tenantId)
    const device = newDevice()
    const keyQuery = encodeURIComponent(Buffer.from(device.publicKey).toString('base64'))
    const enrollment = (await server('/v1/users/logged-push/actions/addAuthenticator', {})).json()
    await client('POST', '/v1/client/user-authenticators/push', `Bearer ${enrollment.token}`, { publicKey: device.publicKey, pushToken: 'push-token-secret-1' })
    const payment = (await server('/v1/users/logged-push/actions/authorizePayment', { transaction: { amount: 7 } })).json()
    const push = (await client('POST', '/v1/client/challenge/push', `Bearer ${payment.token}`, {})).json()
    const nonce = (await client('POST', `/v1/client/user-authenticators/push/challenge/sign?publicKey=${keyQuery}`, tenantBasic)).json()
    const nonceSignature = device.sign(nonce.message)
    await client('GET', `/v1/client/user-authenticators/push/challenge?publicKey=${keyQuery}`, tenantBasic, undefined, { 'x-authsignal-signature': nonceSignature })
    const approval = device.sign(push.challengeId)
    await client('POST', '/v1/client/user-authenticators/push/challenge', tenantBasic, { challengeId: push.challengeId, publicKey: device.publicKey, signature: approval, approved: true })
    const polled = (await client('POST', '/v1/client/verify/push', `Bearer ${payment.token}`, { challengeId: push.challengeId })).json()

    const qr = (await client('POST', '/v1/client/challenge/qr-code', tenantBasic, { action: 'signIn' })).json()
    await client('POST', '/v1/client/verify/qr-code', tenantBasic, { challengeId: qr.challengeId, deviceCode: qr.deviceCode })
    await client('POST', '/v1/client/verify/qr-code', tenantBasic, { challengeId: qr.challengeId, deviceCode: `${qr.deviceCode}x` })

    const secrets = [enrollment.token, payment.token, push.challengeId, nonce.message, nonceSignature, approval, polled.accessToken, qr.deviceCode, qr.challengeId, 'push-token-secret-1']
    expect(polled.accessToken).toEqual(expect.any(String))
    const log = logLines.join('\n')
    for (const secret of secrets) expect(log).not.toContain(secret)
  })

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
