// The webhooks example against a server listening on loopback, with its delivery worker running.
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWebhookEndpoint } from '../packages/server/src/domain/webhooks.ts'
import { createHarness, type Harness } from '../packages/server/test/support/harness.ts'
import { runWebhooks } from './webhooks.ts'

let h: Harness
let apiUrl: string

beforeAll(async () => {
  h = await createHarness({ WEBHOOK_POLL_MS: '100' })
  h.deps.webhooks.start()
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  apiUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/v1`
})
afterAll(async () => {
  await h.deps.webhooks.stop()
  await h.close()
})

describe('examples/webhooks.ts', () => {
  it('delivers every event of an enrollment and a verification, each signature verified', async () => {
    const tenant = await h.newTenant()
    const lines: string[] = []
    const result = await runWebhooks({
      apiUrl,
      secretKey: tenant.secretKey,
      tenantId: tenant.tenantId,
      addWebhook: (url) => createWebhookEndpoint(h.database.db, tenant.tenantId, { url, events: ['*'] }, undefined, new Date(), { allowPrivateUrls: true }),
      log: (line) => lines.push(line),
    })
    expect(result.refused).toBe(0)
    expect(result.events.map((e) => e.type).sort()).toEqual(['action.created', 'action.created', 'action.state_changed', 'authenticator.created'])
    expect(new Set(result.events.map((e) => e.id)).size).toBe(4)
    expect(result.events.every((e) => e.tenantId === tenant.tenantId && e.version === 1)).toBe(true)
    const changed = result.events.find((e) => e.type === 'action.state_changed')!
    expect(changed.data).toMatchObject({ actionCode: 'authorizePayment', previousState: 'CHALLENGE_REQUIRED', state: 'CHALLENGE_SUCCEEDED' })
    expect(lines.join('\n')).toContain('authenticator.created')
  })
})
