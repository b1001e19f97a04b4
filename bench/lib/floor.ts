// The floor: what an in-app flow costs with nothing but its SQL and its crypto, run in this
// process without HTTP. The server's flows/s divided by the floor's says how much of the
// machine HTTP, JSON and the framework take (bench/README.md, "The floor").
//
// The statements are the server's own: the floor calls the same storage functions
// (packages/server/src/storage/actions-repo.ts) on a pg Pool opened the same way and of the
// same size, so their texts, parameters and preparation are the server's by construction and
// follow it when it changes. The crypto is the server's too: API keys checked by SHA-256 with
// the server's per-node key cache (TenantDirectory, which also re-reads the tenant once a
// second), HS256 tokens signed and verified with fast-jwt, the HMAC challenge ID, and ECDSA
// P-256 verification with a cached KeyObject. Left out: sockets and HTTP parsing, JSON bodies,
// Fastify's routing, hooks and schema validation, logging, the per-IP failure throttle and
// building response bodies.
import { randomUUID } from 'node:crypto'
import { fromBase64, utf8, type TokenClaims } from '@countersign/protocol'
import { issueChallengeId, openChallengeId } from '../../packages/server/src/crypto/challenge-id.ts'
import { parseP256PublicKey, verifyP256Signature } from '../../packages/server/src/crypto/p256.ts'
import { claimedTenantOf } from '../../packages/server/src/crypto/tokens.ts'
import { DEFAULT_SCOPE } from '../../packages/server/src/domain/actions.ts'
import { IN_APP_NAMESPACES } from '../../packages/server/src/domain/in-app.ts'
import { decide } from '../../packages/server/src/domain/rules/engine.ts'
import { challengeLifetimeSeconds, TenantDirectory, type TenantContext } from '../../packages/server/src/domain/tenants.ts'
import { completeTokenVerification, consumeTokenAndReadAction, trackAction } from '../../packages/server/src/storage/actions-repo.ts'
import { openDatabase, type Database } from '../../packages/server/src/storage/database.ts'
import { ACTION, FlowError, type BenchUser, type Call, type FlowRecord } from './countersign.ts'
import type { Observe } from './load.ts'
import type { BenchTenant } from './server.ts'

/** The server's default KEY_CACHE_MS: a verified API key is not looked up again for a second. */
const KEY_CACHE_MS = 1000

/** The database pool the server opens: DATABASE_POOL_SIZE from the environment, else its default. */
export function serverPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const size = Number(env.DATABASE_POOL_SIZE ?? 10)
  return Number.isInteger(size) && size > 0 ? size : 10
}

export class Floor {
  readonly #database: Database
  readonly #tenants: TenantDirectory
  readonly #secretKey: string

  private constructor(database: Database, tenants: TenantDirectory, secretKey: string) {
    this.#database = database
    this.#tenants = tenants
    this.#secretKey = secretKey
  }

  /**
   * Opens the database the server ran on, with a pool of `poolSize` connections, for
   * `tenant`, whose users were enrolled through the server.
   * @example const floor = await Floor.open(databaseUrl, tenant, serverPoolSize())
   */
  static async open(databaseUrl: string, tenant: BenchTenant, poolSize: number): Promise<Floor> {
    const database = await openDatabase({ databaseUrl, poolSize })
    const encryptionKey = process.env.COUNTERSIGN_ENCRYPTION_KEY ? Buffer.from(process.env.COUNTERSIGN_ENCRYPTION_KEY, 'base64') : undefined
    // The issuer only has to match between signing and verifying here; the server's looks the same.
    const tenants = new TenantDirectory(database.db, { issuer: new URL(tenant.apiUrl).origin, keyCacheMs: KEY_CACHE_MS, encryptionKey })
    return new Floor(database, tenants, tenant.secretKey)
  }

