// A fresh PostgreSQL database for every run, so runs are comparable: no rows, bloat or cached
// plans left from an earlier run.
import pg from 'pg'

/**
 * Drops and creates the database named in `databaseUrl`, connecting to the server's
 * `postgres` maintenance database to do it.
 * @example await recreateDatabase('postgres://postgres@127.0.0.1:5432/countersign_bench')
 */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  await onMaintenanceDatabase(databaseUrl, async (client, name) => {
    // WITH (FORCE) ends sessions left by an interrupted run (PostgreSQL 13+).
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    await client.query(`CREATE DATABASE "${name}"`)
  })
}

/** Drops the database named in `databaseUrl`, ending its sessions. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  await onMaintenanceDatabase(databaseUrl, async (client, name) => {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
  })
}

/** Runs `work` on the server's `postgres` database with the name of the database in `databaseUrl`, checked. */
async function onMaintenanceDatabase(databaseUrl: string, work: (client: pg.Client, name: string) => Promise<void>): Promise<void> {
  const url = new URL(databaseUrl)
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''))
  // The name is spliced into DDL (identifiers cannot be bound parameters): allow plain names only.
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`--database-url must name a database made of letters, digits and _ (got "${name}")`)
  }
  if (name === 'postgres') throw new Error('refusing to drop the "postgres" database; name a benchmark database in --database-url')
  url.pathname = '/postgres'
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  try {
    await work(client, name)
  } finally {
    await client.end()
  }
}

/** The URL with any password replaced, for results files. */
export function redactUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl)
  if (url.password) url.password = '***'
  return url.toString()
}

/**
 * Gathers planner statistics, as autovacuum would within a minute or so on a live database.
 * A database created moments ago has none, and without them the planner may pick an index
 * that reads every row of a tenant or a user instead of the one row asked for, which is not
 * what a production database does.
 */
export async function analyzeDatabase(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query('ANALYZE')
  } finally {
    await client.end()
  }
}
