// Shared integration-test setup: one database per test run (PGlite in memory, or PostgreSQL
// from TEST_DATABASE_URL), one app per test file, a fresh tenant per harness.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { basename } from 'node:path'
import { expect } from 'vitest'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { createApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import type { Deps } from '../../src/domain/deps.ts'
import { createTenant, type CreatedTenant, type TenantSettings } from '../../src/domain/tenants.ts'
import { createLogger } from '../../src/logger.ts'
import { depsFor, type DepsOverrides } from '../../src/main.ts'
import { openDatabase, type Database } from '../../src/storage/database.ts'
import { logCollector, registerSecretsOfRequests, registerTenantSecrets } from './log-secrets.ts'

let shared: Promise<Database> | undefined

/** The run's database, opened and migrated once. */
export function testDatabase(): Promise<Database> {
  shared ??= (async () => {
    const kind = process.env.COUNTERSIGN_TEST_DB ?? 'pglite'
    const url = process.env.TEST_DATABASE_URL
    if (kind === 'postgres' && !url) throw new Error('COUNTERSIGN_TEST_DB=postgres needs TEST_DATABASE_URL')
    const database = await openDatabase(kind === 'postgres' ? { databaseUrl: url, poolSize: 20 } : {})
    await database.migrate()
    return database
  })()
  return shared
}

/** A clock tests move by hand: expiry is tested without sleeping. */
export interface TestClock {
  (): number
  advance(ms: number): void
}

export function testClock(): TestClock {
  let offset = 0
  const clock = (() => Date.now() + offset) as TestClock
  clock.advance = (ms: number) => {
    offset += ms
  }
  return clock
}

export interface Harness {
  app: FastifyInstance
  deps: Deps
  clock: TestClock
  database: Database
  /** A fresh tenant with its keys. */
  newTenant(settings?: Partial<TenantSettings>): Promise<CreatedTenant>
  inject(options: InjectOptions): Promise<LightMyRequestResponse>
  close(): Promise<void>
}

/**
 * An app on the run's database. It logs at trace level into the run's secret scan
 * (log-secrets.ts), which also learns every key, token and signature its requests and answers
 * carry; `logLines`, when given, receives every log line too, so a test can inspect it.
 */
export async function createHarness(
  env: Record<string, string> = {},
  options: { logLines?: string[]; overrides?: DepsOverrides } = {},
): Promise<Harness> {
  const database = await testDatabase()
  const clock = testClock()
  const config = loadConfig({
    COUNTERSIGN_PUBLIC_URL: 'http://countersign.test',
    KEY_CACHE_MS: '0',
    // Suites that try wrong keys on purpose must not throttle each other; throttle.test.ts sets its own.
    API_KEY_FAILURES_PER_WINDOW: '10000',
    ...env,
    // Every line the server can write is scanned for secrets, whatever level a suite asked for.
    LOG_LEVEL: 'trace',
  })
  const testFile = expect.getState().testPath
  const sink = logCollector(testFile ? basename(testFile) : 'harness', options.logLines)
  const deps = depsFor(config, database, createLogger(config.LOG_LEVEL, sink), clock, options.overrides)
  const app = await createApp(deps)
  registerSecretsOfRequests(app)
  await app.ready()
  return {
    app,
    deps,
    clock,
    database,
    newTenant: async (settings) => {
      const tenant = await createTenant(database.db, 'Test tenant', settings, config.COUNTERSIGN_ENCRYPTION_KEY)
      await registerTenantSecrets(database, tenant, config.COUNTERSIGN_ENCRYPTION_KEY)
      return tenant
    },
    inject: (options) => app.inject(options),
    close: async () => {
      await app.close()
      await deps.push.close()
      await deps.apiKeyFailures.close()
    },
  }
}

export function basicAuth(username: string): string {
  return `Basic ${Buffer.from(`${username}:`).toString('base64')}`
}

/** A device: a P-256 key pair, as a phone's key store would hold it. */
export interface TestDevice {
  privateKey: KeyObject
  /** Standard base64 of the SPKI, as devices send it. */
  publicKey: string
  sign(message: string): string
}

export function newDevice(): TestDevice {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return {
    privateKey,
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    sign: (message) => sign('sha256', Buffer.from(message, 'utf8'), { key: privateKey, dsaEncoding: 'der' }).toString('base64'),
  }
}
