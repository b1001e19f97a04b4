// Passwordless sign-in with a QR code, end to end in one process: Countersign on an embedded
// database, a tenant backend (@countersign/node), a login page that shows a QR code and a
// phone already enrolled for the user that scans, claims and approves it (both
// @countersign/client). The page knows nobody: the phone's signature says who signs in, and
// the backend learns it when it validates the token.
//
//   npx tsx examples/qr-login.ts          (or: npm run example:qr)
import { pathToFileURL } from 'node:url'
import type { OutOfBandState } from '@countersign/client'
import { challengeIdFromQrPayload, qrModules, qrPayload, qrSvg } from '@countersign/client/qr'
import { startEmbeddedCountersign } from './embedded-server.ts'
import { exampleRoles, type RoleOptions } from './roles.ts'

export interface QrExampleOptions extends RoleOptions {
  /** Draw the QR code in the terminal (on by default when run by hand). */
  drawCode?: boolean
}

/** Plays the three roles and returns what a test needs to check them. */
export async function runQrLogin(options: QrExampleOptions) {
  const { log, step, userId, backend, page, phone } = exampleRoles(options)

  log('\n— Enrollment: the user signed in to the app on their phone once —')
  const enrollment = await backend.track({ userId, action: 'addAuthenticator', attributes: { scope: 'add:authenticators' } })
  const added = await phone.qr.addCredential({ token: enrollment.token, userAuthenticationRequired: true, deviceName: 'Example phone' })
  if (!added.data) throw new Error(`addCredential failed: ${added.errorCode}`)
  step('phone', `qr.addCredential → credential ${added.data.userAuthenticatorId} for ${added.data.userId}`)

  log('\n— Sign-in on a computer: the page shows a QR code, the phone approves —')
  const states: OutOfBandState[] = []
  let svg = ''
  let scanning: Promise<void> | undefined
  const result = await page.qr.challenge({
    action: 'signIn',
    custom: { browser: 'Firefox on Linux', city: 'Lisbon' },
    onStateChange: (state, challenge) => {
      states.push(state)
      step('page', `state: ${state}${state === 'claimed' ? ' → the page hides the code: “Check your phone”' : ''}`)
      if (state !== 'unclaimed') return
      // The page renders the code; a link opens the tenant's app when scanned by the camera.
      const payload = qrPayload({ challengeId: challenge.challengeId, baseUrl: 'https://bank.example/qr' })
      svg = qrSvg(payload, { size: 240, title: 'Scan with the Example Bank app' })
      step('page', `shows a QR code for ${payload} (${svg.length} bytes of SVG)`)
      if (options.drawCode) log(drawInTerminal(payload))
      scanning = phoneScans(payload)
    },
  })

  /** The phone scans the code, shows where the sign-in comes from, and the user approves. */
  async function phoneScans(payload: string): Promise<void> {
    const challengeId = challengeIdFromQrPayload(payload)
    if (!challengeId) throw new Error('not a Countersign QR code')
    const claimed = await phone.qr.claimChallenge({ challengeId })
    if (!claimed.data) throw new Error(`claimChallenge failed: ${claimed.errorCode}`)
    const where = claimed.data.custom ? `${String(claimed.data.custom.browser)} in ${String(claimed.data.custom.city)}` : claimed.data.userAgent
    step('phone', `qr.claimChallenge → “Sign in on ${where}?” (${claimed.data.ipAddress ?? 'unknown IP'})`)
    const answered = await phone.qr.updateChallenge({ challenge: claimed.data, approved: true })
    if (!answered.data) throw new Error(`updateChallenge failed: ${answered.errorCode}`)
    step('phone', `qr.updateChallenge(approved) → isVerified ${answered.data.isVerified}`)
  }

  await scanning
  if (!result.data) throw new Error(`qr.challenge failed: ${result.errorCode}`)
  step('page', 'qr.challenge → token; the page posts it to the backend')
  const validation = await backend.validateChallenge({ token: result.data.token, action: 'signIn' })
  step('backend', `validateChallenge → isValid ${validation.isValid}, user ${validation.userId}, method ${validation.verificationMethod}: start a session`)

  return { userId, states, svg, validation }
}

/** The code in Unicode half blocks, two rows per line, dark on light. */
function drawInTerminal(payload: string): string {
  const quiet = 2
  const modules = qrModules(payload, 'low')
  const size = modules.length + 2 * quiet
  const dark = (x: number, y: number) => modules[y - quiet]?.[x - quiet] === true
  const lines: string[] = []
  for (let y = 0; y < size; y += 2) {
    let line = ''
    for (let x = 0; x < size; x++) {
      const top = dark(x, y)
      const bottom = dark(x, y + 1)
      line += top && bottom ? ' ' : top ? '▄' : bottom ? '▀' : '█'
    }
    lines.push(`          ${line}`)
  }
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write('Starting Countersign on an embedded database…\n')
  const countersign = await startEmbeddedCountersign()
  process.stdout.write(`Countersign is listening at ${countersign.apiUrl}, tenant ${countersign.tenantId}.\n`)
  try {
    await runQrLogin({ ...countersign, drawCode: true })
    process.stdout.write('\nQR sign-in completed.\n')
  } catch (error) {
    process.stderr.write(`\nThe example failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  } finally {
    await countersign.close()
  }
}
