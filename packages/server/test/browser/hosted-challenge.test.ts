// The hosted challenge page (apps/hosted-challenge, served under /challenge) in real Chromium:
// the tenant's backend tracks an action, the browser opens track's `url`, and a phone —
// played here by the client SDK with a Node-side key — scans, claims and approves. The page
// must hand back a token that /v1/validate accepts: by redirect to redirectUrl, or by the
// postMessage protocol of @authsignal/browser's launch() (the real SDK, in a tenant page).
// Build the page first: npm run build -w @countersign/hosted-challenge.
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import decodeQR from 'qr/decode.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { challengeIdFromQrPayload, CountersignClient, MemoryKeyStore } from '@countersign/client'
import { launchChromium, listeningHarness, pageErrors, screenshot, type ListeningHarness } from '../support/chromium.ts'
import { expectOk, tenantApi, uniqueId, type TenantApi } from '../support/api.ts'

const DIST = fileURLToPath(new URL('../../../../apps/hosted-challenge/dist/', import.meta.url))
const SDK_BUNDLE = fileURLToPath(new URL('../../../../node_modules/@authsignal/browser/dist/index.min.js', import.meta.url))
const DESKTOP = { width: 1280, height: 800 }
const PHONE = { width: 390, height: 844 }

let h: ListeningHarness
let api: TenantApi
let browser: Browser
let app: TenantApp

beforeAll(async () => {
  if (!existsSync(`${DIST}index.html`)) throw new Error('Build the page first: npm run build -w @countersign/hosted-challenge')
  h = await listeningHarness()
  api = tenantApi(h, await h.newTenant())
  browser = await launchChromium()
  app = await tenantApp()
})
afterAll(async () => {
  await browser?.close()
  await app?.close()
  h?.app.server.closeAllConnections()
  await h?.close()
})

// ---------------------------------------------------------------------------------------------
// The tenant's web app, on its own origin: where redirectUrl points, and a page that runs the
// real @authsignal/browser bundle.

interface TenantApp {
  origin: string
  /** Paths (with query) of every request the app received, in order. */
  visits: string[]
  close(): Promise<void>
}

