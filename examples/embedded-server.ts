// Starts Countersign in this process for an example: embedded PGlite in a temporary directory,
// a loopback port chosen by the OS, and one fresh tenant. Nothing to install or run first.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTenant, createWebhookEndpoint, loadConfig, startServer, type TenantSettings } from '@countersign/server'

export interface EmbeddedCountersign {
  /** The API root the SDKs are given, e.g. `http://127.0.0.1:41234/v1`. */
  apiUrl: string
  tenantId: string
  /** The tenant backend's secret key (shown once, as `countersign tenants create` would). */
  secretKey: string
  /** Adds a webhook endpoint for the tenant (what `countersign webhooks create` does); returns its signing secret. */
  addWebhook(url: string): Promise<{ secret: string }>
  /** Stops the server and deletes its database. */
  close(): Promise<void>
}

/**
 * A throwaway Countersign server with one tenant.
 *
 * @example
 * const countersign = await startEmbeddedCountersign({ numberMatching: true })
 * try { … } finally { await countersign.close() }
 */
export async function startEmbeddedCountersign(settings: Partial<TenantSettings> = {}): Promise<EmbeddedCountersign> {
  const dataDir = mkdtempSync(join(tmpdir(), 'countersign-example-'))
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    COUNTERSIGN_DATA_DIR: dataDir,
    COUNTERSIGN_DEV_TENANT: 'false',
    LOG_LEVEL: 'warn',
  })
  let server
  try {
    server = await startServer(config)
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
  const tenant = await createTenant(server.deps.db, 'Example', settings, config.COUNTERSIGN_ENCRYPTION_KEY)
  const running = server
  return {
    apiUrl: `${running.url}/v1`,
    tenantId: tenant.tenantId,
    secretKey: tenant.secretKey,
    addWebhook: (url) => createWebhookEndpoint(running.deps.db, tenant.tenantId, { url, events: ['*'] }, config.COUNTERSIGN_ENCRYPTION_KEY, new Date(), { allowPrivateUrls: true }),
    async close() {
      await running.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
