// The server's own pages — the console under /console and the hosted challenge page behind
// track's `url` — are static builds served under a strict Content-Security-Policy; and what the
// hosted page asks the Client API about its token. (The pages themselves are driven in
// Chromium by test/browser/.) The builds come from `npm run build:web`, which `npm ci` runs.
import { existsSync, readdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HostedChallengeResponse } from '@countersign/protocol'
import { CONTENT_SECURITY_POLICY, WEB_PAGES } from '../src/http/web-pages.ts'
import { createHarness, type Harness } from './support/harness.ts'
import { bearer, expectError, expectOk, tenantApi, uniqueId, type TenantApi } from './support/api.ts'

let h: Harness
let api: TenantApi

beforeAll(async () => {
  for (const page of WEB_PAGES) {
    if (!existsSync(`${page.dist}index.html`)) throw new Error(`${page.path} is not built: run npm run build:web`)
  }
  h = await createHarness()
  api = tenantApi(h, await h.newTenant())
})
afterAll(() => h.close())

const get = (url: string) => h.inject({ method: 'GET', url })

function expectPageHeaders(headers: Record<string, unknown>): void {
  expect(headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY)
  expect(headers['x-frame-options']).toBe('DENY')
  expect(headers['referrer-policy']).toBe('no-referrer')
  expect(headers['x-content-type-options']).toBe('nosniff')
}

describe('the console’s files', () => {
  it('answers /console and any of its own routes with the app, under the strict CSP and never cached', async () => {
    for (const url of ['/console', '/console/', '/console/users/someone', '/console/actions?state=ALLOW']) {
      const res = await get(url)
      expect(res.statusCode, url).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(res.headers['cache-control']).toBe('no-store')
      expectPageHeaders(res.headers)
      expect(res.body).toContain('<div id="root">')
    }
  })

  it('serves the built assets as immutable, and nothing outside the build', async () => {
    const assets = readdirSync(`${WEB_PAGES[0]!.dist}assets`)
    expect(assets.some((name) => name.endsWith('.js'))).toBe(true)
    for (const name of assets) {
      const res = await get(`/console/assets/${name}`)
      expect(res.statusCode, name).toBe(200)
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable')
      expectPageHeaders(res.headers)
    }
    // A path that escapes the build directory is just another console route: the app, not the file.
    for (const url of ['/console/../package.json', '/console/%2e%2e/package.json', '/console/assets/../../package.json']) {
      const res = await get(url)
      expect(res.body, url).not.toContain('"@countersign/console"')
    }
  })

  it('has no inline script or style in its page, as the CSP requires', async () => {
    const html = (await get('/console')).body
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.toMatch(/\sstyle=/)
    expect(html).not.toMatch(/\son[a-z]+=/)
  })
})

describe('the hosted challenge page', () => {
  it('answers /challenge with a token in the query under the strict CSP, never cached, leaking no referrer', async () => {
    const { url } = await api.track(uniqueId('user'), 'signIn')
    const res = await get(new URL(url).pathname + new URL(url).search)
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expectPageHeaders(res.headers)
    const html = res.body
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.toMatch(/\sstyle=/)
  })

  it('may be opened by a tenant’s page in a window of its own: no Cross-Origin-Opener-Policy', async () => {
    const { url } = await api.track(uniqueId('user'), 'signIn')
    const res = await get(new URL(url).pathname + new URL(url).search)
    expect(res.headers['cross-origin-opener-policy']).toBeUndefined()
    expect((await get('/console')).headers['cross-origin-opener-policy']).toBe('same-origin')
  })

  it('in popup mode, may be framed by the tenant’s allowed origins and its redirect URL’s origin, and by nothing else', async () => {
    const framed = tenantApi(h, await h.newTenant({ allowedOrigins: ['https://app.bank.example'] }))
    const tracked = await framed.track(uniqueId('user'), 'signIn', { redirectUrl: 'https://www.bank.example/done' })
    const popup = await get(`/challenge?token=${encodeURIComponent(tracked.token)}&mode=popup`)
    expect(popup.statusCode).toBe(200)
    expect(popup.headers['content-security-policy']).toContain('frame-ancestors https://app.bank.example https://www.bank.example')
    expect(popup.headers['content-security-policy']).toContain("script-src 'self'")
    expect(popup.headers['x-frame-options']).toBeUndefined()

    // Without popup mode, or with a token that does not verify, the page cannot be framed.
    for (const url of [`/challenge?token=${encodeURIComponent(tracked.token)}`, `/challenge?token=${encodeURIComponent(`${tracked.token}x`)}&mode=popup`, '/challenge?mode=popup']) {
      const res = await get(url)
      expect(res.headers['content-security-policy'], url).toBe(CONTENT_SECURITY_POLICY)
      expect(res.headers['x-frame-options'], url).toBe('DENY')
    }
    // A tenant with neither allowed origins nor a redirect URL: still never framed.
    const plain = await api.track(uniqueId('user'), 'signIn')
    expect((await get(`/challenge?token=${encodeURIComponent(plain.token)}&mode=popup`)).headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY)
  })

  it('may call the Client API of a tenant that lists allowed origins: its own origin is always allowed', async () => {
    const strict = tenantApi(h, await h.newTenant({ allowedOrigins: ['https://app.bank.example'] }))
    const tracked = await strict.track(uniqueId('user'), 'signIn')
    const call = (origin: string) => strict.client('GET', '/v1/client/hosted-challenge', bearer(tracked.token), undefined, { origin })
    expectOk(await call('http://countersign.test'))
    expectOk(await call('https://app.bank.example'))
    expectError(await call('https://evil.example'), 403, 'origin_not_allowed')
  })

  it('is not a single-page app: other paths under /challenge are coded 404s', async () => {
    expectError(await get('/challenge/anything'), 404, 'not_found')
  })
})

