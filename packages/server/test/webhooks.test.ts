// Webhooks (PROTOCOL.md §5): every change queues its event in the statement that makes it; the
// dispatcher delivers it, signed, to a real HTTP receiver on loopback, retries with back-off,
// gives up after the retry window and keeps a delivery log. The synchronous action.verify
// webhook may veto an approval before CHALLENGE_SUCCEEDED.
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Authsignal } from '@authsignal/node'
import { Countersign, isCountersignError } from '@countersign/node'
import { removeCredentialMessage } from '@countersign/protocol'
import { sql } from 'drizzle-orm'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { configureAction } from '../src/domain/action-configurations.ts'
import { createTenant } from '../src/domain/tenants.ts'
import { createWebhookEndpoint, updateWebhookEndpoint, type NewWebhookEndpoint } from '../src/domain/webhooks.ts'
import { createLogger } from '../src/logger.ts'
import { openDeps } from '../src/main.ts'
import { queryRows, type Db } from '../src/storage/database.ts'
import * as webhooksRepo from '../src/storage/webhooks-repo.ts'
import { bearer, claimsOf, expectClientOk, expectError, expectOk, tenantApi, uniqueId, type TenantApi } from './support/api.ts'
import { basicAuth, createHarness, type Harness } from './support/harness.ts'
import { closedPort, startReceiver, type ReceivedRequest, type WebhookReceiver } from './support/webhook-receiver.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
const SOURCE = 'http://countersign.test'

interface Envelope {
  version: number
  id: string
  source: string
  time: string
  tenantId: string
  type: string
  data: Record<string, unknown>
}

let receiver: WebhookReceiver
beforeAll(async () => {
  receiver = await startReceiver()
})
afterAll(() => receiver.close())

// Every endpoint a test adds is deleted after it (with its deliveries and attempts): the
// dispatcher serves every tenant of the shared database, so nothing may stay pending for the
// next test's runOnce to pick up.
const endpoints: Array<{ h: Harness; tenantId: string; webhookId: string }> = []
afterEach(async () => {
  for (const { h, tenantId, webhookId } of endpoints.splice(0)) await webhooksRepo.deleteEndpoint(h.database.db, tenantId, webhookId)
})

async function addEndpoint(h: Harness, tenantId: string, path: string, options: Partial<NewWebhookEndpoint> = {}) {
  const created = await createWebhookEndpoint(
    h.database.db,
    tenantId,
    { url: receiver.url(path), events: ['*'], ...options },
    h.deps.config.COUNTERSIGN_ENCRYPTION_KEY,
    new Date(h.clock()),
    { allowPrivateUrls: true },
  )
  endpoints.push({ h, tenantId, webhookId: created.webhookId })
  return created
}

/** Runs the dispatcher until nothing more is due now (the harness never starts its timer). */
async function deliverDue(h: Harness): Promise<void> {
  for (let pass = 0; pass < 20; pass++) if ((await h.deps.webhooks.runOnce()) === 0) return
}

const envelopesAt = (path: string): Envelope[] => receiver.requests(path).map((r) => JSON.parse(r.rawBody) as Envelope)
const ofType = (path: string, type: string) => envelopesAt(path).filter((e) => e.type === type)

async function outboxCount(db: Db, tenantId: string): Promise<{ events: number; deliveries: number }> {
  const [row] = await queryRows<{ events: number; deliveries: number }>(
    db,
    sql`SELECT (SELECT count(*)::int FROM webhook_events WHERE tenant_id = ${tenantId}) AS events,
               (SELECT count(*)::int FROM webhook_deliveries WHERE tenant_id = ${tenantId}) AS deliveries`,
  )
  return row!
}

async function attemptsOf(db: Db, tenantId: string, webhookId: string, eventId: string) {
  return queryRows<{ attempt: number; status: number | null; error: string | null; durationMs: number }>(
    db,
    sql`SELECT attempt, status, error, duration_ms AS "durationMs" FROM webhook_attempts
         WHERE tenant_id = ${tenantId} AND webhook_id = ${webhookId} AND event_id = ${eventId} ORDER BY attempt`,
  )
}

async function storedEndpointSecret(db: Db, tenantId: string, webhookId: string): Promise<Buffer> {
  const [row] = await queryRows<{ secret: Uint8Array }>(
    db,
    sql`SELECT secret FROM webhook_endpoints WHERE tenant_id = ${tenantId} AND webhook_id = ${webhookId}`,
  )
  return Buffer.from(row!.secret)
}

async function storedSecretOfTenant(db: Db, tenantId: string): Promise<Buffer> {
  const [row] = await queryRows<{ keySecret: Uint8Array }>(db, sql`SELECT key_secret AS "keySecret" FROM tenants WHERE tenant_id = ${tenantId}`)
  return Buffer.from(row!.keySecret)
}

const countersignFor = (secret: string) =>
  new Countersign({ secretKey: 'cs_sk_unused', apiUrl: 'http://countersign.test/v1', webhookSecret: secret })

/** The Standard Webhooks signature, computed here from the spec rather than by our code. */
function standardSignature(secret: string, request: ReceivedRequest): string {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8')
  const content = `${request.headers['webhook-id']}.${request.headers['webhook-timestamp']}.${request.rawBody}`
  return `v1,${createHmac('sha256', key).update(content).digest('base64')}`
}

function expectWellFormed(envelope: Envelope, tenantId: string): void {
  expect(Object.keys(envelope).sort()).toEqual(['data', 'id', 'source', 'tenantId', 'time', 'type', 'version'])
  expect(envelope).toMatchObject({ version: 1, id: expect.stringMatching(UUID), source: SOURCE, time: expect.stringMatching(ISO), tenantId })
}

async function actionOf(api: TenantApi, userId: string, actionCode: string, idempotencyKey: string) {
  return expectOk(await api.server('GET', `/v1/users/${encodeURIComponent(userId)}/actions/${actionCode}/${idempotencyKey}`))
}

