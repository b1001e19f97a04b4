// The product brief's two scenarios, end to end against a running Countersign server:
// a tenant backend (secret key, @countersign/node) and a phone app (tenant ID only,
// @countersign/client) enroll a device key, then confirm a payment with it.
//
//   npm start                                   # in one terminal; note the secret key it prints
//   COUNTERSIGN_SECRET_KEY=cs_sk_… npm run example
import { pathToFileURL } from 'node:url'
import { CountersignClient, MemoryKeyStore } from '@countersign/client'
import { Countersign } from '@countersign/node'

export interface ExampleOptions {
  apiUrl: string
  secretKey: string
  tenantId: string
  userId?: string
  log?: (line: string) => void
}

/** Runs both scenarios and returns what a test needs to check them. */
export async function runExample(options: ExampleOptions) {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`))
  const userId = options.userId ?? `example-user-${Date.now()}`
  const step = (who: 'backend' | 'app', text: string) => log(`${who === 'backend' ? '[backend]' : '[app]    '} ${text}`)

  // The tenant's backend holds the secret key.
  const backend = new Countersign({ secretKey: options.secretKey, apiUrl: options.apiUrl })
  // The app knows only the tenant ID. A real app passes WebCryptoKeyStore (browser) or a
  // Secure Enclave / Keystore adapter (React Native); confirmUser is where the OS would ask
  // for Face ID or a passcode before each signature.
  const phone = new CountersignClient({
    tenantId: options.tenantId,
    baseUrl: options.apiUrl,
    keyStore: new MemoryKeyStore({
      confirmUser: async ({ reason }) => {
        step('app', `  (the phone asks for biometrics: ${reason})`)
        return true
      },
    }),
  })

  log('\n— Enrollment —')
  const enrollment = await backend.track({
    userId,
    action: 'addAuthenticator',
    attributes: { scope: 'add:authenticators' },
  })
  step('backend', `track addAuthenticator → state ${enrollment.state}, token issued`)

  const added = await phone.inapp.addCredential({ token: enrollment.token, userAuthenticationRequired: true, deviceName: 'Example phone' })
  if (!added.data) throw new Error(`addCredential failed: ${added.errorCode}`)
  step('app', `addCredential → credential ${added.data.userAuthenticatorId} for ${added.data.userId}`)

  const credential = await phone.inapp.getCredential()
  step('app', `getCredential → ${credential.data ? `enrolled (${credential.data.userAuthenticatorId})` : 'not enrolled'}`)

  log('\n— Authentication —')
  const payment = await backend.track({ userId, action: 'authorizePayment', attributes: { custom: { amount: 120 } } })
  step('backend', `track authorizePayment (amount 120) → state ${payment.state}`)

  phone.setToken(payment.token)
  const verified = await phone.inapp.verify()
  if (!verified.data) throw new Error(`verify failed: ${verified.errorCode}`)
  step('app', 'verify → challenge signed with the device key, new token returned')

  const validation = await backend.validateChallenge({ token: verified.data.token, userId, action: 'authorizePayment' })
  step('backend', `validateChallenge → isValid ${validation.isValid}, state ${validation.state}`)

  const replay = await backend.validateChallenge({ token: verified.data.token })
  step('backend', `validateChallenge again → isValid ${replay.isValid} (${replay.error})`)

  log('\n— Action-only verification (no token from the backend) —')
  const signIn = await phone.inapp.verify({ action: 'signIn' })
  if (!signIn.data) throw new Error(`verify({ action }) failed: ${signIn.errorCode}`)
  const signInValidation = await backend.validateChallenge({ token: signIn.data.token, userId })
  step('backend', `validateChallenge signIn → isValid ${signInValidation.isValid}, state ${signInValidation.state}`)

  log('\n— Removing the device —')
  const removed = await phone.inapp.removeCredential()
  step('app', `removeCredential → ${removed.data === true ? 'removed' : `failed (${removed.errorCode})`}`)
  const authenticators = await backend.getAuthenticators({ userId })
  step('backend', `getAuthenticators → ${authenticators.length} left`)

  return { userId, enrollment, added: added.data, payment, validation, replay, signInValidation, removed: removed.data, authenticators }
}

/** The tenant ID is part of every secret key (`cs_sk_<tenantId>.…`). */
export function tenantIdOf(secretKey: string): string | undefined {
  return /^cs_sk_([0-9a-f-]{36})\./.exec(secretKey)?.[1]
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const secretKey = process.env.COUNTERSIGN_SECRET_KEY
  const tenantId = process.env.COUNTERSIGN_TENANT_ID ?? (secretKey ? tenantIdOf(secretKey) : undefined)
  if (!secretKey || !tenantId) {
    process.stderr.write(
      'Set COUNTERSIGN_SECRET_KEY to a secret key (npm start prints one on first start, or run\n' +
        '`npx countersign tenants create --name Example`), and COUNTERSIGN_API_URL if the server is not\n' +
        'on http://127.0.0.1:8080/v1.\n',
    )
    process.exit(2)
  }
  runExample({ apiUrl: process.env.COUNTERSIGN_API_URL ?? 'http://127.0.0.1:8080/v1', secretKey, tenantId }).then(
    () => process.stdout.write('\nBoth scenarios completed.\n'),
    (error: unknown) => {
      process.stderr.write(`\nThe example failed: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exit(1)
    },
  )
}
