// The operator console (apps/console, served under /console) in real Chromium: sign-in with a
// management key and with an operator's email and password, API keys shown once and revoked,
// a rule written in the rule editor (a syntax error shown inline first) that then challenges a
// tracked action seen in the action log, and a device revoked from the Users page. Every main
// page is screenshotted at 1280×800 and a few at 390×844 (test-output/screenshots/console-*).
// Build the console first: npm run build -w @countersign/console.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basicAuth } from '../support/harness.ts'
import { launchChromium, listeningHarness, pageErrors, screenshot as saveScreenshot, type ListeningHarness } from '../support/chromium.ts'
import { expectOk, tenantApi, uniqueId, type TenantApi } from '../support/api.ts'
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts'

const DIST = fileURLToPath(new URL('../../../../apps/console/dist/', import.meta.url))
const DESKTOP = { width: 1280, height: 800 }
const PHONE = { width: 390, height: 844 }
const OPERATOR = { email: 'ops@bank.example', password: 'correct horse battery staple' }

let h: ListeningHarness
let api: TenantApi
let browser: Browser
let receiver: WebhookReceiver

beforeAll(async () => {
  if (!existsSync(`${DIST}index.html`)) throw new Error('Build the console first: npm run build -w @countersign/console')
  receiver = await startReceiver()
  h = await listeningHarness({ ALLOW_PRIVATE_WEBHOOK_URLS: 'true' })
  api = tenantApi(h, await h.newTenant())
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  h?.app.server.closeAllConnections()
  await h?.close()
  await receiver?.close()
})

/** Chromium's own console line for a request the server refused, which a sign-in page expects. */
const refused = (status: 400 | 401 | 429) => {
  const text = { 400: 'Bad Request', 401: 'Unauthorized', 429: 'Too Many Requests' }[status]
  return (line: string) => line === `console: Failed to load resource: the server responded with a status of ${status} (${text})`
}
const unexpected = (errors: string[], ...allowed: Array<(line: string) => boolean>) => errors.filter((line) => !allowed.some((ok) => ok(line)))

/** Errors (pageErrors) and warnings: the console should log neither. */
function problems(page: Page): string[] {
  // A step that cannot happen fails on its own, with its call log, well before the test's timeout.
  page.setDefaultTimeout(10_000)
  const errors = pageErrors(page)
  page.on('console', (message) => {
    if (message.type() === 'warning') errors.push(`warning: ${message.text()}`)
  })
  return errors
}

async function newPage(viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  return { context, page, errors: problems(page) }
}

/** A page signed in with the tenant's management key (no sign-in errors logged on it). */
async function signedIn(viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  // Sign in through the API from this context: the cookie is the context's, as after a form sign-in.
  const res = await page.request.post(`${h.baseUrl}/v1/management/session`, {
    headers: { 'x-countersign-console': '1', 'content-type': 'application/json' },
    data: { managementKey: api.tenant.managementKey },
  })
  expect(res.status()).toBe(200)
  return { context, page, errors: problems(page) }
}

/** A full-page screenshot from the top, so the sticky sidebar sits where a person first sees it. */
async function screenshot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0))
  await saveScreenshot(page, name)
}

async function heading(page: Page, name: string | RegExp): Promise<void> {
  await page.getByRole('heading', { level: 1, name }).waitFor()
}