describe('the outbox: each change queues its event', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness({ WEBHOOK_TIMEOUT_MS: '1000', VERIFICATION_WEBHOOK_TIMEOUT_MS: '500' })
  })
  afterAll(() => h.close())

  it('track queues action.created once; re-tracking the same idempotency key queues nothing', async () => {
    const api = tenantApi(h, await h.newTenant())
    await addEndpoint(h, api.tenant.tenantId, '/created')
    const userId = uniqueId('created')
    const tracked = await api.track(userId, 'signIn', { idempotencyKey: uniqueId('key') })
    await api.track(userId, 'signIn', { idempotencyKey: tracked.idempotencyKey })
    expect(await outboxCount(h.database.db, api.tenant.tenantId)).toEqual({ events: 1, deliveries: 1 })

    await deliverDue(h)
    const [envelope, ...more] = envelopesAt('/created')
    expect(more).toEqual([])
    expectWellFormed(envelope!, api.tenant.tenantId)
    const action = await actionOf(api, userId, 'signIn', tracked.idempotencyKey)
    expect(envelope).toMatchObject({ type: 'action.created' })
    expect(envelope!.data).toEqual({
      userId,
      actionCode: 'signIn',
      idempotencyKey: tracked.idempotencyKey,
      state: 'ALLOW',
      stateUpdatedAt: expect.stringMatching(ISO),
      verificationMethod: null,
      userAuthenticatorId: null,
    })
    expect(Date.parse(envelope!.data.stateUpdatedAt as string)).toBe(Date.parse(action.stateUpdatedAt))
    expect(Math.abs(Date.parse(envelope!.time) - Date.now())).toBeLessThan(60_000)
  })

  it('an in-app verification queues action.state_changed with the method, authenticator and previous state', async () => {
    const api = tenantApi(h, await h.newTenant())
    await addEndpoint(h, api.tenant.tenantId, '/verified')
    const userId = uniqueId('verified')
    const { device, credential } = await api.enroll(userId)
    const { idempotencyKey } = await api.completeFlow(userId, device)
    await deliverDue(h)

    const created = ofType('/verified', 'action.created').map((e) => e.data)
    expect(created).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ userId, actionCode: 'addAuthenticator', state: 'ALLOW' }),
        expect.objectContaining({ userId, actionCode: 'authorizePayment', idempotencyKey, state: 'CHALLENGE_REQUIRED' }),
      ]),
    )
    const changed = ofType('/verified', 'action.state_changed')
    expect(changed).toHaveLength(1)
    expect(changed[0]!.data).toEqual({
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey,
      state: 'CHALLENGE_SUCCEEDED',
      previousState: 'CHALLENGE_REQUIRED',
      stateUpdatedAt: expect.stringMatching(ISO),
      verificationMethod: 'IN_APP',
      userAuthenticatorId: credential.userAuthenticatorId,
    })
  })

  it('PATCH action queues action.state_changed; a PATCH to the same state queues nothing', async () => {
    const api = tenantApi(h, await h.newTenant())
    const userId = uniqueId('patched')
    await api.enroll(userId)
    const tracked = await api.track(userId, 'authorizePayment')
    await addEndpoint(h, api.tenant.tenantId, '/patched')
    const url = `/v1/users/${userId}/actions/authorizePayment/${tracked.idempotencyKey}`
    expectOk(await api.server('PATCH', url, { state: 'REVIEW_REQUIRED' }))
    expectOk(await api.server('PATCH', url, { state: 'REVIEW_REQUIRED' }))
    expectOk(await api.server('PATCH', url, { state: 'REVIEW_SUCCEEDED' }))
    await deliverDue(h)

    const changes = envelopesAt('/patched').map((e) => [e.type, e.data.previousState, e.data.state])
    expect(changes.sort()).toEqual([
      ['action.state_changed', 'CHALLENGE_REQUIRED', 'REVIEW_REQUIRED'],
      ['action.state_changed', 'REVIEW_REQUIRED', 'REVIEW_SUCCEEDED'],
    ])
  })

  it('enrolling queues authenticator.created; deleting by the backend or the device queues authenticator.deleted', async () => {
    const api = tenantApi(h, await h.newTenant())
    await addEndpoint(h, api.tenant.tenantId, '/authenticators', { events: ['authenticator.created', 'authenticator.deleted'] })
    const first = uniqueId('auth-a')
    const second = uniqueId('auth-b')
    const a = await api.enroll(first)
    const b = await api.enroll(second, { namespace: 'push', pushToken: 'fcm-token-b', devicePlatform: 'ios' })

    expectOk(await api.server('DELETE', `/v1/users/${first}/authenticators/${a.credential.userAuthenticatorId}`), 204)
    const removed = await api.client('POST', '/v1/client/user-authenticators/push/remove', api.tenantBasic, {
      publicKey: b.device.publicKey,
      signature: b.device.sign(removeCredentialMessage(h.clock())),
    })
    expect(expectClientOk(removed)).toEqual({ removedAuthenticatorId: b.credential.userAuthenticatorId })
    await deliverDue(h)

    const authenticatorData = (userId: string, credentialId: string, method: string, platform: string) => ({
      userId,
      userAuthenticatorId: credentialId,
      verificationMethod: method,
      deviceName: 'Pixel 8',
      devicePlatform: platform,
    })
    const aData = authenticatorData(first, a.credential.userAuthenticatorId, 'IN_APP', 'android')
    const bData = authenticatorData(second, b.credential.userAuthenticatorId, 'PUSH', 'ios')
    expect(ofType('/authenticators', 'authenticator.created').map((e) => e.data)).toEqual(expect.arrayContaining([aData, bData]))
    expect(ofType('/authenticators', 'authenticator.deleted').map((e) => e.data)).toEqual(expect.arrayContaining([aData, bData]))
    expect(envelopesAt('/authenticators')).toHaveLength(4)
  })

  it('deleting a user queues authenticator.deleted for each of their devices', async () => {
    const api = tenantApi(h, await h.newTenant())
    await addEndpoint(h, api.tenant.tenantId, '/user-deleted', { events: ['authenticator.deleted'] })
    const userId = uniqueId('deleted-user')
    const first = await api.enroll(userId)
    const second = await api.enroll(userId, { namespace: 'push', approvedBy: first.device })
    expectOk(await api.server('DELETE', `/v1/users/${userId}`), 204)
    await deliverDue(h)
    const deleted = ofType('/user-deleted', 'authenticator.deleted').map((e) => (e.data as { userAuthenticatorId: string }).userAuthenticatorId)
    expect(deleted.sort()).toEqual([first.credential.userAuthenticatorId, second.credential.userAuthenticatorId].sort())
    expect(expectOk(await api.server('GET', `/v1/users/${userId}/authenticators`))).toEqual([])
  })

  it('a push challenge queues push.created with its devices; the approval queues action.state_changed (PUSH)', async () => {
    const api = tenantApi(h, await h.newTenant())
    await addEndpoint(h, api.tenant.tenantId, '/push')
    const userId = uniqueId('push')
    const { device, credential } = await api.enroll(userId, { namespace: 'push', pushToken: 'fcm-token-1' })
    const tracked = await api.track(userId, 'authorizePayment')
    const push = expectClientOk(await api.client('POST', '/v1/client/challenge/push', bearer(tracked.token), {}))
    const answered = await api.client('POST', '/v1/client/user-authenticators/push/challenge', api.tenantBasic, {
      challengeId: push.challengeId,
      publicKey: device.publicKey,
      signature: device.sign(push.challengeId),
      approved: true,
    })
    expect(expectClientOk(answered)).toEqual({ isVerified: true })
    await deliverDue(h)

    const [created, ...more] = ofType('/push', 'push.created')
    expect(more).toEqual([])
    expect(created!.data).toEqual({
      challengeId: push.challengeId,
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey: tracked.idempotencyKey,
      expiresAt: expect.stringMatching(ISO),
      verificationCode: null,
      devices: [{ userAuthenticatorId: credential.userAuthenticatorId, pushToken: 'fcm-token-1', devicePlatform: 'android' }],
    })
    expect(Date.parse(created!.data.expiresAt as string)).toBe(Date.parse(push.expiresAt))
    expect(ofType('/push', 'action.state_changed').map((e) => e.data)).toEqual([
      expect.objectContaining({
        userId,
        idempotencyKey: tracked.idempotencyKey,
        state: 'CHALLENGE_SUCCEEDED',
        previousState: 'CHALLENGE_REQUIRED',
        verificationMethod: 'PUSH',
        userAuthenticatorId: credential.userAuthenticatorId,
      }),
    ])
  })

  it('a push denied as fraud queues user.push_blocked and action.state_changed to CHALLENGE_FAILED', async () => {
    const api = tenantApi(h, await h.newTenant())
    await addEndpoint(h, api.tenant.tenantId, '/fraud')
    const userId = uniqueId('fraud')
    const { device } = await api.enroll(userId, { namespace: 'push', pushToken: 'fcm-token-2' })
    const tracked = await api.track(userId, 'authorizePayment')
    const push = expectClientOk(await api.client('POST', '/v1/client/challenge/push', bearer(tracked.token), {}))
    const answered = await api.client('POST', '/v1/client/user-authenticators/push/challenge', api.tenantBasic, {
      challengeId: push.challengeId,
      publicKey: device.publicKey,
      signature: device.sign(push.challengeId),
      approved: false,
      reportFraud: true,
    })
    expect(expectClientOk(answered)).toEqual({ isVerified: false })
    await deliverDue(h)

    expect(ofType('/fraud', 'user.push_blocked').map((e) => e.data)).toEqual([
      { userId, challengeId: push.challengeId, actionCode: 'authorizePayment' },
    ])
    expect(ofType('/fraud', 'action.state_changed').map((e) => e.data)).toEqual([
      expect.objectContaining({ userId, state: 'CHALLENGE_FAILED', previousState: 'CHALLENGE_REQUIRED', verificationMethod: 'PUSH' }),
    ])
  })

  it('a tenant-only in-app verification and an anonymous QR approval queue action.created in CHALLENGE_SUCCEEDED', async () => {
    const api = tenantApi(h, await h.newTenant())
    const inAppUser = uniqueId('tenant-only')
    const qrUser = uniqueId('qr')
    const inApp = await api.enroll(inAppUser)
    const qrDevice = await api.enroll(qrUser, { namespace: 'qr-code' })
    await addEndpoint(h, api.tenant.tenantId, '/anonymous', { events: ['action.created'] })

    const challengeId = await api.challenge(api.tenantBasic, 'signIn')
    const verified = expectClientOk(await api.verify(api.tenantBasic, challengeId, inApp.device))

    const qr = expectClientOk(await api.client('POST', '/v1/client/challenge/qr-code', api.tenantBasic, { action: 'signIn' }))
    const sign = { challengeId: qr.challengeId, publicKey: qrDevice.device.publicKey, signature: qrDevice.device.sign(qr.challengeId) }
    expect(expectClientOk(await api.client('POST', '/v1/client/user-authenticators/qr-code/challenge/claim', api.tenantBasic, sign))).toMatchObject({
      success: true,
    })
    const approved = await api.client('POST', '/v1/client/user-authenticators/qr-code/challenge', api.tenantBasic, { ...sign, approved: true })
    expect(expectClientOk(approved)).toEqual({ isVerified: true })
    await deliverDue(h)

    const created = envelopesAt('/anonymous').map((e) => e.data)
    expect(created).toHaveLength(2)
    expect(created).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          userId: inAppUser,
          actionCode: 'signIn',
          idempotencyKey: claimsOf(verified.token).other.idempotencyKey,
          state: 'CHALLENGE_SUCCEEDED',
          verificationMethod: 'IN_APP',
          userAuthenticatorId: inApp.credential.userAuthenticatorId,
        }),
        expect.objectContaining({
          userId: qrUser,
          actionCode: 'signIn',
          idempotencyKey: expect.stringMatching(UUID),
          state: 'CHALLENGE_SUCCEEDED',
          verificationMethod: 'QR_CODE',
          userAuthenticatorId: qrDevice.credential.userAuthenticatorId,
        }),
      ]),
    )
  })

  it('a tenant without endpoints, or with only a disabled one, writes no outbox rows', async () => {
    for (const withDisabled of [false, true]) {
      const api = tenantApi(h, await h.newTenant())
      if (withDisabled) await addEndpoint(h, api.tenant.tenantId, '/never', { enabled: false })
      const userId = uniqueId('quiet')
      const { device, credential } = await api.enroll(userId)
      const { idempotencyKey } = await api.completeFlow(userId, device)
      expectOk(await api.server('PATCH', `/v1/users/${userId}/actions/authorizePayment/${idempotencyKey}`, { state: 'REVIEW_REQUIRED' }))
      expectOk(await api.server('DELETE', `/v1/users/${userId}/authenticators/${credential.userAuthenticatorId}`), 204)
      expect(await outboxCount(h.database.db, api.tenant.tenantId)).toEqual({ events: 0, deliveries: 0 })
    }
    await deliverDue(h)
    expect(receiver.requests('/never')).toEqual([])
  })
})

