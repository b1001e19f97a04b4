// `npm run demo` as a newcomer uses it: the demo runs as its own process (Vite build,
// `countersign serve` on a fresh data directory — or on the test PostgreSQL when the project
// runs on it —, the bank and the phone on free ports), and Chromium drives the bank's website
// and the phone page through enrollment, a payment in the app, a push approval, a push
// denial, a payee confirmed with a QR code, and a QR sign-in. What the pages say is checked
// against Countersign's own record of each action. Screenshots of every step go to
// test-output/screenshots.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Countersign } from '@countersign/node'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, launchChromium, pageErrors, screenshot } from '../../packages/server/test/support/chromium.ts'
import { collectLog, registerSecretsIn } from '../../packages/server/test/support/log-secrets.ts'
import { onPostgres } from '../../packages/server/test/support/server-process.ts'

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url))
const USER = 'ana'

let dataDir: string
let demo: ChildProcess
let output = ''
let urls: { bank: string; phone: string; countersign: string }
let backend: Countersign
let browser: Browser
let bank: Page
let phone: Page
let bankErrors: string[]
let phoneErrors: string[]

/** Resolves with the demo's output once it printed `pattern`; rejects if it exits first. */
function waitForOutput(pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not print ${pattern} in ${timeoutMs} ms:\n${output}`)), timeoutMs)
    const check = () => {
      if (!pattern.test(output)) return
      clearTimeout(timer)
      resolve(output)
    }
    demo.stdout!.on('data', check)
    demo.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the demo exited (${code}) before printing ${pattern}:\n${output}`))
    })
    check()
  })
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'countersign-demo-'))
  const [bankPort, phonePort, countersignPort] = [await freePort(), await freePort(), await freePort()]
  // The demo's own environment, as a terminal gives it: not the test runner's NODE_ENV.
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.NODE_ENV
  demo = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...env,
      DEMO_DATA_DIR: dataDir,
      DEMO_BANK_PORT: String(bankPort),
      DEMO_PHONE_PORT: String(phonePort),
      DEMO_COUNTERSIGN_PORT: String(countersignPort),
      DATABASE_URL: onPostgres ? process.env.TEST_DATABASE_URL : '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  demo.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  await waitForOutput(/Press Ctrl-C to stop/, 55_000)
  urls = {
    bank: /Bank website\s+(http:\/\/\S+)/.exec(output)![1]!,
    phone: /Phone\s+(http:\/\/\S+)/.exec(output)![1]!,
    countersign: /API docs\s+(http:\/\/\S+)\/docs/.exec(output)![1]!,
  }
  const keys = JSON.parse(readFileSync(join(dataDir, 'bank-keys.json'), 'utf8')) as { secretKey: string; managementKey: string; tenantId: string }
  registerSecretsIn(keys)
  backend = new Countersign({ secretKey: keys.secretKey, apiUrl: `${urls.countersign}/v1` })

  browser = await launchChromium()
  // Reduced motion: nothing is half-way through fading in when a screenshot is taken.
  const options = { viewport: { width: 1360, height: 900 }, reducedMotion: 'reduce' as const }
  bank = await (await browser.newContext(options)).newPage()
  // Another context: the phone's IndexedDB and storage are its own, as on another device.
  phone = await (await browser.newContext(options)).newPage()
  bankErrors = pageErrors(bank)
  phoneErrors = pageErrors(phone)
  for (const page of [bank, phone]) page.setDefaultTimeout(15_000)
}, 90_000)

afterAll(async () => {
  await browser?.close()
  if (demo && demo.exitCode === null && demo.signalCode === null) {
    demo.kill('SIGTERM')
    await new Promise((resolve) => demo.once('exit', resolve))
  }
  // What Countersign logged goes through the run's secret scan like every server log.
  collectLog('npm run demo', output)
  const log = join(dataDir, 'countersign.log')
  if (existsSync(log)) for (const line of readFileSync(log, 'utf8').split('\n')) if (line) collectLog('countersign serve (demo)', line)
  rmSync(dataDir, { recursive: true, force: true })
}, 60_000)

/**
 * A screenshot of the whole page in a window as tall as the page, so that what is fixed to
 * the window (a dialog's backdrop, a toast) covers the page as a person sees it.
 */
async function shot(page: Page, name: string): Promise<void> {
  const viewport = page.viewportSize()!
  const height = await page.evaluate(() => document.documentElement.scrollHeight)
  if (height > viewport.height) await page.setViewportSize({ width: viewport.width, height })
  await screenshot(page, name)
  if (height > viewport.height) await page.setViewportSize(viewport)
}

/** Clicks Face ID's Confirm on the phone. */
async function confirmFaceId(): Promise<void> {
  await phone.locator('#faceid-confirm').click()
}

async function latestAction(action: string) {
  const actions = await backend.queryUserActions({ userId: USER, actionCodes: [action] })
  return actions.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0]!
}

