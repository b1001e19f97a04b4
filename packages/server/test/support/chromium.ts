// Real-browser tests: Debian's Chromium driven by playwright-core (.ci/run installs it), a
// harness listening on a loopback port so the page can reach it, and screenshots of every
// main page under test-output/screenshots for a person to look at.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { createHarness, type Harness } from './harness.ts'
import { freePort } from './free-port.ts'

export { freePort }

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const SCREENSHOTS = fileURLToPath(new URL('../../../../test-output/screenshots/', import.meta.url))

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  })
}


export interface ListeningHarness extends Harness {
  /** http://127.0.0.1:<port>, also the server's COUNTERSIGN_PUBLIC_URL. */
  baseUrl: string
}

/** A harness on the run's database that a browser can reach over loopback. */
export async function listeningHarness(env: Record<string, string> = {}): Promise<ListeningHarness> {
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const harness = await createHarness({ COUNTERSIGN_PUBLIC_URL: baseUrl, ...env })
  await harness.app.listen({ host: '127.0.0.1', port })
  return { ...harness, baseUrl }
}

/**
 * Console messages of level error and uncaught page errors, collected from the moment this is
 * called: a test that drives a page expects this list to stay empty.
 */
export function pageErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`))
  return errors
}

/** Saves a full-page screenshot as test-output/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const path = `${SCREENSHOTS}${name}.png`
  await page.screenshot({ path, fullPage: true })
  return path
}
