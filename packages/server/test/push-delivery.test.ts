// Push delivery through the built-in senders, end to end: a tenant's stored APNs and FCM
// configuration, the per-device results returned as deliveryResults, and track's [ext]
// challengeMethod PUSH. The push services are loopback servers (see src/push/*.test.ts for
// the senders' own checks of what Apple and Google verify).
import { generateKeyPairSync, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createSecureServer, type Http2SecureServer } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configurePushProvider } from '../src/domain/push-delivery.ts'
import { createHarness, type Harness } from './support/harness.ts'
import { bearer, expectClientOk, expectOk, tenantApi, uniqueId, type TenantApi } from './support/api.ts'

const testdata = new URL('../src/push/testdata/', import.meta.url)
const cert = readFileSync(new URL('loopback-tls-cert.pem', testdata), 'utf8')
const key = readFileSync(new URL('loopback-tls-key.pem', testdata), 'utf8')

const apnsKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const fcmKey = generateKeyPairSync('rsa', { modulusLength: 2048 })

interface ApnsRequest {
  path: string
  headers: Record<string, unknown>
  payload: Record<string, unknown>
}
interface FcmRequest {
  path: string
  body: { message: Record<string, unknown> }
}

let apns: Http2SecureServer
let fcm: Server
const apnsRequests: ApnsRequest[] = []
const fcmRequests: FcmRequest[] = []
let h: Harness
let api: TenantApi

function jwtVerifies(token: string, publicKey: typeof apnsKey.publicKey, algorithm: 'ES256' | 'RS256'): boolean {
  const [header, claims, signature] = token.split('.')
  const data = Buffer.from(`${header}.${claims}`)
  return algorithm === 'ES256'
    ? verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature!, 'base64url'))
    : verify('sha256', data, publicKey, Buffer.from(signature!, 'base64url'))
}

beforeAll(async () => {
  apns = createSecureServer({ cert, key }, (req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    req.on('end', () => {
      const token = String(req.headers.authorization ?? '').replace(/^bearer /, '')
      if (!jwtVerifies(token, apnsKey.publicKey, 'ES256')) {
        res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ reason: 'InvalidProviderToken' }))
        return
      }
      apnsRequests.push({ path: req.url, headers: req.headers, payload: JSON.parse(body) as Record<string, unknown> })
      // A device that uninstalled the app.
      if (req.url.endsWith('dead0000'.repeat(8))) {
        res.writeHead(410, { 'content-type': 'application/json' }).end(JSON.stringify({ reason: 'Unregistered', timestamp: Date.now() }))
        return
      }
      res.writeHead(200, { 'apns-id': 'A1' }).end()
    })
  })
  await new Promise<void>((resolve) => apns.listen(0, '127.0.0.1', resolve))
  fcm = createHttpServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    req.on('end', () => {
      if (req.url === '/token') {
        const assertion = new URLSearchParams(body).get('assertion') ?? ''
        if (!jwtVerifies(assertion, fcmKey.publicKey, 'RS256')) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant' }))
          return
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'fcm-access', expires_in: 3599, token_type: 'Bearer' }))
        return
      }
      if (req.headers.authorization !== 'Bearer fcm-access') {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { status: 'UNAUTHENTICATED' } }))
        return
      }
      fcmRequests.push({ path: req.url ?? '', body: JSON.parse(body) as FcmRequest['body'] })
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'projects/bank/messages/1' }))
    })
  })
  await new Promise<void>((resolve) => fcm.listen(0, '127.0.0.1', resolve))
  const fcmOrigin = `http://127.0.0.1:${(fcm.address() as AddressInfo).port}`
  h = await createHarness(
    {},
    {
      overrides: {
        pushSenderOptions: {
          apns: { origin: `https://127.0.0.1:${(apns.address() as AddressInfo).port}`, ca: cert },
          fcm: { tokenUri: `${fcmOrigin}/token`, endpoint: fcmOrigin },
        },
      },
    },
  )
  const tenant = await h.newTenant()
  api = tenantApi(h, tenant)
  await configurePushProvider(
    h.database.db,
    tenant.tenantId,
    'apns',
    {
      teamId: 'TEAMID1234',
      keyId: 'KEYID12345',
      privateKey: apnsKey.privateKey.export({ format: 'pem', type: 'pkcs8' }),
      topic: 'com.example.bank',
    },
    undefined,
    new Date(),
  )
  await configurePushProvider(
    h.database.db,
    tenant.tenantId,
    'fcm',
    { projectId: 'bank', clientEmail: 'push@bank.iam.gserviceaccount.com', privateKey: fcmKey.privateKey.export({ format: 'pem', type: 'pkcs8' }) },
    undefined,
    new Date(),
  )
})
afterAll(async () => {
  await h.close()
  await new Promise((resolve) => apns.close(resolve))
  await new Promise((resolve) => fcm.close(resolve))
})