async function tenantApp(): Promise<TenantApp> {
  const visits: string[] = []
  const sdk = readFileSync(SDK_BUNDLE)
  const server: Server = createServer((req: IncomingMessage, res) => {
    const url = req.url ?? '/'
    visits.push(url)
    if (url === '/authsignal.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' })
      return res.end(sdk)
    }
    if (url === '/favicon.ico') {
      res.writeHead(204)
      return res.end()
    }
    if (url.startsWith('/done')) {
      res.writeHead(200, { 'content-type': 'text/html' })
      return res.end('<!doctype html><title>Done</title><h1>Back at the shop</h1>')
    }
    if (url === '/shop') {
      res.writeHead(200, { 'content-type': 'text/html' })
      return res.end(SHOP_PAGE)
    }
    res.writeHead(404)
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    visits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * A tenant page as Authsignal's docs write one: `new Authsignal({ tenantId, baseUrl })`, then
 * `launch(url, { mode })`. It records every message it receives, and what launch() resolved.
 */
const SHOP_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title><script src="/authsignal.js"></script></head>
<body><h1>Checkout</h1><button id="pay">Pay</button><pre id="result"></pre>
<script>
  window.received = []
  window.addEventListener('message', (event) => window.received.push({ origin: event.origin, data: event.data }))
  window.startLaunch = (tenantId, baseUrl, url, mode) => {
    const client = new authsignal.Authsignal({ tenantId, baseUrl })
    window.launched = client.launch(url, { mode, onError: (e) => window.received.push({ onError: e }) }).then((result) => {
      document.getElementById('result').textContent = JSON.stringify(result)
      return result
    })
  }
</script></body></html>`

// ---------------------------------------------------------------------------------------------
// Helpers.

/** A phone with its own key (MemoryKeyStore), enrolled for the user in `namespace`. */
async function enrollPhone(userId: string, namespace: 'push' | 'qr-code', tenant: TenantApi = api): Promise<CountersignClient> {
  const phone = new CountersignClient({ tenantId: tenant.tenant.tenantId, baseUrl: h.baseUrl, keyStore: new MemoryKeyStore() })
  const { token } = await tenant.track(userId, 'addAuthenticator', { scope: 'add:authenticators' })
  const added = namespace === 'push' ? await phone.push.addCredential({ token, pushToken: 'fcm-token' }) : await phone.qr.addCredential({ token })
  expect(added.error).toBeUndefined()
  return phone
}

/** The push request waiting for the phone (the page sends it when it opens). */
async function pendingPush(phone: CountersignClient) {
  for (let i = 0; i < 100; i++) {
    const pending = await phone.push.getChallenge()
    expect(pending.error).toBeUndefined()
    if (pending.data) return pending.data
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('no push request reached the phone')
}

async function validate(token: string, tenant: TenantApi = api): Promise<Record<string, unknown>> {
  return expectOk(await tenant.server('POST', '/v1/validate', { token }))
}

async function newPage(context: BrowserContext, viewport = DESKTOP): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage()
  await page.setViewportSize(viewport)
  return { page, errors: pageErrors(page) }
}

/** The token a redirect brought to the tenant's /done page. */
function tokenOf(url: string): string {
  const token = new URL(url).searchParams.get('token')
  expect(token).toBeTruthy()
  return token!
}

/** The QR code as the screen shows it, decoded from a screenshot's pixels (via the page's own PNG decoder). */
async function scanScreen(page: Page): Promise<string> {
  const png = await page.locator('[data-method="qr"] .qr').screenshot()
  const image = await page.evaluate(async (dataUrl) => {
    const img = new Image()
    img.src = dataUrl
    await img.decode()
    const canvas = document.createElement('canvas')
    canvas.width = img.naturalWidth
    canvas.height = img.naturalHeight
    const context = canvas.getContext('2d')!
    context.drawImage(img, 0, 0)
    const { data, width, height } = context.getImageData(0, 0, canvas.width, canvas.height)
    return { width, height, data: Array.from(data) }
  }, `data:image/png;base64,${png.toString('base64')}`)
  return decodeQR({ width: image.width, height: image.height, data: Uint8ClampedArray.from(image.data) })
}

// ---------------------------------------------------------------------------------------------

describe('redirect mode', () => {
  it('QR code: the phone scans, claims and approves; the page returns to redirectUrl with a token that validates', async () => {
    const userId = uniqueId('hosted-qr')
    const phone = await enrollPhone(userId, 'qr-code')
    const tracked = await api.track(userId, 'authorizePayment', { redirectUrl: `${app.origin}/done?order=42#receipt` })
    expect(tracked.state).toBe('CHALLENGE_REQUIRED')
    expect(tracked.url).toBe(`${h.baseUrl}/challenge?token=${tracked.token}`)

    const context = await browser.newContext()
    const { page, errors } = await newPage(context)
    const document = await page.goto(tracked.url)
    expect(document?.status()).toBe(200)
    const headers = document!.headers()
    expect(headers['content-security-policy']).toContain("script-src 'self'")
    expect(headers['referrer-policy']).toBe('no-referrer')

    const qr = page.locator('[data-method="qr"][data-state="unclaimed"]')
    await qr.waitFor()
    // The token left the address bar (and so the session history) at once.
    expect(page.url()).toBe(`${h.baseUrl}/challenge`)
    expect(await page.evaluate(() => window.location.href)).not.toContain('token')
    // No push credential: no push section.
    expect(await page.locator('[data-method="push"]').count()).toBe(0)
    const payload = (await qr.getAttribute('data-qr-payload'))!
    const challengeId = challengeIdFromQrPayload(payload)!
    expect(challengeId).toBe(await qr.getAttribute('data-challenge-id'))
    // What the screen shows scans, under the page's CSP, to the same payload.
    expect(await scanScreen(page)).toBe(payload)
    expect(await page.locator('#subtitle .action').textContent()).toBe('Authorize payment')
    await screenshot(page, 'hosted-challenge-qr')
    await page.setViewportSize(PHONE)
    await screenshot(page, 'hosted-challenge-qr-phone')
    await page.setViewportSize(DESKTOP)

    const claimed = await phone.qr.claimChallenge({ challengeId })
    expect(claimed.data).toMatchObject({ actionCode: 'authorizePayment', userId })
    await page.locator('[data-method="qr"][data-state="claimed"]').waitFor()
    // The live region is filled a frame after the state changes (so a repeated message is re-read).
    await expect.poll(() => page.locator('#announcer').textContent()).toContain('Scanned — waiting for approval on your phone')
    await screenshot(page, 'hosted-challenge-qr-claimed')

    const redirected = page.waitForURL(`${app.origin}/done?**`)
    expect((await phone.qr.updateChallenge({ challenge: claimed.data!, approved: true })).data).toEqual({ isVerified: true })
    await redirected
    const url = new URL(page.url())
    expect(url.searchParams.get('order')).toBe('42')
    expect(url.hash).toBe('#receipt')
    expect(await validate(tokenOf(page.url()))).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', userId, verificationMethod: 'QR_CODE' })
    expect(errors).toEqual([])
    await context.close()
  })

  it('push: the page asks the phone at once, the phone approves, the page redirects with a token that validates', async () => {
    const userId = uniqueId('hosted-push')
    const phone = await enrollPhone(userId, 'push')
    const tracked = await api.track(userId, 'authorizePayment', { redirectUrl: `${app.origin}/done` })
    const context = await browser.newContext()
    const { page, errors } = await newPage(context)
    await page.goto(tracked.url)

    await page.locator('[data-method="push"][data-state="unclaimed"]').waitFor()
    expect(await page.locator('[data-method="push"] .method__status').textContent()).toContain('We sent a request to your phone')
    await screenshot(page, 'hosted-challenge-push')
    const request = await pendingPush(phone)
    expect(request).toMatchObject({ actionCode: 'authorizePayment', idempotencyKey: tracked.idempotencyKey })

    const redirected = page.waitForURL(`${app.origin}/done?token=*`)
    expect((await phone.push.updateChallenge({ challenge: request, approved: true })).data).toEqual({ isVerified: true })
    await redirected
    expect(await validate(tokenOf(page.url()))).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', userId, verificationMethod: 'PUSH' })
    expect(errors).toEqual([])
    await context.close()
  })

  it('a denial on the phone: the page says so and stays; nothing reaches redirectUrl', async () => {
    const userId = uniqueId('hosted-deny')
    const phone = await enrollPhone(userId, 'push')
    const tracked = await api.track(userId, 'authorizePayment', { redirectUrl: `${app.origin}/done?deny=1` })
    const context = await browser.newContext()
    const { page, errors } = await newPage(context)
    await page.goto(tracked.url)

    const request = await pendingPush(phone)
    expect((await phone.push.updateChallenge({ challenge: request, approved: false })).data).toEqual({ isVerified: false })
    await page.locator('html[data-result="denied"]').waitFor()
    expect(await page.locator('h1').textContent()).toBe('Request denied')
    await expect.poll(() => page.locator('#alerter').textContent()).toContain('You denied this request on your phone')
    // The QR section stopped with it: no live challenge is left on the page.
    expect(await page.locator('[data-method]').count()).toBe(0)
    await screenshot(page, 'hosted-challenge-denied')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(page.url()).toBe(`${h.baseUrl}/challenge`)
    expect(app.visits.filter((v) => v.includes('deny=1'))).toEqual([])
    const action = expectOk(await api.server('GET', `/v1/users/${userId}/actions/authorizePayment/${tracked.idempotencyKey}`))
    expect(action.state).toBe('CHALLENGE_FAILED')
    expect(errors).toEqual([])
    await context.close()
  })

  it('number matching: the page shows the code; the phone sends what the user typed', async () => {
    const matching = tenantApi(h, await h.newTenant({ numberMatching: true, verificationMethods: ['PUSH'] }))
    const userId = uniqueId('hosted-number')
    const phone = await enrollPhone(userId, 'push', matching)
    const tracked = await matching.track(userId, 'authorizePayment', { redirectUrl: `${app.origin}/done` })
    const context = await browser.newContext()
    const { page, errors } = await newPage(context)
    await page.goto(tracked.url)

    const code = page.locator('[data-method="push"] .code')
    await code.waitFor()
    // PUSH only: no QR code, no this-device section.
    expect(await page.locator('[data-method]').count()).toBe(1)
    await screenshot(page, 'hosted-challenge-number-matching')
    const request = await pendingPush(phone)
    expect(request.verificationCodeRequired).toBe(true)
    const redirected = page.waitForURL(`${app.origin}/done?token=*`)
    await phone.push.updateChallenge({ challenge: request, approved: true, verificationCode: (await code.textContent())! })
    await redirected
    expect(await validate(tokenOf(page.url()), matching)).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', verificationMethod: 'PUSH' })
    expect(errors).toEqual([])
    await context.close()
  })

  // The page calls the Client API from the server's own origin, which a tenant's list of
  // allowed origins need not name: the server always accepts its own origin.
  it('a tenant that lists allowed origins: the page, on the server’s own origin, still works', async () => {
    const listing = tenantApi(h, await h.newTenant({ allowedOrigins: ['https://shop.example'] }))
    const userId = uniqueId('hosted-origins')
    const phone = await enrollPhone(userId, 'push', listing)
    const tracked = await listing.track(userId, 'authorizePayment', { redirectUrl: `${app.origin}/done` })
    const context = await browser.newContext()
    const { page, errors } = await newPage(context)
    await page.goto(tracked.url)
    const redirected = page.waitForURL(`${app.origin}/done?token=*`)
    await phone.push.updateChallenge({ challenge: await pendingPush(phone), approved: true })
    await redirected
    expect(await validate(tokenOf(page.url()), listing)).toMatchObject({ isValid: true })
    expect(errors).toEqual([])
    await context.close()
  })

  it('enrollment: "use this browser" registers a Web Crypto key, completes the action, and confirms the next one on this device', async () => {
    const userId = uniqueId('hosted-enroll')
    const tracked = await api.track(userId, 'authorizePayment', { scope: 'add:authenticators', redirectUrl: `${app.origin}/done` })
    const context = await browser.newContext()
    const { page, errors } = await newPage(context)
    await page.goto(tracked.url)

    const offer = page.locator('[data-method="in-app"][data-mode="enroll"]')
    await offer.waitFor()
    await page.locator('[data-method="qr"][data-state="unclaimed"]').waitFor()
    await screenshot(page, 'hosted-challenge-enroll')
    const redirected = page.waitForURL(`${app.origin}/done?token=*`)
    await offer.getByRole('button', { name: 'Use this browser' }).click()
    await redirected
    expect(await validate(tokenOf(page.url()))).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', userId, verificationMethod: 'IN_APP' })
    const authenticators = expectOk(await api.server('GET', `/v1/users/${userId}/authenticators`))
    expect(authenticators).toHaveLength(1)
    expect(authenticators[0]).toMatchObject({ verificationMethod: 'IN_APP' })

    // The next action: the key is still in this browser's IndexedDB, so the page offers it.
    const next = await api.track(userId, 'authorizePayment', { redirectUrl: `${app.origin}/done` })
    expect(next.state).toBe('CHALLENGE_REQUIRED')
    await page.goto(next.url)
    const confirm = page.locator('[data-method="in-app"][data-mode="verify"]')
    await confirm.waitFor()
    // The quickest way comes first.
    expect(await page.locator('[data-method]').first().getAttribute('data-method')).toBe('in-app')
    await page.locator('[data-method="qr"][data-state="unclaimed"]').waitFor()
    await screenshot(page, 'hosted-challenge-this-device')
    const again = page.waitForURL(`${app.origin}/done?token=*`)
    await confirm.getByRole('button', { name: 'Confirm on this device' }).click()
    await again
    expect(await validate(tokenOf(page.url()))).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', verificationMethod: 'IN_APP' })
    expect(errors).toEqual([])
    await context.close()
  })
})