describe('signing in', () => {
  it('with a management key, refusing a wrong password, then as an operator created through the API', async () => {
    const { context, page, errors } = await newPage()
    const response = await page.goto(`${h.baseUrl}/console/users`)
    // The strict policy is on the page, and nothing on it breaks it (a violation is a console error).
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'")
    await heading(page, 'Sign in to the console')
    expect(new URL(page.url()).pathname).toBe('/console/sign-in')

    // A wrong password: the server's refusal, shown in the form.
    await page.getByLabel('Email').fill(OPERATOR.email)
    await page.getByLabel('Password').fill('not the password at all')
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('do not match')
    await screenshot(page, 'console-sign-in')

    // The first way in: a management key. Back to the page asked for.
    await page.getByRole('button', { name: 'Use a management key instead' }).click()
    await page.getByLabel('Management key').fill(api.tenant.managementKey)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await heading(page, 'Users')
    expect(new URL(page.url()).pathname).toBe('/console/users')
    await expect.poll(() => page.locator('.signed-in-name').textContent()).toBe('Management key')

    // An operator, created through the Management API, shows on the Operators page.
    expectOk(await api.manage('POST', '/operators', OPERATOR), 201)
    await page.getByRole('link', { name: 'Operators' }).click()
    await heading(page, 'Operators')
    await page.getByRole('cell', { name: OPERATOR.email, exact: true }).waitFor()
    await screenshot(page, 'console-operators')

    // Sign out; then in with email and password.
    await page.getByRole('button', { name: 'Sign out' }).click()
    await heading(page, 'Sign in to the console')
    await page.getByText('You have signed out.').waitFor()
    await page.getByLabel('Email').fill(OPERATOR.email)
    await page.getByLabel('Password').fill(OPERATOR.password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await heading(page, 'Overview')
    await expect.poll(() => page.locator('.signed-in-name').textContent()).toBe(OPERATOR.email)

    // The session is the cookie: HttpOnly, SameSite=Strict, and invisible to the page.
    const [cookie] = await context.cookies()
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' })
    expect(await page.evaluate(() => document.cookie)).toBe('')

    // The session ends on the server (idle, expired) while the browser still holds the cookie:
    // the next call's 401 brings the sign-in page, and signing in again returns to the page.
    const ended = await h.inject({
      method: 'DELETE',
      url: '/v1/management/session',
      headers: { cookie: `${cookie!.name}=${cookie!.value}`, 'x-countersign-console': '1' },
    })
    expect(ended.statusCode).toBe(204)
    await page.getByRole('link', { name: 'Users', exact: true }).click()
    await heading(page, 'Sign in to the console')
    await page.getByText('Your session has ended.').waitFor()
    expect(new URL(page.url()).searchParams.get('next')).toBe('/users')
    await page.getByLabel('Email').fill(OPERATOR.email)
    await page.getByLabel('Password').fill(OPERATOR.password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await heading(page, 'Users')

    // Signing out in one tab signs out every tab (the cookie is gone for all of them).
    const other = await context.newPage()
    const otherErrors = problems(other)
    await other.goto(`${h.baseUrl}/console/api-keys`)
    await heading(other, 'API keys')
    await other.getByRole('button', { name: 'Sign out' }).click()
    await heading(other, 'Sign in to the console')
    await heading(page, 'Sign in to the console')
    await page.getByText('You signed out in another tab.').waitFor()
    expect(otherErrors).toEqual([])
    expect(unexpected(errors, refused(401))).toEqual([])
    await context.close()
  })

  it('too many wrong passwords: "try again in N seconds"', async () => {
    const { context, page, errors } = await newPage()
    await page.goto(`${h.baseUrl}/console/sign-in`)
    const email = `${uniqueId('locked')}@bank.example`
    await page.getByLabel('Email').fill(email)
    const alert = page.getByRole('alert')
    for (let attempt = 0; attempt < 8; attempt++) {
      await page.getByLabel('Password').fill('wrong password number ' + attempt)
      const answered = page.waitForResponse((r) => r.url().endsWith('/v1/management/session') && r.request().method() === 'POST')
      await page.getByRole('button', { name: 'Sign in', exact: true }).click()
      if ((await answered).status() === 429) break
    }
    await expect.poll(() => alert.textContent()).toMatch(/^Too many attempts\. Try again in \d+ seconds?\.$/)
    expect(unexpected(errors, refused(401), refused(429))).toEqual([])
    await context.close()
  })
})

describe('API keys', () => {
  it('a new secret key is shown once and works; revoked after confirming, it is marked revoked and refused', async () => {
    const { context, page, errors } = await signedIn()
    await page.goto(`${h.baseUrl}/console/api-keys`)
    await heading(page, 'API keys')
    await page.getByRole('region', { name: 'API keys' }).waitFor()
    // Tenant ID and API URL from the session, with copy buttons.
    expect(await page.getByLabel('Tenant ID', { exact: true }).inputValue()).toBe(api.tenant.tenantId)
    expect(await page.getByLabel('API URL', { exact: true }).inputValue()).toBe(`${h.baseUrl}/v1`)
    await page.getByRole('button', { name: 'Copy tenant ID' }).waitFor()

    await page.getByRole('button', { name: 'Create key' }).click()
    const create = page.getByRole('dialog', { name: 'Create an API key' })
    await create.getByLabel('Name').fill('Payments backend')
    await create.getByLabel(/Secret key/).check()
    await create.getByRole('button', { name: 'Create key' }).click()
    const shown = page.getByRole('dialog', { name: 'Your new key' })
    await shown.getByText('You won’t see it again').waitFor()
    const key = await shown.getByLabel('Secret key', { exact: true }).inputValue()
    expect(key.length).toBeGreaterThan(20)
    await screenshot(page, 'console-api-key-created')
    expectOk(await h.inject({ method: 'GET', url: '/v1/users/someone/authenticators', headers: { authorization: basicAuth(key) } }))
    await shown.getByRole('button', { name: 'I have saved the key' }).click()
    await expect.poll(() => shown.isVisible()).toBe(false)
    // Shown once: the page holds it nowhere any more.
    expect(await page.content()).not.toContain(key)

    const row = page.getByRole('row', { name: /Payments backend/ })
    await row.getByRole('button', { name: /^Revoke/ }).click()
    const confirm = page.getByRole('dialog', { name: 'Revoke this key?' })
    // Escape backs out, and nothing is revoked.
    await page.keyboard.press('Escape')
    await expect.poll(() => confirm.isVisible()).toBe(false)
    await row.getByRole('button', { name: /^Revoke/ }).click()
    await confirm.getByRole('button', { name: 'Revoke key' }).click()
    await row.getByText('Revoked').waitFor()
    expect(await row.getByRole('button', { name: /^Revoke/ }).count()).toBe(0)
    const refusedNow = await h.inject({ method: 'GET', url: '/v1/users/someone/authenticators', headers: { authorization: basicAuth(key) } })
    expect(refusedNow.statusCode).toBe(401)
    await screenshot(page, 'console-api-keys')
    expect(errors).toEqual([])
    await context.close()
  })
})

describe('rules', () => {
  it('a syntax error is shown under the condition; the fixed rule challenges a tracked action, seen in the action log as matched', async () => {
    const actionCode = `payout${Date.now().toString(36)}`
    const userId = uniqueId('console-rules')
    const { context, page, errors } = await signedIn()
    await page.goto(`${h.baseUrl}/console/actions`)
    await heading(page, 'Actions')
    await page.getByRole('button', { name: 'Configure an action' }).click()
    const dialog = page.getByRole('dialog', { name: 'Configure an action' })
    await dialog.getByLabel('Action code').fill(actionCode)
    await dialog.getByLabel('Default outcome').selectOption('ALLOW')
    await dialog.getByRole('button', { name: 'Configure' }).click()
    await heading(page, actionCode)

    // The action's own setting over the tenant's: saved, and shown as the action's.
    await page.getByLabel('Token lifetime (seconds)').fill('900')
    await page.getByRole('button', { name: 'Save configuration' }).click()
    await page.getByText('Configuration saved.').waitFor()
    expect(expectOk(await api.manage('GET', `/action-configurations/${actionCode}`))).toMatchObject({ tokenTtlSeconds: 900, defaultOutcome: 'ALLOW' })

    await page.getByRole('link', { name: 'Add rule' }).click()
    await heading(page, 'New rule')
    await page.getByLabel('Name').fill('Large payout')
    await page.getByLabel('Condition').fill('action.custom.amount >')
    await page.getByLabel('Outcome').selectOption('CHALLENGE')
    await page.getByLabel('Priority').fill('10')
    await page.getByRole('button', { name: 'Create rule' }).click()
    const inline = page.locator('#rule-condition-error')
    await inline.waitFor()
    expect(await inline.textContent()).toMatch(/Line 1, column \d+:/)
    expect(await page.getByLabel('Condition').getAttribute('aria-invalid')).toBe('true')
    expect(await page.getByLabel('Condition').getAttribute('aria-describedby')).toContain('rule-condition-error')
    await screenshot(page, 'console-rule-error')

    await page.getByLabel('Condition').fill('action.custom.amount > 1000')
    await expect.poll(() => inline.count()).toBe(0)
    await page.getByRole('button', { name: 'Create rule' }).click()
    await heading(page, actionCode)
    await page.getByText('Rule “Large payout” saved.').waitFor()
    await page.getByRole('link', { name: 'Large payout' }).waitFor()
    await screenshot(page, 'console-action-configuration')

    // The backend tracks a large payout: the rule challenges it.
    const tracked = await api.track(userId, actionCode, { custom: { amount: 5000 } })
    expect(tracked.state).toBe('CHALLENGE_REQUIRED')
    await api.track(userId, actionCode, { custom: { amount: 20 } })

    await page.getByRole('link', { name: 'Action log', exact: true }).click()
    await heading(page, 'Action log')
    await page.getByLabel('User ID').fill(userId)
    await page.getByRole('button', { name: 'Apply' }).click()
    const logRow = page.getByRole('row', { name: /Challenge required/ })
    await logRow.waitFor()
    expect(await logRow.textContent()).toContain('Large payout')
    expect(await page.getByRole('row', { name: /Allowed/ }).textContent()).toContain('None')
    await screenshot(page, 'console-action-log')
    await logRow.getByRole('link', { name: new RegExp(`^Action ${actionCode}`) }).click()
    await heading(page, actionCode)
    const matched = page.getByRole('region', { name: 'Matched rules', exact: true })
    await matched.getByRole('link', { name: 'Large payout' }).waitFor()
    expect(await matched.getByText('Decided').count()).toBe(1)
    expect(await page.locator('.json').first().textContent()).toContain('"outcome": "CHALLENGE"')
    // Its state history so far: tracked, challenge required.
    const history = page.locator('.timeline li')
    expect(await history.count()).toBe(1)
    expect(await history.first().textContent()).toMatch(/Tracked: Challenge required/)
    await screenshot(page, 'console-action-detail')

    // The rule editor's test panel: the saved rule and a draft, against that recent action.
    await matched.getByRole('link', { name: 'Large payout' }).click()
    await heading(page, 'Edit rule')
    await page.getByLabel('Condition').fill('action.custom.amount > 10000')
    await page.getByLabel(/Recent .* actions/).selectOption({ index: 1 })
    await page.getByRole('button', { name: 'Test this condition' }).click()
    const result = page.locator('.dry-run')
    await result.getByText('This condition:').waitFor()
    expect(await result.locator('.draft-result').textContent()).toContain('Not matched')
    expect(await result.getByRole('row', { name: /Large payout/ }).textContent()).toContain('Matched')
    expect(await result.getByRole('row', { name: /Large payout/ }).textContent()).toContain('action.custom{"amount":5000}')
    await screenshot(page, 'console-rule-editor')
    // The one console line expected: Chromium's for the refused condition.
    expect(unexpected(errors, refused(400))).toEqual([])
    await context.close()
  })
})

describe('users', () => {
  it('a user’s device is revoked from the Users page after confirming', async () => {
    const userId = uniqueId('console-user')
    await api.enroll(userId)
    await api.track(userId, 'login')
    const { context, page, errors } = await signedIn()
    await page.goto(`${h.baseUrl}/console/users`)
    await heading(page, 'Users')
    await page.getByRole('searchbox', { name: 'Search users' }).fill(userId)
    await page.getByRole('button', { name: 'Search', exact: true }).click()
    await page.getByRole('link', { name: userId }).click()
    await heading(page, userId)
    const devices = page.getByRole('region', { name: 'Authenticators' }).first()
    await devices.getByText('Pixel 8').waitFor()
    expect(await devices.textContent()).toContain('android')
    await page.getByRole('region', { name: 'Recent actions' }).first().getByText('login').waitFor()
    await screenshot(page, 'console-user')

    await devices.getByRole('button', { name: 'Revoke Pixel 8' }).click()
    const confirm = page.getByRole('dialog', { name: 'Revoke this authenticator?' })
    // Focus starts on Cancel, inside the dialog.
    expect(await confirm.getByRole('button', { name: 'Cancel' }).evaluate((el) => el === document.activeElement)).toBe(true)
    await confirm.getByRole('button', { name: 'Revoke authenticator' }).click()
    await page.getByText('Pixel 8 was revoked.').waitFor()
    await page.getByText('No authenticators enrolled.').waitFor()
    const authenticators = expectOk(await api.server('GET', `/v1/users/${userId}/authenticators`))
    expect(authenticators).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  })
})

describe('every page', () => {
  it('renders at 1280×800 without errors (screenshots)', async () => {
    const { context, page, errors } = await signedIn()
    // A webhook endpoint made in the console (its secret shown once), and a failed delivery to retry.
    receiver.answer('/hook', 500)
    await page.goto(`${h.baseUrl}/console/webhooks`)
    await heading(page, 'Webhooks')
    await page.getByRole('button', { name: 'Add endpoint' }).click()
    const add = page.getByRole('dialog', { name: 'Add a webhook endpoint' })
    await add.getByLabel('Endpoint URL').fill(receiver.url('/hook'))
    await add.getByLabel('Description').fill('Fraud team')
    await add.getByRole('button', { name: 'Add endpoint' }).click()
    const added = page.getByRole('dialog', { name: 'Endpoint added' })
    expect(await added.getByLabel('Signing secret', { exact: true }).inputValue()).not.toBe('')
    await screenshot(page, 'console-webhook-created')
    await added.getByRole('button', { name: 'I have saved the secret' }).click()
    await api.track(uniqueId('console-webhook'), 'login')
    // One delivery pass (the harness runs no background worker): the receiver refuses it.
    await h.deps.webhooks.runOnce()
    expect(receiver.requests('/hook').length).toBeGreaterThan(0)
    await screenshot(page, 'console-webhooks')
    await page.getByRole('link', { name: receiver.url('/hook') }).click()
    await heading(page, 'Webhook endpoint')
    const deliveries = page.getByRole('region', { name: 'Deliveries' }).first()
    await deliveries.getByText('action.created').first().waitFor()
    await screenshot(page, 'console-webhook')

    for (const [path, title, name] of [
      ['/console/', 'Overview', 'overview'],
      ['/console/actions', 'Actions', 'actions'],
      ['/console/users', 'Users', 'users'],
      ['/console/audit-log', 'Audit log', 'audit-log'],
      ['/console/settings', 'Settings', 'settings'],
    ] as const) {
      await page.goto(`${h.baseUrl}${path}`)
      await heading(page, title)
      await page.locator('.loading').waitFor({ state: 'detached' })
      await screenshot(page, `console-${name}`)
    }
    // Settings: a change is saved, and the new name shows in the sidebar at once.
    await page.goto(`${h.baseUrl}/console/settings`)
    await page.getByLabel('Name').fill('Bank of Tests')
    await page.getByLabel('Origins, one per line').fill('https://bank.example\nhttps://app.bank.example')
    await page.getByRole('button', { name: 'Save settings' }).click()
    await page.getByText('Settings saved.').waitFor()
    await expect.poll(() => page.locator('.brand-tenant').textContent()).toBe('Bank of Tests')
    expect(expectOk(await api.manage('GET', '/tenant')).allowedOrigins).toEqual(['https://bank.example', 'https://app.bank.example'])

    // The overview draws what was tracked, with a table beside each chart.
    await page.goto(`${h.baseUrl}/console/`)
    await page.getByRole('img', { name: 'Actions by outcome' }).waitFor()
    await page.getByRole('img', { name: 'Challenge success rate' }).waitFor()
    expect(await page.locator('.bar').count()).toBeGreaterThan(0)
    expect(errors).toEqual([])
    await context.close()
  })

  it('works at 390×844: the menu folds into the top bar, tables scroll inside their card', async () => {
    await api.track(uniqueId('console-phone'), 'login')
    const { context, page, errors } = await signedIn(PHONE)
    await page.goto(`${h.baseUrl}/console/`)
    await heading(page, 'Overview')
    await page.locator('.loading').waitFor({ state: 'detached' })
    const nav = page.getByRole('navigation', { name: 'Console' })
    expect(await nav.isVisible()).toBe(false)
    await screenshot(page, 'console-phone-overview')
    const menu = page.getByRole('button', { name: 'Menu' })
    await menu.click()
    expect(await menu.getAttribute('aria-expanded')).toBe('true')
    await screenshot(page, 'console-phone-menu')
    await nav.getByRole('link', { name: 'Action log' }).click()
    await heading(page, 'Action log')
    expect(await nav.isVisible()).toBe(false)
    await page.getByRole('region', { name: 'Action log' }).waitFor()
    // Nothing wider than the screen but the tables' own scroll areas.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width)
    await screenshot(page, 'console-phone-action-log')
    await page.goto(`${h.baseUrl}/console/api-keys`)
    await heading(page, 'API keys')
    await page.getByRole('region', { name: 'API keys' }).waitFor()
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width)
    await screenshot(page, 'console-phone-api-keys')
    expect(errors).toEqual([])
    await context.close()
  })
})

describe('the keyboard alone', () => {
  it('signs in, moves between pages, opens and dismisses a dialog, with focus always visible', async () => {
    const { context, page, errors } = await newPage()
    await page.goto(`${h.baseUrl}/console/api-keys`)
    await heading(page, 'Sign in to the console')
    /** Tabs until the focused element matches, at most `limit` times; fails if it never does. */
    const tabTo = async (matches: (el: { tag: string; text: string; label: string }) => boolean, limit = 30) => {
      for (let i = 0; i < limit; i++) {
        await page.keyboard.press('Tab')
        const focused = await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null
          return { tag: el?.tagName ?? '', text: (el?.textContent ?? '').trim(), label: el?.getAttribute('aria-label') ?? (el as HTMLInputElement | null)?.labels?.[0]?.textContent?.trim() ?? '' }
        })
        if (matches(focused)) return
      }
      throw new Error('the element was never reached with Tab')
    }
    const focusIsVisible = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement
        const style = getComputedStyle(el)
        return el.matches(':focus-visible') && (style.outlineStyle !== 'none' || style.boxShadow !== 'none')
      })

    await tabTo((el) => el.tag === 'BUTTON' && el.text === 'Use a management key instead')
    expect(await focusIsVisible()).toBe(true)
    await page.keyboard.press('Enter')
    await tabTo((el) => el.tag === 'INPUT' && el.label.startsWith('Management key'))
    await page.keyboard.type(api.tenant.managementKey)
    await page.keyboard.press('Enter')
    await heading(page, 'API keys')

    // The sidebar: Tab to a link, Enter follows it.
    await tabTo((el) => el.tag === 'A' && el.text === 'Audit log')
    expect(await focusIsVisible()).toBe(true)
    await page.keyboard.press('Enter')
    await heading(page, 'Audit log')
    await tabTo((el) => el.tag === 'A' && el.text === 'API keys')
    await page.keyboard.press('Enter')
    await heading(page, 'API keys')

    // A revoke dialog opened from the keyboard takes focus, and Escape closes it with nothing revoked.
    const activeKeys = async () => (expectOk(await api.manage('GET', '/api-keys')).items as Array<{ revokedAt?: string }>).filter((k) => !k.revokedAt).length
    const activeBefore = await activeKeys()
    await tabTo((el) => el.tag === 'BUTTON' && el.text.startsWith('Revoke'), 60)
    await page.keyboard.press('Enter')
    const dialog = page.getByRole('dialog')
    await dialog.waitFor()
    expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null)).toBe(true)
    await page.keyboard.press('Escape')
    await expect.poll(() => dialog.count()).toBe(0)
    expect(await activeKeys()).toBe(activeBefore)

    expect(unexpected(errors, refused(401))).toEqual([])
    await context.close()
  })
})
