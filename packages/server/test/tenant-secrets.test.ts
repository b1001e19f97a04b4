// Tenant token secrets at rest: sealed under COUNTERSIGN_ENCRYPTION_KEY, opened only with it,
// and plain secrets from before the key was set are sealed at start without breaking tokens.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.ts'
import { readSecret, webhookSecretContext } from '../src/crypto/stored-secret.ts'
import { MissingEncryptionKeyError } from '../src/crypto/tenant-keys.ts'
import { configurePushProvider } from '../src/domain/push-delivery.ts'
import { createWebhookEndpoint } from '../src/domain/webhooks.ts'
import { createTenant, prepareTenantSecrets, TenantDirectory, WrongEncryptionKeyError } from '../src/domain/tenants.ts'
import { openDatabase, queryRows, type Database, type Db } from '../src/storage/database.ts'
import { basicAuth, createHarness, newDevice, type Harness } from './support/harness.ts'

const encryptionKey = randomBytes(32)
const PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' })

async function storedSecret(db: Db, tenantId: string): Promise<Buffer> {
  const [row] = await queryRows<{ keySecret: Uint8Array }>(
    db,
    sql`SELECT key_secret AS "keySecret" FROM tenants WHERE tenant_id = ${tenantId}`,
  )
  return Buffer.from(row!.keySecret)
}

const directory = (db: Db, key?: Uint8Array) =>
  new TenantDirectory(db, { issuer: 'http://countersign.test', keyCacheMs: 0, encryptionKey: key })

describe('with COUNTERSIGN_ENCRYPTION_KEY set', () => {
  let h: Harness
  const created: string[] = []
  beforeAll(async () => {
    h = await createHarness({ COUNTERSIGN_ENCRYPTION_KEY: encryptionKey.toString('base64') })
  })
  afterAll(async () => {
    // Sealed tenants must not outlive this file: other files open this database without the key.
    for (const tenantId of created) await h.database.db.execute(sql`DELETE FROM tenants WHERE tenant_id = ${tenantId}`)
    await h.close()
  })

  it('stores the tenant secret sealed, and whole flows work', async () => {
    const tenant = await h.newTenant()
    created.push(tenant.tenantId)
    expect(await storedSecret(h.database.db, tenant.tenantId)).toHaveLength(61)

    const server = (url: string, payload: object) =>
      h.inject({ method: 'POST', url, headers: { authorization: basicAuth(tenant.secretKey) }, payload })
    const enrollment = (await server('/v1/users/sealed/actions/addAuthenticator', {})).json()
    const device = newDevice()
    const added = await h.inject({
      method: 'POST',
      url: '/v1/client/user-authenticators/in-app',
      headers: { authorization: `Bearer ${enrollment.token}` },
      payload: { publicKey: device.publicKey },
    })
    expect(added.statusCode).toBe(200)
    const payment = (await server('/v1/users/sealed/actions/authorizePayment', {})).json()
    const { challengeId } = (
      await h.inject({ method: 'POST', url: '/v1/client/challenge', headers: { authorization: `Bearer ${payment.token}` }, payload: {} })
    ).json()
    const verified = await h.inject({
      method: 'POST',
      url: '/v1/client/verify/in-app',
      headers: { authorization: `Bearer ${payment.token}` },
      payload: { challengeId, publicKey: device.publicKey, signature: device.sign(challengeId) },
    })
    expect((await server('/v1/validate', { token: verified.json().token })).json()).toMatchObject({ isValid: true })
  })

  it('cannot use a sealed tenant without the key', async () => {
    const tenant = await createTenant(h.database.db, 'Sealed', {}, encryptionKey)
    created.push(tenant.tenantId)
    await expect(directory(h.database.db).find(tenant.tenantId, Date.now())).rejects.toBeInstanceOf(MissingEncryptionKeyError)
    await expect(directory(h.database.db, randomBytes(32)).find(tenant.tenantId, Date.now())).rejects.toThrow()
    await expect(directory(h.database.db, encryptionKey).find(tenant.tenantId, Date.now())).resolves.toMatchObject({
      tenantId: tenant.tenantId,
    })
  })
})

