// Live updates of push and QR challenges: the SSE streams, and a change made on one node
// reaching a stream on another through the database's NOTIFY.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHALLENGE_CHANGED_CHANNEL } from '../src/storage/challenges-repo.ts'
import { createHarness, type Harness, type TestDevice } from './support/harness.ts'
import { bearer, expectClientOk, expectError, tenantApi, uniqueId, type TenantApi } from './support/api.ts'

// Two nodes on one database: streams connect to `a`, answers go to `b`.
let a: Harness
let b: Harness
let apiA: TenantApi
let apiB: TenantApi
let baseA: string
let stopListening: () => Promise<void>

beforeAll(async () => {
  a = await createHarness()
  b = await createHarness()
  const tenant = await a.newTenant()
  apiA = tenantApi(a, tenant)
  apiB = tenantApi(b, tenant)
  // What startServer does on every node: hear other nodes' changes.
  stopListening = await a.database.listen(CHALLENGE_CHANGED_CHANNEL, (payload) => a.deps.challengeWatch.fromNotification(payload))
  baseA = await a.app.listen({ host: '127.0.0.1', port: 0 })
})
afterAll(async () => {
  await stopListening()
  // fetch (undici) may have opened a spare connection that never carried a request; Node's
  // server.close() waits for such a socket until its headers timeout. Not ours to wait for.
  a.app.server.closeAllConnections()
  await a.close()
  await b.close()
})

interface StreamEvent {
  event: string
  data: Record<string, unknown>
  at: number
}

/** Opens an SSE stream and collects its events until it ends. */
async function openStream(path: string, authorization: string, body: object) {
  const response = await fetch(`${baseA}${path}`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const events: StreamEvent[] = []
  const waiters: Array<() => void> = []
  const done = (async () => {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    for (;;) {
      const { value, done: finished } = await reader.read()
      if (finished) break
      buffer += value
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown>, at: Date.now() })
        waiters.splice(0).forEach((wake) => wake())
      }
    }
  })()
  const next = async (count: number, timeoutMs = 4000) => {
    const deadline = Date.now() + timeoutMs
    while (events.length < count) {
      if (Date.now() > deadline) throw new Error(`stream: ${events.length} of ${count} events after ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        waiters.push(resolve)
        setTimeout(resolve, 50)
      })
    }
    return events[count - 1]!
  }
  return { response, events, next, done }
}

function answer(api: TenantApi, device: TestDevice, challengeId: string, approved: boolean, namespace: string) {
  return api.client('POST', `/v1/client/user-authenticators/${namespace}/challenge`, api.tenantBasic, {
    challengeId,
    publicKey: device.publicKey,
    signature: device.sign(challengeId),
    approved,
  })
}

describe('challenge streams', () => {
  it('a push approval made on another node reaches the stream at once, with the token', async () => {
    const userId = uniqueId('stream-push')
    const { device } = await apiA.enroll(userId, { namespace: 'push' })
    const tracked = await apiA.track(userId, 'authorizePayment')
    const { challengeId } = expectClientOk(await apiA.client('POST', '/v1/client/challenge/push', bearer(tracked.token), {}))

    const stream = await openStream('/v1/client/verify/push/stream', bearer(tracked.token), { challengeId })
    expect(stream.response.status).toBe(200)
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(stream.response.headers.get('cache-control')).toBe('no-store')
    expect((await stream.next(1)).data).toEqual({ isVerified: false, isConsumed: false, state: 'unclaimed' })

    const answeredAt = Date.now()
    expectClientOk(await answer(apiB, device, challengeId, true, 'push'))
    const approved = await stream.next(2)
    expect(approved.data).toMatchObject({ isVerified: true, isConsumed: true, state: 'approved', accessToken: expect.any(String) })
    // Heard through NOTIFY, not the 5-second recheck.
    expect(approved.at - answeredAt).toBeLessThan(2000)
    await stream.done
    expect(stream.events).toHaveLength(2)
  })

  it('a QR code streams claimed, then rejected, and the stream ends', async () => {
    const userId = uniqueId('stream-qr')
    const { device } = await apiA.enroll(userId, { namespace: 'qr-code' })
    const created = expectClientOk(await apiA.client('POST', '/v1/client/challenge/qr-code', apiA.tenantBasic, { action: 'signIn' }))
    const stream = await openStream('/v1/client/verify/qr-code/stream', apiA.tenantBasic, { challengeId: created.challengeId, deviceCode: created.deviceCode })
    expect((await stream.next(1)).data.state).toBe('unclaimed')
    expectClientOk(
      await apiB.client('POST', '/v1/client/user-authenticators/qr-code/challenge/claim', apiB.tenantBasic, {
        challengeId: created.challengeId,
        publicKey: device.publicKey,
        signature: device.sign(created.challengeId),
      }),
    )
    expect((await stream.next(2)).data).toMatchObject({ isClaimed: true, state: 'claimed' })
    expectClientOk(await answer(apiB, device, created.challengeId, false, 'qr-code'))
    expect((await stream.next(3)).data).toEqual({ isClaimed: true, isConsumed: true, isVerified: false, state: 'rejected' })
    await stream.done
  })

  it('a refused stream is a coded JSON error, not an event stream', async () => {
    const created = expectClientOk(await apiA.client('POST', '/v1/client/challenge/qr-code', apiA.tenantBasic, { action: 'signIn' }))
    const response = await fetch(`${baseA}/v1/client/verify/qr-code/stream`, {
      method: 'POST',
      headers: { authorization: apiA.tenantBasic, 'content-type': 'application/json' },
      body: JSON.stringify({ challengeId: created.challengeId, deviceCode: 'wrong' }),
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ errorCode: 'invalid_challenge' })
    expectError(await apiA.client('POST', '/v1/client/verify/push/stream', apiA.tenantBasic, { challengeId: created.challengeId }), 401, 'unauthorized')
  })

  it('a stream whose client goes away leaves no watcher behind', async () => {
    const created = expectClientOk(await apiA.client('POST', '/v1/client/challenge/qr-code', apiA.tenantBasic, { action: 'signIn' }))
    const controller = new AbortController()
    const response = await fetch(`${baseA}/v1/client/verify/qr-code/stream`, {
      method: 'POST',
      headers: { authorization: apiA.tenantBasic, 'content-type': 'application/json' },
      body: JSON.stringify({ challengeId: created.challengeId, deviceCode: created.deviceCode }),
      signal: controller.signal,
    })
    expect(response.status).toBe(200)
    const before = a.deps.challengeWatch.size
    expect(before).toBeGreaterThan(0)
    controller.abort()
    const deadline = Date.now() + 2000
    while (a.deps.challengeWatch.size >= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(a.deps.challengeWatch.size).toBe(before - 1)
  })

  it('shutting a node down ends its open streams instead of waiting for them', async () => {
    const c = await createHarness()
    const apiC = tenantApi(c, apiA.tenant)
    const base = await c.app.listen({ host: '127.0.0.1', port: 0 })
    const created = expectClientOk(await apiC.client('POST', '/v1/client/challenge/qr-code', apiC.tenantBasic, { action: 'signIn' }))
    const response = await fetch(`${base}/v1/client/verify/qr-code/stream`, {
      method: 'POST',
      headers: { authorization: apiC.tenantBasic, 'content-type': 'application/json' },
      body: JSON.stringify({ challengeId: created.challengeId, deviceCode: created.deviceCode }),
    })
    const body = response.text()
    const started = Date.now()
    await c.close()
    expect(Date.now() - started).toBeLessThan(3000)
    expect(await body).toContain('"state":"unclaimed"')
  })
})