describe('delivery', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness({ WEBHOOK_TIMEOUT_MS: '1000' })
  })
  afterAll(() => h.close())

  it('posts the signed envelope: X-Signature-V2 verifies with @authsignal/node and @countersign/node, Standard Webhooks headers verify', async () => {
    const api = tenantApi(h, await h.newTenant())
    const endpoint = await addEndpoint(h, api.tenant.tenantId, '/signed')
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    await api.track(uniqueId('signed'), 'signIn')
    await deliverDue(h)

    const [request] = receiver.requests('/signed')
    const envelope = JSON.parse(request!.rawBody) as Envelope
    expectWellFormed(envelope, api.tenant.tenantId)
    expect(request!.method).toBe('POST')
    expect(request!.headers['content-type']).toBe('application/json')
    const signatureV2 = request!.headers['x-signature-v2'] as string
    const [, t] = /^t=(\d+),v2=[A-Za-z0-9+/]+$/.exec(signatureV2) ?? []
    expect(t).toBeDefined()
    expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(60)
    expect(request!.headers).toMatchObject({ 'webhook-id': envelope.id, 'webhook-timestamp': t })

    // The official SDK, as an existing Authsignal backend calls it.
    expect(new Authsignal({ apiSecretKey: endpoint.secret }).webhook.constructEvent(request!.rawBody, signatureV2)).toEqual(envelope)
    // Ours: the Standard Webhooks headers when present, X-Signature-V2 alone otherwise.
    expect(countersignFor(endpoint.secret).webhooks.verify(request!.rawBody, request!.headers)).toEqual(envelope)
    expect(countersignFor(endpoint.secret).webhooks.verify(request!.rawBody, { 'x-signature-v2': signatureV2 })).toEqual(envelope)
    expect(request!.headers['webhook-signature']).toBe(standardSignature(endpoint.secret, request!))

    // Each check can fail: another body, or another endpoint's secret.
    const tampered = request!.rawBody.replace(api.tenant.tenantId, '00000000-0000-4000-8000-000000000000')
    expect(() => new Authsignal({ apiSecretKey: endpoint.secret }).webhook.constructEvent(tampered, signatureV2)).toThrow()
    for (const [body, secret] of [
      [tampered, endpoint.secret],
      [request!.rawBody, `whsec_${randomBytes(32).toString('base64')}`],
    ] as const) {
      let error: unknown
      try {
        countersignFor(secret).webhooks.verify(body, request!.headers)
      } catch (e) {
        error = e
      }
      expect(isCountersignError(error) && error.errorCode).toBe('invalid_webhook_signature')
    }
  })

  it('an endpoint with a brought secret (the tenant’s secret key) verifies with @authsignal/node unchanged', async () => {
    const api = tenantApi(h, await h.newTenant())
    const endpoint = await addEndpoint(h, api.tenant.tenantId, '/byo', { secret: api.tenant.secretKey })
    expect(endpoint.secret).toBe(api.tenant.secretKey)
    await api.track(uniqueId('byo'), 'signIn')
    await deliverDue(h)

    const [request] = receiver.requests('/byo')
    const authsignal = new Authsignal({ apiSecretKey: api.tenant.secretKey, apiUrl: 'http://countersign.test/v1' })
    const event = authsignal.webhook.constructEvent(request!.rawBody, request!.headers['x-signature-v2'] as string)
    expect(event).toMatchObject({ type: 'action.created', tenantId: api.tenant.tenantId })
    expect(countersignFor(api.tenant.secretKey).webhooks.verify(request!.rawBody, request!.headers)).toEqual(event)
    expect(request!.headers['webhook-signature']).toBe(standardSignature(api.tenant.secretKey, request!))
  })

  it('event filters: an endpoint subscribed to one type gets only that; * gets every type', async () => {
    const api = tenantApi(h, await h.newTenant())
    await addEndpoint(h, api.tenant.tenantId, '/only-authenticators', { events: ['authenticator.created'] })
    await addEndpoint(h, api.tenant.tenantId, '/some', { events: ['action.state_changed', 'push.created'] })
    await addEndpoint(h, api.tenant.tenantId, '/all', { events: ['*'] })
    const userId = uniqueId('filters')
    const { device } = await api.enroll(userId)
    await api.completeFlow(userId, device)
    await deliverDue(h)

    const types = (path: string) => envelopesAt(path).map((e) => e.type).sort()
    expect(types('/only-authenticators')).toEqual(['authenticator.created'])
    expect(types('/some')).toEqual(['action.state_changed'])
    expect(types('/all')).toEqual(['action.created', 'action.created', 'action.state_changed', 'authenticator.created'])
    // One event, one ID, whichever endpoints receive it.
    const id = (path: string, type: string) => ofType(path, type)[0]!.id
    expect(id('/some', 'action.state_changed')).toBe(id('/all', 'action.state_changed'))
  })

  it('a disabled endpoint: its pending deliveries fail as endpoint_disabled, new events queue nothing; enabled again it receives', async () => {
    const api = tenantApi(h, await h.newTenant())
    const endpoint = await addEndpoint(h, api.tenant.tenantId, '/toggled')
    const userId = uniqueId('toggled')
    await api.track(userId, 'first')
    await updateWebhookEndpoint(h.database.db, api.tenant.tenantId, endpoint.webhookId, { enabled: false }, new Date(h.clock()))
    await deliverDue(h)
    expect(receiver.requests('/toggled')).toEqual([])
    const log = await webhooksRepo.listDeliveries(h.database.db, api.tenant.tenantId, endpoint.webhookId, 10)
    expect(log).toEqual([expect.objectContaining({ type: 'action.created', state: 'failed', lastError: 'endpoint_disabled', lastStatus: null })])

    await api.track(userId, 'second')
    expect(await outboxCount(h.database.db, api.tenant.tenantId)).toEqual({ events: 1, deliveries: 1 })

    await updateWebhookEndpoint(h.database.db, api.tenant.tenantId, endpoint.webhookId, { enabled: true }, new Date(h.clock()))
    const third = await api.track(userId, 'third')
    await deliverDue(h)
    expect(envelopesAt('/toggled').map((e) => e.data.idempotencyKey)).toEqual([third.idempotencyKey])
  })

  it('keeps tenants apart: A’s events never reach B’s endpoint, and B cannot see or change A’s endpoint', async () => {
    const a = tenantApi(h, await h.newTenant())
    const b = tenantApi(h, await h.newTenant())
    const endpointA = await addEndpoint(h, a.tenant.tenantId, '/tenant-a')
    const endpointB = await addEndpoint(h, b.tenant.tenantId, '/tenant-b')
    const userA = uniqueId('user-a')
    const userB = uniqueId('user-b')
    const { device } = await a.enroll(userA)
    await a.completeFlow(userA, device)
    await b.track(userB, 'signIn')
    await deliverDue(h)

    const atA = envelopesAt('/tenant-a')
    const atB = envelopesAt('/tenant-b')
    expect(atA).toHaveLength(4)
    expect(atB).toHaveLength(1)
    expect(new Set(atA.map((e) => e.tenantId))).toEqual(new Set([a.tenant.tenantId]))
    expect(new Set(atA.map((e) => e.data.userId))).toEqual(new Set([userA]))
    expect(atB[0]).toMatchObject({ tenantId: b.tenant.tenantId, data: { userId: userB } })
    // A's deliveries are signed with A's secret only.
    const [requestA] = receiver.requests('/tenant-a')
    expect(() => countersignFor(endpointB.secret).webhooks.verify(requestA!.rawBody, requestA!.headers)).toThrow()

    const db = h.database.db
    const eventA = atA[0]!.id
    await expect(updateWebhookEndpoint(db, b.tenant.tenantId, endpointA.webhookId, { enabled: false }, new Date())).rejects.toMatchObject({
      code: 'not_found',
    })
    expect(await webhooksRepo.listDeliveries(db, b.tenant.tenantId, endpointA.webhookId, 10)).toEqual([])
    expect(await webhooksRepo.requeueDelivery(db, b.tenant.tenantId, endpointA.webhookId, eventA, new Date())).toBe(false)
    expect(await webhooksRepo.deleteEndpoint(db, b.tenant.tenantId, endpointA.webhookId)).toBe(false)
    expect(await webhooksRepo.findEndpoint(db, a.tenant.tenantId, endpointA.webhookId)).toMatchObject({ enabled: true })
  })

  it('a receiver that does not answer within WEBHOOK_TIMEOUT_MS is a failed attempt (timeout), retried later', async () => {
    const api = tenantApi(h, await h.newTenant())
    receiver.answer('/slow', 'hang')
    const endpoint = await addEndpoint(h, api.tenant.tenantId, '/slow')
    await api.track(uniqueId('slow'), 'signIn')
    const started = Date.now()
    await deliverDue(h)
    expect(Date.now() - started).toBeLessThan(5_000)

    expect(receiver.requests('/slow')).toHaveLength(1)
    const [delivery] = await webhooksRepo.listDeliveries(h.database.db, api.tenant.tenantId, endpoint.webhookId, 10)
    expect(delivery).toMatchObject({ state: 'pending', attempts: 1, lastStatus: null, lastError: 'timeout' })
    expect(new Date(delivery!.nextAttemptAt).getTime()).toBeGreaterThan(h.clock())
    const [attempt] = await attemptsOf(h.database.db, api.tenant.tenantId, endpoint.webhookId, delivery!.eventId)
    expect(attempt).toMatchObject({ attempt: 1, status: null, error: 'timeout' })
    expect(attempt!.durationMs).toBeGreaterThanOrEqual(900)
  })

  it('follows no redirect: a 302 or 307 to another server is a failed attempt, and that server is never reached', async () => {
    const elsewhere = await startReceiver()
    try {
      const api = tenantApi(h, await h.newTenant())
      receiver.answer('/moved-302', { status: 302, headers: { location: elsewhere.url('/stolen') } })
      receiver.answer('/moved-307', { status: 307, headers: { location: elsewhere.url('/stolen') } })
      const e302 = await addEndpoint(h, api.tenant.tenantId, '/moved-302')
      const e307 = await addEndpoint(h, api.tenant.tenantId, '/moved-307')
      await api.track(uniqueId('moved'), 'signIn')
      await deliverDue(h)

      expect(receiver.requests('/moved-302')).toHaveLength(1)
      expect(receiver.requests('/moved-307')).toHaveLength(1)
      expect(elsewhere.requests()).toEqual([])
      for (const [endpoint, status] of [
        [e302, 302],
        [e307, 307],
      ] as const) {
        expect(await webhooksRepo.listDeliveries(h.database.db, api.tenant.tenantId, endpoint.webhookId, 10)).toEqual([
          expect.objectContaining({ state: 'pending', lastStatus: status, lastError: `http_${status}` }),
        ])
      }
    } finally {
      await elsewhere.close()
    }
  })

  it('refuses endpoints that are not http(s), carry credentials, name unknown events, or bring a short secret', async () => {
    const { tenantId } = await h.newTenant()
    const create = (endpoint: Partial<NewWebhookEndpoint>) =>
      createWebhookEndpoint(h.database.db, tenantId, { url: 'https://bank.example/hooks', events: ['*'], ...endpoint }, undefined, new Date())
    for (const bad of [
      { url: 'ftp://bank.example/hooks' },
      { url: 'not a url' },
      { url: 'https://user:password@bank.example/hooks' },
      { events: [] },
      { events: ['action.nope' as never] },
      { secret: 'too-short' },
    ]) {
      await expect(create(bad), JSON.stringify(bad)).rejects.toMatchObject({ code: 'invalid_request' })
    }
    expect(await webhooksRepo.listEndpoints(h.database.db, tenantId)).toEqual([])
    await expect(
      updateWebhookEndpoint(h.database.db, tenantId, '00000000-0000-4000-8000-000000000000', { enabled: false }, new Date()),
    ).rejects.toMatchObject({ code: 'not_found' })
  })
})