// On a database of its own: preparing seals every tenant of the database it is given.
describe('preparing tenant secrets at start', () => {
  let own: Database
  beforeAll(async () => {
    own = await openDatabase({})
    await own.migrate()
  })
  afterAll(() => own.close())

  it('seals secrets stored plain before the key was set; tokens issued before still verify', async () => {
    const plain = await createTenant(own.db, 'Plain')
    const before = await directory(own.db).find(plain.tenantId, Date.now())
    const { token } = before!.tokens.sign(
      { userId: 'u', actionCode: 'signIn', idempotencyKey: 'k', scope: 'read:authenticators' },
      Date.now(),
      600,
    )
    const plainStored = await storedSecret(own.db, plain.tenantId)
    expect(plainStored).toHaveLength(32)

    expect(await prepareTenantSecrets(own.db, encryptionKey)).toBe(1)
    expect(await prepareTenantSecrets(own.db, encryptionKey)).toBe(0)
    const sealed = await storedSecret(own.db, plain.tenantId)
    expect(sealed).toHaveLength(61)
    expect(sealed.includes(plainStored)).toBe(false)

    const after = await directory(own.db, encryptionKey).find(plain.tenantId, Date.now())
    expect(after!.tokens.verify(token, Date.now())).toMatchObject({ ok: true })
  })

  it('seals webhook signing secrets and push-service keys stored before the key was set; deliveries still sign', async () => {
    const tenant = await createTenant(own.db, 'Plain hooks')
    await prepareTenantSecrets(own.db, encryptionKey)
    const endpoint = await createWebhookEndpoint(
      own.db,
      tenant.tenantId,
      { url: 'https://hooks.example/in', events: ['*'] },
      undefined,
      new Date(),
    )
    await configurePushProvider(
      own.db,
      tenant.tenantId,
      'fcm',
      { projectId: 'p', clientEmail: 'a@p.iam.gserviceaccount.com', privateKey: PEM },
      undefined,
      new Date(),
    )
    const storedBefore = await queryRows<{ secret: Uint8Array }>(
      own.db,
      sql`SELECT secret FROM webhook_endpoints WHERE tenant_id = ${tenant.tenantId}`,
    )
    expect(Buffer.from(storedBefore[0]!.secret).includes(Buffer.from(endpoint.secret))).toBe(true)

    expect(await prepareTenantSecrets(own.db, encryptionKey)).toBe(2)
    const [hook] = await queryRows<{ secret: Uint8Array }>(
      own.db,
      sql`SELECT secret FROM webhook_endpoints WHERE tenant_id = ${tenant.tenantId}`,
    )
    const [push] = await queryRows<{ config: Uint8Array }>(
      own.db,
      sql`SELECT config FROM push_providers WHERE tenant_id = ${tenant.tenantId}`,
    )
    expect(Buffer.from(hook!.secret).includes(Buffer.from(endpoint.secret))).toBe(false)
    expect(Buffer.from(push!.config).includes(Buffer.from('PRIVATE KEY'))).toBe(false)
    expect(readSecret(hook!.secret, webhookSecretContext(tenant.tenantId, endpoint.webhookId), encryptionKey).toString('utf8')).toBe(
      endpoint.secret,
    )
    // Sealed for this endpoint only: another endpoint's context does not open it.
    expect(() => readSecret(hook!.secret, webhookSecretContext(tenant.tenantId, randomUUID()), encryptionKey)).toThrow()
  })

  it('stops the start without the key, or with another one, once secrets are sealed', async () => {
    await expect(prepareTenantSecrets(own.db, undefined)).rejects.toBeInstanceOf(MissingEncryptionKeyError)
    await expect(prepareTenantSecrets(own.db, randomBytes(32))).rejects.toBeInstanceOf(WrongEncryptionKeyError)
  })

  it('rotates the encryption key: with the old key as previous, every secret is sealed again under the new one, and tokens still verify', async () => {
    const tenant = await createTenant(own.db, 'Rotating', {}, encryptionKey)
    const endpoint = await createWebhookEndpoint(
      own.db,
      tenant.tenantId,
      { url: 'https://hooks.example/rot', events: ['*'] },
      encryptionKey,
      new Date(),
    )
    const before = await directory(own.db, encryptionKey).find(tenant.tenantId, Date.now())
    const { token } = before!.tokens.sign(
      { userId: 'u', actionCode: 'signIn', idempotencyKey: 'k', scope: 'read:authenticators' },
      Date.now(),
      600,
    )
    const newKey = randomBytes(32)

    // While nodes still run with the old key, a node with the new key and the old as previous reads everything.
    const during = new TenantDirectory(own.db, {
      issuer: 'http://countersign.test',
      keyCacheMs: 0,
      encryptionKey: newKey,
      previousKey: encryptionKey,
    })
    expect((await during.find(tenant.tenantId, Date.now()))!.tokens.verify(token, Date.now())).toMatchObject({ ok: true })

    // Its start seals every tenant of the database again (the earlier tests' too), and the webhook secret.
    const tenants = await queryRows<{ n: number }>(own.db, sql`SELECT count(*)::int AS n FROM tenants`)
    const resealed = await prepareTenantSecrets(own.db, newKey, encryptionKey)
    expect(resealed).toBeGreaterThanOrEqual(tenants[0]!.n + 1)
    expect(await prepareTenantSecrets(own.db, newKey, encryptionKey)).toBe(0)

    // Now only the new key opens them, and the old one stops a start.
    const after = await directory(own.db, newKey).find(tenant.tenantId, Date.now())
    expect(after!.tokens.verify(token, Date.now())).toMatchObject({ ok: true })
    const [hook] = await queryRows<{ secret: Uint8Array }>(
      own.db,
      sql`SELECT secret FROM webhook_endpoints WHERE webhook_id = ${endpoint.webhookId}`,
    )
    expect(readSecret(hook!.secret, webhookSecretContext(tenant.tenantId, endpoint.webhookId), newKey).toString('utf8')).toBe(
      endpoint.secret,
    )
    expect(() => readSecret(hook!.secret, webhookSecretContext(tenant.tenantId, endpoint.webhookId), encryptionKey)).toThrow()
    await expect(prepareTenantSecrets(own.db, encryptionKey)).rejects.toBeInstanceOf(WrongEncryptionKeyError)
    // A previous key that opens nothing does not help a wrong current key.
    await expect(prepareTenantSecrets(own.db, randomBytes(32), randomBytes(32))).rejects.toBeInstanceOf(WrongEncryptionKeyError)
  })

  it('refuses a previous key without a current one', () => {
    expect(() => loadConfig({ COUNTERSIGN_PREVIOUS_ENCRYPTION_KEY: randomBytes(32).toString('base64') })).toThrow(ConfigError)
  })
})