describe('tokens the page cannot use', () => {
  /** The one console error such a page may log: Chromium's line for the refused request. */
  const refusedRequest = (status: number) => (line: string) => line === `console: Failed to load resource: the server responded with a status of ${status} (Unauthorized)`

  it('a garbage token: a clear message, a 401, no other console error', async () => {
    const context = await browser.newContext()
    const { page, errors } = await newPage(context)
    const answered = page.waitForResponse((r) => r.url().endsWith('/v1/client/hosted-challenge'))
    await page.goto(`${h.baseUrl}/challenge?token=not-a-token`)
    expect((await answered).status()).toBe(401)
    await page.locator('html[data-result="failed"]').waitFor()
    expect(await page.locator('h1').textContent()).toBe('This link is not valid')
    expect(await page.locator('body').textContent()).not.toMatch(/at \w+ \(|\.ts:\d+|stack/i)
    expect(page.url()).toBe(`${h.baseUrl}/challenge`)
    await screenshot(page, 'hosted-challenge-invalid')
    expect(errors.filter((line) => !refusedRequest(401)(line))).toEqual([])
    await context.close()
  })

  it('an expired token: "This request has expired; go back and try again"', async () => {
    const userId = uniqueId('hosted-expired')
    await enrollPhone(userId, 'push')
    const tracked = await api.track(userId, 'authorizePayment', { redirectUrl: `${app.origin}/done` })
    const context = await browser.newContext()
    const { page, errors } = await newPage(context)
    h.clock.advance(11 * 60_000)
    try {
      const answered = page.waitForResponse((r) => r.url().endsWith('/v1/client/hosted-challenge'))
      await page.goto(tracked.url)
      const response = await answered
      expect(response.status()).toBe(401)
      expect((await response.json()).errorCode).toBe('expired_token')
      await page.locator('html[data-error-code="expired_token"]').waitFor()
      expect(await page.locator('#subtitle').textContent()).toBe('This request has expired; go back and try again.')
      await screenshot(page, 'hosted-challenge-expired')
    } finally {
      h.clock.advance(-11 * 60_000)
    }
    expect(errors.filter((line) => !refusedRequest(401)(line))).toEqual([])
    await context.close()
  })

  it('no token at all (a reload after the token was taken out of the URL): no request, a clear message', async () => {
    const context = await browser.newContext()
    const { page, errors } = await newPage(context)
    const requests: string[] = []
    page.on('request', (r) => requests.push(new URL(r.url()).pathname))
    await page.goto(`${h.baseUrl}/challenge`)
    await page.locator('html[data-error-code="missing_token"]').waitFor()
    expect(requests.filter((p) => p.startsWith('/v1/'))).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  })
})

describe('@authsignal/browser launch()', () => {
  // launch() needs the server to let the tenant's page keep its link to the hosted page: no
  // Cross-Origin-Opener-Policy (`window` mode posts to window.opener), and, for `popup` mode
  // (an iframe), a frame-ancestors naming the tenant's page — the server lists the tenant's
  // allowed origins there, so the shop's origin is one of them.
  beforeAll(async () => {
    expectOk(await api.manage('PATCH', '/tenant', { allowedOrigins: [app.origin] }))
  })
  afterAll(async () => {
    expectOk(await api.manage('PATCH', '/tenant', { allowedOrigins: [] }))
  })

  /** The tenant page, its errors, and launch(url, { mode }) started in it. */
  async function launchFromShop(url: string, mode: 'window' | 'popup') {
    const context = await browser.newContext()
    const { page, errors } = await newPage(context)
    await page.goto(`${app.origin}/shop`)
    await page.evaluate(([tenantId, baseUrl, url, mode]) => (window as unknown as { startLaunch: (...a: string[]) => void }).startLaunch(tenantId!, baseUrl!, url!, mode!), [
      api.tenant.tenantId,
      `${h.baseUrl}/v1`,
      url,
      mode,
    ])
    return { context, page, errors }
  }

  const launched = (page: Page) => page.evaluate(() => (window as unknown as { launched: Promise<{ token?: string }> }).launched)
  const received = (page: Page) => page.evaluate(() => (window as unknown as { received: unknown[] }).received)

  it('mode "window": the page opens with &mode=popup, and its message resolves launch() with a token that validates', async () => {
    const userId = uniqueId('hosted-window')
    const phone = await enrollPhone(userId, 'push')
    const tracked = await api.track(userId, 'authorizePayment')
    const popupOpened = (async () => {
      const { context, page, errors } = await launchFromShop(tracked.url, 'window')
      return { context, page, errors, popup: await page.waitForEvent('popup') }
    })()
    const { context, page, errors, popup } = await popupOpened
    const popupErrors = pageErrors(popup)
    await popup.locator('[data-method="push"][data-state="unclaimed"]').waitFor()
    expect(popup.url()).toBe(`${h.baseUrl}/challenge?mode=popup`)
    await popup.setViewportSize({ width: 400, height: 640 })
    await screenshot(popup, 'hosted-challenge-window')

    const request = await pendingPush(phone)
    await phone.push.updateChallenge({ challenge: request, approved: true })
    const result = await launched(page)
    expect(result.token).toBeTruthy()
    expect(await validate(result.token!)).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', userId })
    // Exactly what the SDK parses: a JSON string from the hosted page's origin.
    expect(await received(page)).toContainEqual({ origin: h.baseUrl, data: JSON.stringify({ event: 'AUTHSIGNAL_CLOSE_POPUP', token: result.token }) })
    await expect.poll(() => popup.isClosed()).toBe(true)
    expect(errors).toEqual([])
    expect(popupErrors).toEqual([])
    await context.close()
  })

  it('mode "popup": the page in the SDK’s iframe dialog signals ready, sizes itself, and closes the dialog with a token', async () => {
    const userId = uniqueId('hosted-popup')
    const phone = await enrollPhone(userId, 'push')
    const tracked = await api.track(userId, 'authorizePayment')
    const { context, page, errors } = await launchFromShop(tracked.url, 'popup')
    const frame = page.frameLocator('#__authsignal-popup-iframe')
    await frame.locator('[data-method="push"][data-state="unclaimed"]').waitFor()
    await expect.poll(() => page.locator('#__authsignal-popup-iframe.as-iframe-ready').count()).toBe(1)
    await screenshot(page, 'hosted-challenge-popup')

    const request = await pendingPush(phone)
    await phone.push.updateChallenge({ challenge: request, approved: true })
    const result = await launched(page)
    expect(await validate(result.token!)).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', userId })
    const messages = await received(page)
    expect(messages).toContainEqual({ origin: h.baseUrl, data: JSON.stringify({ event: 'AUTHSIGNAL_READY' }) })
    expect(messages).toContainEqual({ origin: h.baseUrl, data: expect.objectContaining({ height: expect.any(Number) }) })
    expect(messages).toContainEqual({ origin: h.baseUrl, data: JSON.stringify({ event: 'AUTHSIGNAL_CLOSE_POPUP', token: result.token }) })
    expect(await page.locator('#__authsignal-popup-container').count()).toBe(0)
    expect(errors).toEqual([])
    await context.close()
  })

  it('mode "popup", cancelled: launch() resolves without a token', async () => {
    const userId = uniqueId('hosted-cancel')
    await enrollPhone(userId, 'push')
    const tracked = await api.track(userId, 'authorizePayment')
    const { context, page, errors } = await launchFromShop(tracked.url, 'popup')
    const frame = page.frameLocator('#__authsignal-popup-iframe')
    await frame.getByRole('button', { name: 'Cancel' }).click()
    expect(await launched(page)).toEqual({})
    expect(errors).toEqual([])
    await context.close()
  })
})