describe('retries and the delivery log', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness()
  })
  afterAll(() => h.close())

  it('a 500 then a 200: retried after the back-off with the same event ID and body; both attempts in the log', async () => {
    const api = tenantApi(h, await h.newTenant())
    receiver.answer('/flaky', (_request, count) => (count === 1 ? 500 : 200))
    const endpoint = await addEndpoint(h, api.tenant.tenantId, '/flaky')
    await api.track(uniqueId('flaky'), 'signIn')
    await deliverDue(h)

    const [pending] = await webhooksRepo.listDeliveries(h.database.db, api.tenant.tenantId, endpoint.webhookId, 10)
    expect(pending).toMatchObject({ state: 'pending', attempts: 1, lastStatus: 500, lastError: 'http_500', deliveredAt: null })
    // First retry: 10 s with ±20 % jitter after the failed attempt.
    const wait = new Date(pending!.nextAttemptAt).getTime() - h.clock()
    expect(wait).toBeGreaterThan(7_000)
    expect(wait).toBeLessThanOrEqual(12_000)

    h.clock.advance(7_000)
    await deliverDue(h)
    expect(receiver.requests('/flaky')).toHaveLength(1)

    h.clock.advance(5_500)
    await deliverDue(h)
    const [first, second] = receiver.requests('/flaky')
    expect(second).toBeDefined()
    expect(second!.rawBody).toBe(first!.rawBody)
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id'])
    // Each attempt is signed anew: a retry hours later must still be inside the receiver's 5-minute tolerance.
    expect(Number(second!.headers['webhook-timestamp']) - Number(first!.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(12)
    expect(JSON.parse(second!.rawBody).id).toBe(pending!.eventId)
    expect(new Authsignal({ apiSecretKey: endpoint.secret }).webhook.constructEvent(second!.rawBody, second!.headers['x-signature-v2'] as string)).toMatchObject({
      id: pending!.eventId,
    })

    const [delivered] = await webhooksRepo.listDeliveries(h.database.db, api.tenant.tenantId, endpoint.webhookId, 10)
    expect(delivered).toMatchObject({ eventId: pending!.eventId, state: 'delivered', attempts: 2, lastStatus: 200, lastError: null })
    expect(delivered!.deliveredAt).not.toBeNull()
    expect(await attemptsOf(h.database.db, api.tenant.tenantId, endpoint.webhookId, pending!.eventId)).toEqual([
      { attempt: 1, status: 500, error: 'http_500', durationMs: expect.any(Number) },
      { attempt: 2, status: 200, error: null, durationMs: expect.any(Number) },
    ])
    expect(await webhooksRepo.countPendingDeliveries(h.database.db, api.tenant.tenantId)).toBe(0)

    // Delivered is final: later passes send nothing more.
    h.clock.advance(3_600_000)
    await deliverDue(h)
    expect(receiver.requests('/flaky')).toHaveLength(2)
  })

  it('a delivery leased by a node that died mid-attempt is delivered once the lease runs out', async () => {
    const api = tenantApi(h, await h.newTenant())
    const endpoint = await addEndpoint(h, api.tenant.tenantId, '/orphaned')
    await api.track(uniqueId('orphaned'), 'signIn')
    // Another node claims the delivery and dies before answering or recording anything.
    const claimed = await webhooksRepo.claimDueDeliveries(h.database.db, new Date(h.clock()), new Date(h.clock() + 60_000), 50)
    expect(claimed.map((d) => d.webhookId)).toContain(endpoint.webhookId)

    await deliverDue(h)
    h.clock.advance(59_000)
    await deliverDue(h)
    expect(receiver.requests('/orphaned')).toEqual([])

    h.clock.advance(1_500)
    await deliverDue(h)
    expect(receiver.requests('/orphaned')).toHaveLength(1)
    const [delivery] = await webhooksRepo.listDeliveries(h.database.db, api.tenant.tenantId, endpoint.webhookId, 10)
    expect(delivery).toMatchObject({ state: 'delivered', attempts: 2, lastStatus: 204 })
    expect(await attemptsOf(h.database.db, api.tenant.tenantId, endpoint.webhookId, delivery!.eventId)).toEqual([
      expect.objectContaining({ attempt: 2, status: 204, error: null }),
    ])
  })

  it('two nodes draining at once deliver each event exactly once', async () => {
    const other = await createHarness()
    try {
      const api = tenantApi(h, await h.newTenant())
      const endpoint = await addEndpoint(h, api.tenant.tenantId, '/two-nodes')
      for (let i = 0; i < 40; i++) await api.track(uniqueId('two-nodes'), 'signIn')
      await Promise.all([deliverDue(h), deliverDue(other), deliverDue(h), deliverDue(other)])

      const ids = envelopesAt('/two-nodes').map((e) => e.id)
      expect(ids).toHaveLength(40)
      expect(new Set(ids).size).toBe(40)
      const log = await webhooksRepo.listDeliveries(h.database.db, api.tenant.tenantId, endpoint.webhookId, 100)
      expect(log.map((d) => [d.state, d.attempts])).toEqual(Array.from({ length: 40 }, () => ['delivered', 1]))
    } finally {
      await other.close()
    }
  })

  it('requeueDelivery sends a delivered event again, with the same ID and body', async () => {
    const api = tenantApi(h, await h.newTenant())
    const endpoint = await addEndpoint(h, api.tenant.tenantId, '/again')
    await api.track(uniqueId('again'), 'signIn')
    await deliverDue(h)
    const [delivery] = await webhooksRepo.listDeliveries(h.database.db, api.tenant.tenantId, endpoint.webhookId, 10)
    expect(delivery).toMatchObject({ state: 'delivered', attempts: 1 })

    expect(await webhooksRepo.requeueDelivery(h.database.db, api.tenant.tenantId, endpoint.webhookId, delivery!.eventId, new Date(h.clock()))).toBe(true)
    expect(
      await webhooksRepo.requeueDelivery(h.database.db, api.tenant.tenantId, endpoint.webhookId, '00000000-0000-4000-8000-000000000000', new Date()),
    ).toBe(false)
    await deliverDue(h)
    const [first, second] = receiver.requests('/again')
    expect(second?.rawBody).toBe(first!.rawBody)
    expect(JSON.parse(second!.rawBody).id).toBe(delivery!.eventId)
    expect(await webhooksRepo.listDeliveries(h.database.db, api.tenant.tenantId, endpoint.webhookId, 10)).toEqual([
      expect.objectContaining({ eventId: delivery!.eventId, state: 'delivered', attempts: 2 }),
    ])
  })

  it('the retention sweep removes finished deliveries, their events and attempts, and keeps pending ones', async () => {
    const api = tenantApi(h, await h.newTenant())
    receiver.answer('/kept', 503)
    const done = await addEndpoint(h, api.tenant.tenantId, '/swept', { events: ['action.created'] })
    const waiting = await addEndpoint(h, api.tenant.tenantId, '/kept', { events: ['action.state_changed'] })
    const userId = uniqueId('sweep')
    await api.enroll(userId)
    const tracked = await api.track(userId, 'authorizePayment')
    expectOk(await api.server('PATCH', `/v1/users/${userId}/actions/authorizePayment/${tracked.idempotencyKey}`, { state: 'REVIEW_REQUIRED' }))
    await deliverDue(h)
    const db = h.database.db
    expect(await webhooksRepo.listDeliveries(db, api.tenant.tenantId, done.webhookId, 10)).toHaveLength(2)
    const [pending] = await webhooksRepo.listDeliveries(db, api.tenant.tenantId, waiting.webhookId, 10)
    expect(pending).toMatchObject({ state: 'pending' })

    // Everything of this test is older than a second from now.
    h.clock.advance(1_000)
    expect(await webhooksRepo.sweepWebhookHistory(db, new Date(h.clock()))).toBeGreaterThanOrEqual(4)
    // Events go at the next sweep, once no delivery refers to them.
    await webhooksRepo.sweepWebhookHistory(db, new Date(h.clock()))
    expect(await webhooksRepo.listDeliveries(db, api.tenant.tenantId, done.webhookId, 10)).toEqual([])
    expect(await webhooksRepo.listDeliveries(db, api.tenant.tenantId, waiting.webhookId, 10)).toEqual([
      expect.objectContaining({ eventId: pending!.eventId, state: 'pending' }),
    ])
    expect(await outboxCount(db, api.tenant.tenantId)).toEqual({ events: 1, deliveries: 1 })
  })

  it('the sweep keeps the event of a delivery it keeps: a delivery requeued late can still be sent again', async () => {
    const api = tenantApi(h, await h.newTenant())
    const endpoint = await addEndpoint(h, api.tenant.tenantId, '/late')
    await api.track(uniqueId('late'), 'signIn')
    await deliverDue(h)
    const db = h.database.db
    const [delivery] = await webhooksRepo.listDeliveries(db, api.tenant.tenantId, endpoint.webhookId, 10)

    // Six days on, an operator sends it again (which restarts the delivery's clock) …
    h.clock.advance(6 * 86_400_000)
    expect(await webhooksRepo.requeueDelivery(db, api.tenant.tenantId, endpoint.webhookId, delivery!.eventId, new Date(h.clock()))).toBe(true)
    await deliverDue(h)
    // … and two days later the 7-day retention sweep runs: the delivery is young enough to stay.
    h.clock.advance(2 * 86_400_000)
    await webhooksRepo.sweepWebhookHistory(db, new Date(h.clock() - 7 * 86_400_000))
    expect(await webhooksRepo.listDeliveries(db, api.tenant.tenantId, endpoint.webhookId, 10)).toEqual([
      expect.objectContaining({ eventId: delivery!.eventId, state: 'delivered' }),
    ])
    expect(await webhooksRepo.requeueDelivery(db, api.tenant.tenantId, endpoint.webhookId, delivery!.eventId, new Date(h.clock()))).toBe(true)
    await deliverDue(h)
    expect(receiver.requests('/late').map((r) => JSON.parse(r.rawBody).id)).toEqual([delivery!.eventId, delivery!.eventId, delivery!.eventId])
    expect(await webhooksRepo.countPendingDeliveries(db, api.tenant.tenantId)).toBe(0)
  })
})