describe('push delivery through APNs and FCM', () => {
  it('each device is reached through the service for its platform; results come back per device', async () => {
    const userId = uniqueId('delivery')
    const iphone = await api.enroll(userId, { namespace: 'device', devicePlatform: 'ios', pushToken: 'abcdef0123456789'.repeat(4) })
    const pixel = await api.enroll(userId, { namespace: 'push', devicePlatform: 'android', pushToken: 'fcm-registration-token', approvedBy: iphone.device })
    const tracked = await api.track(userId, 'authorizePayment')
    const started = expectClientOk(await api.client('POST', '/v1/client/challenge/push', bearer(tracked.token), {}))
    expect(started.deliveryResults).toEqual(
      expect.arrayContaining([
        { userAuthenticatorId: iphone.credential.userAuthenticatorId, provider: 'apns', status: 'sent', statusCode: 200 },
        { userAuthenticatorId: pixel.credential.userAuthenticatorId, provider: 'fcm', status: 'sent', statusCode: 200 },
      ]),
    )
    const toIphone = apnsRequests.at(-1)!
    expect(toIphone.path).toBe(`/3/device/${'abcdef0123456789'.repeat(4)}`)
    expect(toIphone.headers['apns-topic']).toBe('com.example.bank')
    expect(toIphone.payload).toMatchObject({ aps: { alert: { title: expect.any(String) } }, challengeId: started.challengeId })
    const toPixel = fcmRequests.at(-1)!
    expect(toPixel.path).toBe('/v1/projects/bank/messages:send')
    expect(toPixel.body.message).toMatchObject({ token: 'fcm-registration-token', data: { challengeId: started.challengeId } })
  })

  it('an uninstalled app is reported as an invalid token; a device without a token is skipped', async () => {
    const userId = uniqueId('delivery-dead')
    const gone = await api.enroll(userId, { namespace: 'device', devicePlatform: 'ios', pushToken: 'dead0000'.repeat(8) })
    const quiet = await api.enroll(userId, { namespace: 'push', devicePlatform: 'android', approvedBy: gone.device })
    const tracked = await api.track(userId, 'authorizePayment')
    const started = expectClientOk(await api.client('POST', '/v1/client/challenge/push', bearer(tracked.token), {}))
    expect(started.deliveryResults).toEqual(
      expect.arrayContaining([
        { userAuthenticatorId: gone.credential.userAuthenticatorId, provider: 'apns', status: 'failed', statusCode: 410, error: 'Unregistered', invalidToken: true },
        { userAuthenticatorId: quiet.credential.userAuthenticatorId, provider: 'fcm', status: 'skipped' },
      ]),
    )
  })

  it('track with challengeMethod PUSH sends the push itself; the backend sees the approval on the action', async () => {
    const userId = uniqueId('delivery-track')
    const { device } = await api.enroll(userId, { namespace: 'push', devicePlatform: 'android', pushToken: 'fcm-token-2' })
    const tracked = await api.track(userId, 'authorizePayment', { challengeMethod: 'PUSH', ipAddress: '203.0.113.7', userAgent: 'Bank web' })
    expect(tracked.state).toBe('CHALLENGE_REQUIRED')
    expect(tracked.pushChallenge!.deliveryResults).toEqual([expect.objectContaining({ provider: 'fcm', status: 'sent' })])
    const challengeId = tracked.pushChallenge!.challengeId
    expect(fcmRequests.at(-1)!.body.message).toMatchObject({ data: { challengeId } })

    const seen = expectClientOk(
      await api.client('GET', `/v1/client/user-authenticators/push/challenge?publicKey=${encodeURIComponent(Buffer.from(device.publicKey).toString('base64'))}`, api.tenantBasic),
    )
    expect(seen).toMatchObject({ challengeId, ipAddress: '203.0.113.7', userAgent: 'Bank web' })
    expectClientOk(
      await api.client('POST', '/v1/client/user-authenticators/push/challenge', api.tenantBasic, {
        challengeId,
        publicKey: device.publicKey,
        signature: device.sign(challengeId),
        approved: true,
      }),
    )
    const action = expectOk(await api.server('GET', `/v1/users/${encodeURIComponent(userId)}/actions/authorizePayment/${tracked.idempotencyKey}`))
    expect(action).toMatchObject({ state: 'CHALLENGE_SUCCEEDED', verificationMethod: 'PUSH' })
    // Re-tracking the same idempotency key does not push again.
    const again = await api.track(userId, 'authorizePayment', { challengeMethod: 'PUSH', idempotencyKey: tracked.idempotencyKey })
    expect(again.pushChallenge).toBeUndefined()
  })

  it('a refused push does not fail the track: the response says why', async () => {
    const userId = uniqueId('delivery-none')
    await api.enroll(userId)
    const tracked = await api.track(userId, 'authorizePayment', { challengeMethod: 'PUSH' })
    expect(tracked).toMatchObject({ state: 'CHALLENGE_REQUIRED', pushChallengeRefused: 'not_found' })
    expect(tracked.pushChallenge).toBeUndefined()
  })
})