describe('GET /v1/client/hosted-challenge', () => {
  it('tells the page the action, where to go afterwards and which methods apply', async () => {
    const userId = uniqueId('user')
    const { device } = await api.enroll(userId)
    const tracked = await api.track(userId, 'authorizePayment', { redirectUrl: 'https://bank.example/done?from=countersign' })
    expect(tracked.state).toBe('CHALLENGE_REQUIRED')
    const info = expectOk(await api.client('GET', '/v1/client/hosted-challenge', bearer(tracked.token))) as HostedChallengeResponse
    expect(info).toEqual({
      tenantId: api.tenant.tenantId,
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey: tracked.idempotencyKey,
      state: 'CHALLENGE_REQUIRED',
      redirectUrl: 'https://bank.example/done?from=countersign',
      verificationMethods: ['IN_APP', 'PUSH', 'QR_CODE'],
      credentials: { inApp: true, push: false },
      canEnroll: false,
      expiresAt: expect.stringMatching(/Z$/),
    })
    // It follows the action: once verified, the page sees so.
    await api.verify(bearer(tracked.token), await api.challenge(bearer(tracked.token)), device)
    expect(expectOk(await api.client('GET', '/v1/client/hosted-challenge', bearer(tracked.token))).state).toBe('CHALLENGE_SUCCEEDED')
  })

  it('offers enrolment only with a token that may add a credential, to a user without one', async () => {
    const userId = uniqueId('new-user')
    const enrolment = await api.track(userId, 'enroll', { scope: 'add:authenticators' })
    const info = expectOk(await api.client('GET', '/v1/client/hosted-challenge', bearer(enrolment.token)))
    expect(info).toMatchObject({ canEnroll: true, credentials: { inApp: false, push: false } })
    expect(info.redirectUrl).toBeUndefined()
    const plain = await api.track(uniqueId('new-user'), 'signIn')
    expect(expectOk(await api.client('GET', '/v1/client/hosted-challenge', bearer(plain.token))).canEnroll).toBe(false)
  })

  it('names the methods a deciding rule narrowed the action to', async () => {
    expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'wire' }), 201)
    expectOk(
      await api.manage('POST', '/action-configurations/wire/rules', {
        name: 'Big transfers by push',
        outcome: 'CHALLENGE',
        condition: 'true',
        verificationMethods: ['PUSH'],
      }),
      201,
    )
    const userId = uniqueId('user')
    await api.enroll(userId)
    const tracked = await api.track(userId, 'wire')
    expect(expectOk(await api.client('GET', '/v1/client/hosted-challenge', bearer(tracked.token))).verificationMethods).toEqual(['PUSH'])
  })

  it('needs a valid token of the tenant', async () => {
    const tracked = await api.track(uniqueId('user'), 'signIn')
    expectError(await api.client('GET', '/v1/client/hosted-challenge', undefined), 401, 'unauthorized')
    expectError(await api.client('GET', '/v1/client/hosted-challenge', api.tenantBasic), 401, 'unauthorized')
    expectError(await api.client('GET', '/v1/client/hosted-challenge', bearer(`${tracked.token}x`)), 401, 'invalid_token')
    h.clock.advance(11 * 60_000)
    expectError(await api.client('GET', '/v1/client/hosted-challenge', bearer(tracked.token)), 401, 'expired_token')
  })
})
