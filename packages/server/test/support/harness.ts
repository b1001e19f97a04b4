// Shared integration-test setup: one database per test run (PGlite in memory, or PostgreSQL
// from TEST_DATABASE_URL), one app per test file, a fresh tenant per harness.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { Writable } from 'node:stream'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { createApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import type { Deps } from '../../src/domain/deps.ts'
import { createTenant, type CreatedTenant, type TenantSettings } from '../../src/domain/tenants.ts'
import { createLogger } from '../../src/logger.ts'
import { depsFor, type DepsOverrides } from '../../src/main.ts'
import { openDatabase, type Database } from '../../src/storage/database.ts'

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
 * An app on the run's database. `logLines`, when given, receives every log line (and the
 * level defaults to trace) so a test can inspect what the server logs.
 */
export async function createHarness(
  env: Record<string, string> = {},
  options: { logLines?: string[]; overrides?: DepsOverrides } = {},
): Promise<Harness> {
  const database = await testDatabase()
  const clock = testClock()
  const level = options.logLines ? 'trace' : 'silent'
  const config = loadConfig({
    LOG_LEVEL: level,
    COUNTERSIGN_PUBLIC_URL: 'http://countersign.test',
    KEY_CACHE_MS: '0',
    // Suites that try wrong keys on purpose must not throttle each other; throttle.test.ts sets its own.
    API_KEY_FAILURES_PER_WINDOW: '10000',
    ...env,
  })
  const sink = options.logLines
    ? new Writable({
        write(chunk: Buffer, _encoding, done) {
          options.logLines!.push(...chunk.toString('utf8').split('\n').filter(Boolean))
          done()
        },
      })
    : undefined
  const deps = depsFor(config, database, createLogger(config.LOG_LEVEL, sink), clock, options.overrides)
  const app = await createApp(deps)
  await app.ready()
  return {
    app,
    deps,
    clock,
    database,
    newTenant: (settings) => createTenant(database.db, 'Test tenant', settings, config.COUNTERSIGN_ENCRYPTION_KEY),
    inject: (options) => app.inject(options),
    close: async () => {
      await app.close()
      await deps.push.close()
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
