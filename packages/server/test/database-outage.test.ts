// The database unreachable: requests get 503 with Retry-After (never a 500), liveness stays
// up, readiness says so, and the log does not carry the failed queries' parameters.
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { createLogger } from '../src/logger.ts'
import { depsFor } from '../src/main.ts'
import { openDatabase, type Database } from '../src/storage/database.ts'
import { basicAuth } from './support/harness.ts'

const TENANT = '6f1c1c52-8a55-4d0f-9a3e-0c6a0d1f2b11'
// Shaped like a real key, so the request reaches the database lookup.
const SECRET_KEY = `cs_sk_${TENANT}.AbCdEfGhIjKl.${'s'.repeat(43)}`
const logLines: string[] = []
let database: Database
let app: FastifyInstance

beforeAll(async () => {
  // Port 1 on loopback: nothing listens, every connection is refused at once.
  database = await openDatabase({ databaseUrl: 'postgres://countersign@127.0.0.1:1/countersign', poolSize: 2 })
  const config = loadConfig({ LOG_LEVEL: 'trace', DATABASE_URL: 'postgres://countersign@127.0.0.1:1/countersign' })
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'))
      done()
    },
  })
  app = await createApp(depsFor(config, database, createLogger('trace', sink)))
})
afterAll(async () => {
  await app.close()
  await database.close()
})

describe('while the database is unreachable', () => {
  it('answers Server and Client API requests with 503 service_unavailable and Retry-After', async () => {
    const responses = await Promise.all([
      app.inject({ method: 'POST', url: '/v1/users/u1/actions/signIn', headers: { authorization: basicAuth(SECRET_KEY) }, payload: {} }),
      app.inject({ method: 'POST', url: '/v1/client/challenge', headers: { authorization: basicAuth(TENANT) }, payload: {} }),
    ])
    for (const response of responses) {
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBe('5')
      expect(response.json()).toMatchObject({ error: 'service_unavailable', errorCode: 'service_unavailable' })
    }
  })

  it('stays live but not ready', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json().errorCode).toBe('service_unavailable')
  })

  it('logs the failure without the query parameters', () => {
    const log = logLines.join('')
    expect(log).toContain('database unavailable')
    expect(log).not.toContain('"params"')
    expect(log).not.toContain('AbCdEfGhIjKl')
  })
})
