import { describe, expect, it } from 'vitest'
import { CountersignClient } from './client.ts'
import { MemoryKeyStore } from './memory-key-store.ts'
import { fakeFetch, verifiesOnServer, type Handler } from './testing/fake-fetch.ts'

// The legacy shared credential: the same calls as push, QR and in-app, under `device`, with
// the `device` key.
async function setup(handler: Handler) {
  const keyStore = new MemoryKeyStore()
  const { publicKey } = await keyStore.create('device', { userAuthenticationRequired: false })
  const server = fakeFetch(handler)
  const client = new CountersignClient({ tenantId: 't1', baseUrl: 'http://127.0.0.1:8080', keyStore, fetch: server.fetch })
  return { client, requests: server.requests, publicKey: Buffer.from(publicKey).toString('base64') }
}

describe('device namespace', () => {
  it('fetches, claims and answers under /user-authenticators/device', async () => {
    const pending = { userAuthenticatorId: 'ua', challengeId: 'c1', userId: 'u', actionCode: 'authorizePayment' }
    const { client, requests, publicKey } = await setup((request) => {
      if (request.path.endsWith('/challenge/sign')) return { body: { message: 'n' } }
      if (request.path.endsWith('/claim')) return { body: { success: true, userId: 'u', actionCode: 'signIn' } }
      if (request.method === 'GET') return { body: pending }
      return { body: { isVerified: true } }
    })
    expect((await client.device.getChallenge()).data).toEqual(pending)
    expect((await client.device.updateChallenge({ challengeId: 'c1', approved: true })).data).toEqual({ isVerified: true })
    expect((await client.device.claimChallenge({ challengeId: 'q1' })).data).toMatchObject({ challengeId: 'q1', actionCode: 'signIn' })
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/client/user-authenticators/device/challenge/sign',
      'GET /v1/client/user-authenticators/device/challenge',
      'POST /v1/client/user-authenticators/device/challenge/sign',
      'GET /v1/client/user-authenticators/device/challenge',
      'POST /v1/client/user-authenticators/device/challenge',
      'POST /v1/client/user-authenticators/device/challenge/claim',
    ])
    expect(verifiesOnServer(publicKey, 'q1', requests[5]?.body?.signature)).toBe(true)
  })

  it('verifies an in-app challenge at /client/verify/device', async () => {
    const { client, requests, publicKey } = await setup((request) =>
      request.path === '/v1/client/challenge' ? { body: { challengeId: 'c9' } } : { body: { token: 'tok', userId: 'u', userAuthenticatorId: 'ua' } },
    )
    expect((await client.device.verify({ action: 'signIn' })).data?.token).toBe('tok')
    expect(requests[1]?.path).toBe('/v1/client/verify/device')
    expect(verifiesOnServer(publicKey, 'c9', requests[1]?.body?.signature)).toBe(true)
  })
})
