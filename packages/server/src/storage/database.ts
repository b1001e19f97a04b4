import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { sql, type SQL } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import pg from 'pg'
import { MIGRATIONS_DIR } from '../paths.ts'
import * as schema from './schema.ts'
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.ts'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

/** An open database: PostgreSQL through a pool, or embedded PGlite. */
export interface Database {
  readonly db: Db
  readonly kind: 'postgres' | 'pglite'
  /** Runs the committed migrations that have not run yet. Safe to call from many nodes at once. */
  migrate(): Promise<void>
  /** One round trip; throws when the database is unreachable. */
  ping(): Promise<void>
  /**
   * Refreshes planner statistics where nothing else does. PGlite runs no autovacuum, and
   * without statistics the planner may pick an index that scans a whole tenant; PostgreSQL's
   * autovacuum keeps them fresh, so there this does nothing.
   */
  refreshStatistics(): Promise<void>
  /**
   * Calls `onMessage` with the payload of every NOTIFY on `channel`, from any process on this
   * database. On PostgreSQL a dedicated connection listens and reconnects after losing the
   * server; notifications sent while it was away are missed, so a listener must only shorten
   * what a time limit already bounds (a cache's lifetime, say). Returns the way to stop.
   */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>
  close(): Promise<void>
}

const MIGRATIONS = MIGRATIONS_DIR
// Any fixed number; all nodes take this lock so only one applies migrations at a time.
const MIGRATION_LOCK = 7_310_001

export interface OpenOptions {
  databaseUrl?: string | undefined
  dataDir?: string | undefined
  poolSize?: number
  /** The embedded directory is locked against a second process unless this is false (tests on in-memory PGlite). */
  lockDataDir?: boolean
}

/**
 * Opens PostgreSQL when a URL is given, else PGlite in `dataDir` (in memory when dataDir is
 * undefined). The embedded directory is locked: a second process gets DataDirLockedError.
 */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.poolSize ?? 10)
  return openPglite(options.dataDir)
}

function openPostgres(url: string, poolSize: number): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5_000 })
  const listeners: Array<() => Promise<void>> = []
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {})
  const db = drizzlePg(pool, { schema })
  return {
    db: db as unknown as Db,
    kind: 'postgres',
    async migrate() {
      const client = await pool.connect()
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
        try {
          await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS })
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK])
        }
      } finally {
        client.release()
      }
    },
    async ping() {
      await pool.query('SELECT 1')
    },
    async refreshStatistics() {},
    async listen(channel, onMessage) {
      const stop = await listenWithReconnect(url, channel, onMessage)
      listeners.push(stop)
      return stop
    },
    async close() {
      await Promise.all(listeners.map((stop) => stop()))
      await pool.end()
    },
  }
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  let lock: DataDirLock | undefined
  if (dataDir !== undefined) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    lock = acquireDataDirLock(dataDir)
  }
  let client: PGlite
  try {
    client = await PGlite.create(dataDir === undefined ? undefined : `${dataDir}/pgdata`)
  } catch (error) {
    lock?.release()
    throw error
  }
  const db = drizzlePglite(client, { schema })
  return {
    db: db as unknown as Db,
    kind: 'pglite',
    async migrate() {
      await migratePglite(db, { migrationsFolder: MIGRATIONS })
    },
    async ping() {
      await client.query('SELECT 1')
    },
    async refreshStatistics() {
      await client.query('ANALYZE')
    },
    async listen(channel, onMessage) {
      const unlisten = await client.listen(channel, onMessage)
      return () => unlisten()
    },
    async close() {
      try {
        await client.close()
      } finally {
        lock?.release()
      }
    },
  }
}

const RECONNECT_DELAYS_MS = [250, 1_000, 2_000, 5_000, 10_000]

/** LISTEN on a connection of its own, connecting again (with back-off) whenever it is lost. */
async function listenWithReconnect(url: string, channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
  let stopped = false
  let client: pg.Client | undefined
  let attempt = 0
  let retry: NodeJS.Timeout | undefined

  const reconnectLater = () => {
    if (stopped || retry) return
    const delay = RECONNECT_DELAYS_MS[Math.min(attempt++, RECONNECT_DELAYS_MS.length - 1)]
    retry = setTimeout(() => {
      retry = undefined
      connect().catch(reconnectLater)
    }, delay)
    retry.unref()
  }

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
    const lost = () => {
      if (client === next) client = undefined
      next.removeAllListeners()
      next.on('error', () => {}) // a late socket error must not crash the process
      void next.end().catch(() => {})
      reconnectLater()
    }
    next.on('notification', (message) => {
      if (message.channel === channel && message.payload !== undefined) onMessage(message.payload)
    })
    next.on('error', lost)
    next.on('end', lost)
    await next.connect()
    await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
    client = next
    attempt = 0
  }

  await connect()
  return async () => {
    stopped = true
    if (retry) clearTimeout(retry)
    const current = client
    client = undefined
    if (current) {
      current.removeAllListeners()
      current.on('error', () => {})
      await current.end().catch(() => {})
    }
  }
}

// Driver and server errors that mean "the database cannot be reached now", not "this request
// is wrong": network errors, PostgreSQL connection exceptions (class 08), shutdown and
// too-many-connections, and the pool giving up on a connection.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
])
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|connection error|Client was closed/i

/** Whether `error` (or what caused it) says the database is unreachable, so retrying later may work. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const { code, message, cause, errors } = current as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true
    // Node reports a refused dual-stack connect as an AggregateError of the attempts.
    if (Array.isArray(errors) && errors.some((inner) => isDatabaseUnavailable(inner))) return true
    current = cause
  }
  return false
}

/** Runs a raw statement and returns its rows; the same shape on both drivers. */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] }
  return result.rows
}

/**
 * Like queryRows, as a named prepared statement on PostgreSQL: each connection parses and
 * plans the statement's text once, not at every call. For hot statements whose text depends
 * only on a few options (the text names the statement, so each shape is prepared once per
 * connection). Elsewhere (PGlite, a transaction) it is queryRows.
 */
export async function queryRowsPrepared<T>(db: Db, query: SQL): Promise<T[]> {
  const client = (db as unknown as { $client?: unknown }).$client
  if (!(client instanceof pg.Pool)) return queryRows<T>(db, query)
  const { sql: text, params } = (db as unknown as { dialect: { sqlToQuery(query: SQL): { sql: string; params: unknown[] } } }).dialect.sqlToQuery(query)
  const name = `cs_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`
  const result = await client.query<T & pg.QueryResultRow>({ name, text, values: params })
  return result.rows
}

/** A text[] literal of bound parameters (drizzle's sql expands a JS array into a list, not an array). */
export function textArray(values: readonly string[]): SQL {
  return sql`ARRAY[${sql.join(values.map((v) => sql`${v}`), sql`, `)}]::text[]`
}

/** Runs `work` in one transaction: all of its statements take effect, or none. */
export async function inTransaction<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction((tx) => work(tx as unknown as Db))
}