describe('giving up', () => {
  let h: Harness
  beforeAll(async () => {
    // 20 s: the first retry (8–12 s) is inside the window, the second (16–24 s later) is not.
    h = await createHarness({ WEBHOOK_RETRY_SECONDS: '20' })
  })
  afterAll(() => h.close())

  it('stops after WEBHOOK_RETRY_SECONDS: state failed, no more attempts; requeueDelivery sends it again', async () => {
    const api = tenantApi(h, await h.newTenant())
    let up = false
    receiver.answer('/down', () => (up ? 200 : 503))
    const endpoint = await addEndpoint(h, api.tenant.tenantId, '/down')
    await api.track(uniqueId('down'), 'signIn')
    await deliverDue(h)
    h.clock.advance(12_500)
    await deliverDue(h)

    const db = h.database.db
    const [failed] = await webhooksRepo.listDeliveries(db, api.tenant.tenantId, endpoint.webhookId, 10)
    expect(failed).toMatchObject({ state: 'failed', attempts: 2, lastStatus: 503, lastError: 'http_503', deliveredAt: null })
    expect(await webhooksRepo.countPendingDeliveries(db, api.tenant.tenantId)).toBe(0)
    h.clock.advance(86_400_000)
    await deliverDue(h)
    expect(receiver.requests('/down')).toHaveLength(2)

    up = true
    expect(await webhooksRepo.requeueDelivery(db, api.tenant.tenantId, endpoint.webhookId, failed!.eventId, new Date(h.clock()))).toBe(true)
    await deliverDue(h)
    const ids = receiver.requests('/down').map((r) => JSON.parse(r.rawBody).id)
    expect(ids).toEqual([failed!.eventId, failed!.eventId, failed!.eventId])
    expect(await webhooksRepo.listDeliveries(db, api.tenant.tenantId, endpoint.webhookId, 10)).toEqual([
      expect.objectContaining({ state: 'delivered', attempts: 3, lastStatus: 200 }),
    ])
  })
})

