// Durability of the webhook outbox across a crash: events queued while the receiver refuses
// them survive `kill -9` of the server and are all delivered by the next server process.
// The real `countersign` command throughout: the CLI sets the tenant up, `countersign serve`
// takes the changes over HTTP and delivers.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Authsignal } from '@authsignal/node'
import { afterAll, describe, expect, it } from 'vitest'
import { basicAuth } from './support/harness.ts'
import { cliJson, onPostgres, processEnv, runCli, startServerProcess, stopServerProcess, type ServerProcess } from './support/server-process.ts'
import { startReceiver } from './support/webhook-receiver.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'countersign-webhook-restart-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const CHANGES = 30
const env = processEnv(dataDir)
// The first server polls only once a minute: its first attempts must come from the change
// itself waking the dispatcher. The restarted one polls often, so it finds the deliveries as
// soon as their back-off ends.
const firstServerEnv = processEnv(dataDir, { WEBHOOK_POLL_MS: '60000', WEBHOOK_TIMEOUT_MS: '2000' })
const restartedServerEnv = processEnv(dataDir, { WEBHOOK_POLL_MS: '200', WEBHOOK_TIMEOUT_MS: '2000' })

describe('webhook delivery across a crash', () => {
  it(`delivers all ${CHANGES} events queued before a kill -9 once the server is back; none is lost`, { timeout: 60_000 }, async () => {
    const receiver = await startReceiver()
    const refused = new Set<string>()
    const accepted = new Set<string>()
    let receiverUp = false
    receiver.answer('/hooks', (request) => {
      const { id } = JSON.parse(request.rawBody) as { id: string }
      ;(receiverUp ? accepted : refused).add(id)
      return receiverUp ? 200 : 503
    })

    const tenant = await cliJson(env, 'tenants', 'create', '--name', 'Webhook restart', '--json')
    const endpoint = await cliJson(env, 'webhooks', 'create', '--tenant', tenant.tenantId, '--url', receiver.url('/hooks'), '--json')
    expect(endpoint).toMatchObject({ webhookId: expect.any(String), events: ['*'], enabled: true, secret: expect.stringMatching(/^whsec_/) })

    let server: ServerProcess | undefined
    try {
      server = await startServerProcess(firstServerEnv)
      // CHANGES changes over the Server API: a track (action.created) and a review decision
      // (action.state_changed) for each of CHANGES / 2 users.
      const authorization = basicAuth(tenant.secretKey)
      const idempotencyKeys: string[] = []
      for (let i = 0; i < CHANGES / 2; i++) {
        const tracked = await fetch(`${server.url}/v1/users/restart-${i}/actions/withdraw`, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/json' },
          body: '{}',
        })
        expect(tracked.status).toBe(200)
        const { idempotencyKey } = (await tracked.json()) as { idempotencyKey: string }
        idempotencyKeys.push(idempotencyKey)
        const patched = await fetch(`${server.url}/v1/users/restart-${i}/actions/withdraw/${idempotencyKey}`, {
          method: 'PATCH',
          headers: { authorization, 'content-type': 'application/json' },
          body: JSON.stringify({ state: 'REVIEW_REQUIRED' }),
        })
        expect(patched.status).toBe(200)
      }

      // Every event was tried at once (well before the first poll) and refused: each is pending
      // with a retry scheduled.
      await receiver.waitFor(() => refused.size === CHANGES, 10_000)
      // Let the server record the last refusals before it dies.
      await new Promise((resolve) => setTimeout(resolve, 500))
      await stopServerProcess(server, 'SIGKILL')
      expect(server.process.signalCode).toBe('SIGKILL')
      expect(accepted.size).toBe(0)

      receiverUp = true
      server = await startServerProcess(restartedServerEnv)
      await receiver.waitFor(() => accepted.size >= CHANGES, 30_000)
      expect([...accepted].sort()).toEqual([...refused].sort())

      // What arrived is what the API changed, each signed with the endpoint's secret.
      const webhook = new Authsignal({ apiSecretKey: endpoint.secret }).webhook
      const delivered = receiver
        .requests('/hooks')
        .filter((request) => accepted.has(JSON.parse(request.rawBody).id))
        .map((request) => webhook.constructEvent(request.rawBody, request.headers['x-signature-v2'] as string))
      const seen = (type: string) => new Set(delivered.filter((event) => event.type === type).map((event) => event.data.idempotencyKey))
      expect(seen('action.created')).toEqual(new Set(idempotencyKeys))
      expect(seen('action.state_changed')).toEqual(new Set(idempotencyKeys))
      expect(new Set(delivered.map((event) => event.tenantId))).toEqual(new Set([tenant.tenantId]))
      // The server logs to stdout: a failed delivery pass or attempt record would be there.
      expect(server.log()).toContain('"msg"')
      expect(server.log()).not.toMatch(/webhook delivery pass failed|could not record a webhook attempt/)

      await stopServerProcess(server)
      server = undefined
      const log = await cliJson(env, 'webhooks', 'deliveries', endpoint.webhookId, '--tenant', tenant.tenantId, '--limit', '100', '--json')
      expect(log).toHaveLength(CHANGES)
      for (const delivery of log) {
        expect(delivery).toMatchObject({ state: 'delivered', lastStatus: 200, lastError: null })
        expect(delivery.attempts).toBeGreaterThanOrEqual(2)
        expect(accepted.has(delivery.eventId)).toBe(true)
      }
    } finally {
      if (server) await stopServerProcess(server, 'SIGKILL')
      await receiver.close()
      // On the shared PostgreSQL database, leave nothing for other runs' dispatchers.
      if (onPostgres) await runCli(env, 'webhooks', 'delete', endpoint.webhookId, '--tenant', tenant.tenantId)
    }
  })
})