  /**
   * The work of one in-app flow, call by call as the server does it: track → challenge →
   * verify (the device's signature made inside the call's time, as the load generator makes
   * it inside the HTTP call's) → validate. Throws a FlowError where the server would refuse.
   */
  async inAppFlow(user: BenchUser, amount: number, observe: Observe): Promise<FlowRecord> {
    const tracked = await timed('track', observe, () => this.#track(user.userId, amount))
    const challengeId = await timed('challenge', observe, () => this.#challenge(tracked.token))
    const token = await timed('verify', observe, () => this.#verify(tracked.token, challengeId, user.device.publicKey, user.device.sign(challengeId)))
    await timed('validate', observe, () => this.#validate(token, user.userId))
    return { userId: user.userId, idempotencyKey: tracked.idempotencyKey, token, validatedOn: 0 }
  }

  async close(): Promise<void> {
    await this.#database.close()
  }

  /** track (secret key): one statement records the action; a token is signed for it. */
  async #track(userId: string, amount: number): Promise<{ token: string; idempotencyKey: string }> {
    const tenant = await this.#tenants.authenticate(this.#secretKey, 'secret', Date.now())
    const config = tenant.actionSettings(ACTION)
    const decision = decide([], config, {}, new Map())
    const at = new Date()
    const input = {
      userId,
      actionCode: ACTION,
      idempotencyKey: randomUUID(),
      stateIfEnrolled: decision.stateIfEnrolled,
      stateIfNotEnrolled: decision.stateIfNotEnrolled,
      rules: null,
      createConfiguration: !config.configured,
      ipAddress: null,
      userAgent: null,
      deviceId: null,
      custom: { amount },
      transaction: null,
      scope: DEFAULT_SCOPE,
      redirectUrl: null,
      locale: null,
      email: null,
      phoneNumber: null,
      username: null,
    }
    const db = this.#database.db
    const tracked = (await trackAction(db, tenant.tenantId, input, at)) ?? (await trackAction(db, tenant.tenantId, input, at))
    // The first track of the action code created its configuration: read the tenant again, as the server does.
    if (!config.configured) this.#tenants.forget(tenant.tenantId)
    if (tracked?.state !== 'CHALLENGE_REQUIRED') throw new FlowError('track', `track state=${String(tracked?.state)}`)
    const { token } = tenant.tokens.sign(
      { userId, username: tracked.username ?? undefined, actionCode: ACTION, idempotencyKey: input.idempotencyKey, scope: tracked.scope },
      Date.now(),
      config.tokenTtlSeconds,
    )
    return { token, idempotencyKey: input.idempotencyKey }
  }

  /** challenge (Bearer): the token verified, a self-authenticating challenge ID issued; nothing written. */
  async #challenge(bearer: string): Promise<string> {
    const { tenant, claims } = await this.#caller(bearer, 'challenge')
    const actionCode = claims.other.actionCode
    const expiresAt = new Date(Date.now() + challengeLifetimeSeconds(tenant, actionCode, 'IN_APP', claims.other.methods) * 1000)
    return issueChallengeId(tenant.challengeKey, tenant.tenantId, expiresAt, actionCode).challengeId
  }

  /**
   * verify (Bearer): the token verified, the challenge ID opened, the device's signature
   * checked, then one statement consumes the challenge and completes the action; a new token
   * is signed.
   */
  async #verify(bearer: string, challengeId: string, publicKey: string, signature: string): Promise<string> {
    const { tenant, claims } = await this.#caller(bearer, 'verify')
    const challenge = openChallengeId(tenant.challengeKey, tenant.tenantId, challengeId)
    if (!challenge || challenge.expiresAt.getTime() <= Date.now()) throw new FlowError('verify', 'verify invalid_challenge')
    if (challenge.action !== null && challenge.action !== claims.other.actionCode) throw new FlowError('verify', 'verify invalid_challenge')
    const spki = fromBase64(publicKey.trim())
    const signatureBytes = fromBase64(signature.trim())
    if (!spki || !signatureBytes) throw new FlowError('verify', 'verify invalid_request')
    const key = parseP256PublicKey(spki)
    if (!verifyP256Signature(key, utf8(challengeId), signatureBytes)) throw new FlowError('verify', 'verify invalid_signature')
    const subject = { userId: claims.sub, actionCode: claims.other.actionCode, idempotencyKey: claims.other.idempotencyKey, scope: claims.scope }
    const outcome = await completeTokenVerification(
      this.#database.db,
      tenant.tenantId,
      { jti: claims.jti, ...subject },
      { spkiHash: key.spkiHash, namespaces: IN_APP_NAMESPACES, challengeNonce: challenge.nonce, challengeExpiresAt: challenge.expiresAt, verificationMethod: 'IN_APP' },
      new Date(),
    )
    if (!outcome.succeeded) throw new FlowError('verify', `verify refused (consumed=${outcome.consumed}, state=${String(outcome.actionState)})`)
    return tenant.tokens.sign({ ...subject, username: outcome.username ?? undefined }, Date.now(), tenant.actionSettings(subject.actionCode).tokenTtlSeconds)
      .token
  }

  /** validate (secret key): the token verified, then one statement marks it used and reads its action. */
  async #validate(token: string, userId: string): Promise<void> {
    const tenant = await this.#tenants.authenticate(this.#secretKey, 'secret', Date.now())
    if (claimedTenantOf(token) !== tenant.tenantId) throw new FlowError('validate', 'validate invalid_token')
    const checked = tenant.tokens.verify(token, Date.now())
    if (!checked.ok) throw new FlowError('validate', `validate ${checked.reason}`)
    const { claims } = checked
    if (claims.sub !== userId || claims.other.actionCode !== ACTION) throw new FlowError('validate', 'validate mismatch')
    const { firstUse, action } = await consumeTokenAndReadAction(this.#database.db, tenant.tenantId, {
      jti: claims.jti,
      expiresAt: new Date(claims.exp * 1000),
      idempotencyKey: claims.other.idempotencyKey,
    })
    if (!firstUse) throw new FlowError('validate', 'validate token_already_used')
    if (action?.state !== 'CHALLENGE_SUCCEEDED') throw new FlowError('validate', `validate state=${String(action?.state)}`)
  }

  /** A Bearer token's tenant (the per-node cache, re-read once a second) and its verified claims. */
  async #caller(token: string, call: Call): Promise<{ tenant: TenantContext; claims: TokenClaims }> {
    const tenantId = claimedTenantOf(token)
    const tenant = tenantId ? await this.#tenants.find(tenantId, Date.now()) : null
    if (!tenant) throw new FlowError(call, `${call} invalid_token`)
    const checked = tenant.tokens.verify(token, Date.now())
    if (!checked.ok) throw new FlowError(call, `${call} ${checked.reason}`)
    return { tenant, claims: checked.claims }
  }
}

/** Times one step of the floor as the load generator times an HTTP call: a throw is a failed call. */
async function timed<T>(call: Call, observe: Observe, step: () => Promise<T>): Promise<T> {
  const started = performance.now()
  try {
    const result = await step()
    observe(call, performance.now() - started, true)
    return result
  } catch (error) {
    observe(call, performance.now() - started, false)
    throw error
  }
}