describe('signing secrets at rest', () => {
  const encryptionKey = randomBytes(32)
  let h: Harness
  const sealedTenants: string[] = []
  beforeAll(async () => {
    h = await createHarness({ COUNTERSIGN_ENCRYPTION_KEY: encryptionKey.toString('base64') })
  })
  afterAll(async () => {
    // Sealed tenants must not outlive this file: other files open this database without the key.
    for (const tenantId of sealedTenants) await h.database.db.execute(sql`DELETE FROM tenants WHERE tenant_id = ${tenantId}`)
    await h.close()
  })

  it('with COUNTERSIGN_ENCRYPTION_KEY the secret is stored sealed, never listed, and deliveries are signed with it', async () => {
    const api = tenantApi(h, await h.newTenant())
    sealedTenants.push(api.tenant.tenantId)
    const endpoint = await addEndpoint(h, api.tenant.tenantId, '/sealed')
    const stored = await storedEndpointSecret(h.database.db, api.tenant.tenantId, endpoint.webhookId)
    expect(stored[0]).not.toBe(0)
    expect(stored.includes(Buffer.from(endpoint.secret, 'utf8'))).toBe(false)
    expect(stored.includes(Buffer.from(endpoint.secret.slice('whsec_'.length), 'base64'))).toBe(false)

    await api.track(uniqueId('sealed'), 'signIn')
    await deliverDue(h)
    const [request] = receiver.requests('/sealed')
    expect(new Authsignal({ apiSecretKey: endpoint.secret }).webhook.constructEvent(request!.rawBody, request!.headers['x-signature-v2'] as string)).toMatchObject({
      tenantId: api.tenant.tenantId,
    })
    const listed = JSON.stringify([
      await webhooksRepo.listEndpoints(h.database.db, api.tenant.tenantId),
      await webhooksRepo.findEndpoint(h.database.db, api.tenant.tenantId, endpoint.webhookId),
      await webhooksRepo.listDeliveries(h.database.db, api.tenant.tenantId, endpoint.webhookId, 10),
    ])
    expect(listed).toContain(endpoint.webhookId)
    expect(listed).not.toContain(endpoint.secret.slice('whsec_'.length))
  })

  it('a secret stored before the key was set is sealed at the next start, and still signs', async () => {
    // A database of its own: the start seals every secret of the database it opens.
    const dataDir = mkdtempSync(join(tmpdir(), 'countersign-webhook-secrets-'))
    const log = createLogger('silent')
    const env = { COUNTERSIGN_DATA_DIR: dataDir, LOG_LEVEL: 'silent', COUNTERSIGN_DEV_TENANT: 'false', COUNTERSIGN_PUBLIC_URL: SOURCE }
    try {
      const before = await openDeps(loadConfig(env), log)
      let tenant: Awaited<ReturnType<typeof createTenant>>
      let endpoint: Awaited<ReturnType<typeof createWebhookEndpoint>>
      try {
        tenant = await createTenant(before.db, 'Plain')
        endpoint = await createWebhookEndpoint(before.db, tenant.tenantId, { url: receiver.url('/resealed'), events: ['*'] }, undefined, new Date(), { allowPrivateUrls: true })
        expect((await storedEndpointSecret(before.db, tenant.tenantId, endpoint.webhookId))[0]).toBe(0)
      } finally {
        await before.database.close()
      }

      const after = await openDeps(loadConfig({ ...env, COUNTERSIGN_ENCRYPTION_KEY: encryptionKey.toString('base64') }), log)
      const app = await createApp(after)
      try {
        expect(await storedSecretOfTenant(after.db, tenant.tenantId)).toHaveLength(61) // the start sealed the tenant secret
        const stored = await storedEndpointSecret(after.db, tenant.tenantId, endpoint.webhookId)
        expect(stored.includes(Buffer.from(endpoint.secret, 'utf8'))).toBe(false)
        expect(stored[0]).not.toBe(0)

        const tracked = await app.inject({ method: 'POST', url: '/v1/users/resealed/actions/signIn', headers: { authorization: basicAuth(tenant.secretKey) }, payload: {} })
        expect(tracked.statusCode).toBe(200)
        await after.webhooks.runOnce()
        const [request] = receiver.requests('/resealed')
        expect(countersignFor(endpoint.secret).webhooks.verify(request!.rawBody, request!.headers)).toMatchObject({ tenantId: tenant.tenantId })
      } finally {
        await app.close()
        await after.database.close()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('the action.verify webhook', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness({ VERIFICATION_WEBHOOK_TIMEOUT_MS: '500' })
  })
  afterAll(() => h.close())

  /** A tenant whose authorizePayment approvals are checked by `url`, with an enrolled user. */
  async function vetoedTenant(url: string, actionCode = 'authorizePayment') {
    const api = tenantApi(h, await h.newTenant())
    const userId = uniqueId('veto')
    const enrolled = await api.enroll(userId)
    await configureAction(h.deps, api.tenant.tenantId, 'test', actionCode, { verificationWebhookUrl: url }, { allowPrivateUrls: true })
    h.deps.tenants.forget(api.tenant.tenantId)
    return { api, userId, ...enrolled }
  }

  async function verificationSecret(tenantId: string): Promise<string> {
    return (await h.deps.tenants.find(tenantId, h.clock()))!.verificationWebhookSecret
  }

  it('a 2xx answer lets the approval stand; the call is signed with the tenant’s verification secret and names the action', async () => {
    receiver.answer('/verify-ok', 200)
    const { api, userId, device, credential } = await vetoedTenant(receiver.url('/verify-ok'))
    const tracked = await api.track(userId, 'authorizePayment')
    const challengeId = await api.challenge(bearer(tracked.token))
    expectClientOk(await api.verify(bearer(tracked.token), challengeId, device))
    expect(await actionOf(api, userId, 'authorizePayment', tracked.idempotencyKey)).toMatchObject({ state: 'CHALLENGE_SUCCEEDED' })

    const [request, ...more] = receiver.requests('/verify-ok')
    expect(more).toEqual([])
    const body = JSON.parse(request!.rawBody) as Envelope
    expect(body).toMatchObject({ version: 1, id: expect.stringMatching(UUID), source: SOURCE, tenantId: api.tenant.tenantId, type: 'action.verify' })
    expect(body.data).toEqual({
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey: tracked.idempotencyKey,
      verificationMethod: 'IN_APP',
      userAuthenticatorId: credential.userAuthenticatorId,
      challengeId,
      transaction: null,
    })
    const secret = await verificationSecret(api.tenant.tenantId)
    expect(new Authsignal({ apiSecretKey: secret }).webhook.constructEvent(request!.rawBody, request!.headers['x-signature-v2'] as string)).toEqual(body)
    expect(countersignFor(secret).webhooks.verify(request!.rawBody, request!.headers)).toEqual(body)
    const otherTenant = await h.newTenant()
    expect(() => countersignFor(secret).webhooks.verify(request!.rawBody.replace(userId, 'someone-else'), request!.headers)).toThrow()
    expect(await verificationSecret(otherTenant.tenantId)).not.toBe(secret)
  })

  it('a 403 vetoes it: 409 verification_rejected, the action CHALLENGE_FAILED, and action.state_changed delivered', async () => {
    receiver.answer('/verify-403', 403)
    const { api, userId, device } = await vetoedTenant(receiver.url('/verify-403'))
    await addEndpoint(h, api.tenant.tenantId, '/veto-events', { events: ['action.state_changed'] })
    const tracked = await api.track(userId, 'authorizePayment')
    const challengeId = await api.challenge(bearer(tracked.token))
    expectError(await api.verify(bearer(tracked.token), challengeId, device), 409, 'verification_rejected')
    expect(await actionOf(api, userId, 'authorizePayment', tracked.idempotencyKey)).toMatchObject({
      state: 'CHALLENGE_FAILED',
      verificationMethod: 'IN_APP',
    })

    await deliverDue(h)
    expect(ofType('/veto-events', 'action.state_changed').map((e) => e.data)).toEqual([
      expect.objectContaining({ userId, idempotencyKey: tracked.idempotencyKey, state: 'CHALLENGE_FAILED', previousState: 'CHALLENGE_REQUIRED' }),
    ])

    // The veto is final: the same challenge, now allowed by the webhook, cannot complete the action.
    receiver.answer('/verify-403', 200)
    expectError(await api.verify(bearer(tracked.token), challengeId, device), 409, 'invalid_action_state')
    expect(await actionOf(api, userId, 'authorizePayment', tracked.idempotencyKey)).toMatchObject({ state: 'CHALLENGE_FAILED' })
  })

  it('no answer within VERIFICATION_WEBHOOK_TIMEOUT_MS, an unreachable receiver and a redirect each veto it', async () => {
    const elsewhere = await startReceiver()
    try {
      receiver.answer('/verify-hang', 'hang')
      receiver.answer('/verify-redirect', { status: 307, headers: { location: elsewhere.url('/verify-stolen') } })
      for (const url of [receiver.url('/verify-hang'), `http://127.0.0.1:${await closedPort()}/verify`, receiver.url('/verify-redirect')]) {
        const { api, userId, device } = await vetoedTenant(url)
        const tracked = await api.track(userId, 'authorizePayment')
        const challengeId = await api.challenge(bearer(tracked.token))
        const started = Date.now()
        expectError(await api.verify(bearer(tracked.token), challengeId, device), 409, 'verification_rejected')
        expect(Date.now() - started, url).toBeLessThan(5_000)
        expect(await actionOf(api, userId, 'authorizePayment', tracked.idempotencyKey), url).toMatchObject({ state: 'CHALLENGE_FAILED' })
      }
      expect(receiver.requests('/verify-hang')).toHaveLength(1)
      expect(receiver.requests('/verify-redirect')).toHaveLength(1)
      expect(elsewhere.requests()).toEqual([])
    } finally {
      await elsewhere.close()
    }
  })

  it('a veto of a tenant-only verification records no action and queues no event', async () => {
    receiver.answer('/verify-anonymous', 403)
    const { api, device } = await vetoedTenant(receiver.url('/verify-anonymous'), 'signIn')
    await addEndpoint(h, api.tenant.tenantId, '/veto-anonymous')
    const challengeId = await api.challenge(api.tenantBasic, 'signIn')
    expectError(await api.verify(api.tenantBasic, challengeId, device), 409, 'verification_rejected')
    expect(JSON.parse(receiver.requests('/verify-anonymous')[0]!.rawBody).data).toMatchObject({ actionCode: 'signIn', idempotencyKey: null })
    await deliverDue(h)
    expect(receiver.requests('/veto-anonymous')).toEqual([])
  })

  it('a push approval is checked too: a veto fails the action', async () => {
    receiver.answer('/verify-push', 403)
    const api = tenantApi(h, await h.newTenant())
    const userId = uniqueId('veto-push')
    const { device, credential } = await api.enroll(userId, { namespace: 'push', pushToken: 'fcm-token-3' })
    await configureAction(h.deps, api.tenant.tenantId, 'test', 'authorizePayment', { verificationWebhookUrl: receiver.url('/verify-push') }, { allowPrivateUrls: true })
    h.deps.tenants.forget(api.tenant.tenantId)
    const tracked = await api.track(userId, 'authorizePayment')
    const push = expectClientOk(await api.client('POST', '/v1/client/challenge/push', bearer(tracked.token), {}))
    const answered = await api.client('POST', '/v1/client/user-authenticators/push/challenge', api.tenantBasic, {
      challengeId: push.challengeId,
      publicKey: device.publicKey,
      signature: device.sign(push.challengeId),
      approved: true,
    })
    expectError(answered, 409, 'verification_rejected')
    expect(JSON.parse(receiver.requests('/verify-push')[0]!.rawBody).data).toMatchObject({
      userId,
      idempotencyKey: tracked.idempotencyKey,
      verificationMethod: 'PUSH',
      userAuthenticatorId: credential.userAuthenticatorId,
      challengeId: push.challengeId,
    })
    expect(await actionOf(api, userId, 'authorizePayment', tracked.idempotencyKey)).toMatchObject({ state: 'CHALLENGE_FAILED' })
  })

  it('the action.verify call carries the transaction details the backend tracked, for push and for in-app alike', async () => {
    receiver.answer('/verify-transaction', 200)
    const transaction = { amount: 120.5, currency: 'NZD', payee: 'Acme Ltd' }
    const api = tenantApi(h, await h.newTenant())
    await configureAction(h.deps, api.tenant.tenantId, 'test', 'authorizePayment', { verificationWebhookUrl: receiver.url('/verify-transaction') }, { allowPrivateUrls: true })
    h.deps.tenants.forget(api.tenant.tenantId)

    const pushUser = uniqueId('transaction-push')
    const phone = await api.enroll(pushUser, { namespace: 'push', pushToken: 'fcm-token-4' })
    const pushed = await api.track(pushUser, 'authorizePayment', { transaction })
    const push = expectClientOk(await api.client('POST', '/v1/client/challenge/push', bearer(pushed.token), {}))
    const answer = { challengeId: push.challengeId, publicKey: phone.device.publicKey, signature: phone.device.sign(push.challengeId), approved: true }
    expectClientOk(await api.client('POST', '/v1/client/user-authenticators/push/challenge', api.tenantBasic, answer))

    const inAppUser = uniqueId('transaction-in-app')
    const { device } = await api.enroll(inAppUser)
    const tracked = await api.track(inAppUser, 'authorizePayment', { transaction })
    const challengeId = await api.challenge(bearer(tracked.token))
    expectClientOk(await api.verify(bearer(tracked.token), challengeId, device))

    const calls = receiver.requests('/verify-transaction').map((r) => (JSON.parse(r.rawBody) as Envelope).data)
    expect(calls.map((data) => [data.verificationMethod, data.idempotencyKey, data.transaction])).toEqual([
      ['PUSH', pushed.idempotencyKey, transaction],
      ['IN_APP', tracked.idempotencyKey, transaction],
    ])
  })

  it('a bad device signature is refused before the webhook is asked', async () => {
    receiver.answer('/verify-unasked', 200)
    const { api, userId, device } = await vetoedTenant(receiver.url('/verify-unasked'))
    const tracked = await api.track(userId, 'authorizePayment')
    const challengeId = await api.challenge(bearer(tracked.token))
    expectError(await api.verify(bearer(tracked.token), challengeId, device, device.sign('something else')), 401, 'invalid_signature')
    expect(receiver.requests('/verify-unasked')).toEqual([])
    expect(await actionOf(api, userId, 'authorizePayment', tracked.idempotencyKey)).toMatchObject({ state: 'CHALLENGE_REQUIRED' })
  })
})