describe('npm run demo', () => {
  it('starts Countersign, builds the pages and prints the URLs to open', () => {
    expect(output).toMatch(/Pages built into/)
    expect(output).toMatch(/Countersign listening on http:\/\/127\.0\.0\.1:\d+/)
    // The database the project runs on: PostgreSQL (DATABASE_URL), or the embedded one in the data directory.
    expect(output).toContain(onPostgres ? 'countersign serve, PostgreSQL (DATABASE_URL)' : 'countersign serve, the embedded database in')
    expect(output).toMatch(/Console\s+http:\/\/127\.0\.0\.1:\d+\/console/)
    // The keys file is the operator's only copy of the tenant's keys: readable by its owner alone.
    expect(statSync(join(dataDir, 'bank-keys.json')).mode & 0o777).toBe(0o600)
  })

  it('sets up the phone: an activation code, then three keys enrolled', async () => {
    await bank.goto(urls.bank)
    await expect.poll(() => bank.locator('#steps li.current').getAttribute('data-step')).toBe('signIn')
    await shot(bank, 'demo-01-bank-sign-in')
    await bank.locator('#username').fill(USER)
    await bank.getByRole('button', { name: 'Sign in', exact: true }).click()
    await bank.locator('#setup-phone').click()
    const code = (await bank.getByTestId('activation-code').textContent())!.replace(/\D/g, '')
    expect(code).toMatch(/^\d{6}$/)
    await shot(bank, 'demo-02-bank-activation-code')

    await phone.goto(urls.phone)
    await phone.locator('#activation-code').fill(code)
    await phone.getByRole('button', { name: 'Activate' }).click()
    await phone.locator('#go-send').waitFor()
    await expect.poll(() => phone.locator('#key-summary').textContent()).toMatch(/3 keys on this phone/)
    await shot(phone, 'demo-03-phone-activated')

    await bank.locator('#activation-status.good').waitFor()
    expect(await bank.locator('#activation-status').textContent()).toMatch(/Your phone is set up/)
    await shot(bank, 'demo-04-bank-phone-set-up')
    await bank.getByRole('button', { name: 'Done' }).click()

    const authenticators = await backend.getAuthenticators({ userId: USER })
    expect(authenticators.map((a) => a.verificationMethod).sort()).toEqual(['IN_APP', 'PUSH', 'QR_CODE'])
    expect(authenticators.every((a) => a.userAuthenticationRequired)).toBe(true)
  })

  it('pays from the phone app: the in-app key signs, the bank validates', async () => {
    await phone.locator('#go-send').click()
    await phone.locator('#send-amount').fill('25')
    await phone.getByRole('button', { name: 'Continue' }).click()
    await phone.locator('#faceid-confirm').waitFor()
    expect(await phone.locator('.sheet').textContent()).toContain('Pay €25.00 to Bright Energy')
    await shot(phone, 'demo-05-phone-in-app-face-id')
    await confirmFaceId()
    const result = phone.getByTestId('phone-result')
    await result.waitFor()
    expect(await result.getAttribute('class')).toContain('good')
    expect(await result.textContent()).toMatch(/Payment sent.*CHALLENGE_SUCCEEDED via IN_APP/s)
    await shot(phone, 'demo-06-phone-in-app-paid')

    const action = await latestAction('authorizePayment')
    expect(action).toMatchObject({ state: 'CHALLENGE_SUCCEEDED', verificationMethod: 'IN_APP' })
    // The bank's website shows the payment the app made (it refreshes every 3 s).
    await bank.locator(`#payments li[data-payment="${action.idempotencyKey}"]`).waitFor()
    await phone.getByRole('button', { name: 'Done' }).click()
  })

  it('approves a payment from the website by push, with number matching', async () => {
    await bank.locator('#amount').fill('120')
    await bank.getByRole('button', { name: 'Send payment' }).click()
    await bank.locator('#choose-push').waitFor()
    await shot(bank, 'demo-07-bank-challenge-choice')
    await bank.locator('#choose-push').click()
    const code = (await bank.getByTestId('verification-code').textContent())!.trim()
    expect(code).toMatch(/^\d{2}$/)
    await shot(bank, 'demo-08-bank-push-waiting')

    // The phone finds the request on its next poll and shows what it is for.
    await phone.getByTestId('request-amount').waitFor()
    expect(await phone.getByTestId('request-amount').textContent()).toBe('€120.00')
    expect(await phone.locator('.details').textContent()).toContain('Bright Energy')
    await phone.locator('#verification-code').fill(code)
    await shot(phone, 'demo-09-phone-push-request')
    await phone.locator('#approve').click()
    await confirmFaceId()
    await phone.getByTestId('phone-result').waitFor()

    const outcome = bank.getByTestId('outcome')
    await outcome.waitFor()
    expect(await outcome.getAttribute('class')).toContain('good')
    expect(await outcome.textContent()).toMatch(/Payment sent.*isValid: true.*CHALLENGE_SUCCEEDED.*via PUSH/s)
    await shot(bank, 'demo-10-bank-push-completed')
    await bank.locator('#outcome-close').click()

    const paymentId = await bank.locator('#payments li[data-payment]').first().getAttribute('data-payment')
    const action = await backend.getAction({ userId: USER, action: 'authorizePayment', idempotencyKey: paymentId! })
    expect(action).toMatchObject({ state: 'CHALLENGE_SUCCEEDED', verificationMethod: 'PUSH' })
    expect(await bank.locator('#balance').textContent()).toBe('€2,355.00')
    await phone.getByRole('button', { name: 'Done' }).click()
  })

  it('a payment denied on the phone is not made', async () => {
    await bank.locator('#amount').fill('999')
    await bank.getByRole('button', { name: 'Send payment' }).click()
    await bank.locator('#choose-push').click()
    await bank.getByTestId('verification-code').waitFor()
    await phone.getByTestId('request-amount').waitFor()
    expect(await phone.getByTestId('request-amount').textContent()).toBe('€999.00')
    await phone.locator('#deny').click()
    await confirmFaceId()
    await phone.getByTestId('phone-result').waitFor()

    const outcome = bank.getByTestId('outcome')
    await outcome.waitFor()
    expect(await outcome.getAttribute('class')).toContain('bad')
    expect(await outcome.textContent()).toMatch(/You denied it on your phone.*CHALLENGE_FAILED/s)
    await shot(bank, 'demo-11-bank-push-denied')
    await bank.locator('#outcome-close').click()
    expect(await latestAction('authorizePayment')).toMatchObject({ state: 'CHALLENGE_FAILED' })
    expect(await bank.locator('#balance').textContent()).toBe('€2,355.00')
    await phone.getByRole('button', { name: 'Done' }).click()
  })

  it('adds a payee confirmed by scanning a QR code on the website', async () => {
    await bank.getByRole('button', { name: 'Add payee' }).click()
    await bank.locator('#choose-qr').click()
    await bank.locator('#qr-action-box svg').waitFor()
    const code = (await bank.getByTestId('verification-code').textContent())!.trim()
    await shot(bank, 'demo-12-bank-qr-for-payee')

    await phone.locator('#go-scan').click()
    await shot(phone, 'demo-13-phone-camera')
    await phone.locator('#scan-bank').click()
    await phone.locator('#verification-code').waitFor()
    expect(await phone.locator('.request-head h1').textContent()).toBe('Add this payee?')
    expect(await phone.locator('.details').textContent()).toContain('ACME Ltd')
    await phone.locator('#verification-code').fill(code)
    await phone.locator('#approve').click()
    await confirmFaceId()
    await phone.getByTestId('phone-result').waitFor()

    const outcome = bank.getByTestId('outcome')
    await outcome.waitFor()
    expect(await outcome.textContent()).toMatch(/Payee added.*CHALLENGE_SUCCEEDED.*via QR_CODE/s)
    await bank.locator('#outcome-close').click()
    expect(await bank.locator('#payees').textContent()).toContain('ACME Ltd')
    expect(await latestAction('addPayee')).toMatchObject({ state: 'CHALLENGE_SUCCEEDED', verificationMethod: 'QR_CODE' })
    await phone.getByRole('button', { name: 'Done' }).click()
  })

  it('signs in on the website with a QR code the phone approves', async () => {
    await bank.locator('#sign-out').click()
    await bank.locator('#qr-login-start').click()
    await bank.locator('#qr-login-box svg').waitFor()
    await shot(bank, 'demo-14-bank-qr-sign-in')

    await phone.locator('#go-scan').click()
    await phone.locator('#scan-bank').click()
    await phone.locator('#approve').waitFor()
    expect(await phone.locator('.request-head h1').textContent()).toBe('Sign in on the web?')
    await shot(phone, 'demo-15-phone-qr-sign-in')
    await phone.locator('#approve').click()
    await confirmFaceId()
    await phone.getByTestId('phone-result').waitFor()

    await bank.locator('#balance').waitFor()
    expect(await bank.locator('#who-name').textContent()).toBe(USER)
    await expect.poll(() => bank.locator('#steps li.done').count()).toBe(6)
    await shot(bank, 'demo-16-bank-signed-in-by-qr')
    expect(await latestAction('signIn')).toMatchObject({ state: 'CHALLENGE_SUCCEEDED', verificationMethod: 'QR_CODE' })
    await phone.getByRole('button', { name: 'Done' }).click()
    await shot(phone, 'demo-17-phone-home')

    expect(bankErrors).toEqual([])
    expect(phoneErrors).toEqual([])
  })

  it('stops everything on Ctrl-C', async () => {
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)))
    demo.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(output).toMatch(/Stopped\.\n/)
    // Countersign (its own process) is gone too, and let go of the data directory.
    await expect(fetch(`${urls.countersign}/healthz`)).rejects.toThrow()
    expect(existsSync(join(dataDir, 'countersign.lock'))).toBe(false)
  }, 30_000)
})
