// Push approval, end to end in one process: Countersign on an embedded database, a tenant
// backend (secret key, @countersign/node), the web page where the user starts a payment and a
// phone that approves it (both @countersign/client, which knows only the tenant ID).
//
//   npx tsx examples/push-approval.ts          (or: npm run example:push)
//
// The tenant turns on number matching: the page shows a two-digit code that the user types
// on the phone, so a push the user did not start cannot be approved by reflex. The phone
// signs its answer over the payment details it showed (a v2 signed decision), so it cannot
// approve different details than the backend tracked.
import { pathToFileURL } from 'node:url'
import type { OutOfBandState } from '@countersign/client'
import { startEmbeddedCountersign } from './embedded-server.ts'
import { exampleRoles, type RoleOptions } from './roles.ts'

export type PushExampleOptions = RoleOptions

/** Plays the three roles and returns what a test needs to check them. */
export async function runPushApproval(options: PushExampleOptions) {
  const { log, step, userId, backend, page, phone } = exampleRoles(options)

  log('\n— Enrollment: the phone becomes the user’s push device —')
  const enrollment = await backend.track({ userId, action: 'addAuthenticator', attributes: { scope: 'add:authenticators' } })
  step('backend', `track addAuthenticator → token for the app`)
  const added = await phone.push.addCredential({
    token: enrollment.token,
    pushToken: 'fcm-registration-token-from-the-os',
    userAuthenticationRequired: true,
    deviceName: 'Example phone',
    devicePlatform: 'android',
  })
  if (!added.data) throw new Error(`addCredential failed: ${added.errorCode}`)
  step('phone', `push.addCredential → credential ${added.data.userAuthenticatorId}`)

  log('\n— A payment the user approves on the phone —')
  const transaction = { amount: '120.00', currency: 'EUR', payee: 'ACME Ltd' }
  const payment = await backend.track({ userId, action: 'authorizePayment', attributes: { transaction } })
  step('backend', `track authorizePayment (${transaction.amount} ${transaction.currency} to ${transaction.payee}) → ${payment.state}`)

  const started = await page.push.challenge({ token: payment.token })
  if (!started.data) throw new Error(`push.challenge failed: ${started.errorCode}`)
  const shownCode = started.data.verificationCode
  step('page', `push.challenge → request sent${shownCode ? `; the page shows the code ${shownCode}` : ''}`)
  const states: OutOfBandState[] = []
  const waiting = page.push.waitForResult({
    token: payment.token,
    challengeId: started.data.challengeId,
    onStateChange: (state) => {
      states.push(state)
      step('page', `  state: ${state}`)
    },
  })

  // No APNs/FCM is configured here, so the phone looks for the request itself, as an app
  // does when it opens or when a notification arrives.
  const { data: request } = await phone.push.getChallenge()
  if (!request) throw new Error('the phone found no pending request')
  step('phone', `push.getChallenge → “Approve ${request.actionCode}: ${format(request.transaction)}?” (from ${request.ipAddress ?? 'unknown'})`)
  const typedCode = request.verificationCodeRequired ? shownCode : undefined
  if (typedCode) step('phone', `  the user types the code from the page: ${typedCode}`)
  const approved = await phone.push.updateChallenge({ challenge: request, approved: true, verificationCode: typedCode })
  if (!approved.data) throw new Error(`updateChallenge failed: ${approved.errorCode}`)
  step('phone', `push.updateChallenge(approved) → isVerified ${approved.data.isVerified} (v2 signature over the payment details)`)

  const result = await waiting
  if (!result.data) throw new Error(`waitForResult failed: ${result.errorCode}`)
  step('page', 'push.waitForResult → token; the page posts it to the backend')
  const validation = await backend.validateChallenge({ token: result.data.token, userId, action: 'authorizePayment' })
  step('backend', `validateChallenge → isValid ${validation.isValid}, state ${validation.state}, method ${validation.verificationMethod}`)

  log('\n— A payment the user denies —')
  const second = await backend.track({ userId, action: 'authorizePayment', attributes: { transaction: { ...transaction, amount: '9800.00' } } })
  const secondPush = await page.push.challenge({ token: second.token })
  if (!secondPush.data) throw new Error(`push.challenge failed: ${secondPush.errorCode}`)
  step('page', 'push.challenge → request sent')
  const secondWait = page.push.waitForResult({ token: second.token, challengeId: secondPush.data.challengeId })
  const { data: suspicious } = await phone.push.getChallenge()
  if (!suspicious) throw new Error('the phone found no pending request')
  step('phone', `push.getChallenge → “Approve ${suspicious.actionCode}: ${format(suspicious.transaction)}?” — the user taps Deny`)
  const denied = await phone.push.updateChallenge({ challenge: suspicious, approved: false })
  step('phone', `push.updateChallenge(denied) → isVerified ${denied.data?.isVerified}`)
  const deniedResult = await secondWait
  step('page', `push.waitForResult → ${deniedResult.errorCode}`)
  const deniedAction = await backend.getAction({ userId, action: 'authorizePayment', idempotencyKey: second.idempotencyKey })
  step('backend', `getAction → ${deniedAction.state}`)

  return { userId, payment, states, shownCode, validation, deniedResult, deniedAction }
}

function format(transaction: Record<string, unknown> | undefined): string {
  if (!transaction) return 'no details'
  return `${String(transaction.amount)} ${String(transaction.currency)} to ${String(transaction.payee)}`
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write('Starting Countersign on an embedded database…\n')
  const countersign = await startEmbeddedCountersign({ numberMatching: true })
  process.stdout.write(`Countersign is listening at ${countersign.apiUrl}, tenant ${countersign.tenantId} (number matching on).\n`)
  try {
    await runPushApproval(countersign)
    process.stdout.write('\nPush approval completed.\n')
  } catch (error) {
    process.stderr.write(`\nThe example failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  } finally {
    await countersign.close()
  }
}
