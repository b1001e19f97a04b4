// Secrets never reach a log (issue 6, Secrets). Every line the server logs during the
// integration run — each harness's app at trace level, each `countersign` child process — is
// collected here; after each test file (log-scan-setup.ts) the lines are scanned for every
// secret the tests handled and for anything shaped like one. The integration files run in one
// worker without isolation, so this module's state is the run's.
import { Writable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { deriveTenantKeys, revealTenantSecret } from '../../src/crypto/tenant-keys.ts'
import type { Database } from '../../src/storage/database.ts'
import { findTenant } from '../../src/storage/tenants-repo.ts'

/** A line that carries a secret, and what the secret is. */
export interface LogLeak {
  source: string
  secret: string
  line: string
}

/** Shapes that are a secret wherever they appear, registered or not. */
const SECRET_SHAPES: ReadonlyArray<readonly [string, RegExp]> = [
  // The secret part of an API key, right or wrong: `cs_sk_<tenantId>.<keyId>.<secret>` (keyIds may be logged).
  ['an API key', /cs_[sm]k_[^\s".]*\.[A-Za-z0-9_-]{1,40}\.[A-Za-z0-9_-]{8}/],
  // base64("cs_sk_") and base64("cs_mk_"): an API key inside a Basic Authorization value.
  ['a Basic-encoded API key', /Y3Nfc2tf|Y3NfbWtf/],
  ['a JWT', /eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/],
  ['a webhook signing secret', /whsec_[A-Za-z0-9+/=_-]{8}/],
  ['a PEM key', /-----BEGIN/],
  // A DER ECDSA P-256 signature in base64 or base64url (SEQUENCE of 68 to 72 bytes, INTEGER).
  ['a DER signature', /ME[QUY]CI[A-Za-z0-9+/_-]{56}/],
]

/** The characters secrets are written in (base64, base64url, push tokens): candidates are runs of them. */
const RUN = /[A-Za-z0-9+/=_-]{8,}/g
/** Registered secrets are found by their first PREFIX characters anywhere in a run. */
const PREFIX = 8
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const API_KEY = /^(cs_[sm]k)_([0-9a-f-]{36})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/
const JWT = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.([A-Za-z0-9_-]*)$/

const known = new Map<string, string>()
const byPrefix = new Map<string, string[]>()
let pending: Array<{ source: string; line: string }> = []
const totals = { linesScanned: 0, secretsRegistered: 0, scanMs: 0 }

/** What the scan has seen so far in this run. */
export function logScanTotals(): Readonly<typeof totals> {
  return { ...totals }
}

/**
 * Registers a value the tests handled as a secret: it must not appear in any log line.
 * Values too short or too uniform to be told from ordinary text (and UUIDs, which name
 * tenants, credentials and challenges in logs by design) are left out.
 * @example registerSecret(tenant.secretKey.split('.')[2]!, 'a secret key')
 */
export function registerSecret(value: string, what: string, minLength = 16): void {
  for (const run of value.match(RUN) ?? []) {
    if (run.length < minLength || new Set(run).size < Math.min(8, minLength / 2) || UUID.test(run) || known.has(run)) continue
    known.set(run, what)
    totals.secretsRegistered += 1
    const prefix = run.slice(0, PREFIX)
    const list = byPrefix.get(prefix)
    if (list) list.push(run)
    else byPrefix.set(prefix, [run])
  }
}

/** Registers a string by its shape: an API key's secret part, a JWT and its signature, or as `what`. */
function registerValue(value: string, what: string, minLength?: number): void {
  const key = API_KEY.exec(value)
  if (key) return registerSecret(key[4]!, `the secret part of an API key (${key[1]}, key ${key[3]})`)
  const jwt = JWT.exec(value)
  if (jwt) {
    registerSecret(value.split('.')[1]!, 'a JWT payload')
    return registerSecret(jwt[1]!, 'a JWT signature')
  }
  registerSecret(value, what, minLength)
}

/** Fields whose values are secrets wherever they appear in a request or response body. */
const SECRET_FIELDS: Record<string, string> = {
  token: 'a token',
  accessToken: 'a token',
  secretKey: 'an API key',
  managementKey: 'an API key',
  key: 'an API key',
  secret: 'a signing secret',
  signingSecret: 'a signing secret',
  signature: 'a device signature',
  deviceCode: 'a QR device code',
  privateKey: 'a private key',
  private_key: 'a private key',
  password: 'a password',
}

/**
 * Registers the secrets in a JSON value: the secret fields, any string shaped like an API key
 * or a JWT, and push tokens (`pushTokenMinLength`: push tokens in tests are short names, so
 * they count only where the server accepted them).
 */
export function registerSecretsIn(value: unknown, pushTokenMinLength = 16, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') {
    if (typeof value === 'string' && (API_KEY.test(value) || JWT.test(value) || value.startsWith('whsec_'))) registerValue(value, 'a secret')
    return
  }
  for (const [field, item] of Object.entries(value)) {
    if (typeof item === 'string') {
      if (field === 'pushToken') registerSecret(item, 'a push token', pushTokenMinLength)
      // The push signing nonce: 32 random bytes the device signs (…/sign answers it as message).
      else if (field === 'message' && /^[A-Za-z0-9_-]{43}$/.test(item)) registerSecret(item, 'a signing nonce')
      else if (SECRET_FIELDS[field]) registerValue(item, SECRET_FIELDS[field])
      else registerSecretsIn(item, pushTokenMinLength, depth + 1)
    } else {
      registerSecretsIn(item, pushTokenMinLength, depth + 1)
    }
  }
}

/** Registers the secrets in request headers: Authorization (Bearer or Basic) and X-Authsignal-Signature. */
function registerHeaderSecrets(headers: Record<string, string | string[] | undefined>): void {
  const authorization = headers.authorization
  if (typeof authorization === 'string') {
    const [scheme, credentials = ''] = authorization.split(' ', 2)
    if (scheme?.toLowerCase() === 'bearer') registerValue(credentials, 'a bearer token')
    if (scheme?.toLowerCase() === 'basic') {
      const username = Buffer.from(credentials, 'base64').toString('utf8').replace(/:$/, '')
      if (API_KEY.test(username)) registerValue(username, 'an API key')
    }
  }
  const signature = headers['x-authsignal-signature']
  if (typeof signature === 'string') registerSecret(signature, 'an X-Authsignal-Signature value')
}

/**
 * Registers what every request to `app` and every answer from it carries: the tests' keys,
 * tokens, signatures, push tokens and device codes, and the tokens and keys the server issues.
 * Hooks added before `ready()` apply to every route, also to requests over a socket.
 */
export function registerSecretsOfRequests(app: FastifyInstance): void {
  const bodies = new WeakMap<FastifyRequest, unknown>()
  app.addHook('onRequest', async (request) => {
    registerHeaderSecrets(request.headers)
  })
  app.addHook('preValidation', async (request) => {
    if (request.body !== undefined) bodies.set(request, request.body)
  })
  app.addHook('onSend', async (request, reply, payload) => {
    const accepted = reply.statusCode < 400
    registerSecretsIn(bodies.get(request), accepted ? 8 : 16)
    if (typeof payload === 'string' && payload.startsWith('{')) {
      try {
        registerSecretsIn(JSON.parse(payload), 8)
      } catch {
        // Not JSON after all: nothing to register.
      }
    }
    return payload
  })
}

/** Registers a new tenant's API keys and the secret its tokens and challenge IDs are keyed with. */
export async function registerTenantSecrets(
  database: Database,
  tenant: { tenantId: string; secretKey: string; managementKey: string },
  encryptionKey: Uint8Array | undefined,
): Promise<void> {
  registerValue(tenant.secretKey, 'an API key')
  registerValue(tenant.managementKey, 'an API key')
  const row = await findTenant(database.db, tenant.tenantId)
  if (!row) return
  const secret = revealTenantSecret(row.keySecret, tenant.tenantId, encryptionKey)
  const keys = deriveTenantKeys(secret)
  for (const [what, bytes] of [['a tenant secret', secret], ...Object.entries(keys)] as Array<[string, Buffer]>) {
    for (const encoding of ['hex', 'base64', 'base64url'] as const) registerSecret(bytes.toString(encoding), what)
  }
}

/** Adds logged text (one line or many) from `source` to the lines to scan. */
export function collectLog(source: string, text: string): void {
  for (const line of text.split('\n')) if (line.trim() !== '') pending.push({ source, line })
}

/** A destination for a logger: every line goes to the scan, and to `also` when given. */
export function logCollector(source: string, also?: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString('utf8')
      collectLog(source, text)
      if (also) also.push(...text.split('\n').filter(Boolean))
      done()
    },
  })
}

/** The registered secret or secret-shaped value in `line`, if any. */
export function secretIn(line: string): string | null {
  for (const [what, shape] of SECRET_SHAPES) if (shape.test(line)) return what
  for (const run of line.match(RUN) ?? []) {
    for (let i = 0; i + PREFIX <= run.length; i++) {
      const candidates = byPrefix.get(run.slice(i, i + PREFIX))
      if (!candidates) continue
      for (const secret of candidates) if (run.startsWith(secret, i)) return known.get(secret)!
    }
  }
  return null
}

/** Scans the lines collected since the last scan, and forgets them. */
export function scanCollectedLogs(): LogLeak[] {
  const started = performance.now()
  const lines = pending
  pending = []
  totals.linesScanned += lines.length
  const leaks: LogLeak[] = []
  for (const { source, line } of lines) {
    const secret = secretIn(line)
    if (secret) leaks.push({ source, secret, line })
  }
  totals.scanMs += performance.now() - started
  return leaks
}
