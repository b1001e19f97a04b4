// Webhooks, end to end in one process: Countersign on an embedded database tells a tenant
// backend what happened — a device enrolled, an action tracked, then verified — by POSTing
// signed events to the backend's endpoint, which checks each signature with @countersign/node.
//
//   npx tsx examples/webhooks.ts          (or: npm run example:webhooks)
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { CountersignClient, MemoryKeyStore } from '@countersign/client'
import { Countersign, isCountersignError, type WebhookEvent } from '@countersign/node'
import { startEmbeddedCountersign } from './embedded-server.ts'

export interface WebhooksExampleOptions {
  apiUrl: string
  secretKey: string
  tenantId: string
  /** Registers the receiver's URL with Countersign (the CLI's `webhooks create`); returns the signing secret. */
  addWebhook(url: string): Promise<{ secret: string }>
  log?: (line: string) => void
  /** How long to wait for the events (ms). */
  timeoutMs?: number
}

/** Runs the example; resolves with the events the receiver accepted, in arrival order. */
export async function runWebhooks(options: WebhooksExampleOptions): Promise<{ events: WebhookEvent[]; refused: number }> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`))
  const events: WebhookEvent[] = []
  let refused = 0
  let verifier: Countersign | undefined

  // The tenant backend's endpoint: the raw body and headers go to webhooks.verify.
  const receiver = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    request.on('end', () => {
      try {
        const event = verifier!.webhooks.verify(body, request.headers as IncomingHttpHeaders as Record<string, string>)
        events.push(event)
        log(`[backend] ← ${event.type.padEnd(22)} ${describe(event)}`)
        response.writeHead(204).end()
      } catch (error) {
        refused++
        log(`[backend] ← refused: ${isCountersignError(error) ? error.errorCode : String(error)}`)
        response.writeHead(400).end()
      }
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/countersign/events`
  try {
    const { secret } = await options.addWebhook(url)
    log(`[operator] webhooks create --url ${url} → signing secret whsec_… (shown once)`)
    verifier = new Countersign({ secretKey: options.secretKey, apiUrl: options.apiUrl, webhookSecret: secret })

    const userId = `webhook-user-${Date.now()}`
    const backend = new Countersign({ secretKey: options.secretKey, apiUrl: options.apiUrl })
    const app = new CountersignClient({ tenantId: options.tenantId, baseUrl: options.apiUrl.replace(/\/v1$/, ''), keyStore: new MemoryKeyStore() })

    const enrollment = await backend.track({ userId, action: 'addAuthenticator', attributes: { scope: 'add:authenticators' } })
    log(`[backend] track addAuthenticator → ${enrollment.state}`)
    const added = await app.inapp.addCredential({ token: enrollment.token })
    if (!added.data) throw new Error(`addCredential failed: ${added.errorCode}`)
    log('[app]     inapp.addCredential → enrolled')

    const payment = await backend.track({ userId, action: 'authorizePayment', attributes: { custom: { amount: 120 } } })
    log(`[backend] track authorizePayment → ${payment.state}`)
    app.setToken(payment.token)
    const verified = await app.inapp.verify()
    if (!verified.data) throw new Error(`verify failed: ${verified.errorCode}`)
    log('[app]     inapp.verify → signed; the server moves the action to CHALLENGE_SUCCEEDED')

    // Deliveries are asynchronous (an outbox, at least once): two actions created, a device
    // enrolled, one action verified.
    const expected = 4
    const deadline = Date.now() + (options.timeoutMs ?? 10_000)
    while (events.length < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    if (events.length < expected) throw new Error(`only ${events.length} of ${expected} events arrived`)
    return { events, refused }
  } finally {
    await new Promise((resolve) => receiver.close(resolve))
  }
}

function describe(event: WebhookEvent): string {
  const data = event.data as Record<string, unknown>
  if (event.type.startsWith('action.')) {
    const from = data.previousState ? `${String(data.previousState)} → ` : ''
    return `${String(data.actionCode)}: ${from}${String(data.state)}`
  }
  return `${String(data.verificationMethod)} device for ${String(data.userId)}`
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const countersign = await startEmbeddedCountersign()
  try {
    await runWebhooks({ apiUrl: countersign.apiUrl, secretKey: countersign.secretKey, tenantId: countersign.tenantId, addWebhook: countersign.addWebhook })
    process.stdout.write('\nEvery event arrived signed and verified.\n')
  } finally {
    await countersign.close()
  }
}
