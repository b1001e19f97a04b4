import { openIpLocator, type IpLocator } from './geo/ip-locations.ts'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { createApp } from './app.ts'
import type { Config } from './config.ts'
import type { Deps } from './domain/deps.ts'
import { createTenant, prepareTenantSecrets, TenantDirectory } from './domain/tenants.ts'
import { ChallengeWatch } from './domain/challenge-watch.ts'
import { PushDirectory, type PushSenderOptions } from './domain/push-delivery.ts'
import { FailureThrottle } from './domain/throttle.ts'
import { WebhookDispatcher } from './domain/webhooks.ts'
import { createLogger } from './logger.ts'
import { sweepExpired } from './storage/actions-repo.ts'
import { CHALLENGE_CHANGED_CHANNEL, sweepChallenges } from './storage/challenges-repo.ts'
import { sweepConsoleSessions } from './storage/operators-repo.ts'
import { sweepWebhookHistory } from './storage/webhooks-repo.ts'
import { openDatabase, type Database } from './storage/database.ts'
import { countTenants, KEY_REVOKED_CHANNEL } from './storage/tenants-repo.ts'

const SWEEP_INTERVAL_MS = 60_000
/** Answered and expired push/QR challenges are kept this long after expiry, for support questions. */
const CHALLENGE_RETENTION_MS = 86_400_000
/** Delivered and given-up webhook deliveries are kept this long in the delivery log. */
const WEBHOOK_RETENTION_MS = 7 * 86_400_000
/** Sweeps between refreshes of planner statistics on the embedded database. */
const SWEEPS_PER_STATISTICS_REFRESH = 10

export interface RunningServer {
  app: FastifyInstance
  deps: Deps
  url: string
  close(): Promise<void>
}

/** Opens the configured database, applies migrations and builds the request dependencies. */
export async function openDeps(config: Config, log: Logger, clock: () => number = Date.now): Promise<Deps> {
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.COUNTERSIGN_DATA_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
  })
  try {
    await database.migrate()
    await database.refreshStatistics()
    const sealed = await prepareTenantSecrets(database.db, config.COUNTERSIGN_ENCRYPTION_KEY, config.COUNTERSIGN_PREVIOUS_ENCRYPTION_KEY)
    if (sealed > 0) log.info({ secrets: sealed }, 'sealed stored secrets under the current encryption key')
  } catch (error) {
    await database.close()
    throw error
  }
  return depsFor(config, database, log, clock)
}

/** What tests replace: outgoing HTTP, and where the push senders connect. */
export interface DepsOverrides {
  fetch?: typeof fetch
  pushSenderOptions?: PushSenderOptions
  ipLocations?: IpLocator
}

export function depsFor(
  config: Config,
  database: Database,
  log: Logger,
  clock: () => number = Date.now,
  overrides: DepsOverrides = {},
): Deps {
  const tenants = new TenantDirectory(database.db, {
    issuer: config.COUNTERSIGN_PUBLIC_URL,
    keyCacheMs: config.KEY_CACHE_MS,
    encryptionKey: config.COUNTERSIGN_ENCRYPTION_KEY,
    previousKey: config.COUNTERSIGN_PREVIOUS_ENCRYPTION_KEY,
  })
  const apiKeyFailures = new FailureThrottle({
    name: `${config.REDIS_KEY_PREFIX}:api-key-failures`,
    failures: config.API_KEY_FAILURES_PER_WINDOW,
    windowSeconds: config.API_KEY_FAILURE_WINDOW_SECONDS,
    redis: config.REDIS_URL === undefined ? undefined : connectRedis(config.REDIS_URL, log),
  })
  return {
    config,
    database,
    db: database.db,
    tenants,
    apiKeyFailures,
    challengeWatch: new ChallengeWatch(),
    push: new PushDirectory(database.db, {
      encryptionKey: config.COUNTERSIGN_ENCRYPTION_KEY,
      previousKey: config.COUNTERSIGN_PREVIOUS_ENCRYPTION_KEY,
      log,
      senderOptions: overrides.pushSenderOptions,
    }),
    webhooks: new WebhookDispatcher({ db: database.db, config, log, clock, fetch: overrides.fetch }),
    fetch: overrides.fetch ?? globalThis.fetch,
    ipLocations: overrides.ipLocations ?? openIpLocator(config.COUNTERSIGN_GEOIP_DB),
    clock,
    log,
  }
}

/**
 * A Redis client for shared limits. Commands fail at once while Redis is unreachable (no
 * offline queue), so a request never waits for it: the limiter falls back to this node's memory.
 */
function connectRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 })
  let down = false
  redis.on('error', (error: Error) => {
    if (!down) log.warn({ err: { message: error.message } }, 'Redis does not answer: request limits are counted per node until it does')
    down = true
  })
  redis.on('ready', () => {
    if (down) log.info('Redis answers again: request limits are shared by all nodes')
    down = false
  })
  return redis
}

/**
 * Starts Countersign: database, migrations, development tenant on first start, HTTP server,
 * the expiry sweep. `close()` drains in-flight requests, then closes the database.
 */
export async function startServer(config: Config, options: { print?: (text: string) => void } = {}): Promise<RunningServer> {
  const log = createLogger(config.LOG_LEVEL)
  const deps = await openDeps(config, log)
  if (!config.COUNTERSIGN_ENCRYPTION_KEY && deps.database.kind === 'postgres') {
    log.warn('COUNTERSIGN_ENCRYPTION_KEY is not set: tenant token secrets are stored unencrypted')
  }
  const print = options.print ?? ((text: string) => process.stdout.write(`${text}\n`))

  if (config.COUNTERSIGN_DEV_TENANT && (await countTenants(deps.db)) === 0) {
    const tenant = await createTenant(deps.db, 'Development', {}, config.COUNTERSIGN_ENCRYPTION_KEY)
    // Printed once, to the terminal and not to the log: this database has no tenant yet, so
    // this is its first start. The secret is stored only as a hash and never shown again.
    print(
      [
        '',
        'Countersign created a development tenant. Keep the secret key now: it is not shown again.',
        `  Tenant ID:       ${tenant.tenantId}`,
        `  Secret key:      ${tenant.secretKey}`,
        `  Management key:  ${tenant.managementKey}`,
        `  API URL:         ${config.COUNTERSIGN_PUBLIC_URL}/v1`,
        '',
      ].join('\n'),
    )
  }

  // A key revoked by any node (or the CLI) leaves this node's cache at once.
  const stopListening = await deps.database.listen(KEY_REVOKED_CHANNEL, (payload) => deps.tenants.forgetRevokedKey(payload))
  // A push or QR challenge answered on any node wakes the streams watching it here.
  const stopWatching = await deps.database.listen(CHALLENGE_CHANGED_CHANNEL, (payload) => deps.challengeWatch.fromNotification(payload))
  const { webhooks } = deps
  webhooks.start()

  const app = await createApp(deps)
  await app.listen({ port: config.PORT, host: config.HOST })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.PORT

  let sweeps = 0
  const sweep = setInterval(() => {
    sweepExpired(deps.db, new Date(deps.clock())).catch((error: unknown) => log.warn({ err: error }, 'expiry sweep failed'))
    sweepChallenges(deps.db, new Date(deps.clock() - CHALLENGE_RETENTION_MS)).catch((error: unknown) =>
      log.warn({ err: error }, 'challenge sweep failed'),
    )
    sweepConsoleSessions(deps.db, new Date(deps.clock())).catch((error: unknown) =>
      log.warn({ err: error }, 'console session sweep failed'),
    )
    sweepWebhookHistory(deps.db, new Date(deps.clock() - WEBHOOK_RETENTION_MS)).catch((error: unknown) =>
      log.warn({ err: error }, 'webhook history sweep failed'),
    )
    if (++sweeps % SWEEPS_PER_STATISTICS_REFRESH === 0) {
      deps.database.refreshStatistics().catch((error: unknown) => log.warn({ err: error }, 'statistics refresh failed'))
    }
  }, SWEEP_INTERVAL_MS)
  sweep.unref()

  let closing: Promise<void> | undefined
  return {
    app,
    deps,
    url: `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`,
    close() {
      closing ??= (async () => {
        clearInterval(sweep)
        await app.close()
        await webhooks.stop()
        await deps.push.close()
        await deps.apiKeyFailures.close()
        await stopWatching()
        await stopListening()
        await deps.database.close()
      })()
      return closing
    },
  }
}

/** Closes the server on SIGTERM/SIGINT, draining requests for at most `graceMs`. */
export function closeOnSignals(server: RunningServer, graceMs: number): void {
  const stop = (signal: string) => {
    server.deps.log.info({ signal }, 'shutting down')
    const force = setTimeout(() => {
      server.deps.log.error('shutdown grace period over; exiting')
      process.exit(1)
    }, graceMs)
    force.unref()
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        server.deps.log.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}
