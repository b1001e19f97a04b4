// Property-based fuzzing of every route (PROTOCOL.md §1-3, STYLE.md §5): whatever a caller
// sends — any JSON, wrong types, huge or unicode strings, NUL bytes, odd path segments and
// query strings, forged or mangled credentials, any content type — the answer is below 500,
// a refusal carries a registered code in both `error` and `errorCode` with the status the
// registry gives it, and no body holds a stack frame or a credential or secret the caller sent.
//
// Most requests are authenticated for real (a tenant's secret key, tenant Basic, track
// tokens) and are valid except for what the fuzzer changes, so they reach the domain and the
// database rather than stopping at authentication.
//
// Runs per route: FUZZ_RUNS (default 200). Seed: FUZZ_SEED (default fixed, so CI is
// repeatable); a failure prints the command that reproduces it, e.g.
//   FUZZ_RUNS=2000 npx vitest run --project integration:pglite packages/server/test/fuzz.test.ts
import { Buffer } from 'node:buffer'
import fc, { type Arbitrary } from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { acceptedTimeBucketMessages, errorCodes, isErrorCode } from '@countersign/protocol'
import { issueChallengeId } from '../src/crypto/challenge-id.ts'
import { createApiKey } from '../src/domain/tenants.ts'
import { basicAuth, createHarness, newDevice, type Harness, type TestDevice } from './support/harness.ts'
import { bearer, expectClientOk, expectOk, tenantApi, uniqueId, type TenantApi } from './support/api.ts'

const RUNS = envInt('FUZZ_RUNS', 200)
const SEED = envInt('FUZZ_SEED', 20_261_129)
// Generous: shrinking a failure replays many requests.
const TIMEOUT_MS = 60_000 + RUNS * 100

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${raw}`)
  return value
}

// ---------------------------------------------------------------------------------------
// Requests and the property every response must satisfy
// ---------------------------------------------------------------------------------------

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT' | 'HEAD' | 'OPTIONS'

interface FuzzRequest {
  method: Method
  url: string
  headers: Record<string, string>
  payload?: string | Buffer
  /** Credentials and secrets this request carried: no response may contain them. */
  secrets: string[]
}

/** Shorter values may occur in a body by chance (a state name, a short user ID). */
const MIN_SECRET_LENGTH = 12
const STACK_FRAME = /\bat (?:async )?[^\s"(]*\s?\(?(?:file:\/\/|node:|\/)[^\s)"]*:\d+:\d+|node_modules\/|node:internal/
/** Codes a request gets before the domain looks at it; anything else means the fuzz reached it. */
const GATE_CODES = new Set<string>(['invalid_request', 'unauthorized', 'unsupported_media_type', 'payload_too_large'])

function violations(req: FuzzRequest, res: LightMyRequestResponse): string[] {
  const problems: string[] = []
  const status = res.statusCode
  if (status >= 500) problems.push(`status ${status}`)
  if (STACK_FRAME.test(res.body)) problems.push('the body holds a stack frame')
  for (const secret of req.secrets) {
    if (secret.length >= MIN_SECRET_LENGTH && res.body.includes(secret)) {
      problems.push(`the body echoes a secret the request sent (${JSON.stringify(secret.slice(0, 40))}…)`)
    }
  }
  if (req.method === 'HEAD' || status === 204) return problems
  // The API documentation page is HTML (and its assets whatever they are).
  if (req.url.startsWith('/docs') && status < 400) return problems
  if (!/^application\/json/.test(String(res.headers['content-type'] ?? ''))) {
    problems.push(`content-type ${String(res.headers['content-type'])}`)
  }
  let body: unknown
  try {
    body = JSON.parse(res.body)
  } catch {
    problems.push('the body is not JSON')
    return problems
  }
  const record = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null
  if (status >= 400) {
    if (!record) {
      problems.push('an error body that is not an object')
      return problems
    }
    const { error, errorCode, errorDescription } = record
    if (!isErrorCode(errorCode)) problems.push(`errorCode ${JSON.stringify(errorCode)} is not in the registry`)
    if (error !== errorCode) problems.push(`error ${JSON.stringify(error)} differs from errorCode ${JSON.stringify(errorCode)}`)
    if (typeof errorDescription !== 'string' || errorDescription.length === 0) problems.push('no errorDescription')
    if (isErrorCode(errorCode) && errorCodes[errorCode].status !== status) {
      problems.push(`status ${status} with ${errorCode}, which the registry sends as ${errorCodes[errorCode].status}`)
    }
  } else if (req.url.startsWith('/v1/client/') && record && 'error' in record) {
    // The browser SDK takes any body with an `error` key as an error.
    problems.push('a successful Client API body with an error key')
  }
  return problems
}

let h: Harness
const logLines: string[] = []

/** Status (and code) counts per route, to check that the fuzz reaches the domain. */
const tallies = new Map<string, Map<string, number>>()

async function send(name: string, req: FuzzRequest): Promise<void> {
  logLines.length = 0
  const res = await h.inject({
    method: req.method,
    url: req.url,
    headers: req.headers,
    ...(req.payload !== undefined ? { payload: req.payload } : {}),
  })
  const outcome = `${res.statusCode} ${codeOf(res) ?? ''}`.trim()
  const tally = tallies.get(name) ?? new Map<string, number>()
  tally.set(outcome, (tally.get(outcome) ?? 0) + 1)
  tallies.set(name, tally)
  const problems = violations(req, res)
  if (problems.length > 0) {
    const logged = logLines.map((line) => line.slice(0, 1500)).join('\n')
    throw new Error(
      [
        problems.join('; '),
        `request: ${describeRequest(req)}`,
        `response: ${res.statusCode} ${res.body.slice(0, 500)}`,
        ...(logged ? [`server log:\n${logged}`] : []),
      ].join('\n'),
    )
  }
}

function codeOf(res: LightMyRequestResponse): string | undefined {
  try {
    const body = JSON.parse(res.body) as { errorCode?: unknown }
    return typeof body?.errorCode === 'string' ? body.errorCode : undefined
  } catch {
    return undefined
  }
}

function describeRequest(req: FuzzRequest): string {
  const payload =
    req.payload === undefined
      ? 'no body'
      : Buffer.isBuffer(req.payload)
        ? `bytes ${req.payload.subarray(0, 200).toString('hex')}`
        : JSON.stringify(req.payload.slice(0, 400)) + (req.payload.length > 400 ? `… (${req.payload.length} chars)` : '')
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, v.length > 200 ? `${v.slice(0, 200)}…` : v]))
  return `${req.method} ${req.url.length > 300 ? `${req.url.slice(0, 300)}…` : req.url} ${JSON.stringify(headers)} ${payload}`
}

/**
 * Runs `RUNS` generated requests against one route. The seed is derived from FUZZ_SEED and the
 * route's name, so each route explores its own sequence and one variable reproduces them all.
 */
async function fuzz(name: string, requests: Arbitrary<FuzzRequest>): Promise<void> {
  const seed = (SEED ^ hash(name)) | 0
  const details = await fc.check(
    fc.asyncProperty(requests, (req) => send(name, req)),
    { numRuns: RUNS, seed },
  )
  if (details.failed) {
    // The violation names the (shrunk) request; fast-check's own report would repeat it in full.
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
    throw new Error(
      `Fuzzing ${name} found a violation after ${details.numRuns} runs (shrunk ${details.numShrinks} times). Reproduce with\n` +
        `  FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npx vitest run --project integration:pglite packages/server/test/fuzz.test.ts\n` +
        `or, faster (without the state earlier routes left behind), add -t '${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'\n` +
        `(fast-check seed ${details.seed}, path ${JSON.stringify(details.counterexamplePath)})\n${cause}`,
    )
  }
  if (RUNS >= 100) {
    // A fuzz that never gets past authentication and the schemas tests only those.
    const tally = tallies.get(name) ?? new Map<string, number>()
    const reached = [...tally].some(([key]) => {
      const [status, code] = key.split(' ')
      return Number(status) < 300 || (code !== undefined && !GATE_CODES.has(code))
    })
    expect(reached, `${name} never reached the domain: ${JSON.stringify(Object.fromEntries(tally))}`).toBe(true)
  }
  if (process.env.FUZZ_VERBOSE) console.info(name, Object.fromEntries(tallies.get(name) ?? []))
}

function hash(text: string): number {
  let value = 0x811c9dc5
  for (const char of text) value = Math.imul(value ^ char.codePointAt(0)!, 0x01000193)
  return value >>> 0
}

// ---------------------------------------------------------------------------------------
// Generators of hostile values
// ---------------------------------------------------------------------------------------

const UNITS = [
  'a', 'Z', '0', '-', '_', '.', '/', '\\', '%', '+', '=', ' ', ':', ',', '@', '?', '#', '&',
  '\u0000', '\u0001', '\u001f', '\u007f', '\u0085', '\u00a0', 'é', '\ud800', '\udc00', '\u202e',
  '\u2028', '\ufeff', '\uffff', '🙂', '\n', '\t', '"', "'", '<', '`', '$', '{',
]
const NASTY = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '\u202e', '\ufeff', '🙂', 'null', 'undefined', 'true',
  '0', '-1', '1e309', 'NaN', '__proto__', 'constructor', 'hasOwnProperty', '..', '.', '/', '%', '%00', '%zz',
  '%ff', '\\', '<script>alert(1)</script>', "' OR '1'='1", '${jndi:ldap://x}', '\r\n', '\t', '\u0085', '\u2028',
  '2024-02-30T00:00:00Z', '-0', '０', 'İ', 'ß', '\u{10ffff}',
]
const BOUNDARIES = [1, 32, 33, 35, 36, 64, 65, 91, 128, 129, 255, 256, 320, 321, 512, 513, 1024, 1025, 2048, 2049, 4097, 8193, 16385]

const weird = fc.string({ unit: fc.constantFrom(...UNITS), maxLength: 40 })
const long = fc
  .tuple(fc.constantFrom(...BOUNDARIES), fc.constantFrom('a', 'é', '🙂', '\u0000', '%', ' ', '\ud800'))
  .map(([n, c]) => c.repeat(n))
/** Strings a careful server must survive. */
const nasty: Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: weird },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: long },
)
/** Any JSON value, mostly of the wrong type for whatever field it lands in. */
const anyJson: Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nasty },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 1e308, 2 ** 53 + 2, 2 ** 31, 0.5)) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }) },
  { weight: 1, arbitrary: fc.array(nasty, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(nasty, nasty, { maxKeys: 3 }) },
)
/** Text a real HTTP client can put in a header value (visible Latin-1, space, tab). */
const headerText = fc.string({
  unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff }), fc.constant(0x09)).map((c) => String.fromCharCode(c)),
  maxLength: 80,
})
const randomBase64 = (maxLength: number) => fc.uint8Array({ maxLength }).map((bytes) => Buffer.from(bytes).toString('base64'))
const randomBase64Url = (maxLength: number) => fc.uint8Array({ maxLength }).map((bytes) => Buffer.from(bytes).toString('base64url'))

/** Percent-encodes every byte that is not unreserved (lone surrogates become U+FFFD, as in any UTF-8 client). */
function pct(text: string): string {
  return Array.from(Buffer.from(text, 'utf8'), (b) =>
    /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
  ).join('')
}

/** Path segments exactly as they may arrive: bad escapes, overlong UTF-8, encoded slashes and dots. */
const RAW_SEGMENTS = [
  '..', '.', '%2e%2e', '%2E', '%2F', 'a%2Fb', '%00', '%ff', '%FE%FF', '%C0%AE', '%C0%80', '%ED%A0%80', '%F0%9F', '%',
  '%z', '%%', 'a%', '%E2%80%AE', ';x', '*', '~', '%20', '+', '%2B', 'a%00b', '%u0041', '%0a', '%0d%0a', '%5C',
]
function segment(valid: Arbitrary<string>): Arbitrary<string> {
  return fc.oneof(
    { weight: 10, arbitrary: valid.map(pct) },
    { weight: 2, arbitrary: nasty.map(pct) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...RAW_SEGMENTS), valid.map(pct)).map(([a, b]) => b + a) },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 1200 }).map((n) => 'a'.repeat(n)) },
    { weight: 1, arbitrary: fc.integer({ min: 60, max: 300 }).map((n) => '%F0%9F%99%82'.repeat(n)) },
  )
}

/** A query string from named parameters with valid or hostile values, repeats and bad escapes. */
function queryString(params: Record<string, Arbitrary<string>>): Arbitrary<string> {
  const names = Object.keys(params)
  const pair = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(...names)
        .chain((name) => fc.tuple(fc.constant(name), fc.oneof({ weight: 3, arbitrary: params[name]! }, { weight: 1, arbitrary: nasty })))
        .map(([k, v]) => `${pct(k)}=${pct(v)}`),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...names), fc.constantFrom(...RAW_SEGMENTS)).map(([k, v]) => `${k}=${v}`) },
    { weight: 1, arbitrary: fc.constantFrom(...names, '__proto__', 'constructor', '', '=', '&', 'a[b]=c', 'x=1=2') },
    { weight: 1, arbitrary: fc.tuple(nasty, nasty).map(([k, v]) => `${pct(k)}=${pct(v)}`) },
  )
  return fc.array(pair, { maxLength: 6 }).map((pairs) => (pairs.length === 0 ? '' : `?${pairs.join('&')}`))
}

interface Body {
  payload?: string | Buffer
  contentType?: string
}

const CONTENT_TYPES = [
  'application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset=latin1',
  'application/json; charset=utf-16', 'APPLICATION/JSON', 'application/json;', 'application/json; boundary=x',
  'application/vnd.api+json', 'application/problem+json', 'text/json', 'text/plain', 'text/html',
  'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/octet-stream',
  'application/xml', '*/*', 'application/*', 'application', '/', ';', 'application/json, text/plain',
  'application/json\tx', ' application/json',
]
const RAW_BODIES = [
  '', ' ', '{', '}', '[', '{"a":', '{"a":1,}', "{'a':1}", 'nul', 'NaN', '-', '1e99999', '"\\ud800"', '"\\u0000"',
  '{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"isAdmin":true}}}', '\ufeff{}', '{}\u0000', '{} {}',
  '{"publicKey":"a","publicKey":"b"}', '[]', 'null', 'true', '0', '"text"', '{"a":"\\x41"}', '{"a":"\\uZZZZ"}',
  '{"a":1e400}', '{"a":-0}', '{"custom":{"\\u0000":"\\u0000"}}', '{"custom":{"a":"\\udfff"}}', '{"\u0000":1}',
]
const rawBody: Arbitrary<string | Buffer> = fc.oneof(
  fc.constantFrom(...RAW_BODIES),
  weird,
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  // Invalid UTF-8 inside an otherwise valid JSON string.
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((bytes) => Buffer.concat([Buffer.from('{"displayName":"'), Buffer.from(bytes.map((b) => b | 0x80)), Buffer.from('"}')])),
)

const json = (value: unknown): string => JSON.stringify(value) ?? 'null'

type Fields = Record<string, Arbitrary<unknown>>

/** A field's value: usually valid, otherwise a hostile string or a value of the wrong type. */
function field(valid: Arbitrary<unknown>): Arbitrary<unknown> {
  return fc.oneof({ weight: 5, arbitrary: valid }, { weight: 2, arbitrary: nasty }, { weight: 1, arbitrary: anyJson })
}

function assign(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  // defineProperty keeps `__proto__` an own key (plain assignment would set the prototype).
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true })
  return target
}

/**
 * JSON bodies built from the route's real field names: valid ones, valid but for one field,
 * every field hostile, any JSON at all, text that is not JSON, very deep nesting, none.
 */
function jsonBody(fields: Fields, required: string[] = [], valid?: Arbitrary<Record<string, unknown>>): Arbitrary<Body> {
  const names = Object.keys(fields)
  const validBody = valid ?? fc.record(fields, { requiredKeys: required as never[] }).map((b) => ({ ...(b as Record<string, unknown>) }))
  const hostileBody = fc
    .tuple(
      fc.record(Object.fromEntries(names.map((n) => [n, field(fields[n]!)])), { requiredKeys: [] }),
      fc.option(fc.dictionary(nasty, anyJson, { maxKeys: 2 }), { freq: 4 }),
    )
    .map(([body, extra]) => {
      const target: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(extra ?? {})) assign(target, k, v)
      for (const [k, v] of Object.entries(body)) assign(target, k, v)
      return target
    })
  const oneFieldWrong = fc
    .tuple(validBody, fc.constantFrom(...names), fc.option(fc.oneof(nasty, anyJson), { freq: 5, nil: undefined }))
    .map(([body, name, value]) => {
      const copy: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(body)) assign(copy, k, v)
      if (value === undefined) delete copy[name]
      else assign(copy, name, value)
      return copy
    })
  const deep = fc
    .tuple(fc.constantFrom(...names, 'custom'), fc.integer({ min: 1, max: 30_000 }), fc.boolean())
    .map(([name, depth, arrays]) =>
      arrays
        ? `{${JSON.stringify(name)}:${'['.repeat(depth)}${']'.repeat(depth)}}`
        : `{${JSON.stringify(name)}:${'{"a":'.repeat(Math.min(depth, 10_000))}1${'}'.repeat(Math.min(depth, 10_000))}}`,
    )
  const deepCustom = fc
    .integer({ min: 1, max: 20_000 })
    .map((depth) => `{"custom":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`)
  const payload: Arbitrary<string | Buffer | undefined> = fc.oneof(
    { weight: 5, arbitrary: validBody.map(json) },
    { weight: 4, arbitrary: oneFieldWrong.map(json) },
    { weight: 3, arbitrary: hostileBody.map(json) },
    { weight: 1, arbitrary: fc.jsonValue({ stringUnit: 'binary' }).map(json) },
    { weight: 1, arbitrary: rawBody },
    { weight: 1, arbitrary: fc.oneof(deep, deepCustom) },
    { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 70_000 }).map((n) => json({ [names[0] ?? 'a']: 'x'.repeat(n) })) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  )
  const contentType = fc.oneof(
    { weight: 24, arbitrary: fc.constant('application/json') },
    { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    { weight: 1, arbitrary: headerText },
    { weight: 1, arbitrary: fc.constant(undefined) },
  )
  return fc.tuple(payload, contentType).map(([p, c]) => ({
    ...(p !== undefined ? { payload: p } : {}),
    ...(c !== undefined ? { contentType: c } : {}),
  }))
}

/** A GET or DELETE usually has no body; sometimes it has one anyway. */
const noBody: Arbitrary<Body> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constant({ payload: '', contentType: 'application/json' }) },
  { weight: 1, arbitrary: fc.tuple(rawBody, fc.constantFrom('application/json', 'text/plain')).map(([payload, contentType]) => ({ payload, contentType })) },
)

/** Secret-bearing fields a body may carry. */
function bodySecrets(payload: string | Buffer | undefined): string[] {
  if (typeof payload !== 'string') return []
  try {
    const body = JSON.parse(payload) as Record<string, unknown>
    if (typeof body !== 'object' || body === null) return []
    const attestation = body.performAttestation as Record<string, unknown> | undefined
    return [body.token, body.signature, body.pushToken, attestation?.token].filter((v): v is string => typeof v === 'string')
  } catch {
    return []
  }
}

function authSecrets(authorization: string | undefined): string[] {
  if (!authorization) return []
  const [scheme = '', ...rest] = authorization.trim().split(/\s+/)
  const credentials = rest.join(' ')
  if (scheme.toLowerCase() !== 'basic') return [authorization, credentials]
  // Basic carries a secret key (Server API) or the tenant ID, which is public (Client API).
  const username = Buffer.from(credentials, 'base64').toString('utf8').split(':')[0] ?? ''
  return /^cs_[a-z]{2}_/.test(username) ? [authorization, credentials, username] : [authorization]
}

function build(
  method: Method,
  url: string,
  auth: string | undefined,
  body: Body,
  extraHeaders: Record<string, string | undefined> = {},
): FuzzRequest {
  const headers: Record<string, string> = {}
  if (auth !== undefined) headers.authorization = auth
  if (body.contentType !== undefined) headers['content-type'] = body.contentType
  for (const [k, v] of Object.entries(extraHeaders)) if (v !== undefined) headers[k] = v
  return {
    method,
    url,
    headers,
    ...(body.payload !== undefined ? { payload: body.payload } : {}),
    secrets: [...authSecrets(auth), ...bodySecrets(typeof body.payload === 'string' ? body.payload : undefined)],
  }
}

// ---------------------------------------------------------------------------------------
// Fixtures: a tenant with users, an enrolled device, tracked actions, tokens and challenges
// ---------------------------------------------------------------------------------------

interface Fixtures {
  api: TenantApi
  other: TenantApi
  /** Basic with the tenant's real secret key. */
  secretBasic: string
  /** Other Server API credentials: odd spellings of the real key, wrong keys, wrong kinds. */
  serverAuthVariants: string[]
  /** The tenant ID in every Basic form the SDKs send, and some they do not. */
  tenantBasics: string[]
  /** Real tokens of several kinds (default scope, add scope, used, expired, from the future, another tenant's). */
  tokens: string[]
  userIds: string[]
  actionCodes: string[]
  idempotencyKeys: string[]
  credentialIds: string[]
  devices: TestDevice[]
  /** Real challenge IDs: for a token's action, for a named action, without one, expired, another tenant's. */
  challengeIds: string[]
  /** challengeId, publicKey and the device's signature over it. */
  verifyTriples: Array<{ challengeId: string; publicKey: string; signature: string }>
  /** publicKey and the device's signature over an accepted time bucket. */
  removePairs: Array<{ publicKey: string; signature: string }>
  /** The enrolled keys as the query string carries them (double base64, base64url, `+` as space, single). */
  queryKeys: string[]
  /** Requests that succeed the first time they are sent; the fuzz sends them as they are or changed. */
  valid: {
    verify: ValidCase[]
    remove: Array<ValidCase & { namespace: string }>
    add: ValidCase[]
  }
}

interface ValidCase {
  auth: string
  body: Record<string, unknown>
}

let fx: Fixtures

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64')
const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url')

beforeAll(async () => {
  h = await createHarness({ LOG_LEVEL: 'error' }, { logLines })
  const tenant = await h.newTenant()
  const api = tenantApi(h, tenant)
  const other = tenantApi(h, await h.newTenant())

  const enrolledUser = uniqueId('fuzz-enrolled')
  const enrolled = await api.enroll(enrolledUser)
  const removable = await api.enroll(uniqueId('fuzz-removable'), { namespace: 'device' })
  const foreign = await other.enroll(uniqueId('fuzz-foreign'))
  const spare = newDevice()
  const devices = [enrolled.device, removable.device, foreign.device, spare]

  // User IDs that are valid but awkward in a path.
  const awkwardUsers = ['ünïcødé 🙂', 'with spaces', 'a/b', '%2F', 'x'.repeat(255), "o'brien", '"quoted"', '..a', 'back\\slash', '?#&']
  for (const userId of awkwardUsers) await api.track(userId, 'signIn', { email: 'a@b.test', custom: { k: 'v' } })
  const userIds = [enrolledUser, removable.credential.userId, ...awkwardUsers]

  const tracked = [await api.track(enrolledUser), await api.track(enrolledUser), await api.track(enrolledUser, 'withdraw')]
  const addToken = (await api.track(uniqueId('fuzz-add'), 'addAuthenticator', { scope: 'add:authenticators' })).token
  const addTokenEnrolled = (await api.track(enrolledUser, 'addAuthenticator', { scope: 'add:authenticators remove:authenticators' })).token
  // Completed by the enrolled device: this one may add a second device.
  const approvedAdd = await api.track(enrolledUser, 'addAuthenticator', { scope: 'add:authenticators' })
  const approvedChallenge = await api.challenge(bearer(approvedAdd.token))
  const approvedToken = expectClientOk(await api.verify(bearer(approvedAdd.token), approvedChallenge, enrolled.device)).token
  const fresh = (await api.track(uniqueId('fuzz-fresh'))).token
  const used = await api.track(uniqueId('fuzz-used'))
  expectOk(await api.server('POST', '/v1/validate', { token: used.token }))
  const goneUser = uniqueId('fuzz-gone')
  const gone = await api.track(goneUser)
  expectOk(await api.server('DELETE', `/v1/users/${goneUser}`), 204)
  const context = (await h.deps.tenants.find(tenant.tenantId, h.clock()))!
  const subject = { userId: enrolledUser, actionCode: 'authorizePayment', idempotencyKey: tracked[0]!.idempotencyKey, scope: 'read:authenticators' }
  const expired = context.tokens.sign(subject, h.clock() - 3_600_000, 600).token
  const future = context.tokens.sign(subject, h.clock() + 3_600_000, 600).token
  const foreignToken = (await other.track(foreign.credential.userId)).token
  const tokens = [...tracked.map((t) => t.token), addToken, addTokenEnrolled, approvedToken, fresh, used.token, gone.token, expired, future, foreignToken]

  const challengeIds = [
    ...(await Promise.all(tracked.map((t) => api.challenge(bearer(t.token))))),
    await api.challenge(api.tenantBasic, 'authorizePayment'),
    await api.challenge(api.tenantBasic, 'authorizePayment'),
    await api.challenge(api.tenantBasic, 'signIn'),
    await api.challenge(api.tenantBasic),
    await other.challenge(other.tenantBasic, 'authorizePayment'),
    issueChallengeId(context.challengeKey, tenant.tenantId, new Date(h.clock() - 1000), 'authorizePayment').challengeId,
  ]
  const tenantBasicForms = [`Basic ${b64(`${tenant.tenantId}:`)}`, `Basic ${b64url(`${tenant.tenantId}:`)}`, `Basic ${b64(encodeURIComponent(tenant.tenantId))}`]
  const verifyCases: ValidCase[] = [
    ...challengeIds.slice(0, tracked.length).map((challengeId, i) => ({
      auth: bearer(tracked[i]!.token),
      body: { challengeId, publicKey: enrolled.device.publicKey, signature: enrolled.device.sign(challengeId) },
    })),
    ...(await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const auth = tenantBasicForms[i % 3]!
        const challengeId = await api.challenge(auth, 'authorizePayment')
        const device = i % 2 === 0 ? enrolled.device : removable.device
        return { auth, body: { challengeId, publicKey: device.publicKey, signature: device.sign(challengeId) } }
      }),
    )),
  ]
  const removeCases = [
    ...acceptedTimeBucketMessages(h.clock()).map((message, i) => ({
      auth: tenantBasicForms[i % 3]!,
      namespace: 'device',
      body: { publicKey: removable.device.publicKey, signature: removable.device.sign(message) },
    })),
    { auth: tenantBasicForms[0]!, namespace: 'in-app', body: { publicKey: spare.publicKey, signature: spare.sign(acceptedTimeBucketMessages(h.clock())[0]!) } },
  ]
  // Each user's first device may be added with a default token.
  const addCases: ValidCase[] = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const { token } = await api.track(uniqueId('fuzz-first'))
      return { auth: bearer(token), body: { publicKey: newDevice().publicKey, deviceName: 'Pixel 8', devicePlatform: 'android' } }
    }),
  )
  addCases.push({ auth: bearer(approvedToken), body: { publicKey: newDevice().publicKey, deviceName: 'iPhone', devicePlatform: 'ios' } })
  const verifyTriples = challengeIds.flatMap((challengeId) =>
    devices.map((device) => ({ challengeId, publicKey: device.publicKey, signature: device.sign(challengeId) })),
  )
  const removePairs = devices.flatMap((device) =>
    acceptedTimeBucketMessages(h.clock()).map((message) => ({ publicKey: device.publicKey, signature: device.sign(message) })),
  )
  const queryKeys = devices.flatMap((device) => [
    b64url(device.publicKey),
    b64(device.publicKey),
    b64(device.publicKey).replace(/\+/g, ' '),
    device.publicKey,
  ])

  const revoked = await createApiKey(h.database.db, tenant.tenantId, 'secret', 'fuzz-revoked')
  await h.deps.tenants.revokeKey(tenant.tenantId, revoked.keyId, new Date(h.clock()))
  const secret = tenant.secretKey
  const serverAuthVariants = [
    `basic ${b64(`${secret}:`)}`,
    `BASIC   ${b64(`${secret}:`)}  `,
    `Basic ${b64url(`${secret}:`)}`,
    `Basic ${b64(secret)}`,
    `Basic ${b64(`${secret}:password`)}`,
    `Basic ${b64(`${secret}:`).replace(/=+$/, '')}`,
    `Basic ${secret}`,
    `Bearer ${secret}`,
    basicAuth(tenant.managementKey),
    basicAuth(other.tenant.secretKey),
    basicAuth(revoked.key),
    basicAuth(tenant.tenantId),
    basicAuth(secret.toUpperCase()),
    bearer(tracked[0]!.token),
    `Basic ${b64(`${secret}:`)}, Basic ${b64(`${secret}:`)}`,
  ]
  const tenantId = tenant.tenantId
  const tenantBasics = [
    `Basic ${b64(`${tenantId}:`)}`,
    `Basic ${b64url(`${tenantId}:`)}`,
    `Basic ${b64(encodeURIComponent(tenantId))}`,
    `Basic ${b64(tenantId)}`,
    `basic ${b64(`${tenantId}:`)}`,
    `Basic ${b64(`${tenantId.toUpperCase()}:`)}`,
    `Basic ${b64(`${tenantId}:x`)}`,
    `Basic ${b64(`${other.tenant.tenantId}:`)}`,
    `Basic ${b64(`${secret}:`)}`,
    `Basic ${b64('%:')}`,
    `Basic ${b64('%E0%A4%A:')}`,
    `Basic ${b64('\u0000:')}`,
  ]

  fx = {
    api,
    other,
    secretBasic: basicAuth(secret),
    serverAuthVariants,
    tenantBasics,
    tokens,
    userIds,
    actionCodes: ['authorizePayment', 'signIn', 'withdraw', 'addAuthenticator'],
    idempotencyKeys: [...tracked.map((t) => t.idempotencyKey), used.idempotencyKey],
    credentialIds: [enrolled.credential.userAuthenticatorId, removable.credential.userAuthenticatorId, foreign.credential.userAuthenticatorId],
    devices,
    challengeIds,
    verifyTriples,
    removePairs,
    queryKeys,
    valid: { verify: verifyCases, remove: removeCases, add: addCases },
  }
}, 120_000)

afterAll(() => h.close())

// ---------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------

const b64json = (value: unknown) => Buffer.from(json(value)).toString('base64url')

/** Tokens that look like JWTs: random parts, `alg: none`, our claim names with odd values, tampered real tokens. */
function jwtJunk(): Arbitrary<string> {
  const tenantIds = [fx.api.tenant.tenantId, fx.other.tenant.tenantId]
  const header = fc.oneof(
    fc.constantFrom(
      { alg: 'none', typ: 'JWT' }, { alg: 'None', typ: 'JWT' }, { alg: 'NONE' }, { alg: 'HS256', typ: 'JWT' },
      { alg: 'HS256', typ: 'JWT', kid: '../../../dev/null' }, { alg: 'HS256', typ: 'JWT', jku: 'http://evil.test/jwks' },
      { alg: 'RS256', typ: 'JWT' }, { alg: 'ES256', typ: 'JWT' }, { alg: 'HS512', typ: 'JWT' }, { alg: 'HS256', typ: 'JWS', crit: ['exp'] },
      { alg: 'HS256', typ: 'JWT', b64: false },
    ),
    fc.jsonValue({ maxDepth: 2 }),
  )
  const now = Math.floor(Date.now() / 1000)
  const claims = fc.record(
    {
      sub: field(fc.constantFrom(...fx.userIds)),
      iss: field(fc.constant('http://countersign.test')),
      aud: field(fc.oneof(fc.constantFrom(...tenantIds), fc.constant(tenantIds))),
      iat: field(fc.integer({ min: now - 1000, max: now + 1000 })),
      exp: field(fc.integer({ min: now, max: now + 10_000 })),
      jti: field(fc.uuid()),
      scope: field(fc.constantFrom('read:authenticators', 'add:authenticators')),
      other: field(
        fc.record({
          tenantId: field(fc.constantFrom(...tenantIds)),
          userId: field(fc.constantFrom(...fx.userIds)),
          actionCode: field(fc.constantFrom(...fx.actionCodes)),
          idempotencyKey: field(fc.constantFrom(...fx.idempotencyKeys)),
        }, { requiredKeys: [] }),
      ),
    },
    { requiredKeys: [] },
  )
  const real = fc.constantFrom(...fx.tokens)
  const signature = fc.oneof(fc.constant(''), randomBase64Url(64), real.map((t) => t.split('.')[2] ?? ''), headerText)
  return fc.oneof(
    fc.tuple(header, fc.oneof(claims, fc.jsonValue({ maxDepth: 2 })), signature).map(([hd, p, s]) => `${b64json(hd)}.${b64json(p)}.${s}`),
    // A real token's claims under alg none, or re-signed by nobody.
    real.map((t) => `${b64json({ alg: 'none', typ: 'JWT' })}.${t.split('.')[1]}.`),
    fc.tuple(real, claims).map(([t, p]) => {
      const [hd, payload, s] = t.split('.')
      const merged = { ...(JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as object), ...(p as object) }
      return `${hd}.${b64json(merged)}.${s}`
    }),
    fc.tuple(real, fc.nat(), fc.constantFrom('a', 'B', '-', '_', '.', '=', '%')).map(([t, i, c]) => {
      const at = i % t.length
      return t.slice(0, at) + c + t.slice(at + 1)
    }),
    fc.tuple(real, fc.nat()).map(([t, i]) => t.slice(0, i % t.length)),
    fc.tuple(real, headerText).map(([t, junk]) => t + junk),
    fc.array(randomBase64Url(40), { maxLength: 5 }).map((parts) => parts.join('.')),
    fc.integer({ min: 8000, max: 9000 }).map((n) => `${b64json({ alg: 'HS256', typ: 'JWT' })}.${'A'.repeat(n)}.x`),
  )
}

/** Authorization values no tenant issued. */
function junkAuth(): Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.constantFrom('', 'Basic', 'Basic ', 'Bearer', 'Bearer ', 'Basic ====', 'Basic Og==', 'Basic Og', 'basic Og==', 'Digest x',
      'Negotiate YII=', 'Basic\tabc', 'Bearer  a.b.c', 'Bearer null', 'Bearer undefined', 'Basic null', 'Bearer .', 'Bearer ..', 'Basic %%%'),
    headerText.map((s) => `Basic ${s}`),
    headerText.map((s) => `Bearer ${s}`),
    headerText,
    randomBase64(900).map((s) => `Basic ${s}`),
    randomBase64Url(80).map((s) => `Bearer ${s}`),
    nasty.map((s) => basicAuth(s)),
    jwtJunk().map((t) => `Bearer ${t}`),
  )
}

/** The real secret key with a change: junk around it, truncated, one character replaced. */
function mutatedSecret(): Arbitrary<string> {
  const key = fx.api.tenant.secretKey
  return fc.oneof(
    fc.tuple(fc.nat(), nasty).map(([i, s]) => key.slice(0, i % key.length) + s + key.slice(i % key.length)),
    fc.nat().map((i) => key.slice(0, i % key.length)),
    fc.tuple(fc.nat(), fc.constantFrom('A', 'z', '0', '-', '_', '.', '/', '+')).map(([i, c]) => key.slice(0, i % key.length) + c + key.slice((i % key.length) + 1)),
    nasty.map((s) => key + s),
  )
}

/** Server API: mostly the tenant's real secret key, so requests reach the domain. */
function serverAuth(): Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 16, arbitrary: fc.constant(fx.secretBasic) },
    { weight: 1, arbitrary: fc.constantFrom(...fx.serverAuthVariants) },
    { weight: 1, arbitrary: mutatedSecret().map(basicAuth) },
    { weight: 2, arbitrary: junkAuth() },
  )
}

/** Client API: the tenant ID in Basic or a real token, sometimes junk. */
function clientAuth(preferBearer = false): Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: preferBearer ? 2 : 6, arbitrary: fc.constantFrom(...fx.tenantBasics.slice(0, 3)) },
    { weight: 1, arbitrary: fc.constantFrom(...fx.tenantBasics) },
    { weight: preferBearer ? 8 : 4, arbitrary: fc.constantFrom(...fx.tokens).map(bearer) },
    { weight: 2, arbitrary: junkAuth() },
  )
}

/**
 * A request that succeeds the first time (its own credentials and body), sent as it is or
 * with one field changed: after the first success it exercises the single-use refusals.
 */
function validCase(cases: ValidCase[], fields: Fields, required: string[]): Arbitrary<{ auth: string; body: Body }> {
  return fc
    .constantFrom(...cases)
    .chain((c) => fc.record({ auth: fc.constant(c.auth), body: jsonBody(fields, required, fc.constant({ ...c.body })) }))
}

/** X-Authsignal-Tenant-ID, when sent: usually the right tenant. */
function tenantHeader(): Arbitrary<string | undefined> {
  return fc.option(fc.oneof(fc.constant(fx.api.tenant.tenantId), fc.constant(fx.other.tenant.tenantId), headerText), { freq: 4, nil: undefined })
}

// ---------------------------------------------------------------------------------------
// Path values
// ---------------------------------------------------------------------------------------

const userIdArb = () =>
  segment(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...fx.userIds) }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) }))
const actionArb = () =>
  segment(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...fx.actionCodes) }, { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_-]{1,64}$/) }))
const idempotencyKeyArb = () => segment(fc.oneof(fc.constantFrom(...fx.idempotencyKeys), fc.uuid()))
const namespaceArb = () => segment(fc.constantFrom('in-app', 'device', 'push', 'qr-code'))
/** UUIDs, and strings that are almost one (36 hex digits, dashes only, upper case). */
const uuidLike = fc.oneof(
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF-'), minLength: 36, maxLength: 36 }),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 36 }),
  fc.uuid().map((u) => `{${u}}`.slice(0, 36)),
)

// ---------------------------------------------------------------------------------------
// Body fields of each route
// ---------------------------------------------------------------------------------------

const STATES = ['ALLOW', 'BLOCK', 'CHALLENGE_REQUIRED', 'CHALLENGE_SUCCEEDED', 'CHALLENGE_FAILED', 'REVIEW_REQUIRED', 'REVIEW_SUCCEEDED', 'REVIEW_FAILED']
const customData = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.dictionary(nasty, anyJson, { maxKeys: 3 }),
)
const email = fc.oneof(fc.emailAddress(), fc.constant('a@b.test'))
const phoneNumber = fc.stringMatching(/^\+[1-9][0-9]{6,14}$/)
const locale = fc.constantFrom('en', 'en-US', 'de-CH', 'zh-Hant-TW', 'x'.repeat(35))

function trackFields(): Fields {
  return {
    idempotencyKey: fc.oneof(fc.uuid(), fc.constantFrom(...fx.idempotencyKeys), fc.stringMatching(/^[\x21-\x7e]{1,255}$/)),
    redirectUrl: fc.oneof(fc.webUrl(), fc.constantFrom('javascript:alert(1)', 'http://a.test/\u0000', 'https://x.test/a?b=c#d', 'data:text/html,x', 'http://[::1]:80/', 'https://ü.test/🙂')),
    redirectToSettings: fc.boolean(),
    ipAddress: fc.oneof(fc.ipV4(), fc.ipV6()),
    userAgent: fc.string({ maxLength: 100 }),
    deviceId: fc.uuid(),
    scope: fc.constantFrom('read:authenticators', 'add:authenticators', 'read:authenticators add:authenticators', '', '  ', 'admin', 'add:authenticators\tremove:authenticators'),
    email,
    phoneNumber,
    username: fc.string({ unit: 'grapheme', maxLength: 40 }),
    custom: customData,
    locale,
  }
}

function userFields(): Fields {
  return {
    email,
    emailVerified: fc.boolean(),
    phoneNumber,
    phoneNumberVerified: fc.boolean(),
    username: fc.string({ unit: 'grapheme', maxLength: 40 }),
    displayName: fc.string({ unit: 'grapheme', maxLength: 40 }),
    custom: customData,
    locale,
  }
}

const publicKeyValue = () =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...fx.devices.map((d) => d.publicKey)) },
    { weight: 2, arbitrary: randomBase64(120) },
    // An SPKI prefix with a random point: almost never on the curve.
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 64, maxLength: 64 }).map((p) => Buffer.concat([Buffer.from(fx.devices[0]!.publicKey, 'base64').subarray(0, 27), p]).toString('base64')) },
    { weight: 1, arbitrary: fc.constantFrom(...fx.devices.map((d) => Buffer.from(d.publicKey, 'base64').toString('base64url'))) },
  )
const signatureValue = () =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...fx.verifyTriples.map((t) => t.signature)) },
    { weight: 2, arbitrary: randomBase64(80) },
    // DER-shaped: SEQUENCE of two INTEGERs of random bytes.
    { weight: 2, arbitrary: fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 33 }), fc.uint8Array({ minLength: 1, maxLength: 33 })).map(([r, s]) => {
      const int = (b: Uint8Array) => Buffer.concat([Buffer.from([0x02, b.length]), b])
      const inner = Buffer.concat([int(r), int(s)])
      return Buffer.concat([Buffer.from([0x30, inner.length]), inner]).toString('base64')
    }) },
  )
const challengeIdValue = () =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...fx.challengeIds) },
    { weight: 2, arbitrary: randomBase64Url(120) },
    // Version 1, a plausible header, a wrong MAC.
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 38, maxLength: 90 }).map((b) => Buffer.concat([Buffer.from([1]), b]).toString('base64url')) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...fx.challengeIds), fc.nat()).map(([c, i]) => c.slice(0, i % c.length) + (c[i % c.length] === 'A' ? 'B' : 'A') + c.slice((i % c.length) + 1)) },
  )

// ---------------------------------------------------------------------------------------
// The routes
// ---------------------------------------------------------------------------------------

describe('fuzz: Server API (secret key)', () => {
  it('POST /v1/users/:userId/actions/:action (track)', { timeout: TIMEOUT_MS }, async ({ task }) => {
    await fuzz(
      task.name,
      fc
        .record({ auth: serverAuth(), userId: userIdArb(), action: actionArb(), body: jsonBody(trackFields()) })
        .map((r) => build('POST', `/v1/users/${r.userId}/actions/${r.action}`, r.auth, r.body)),
    )
  })

  it('GET /v1/users/:userId/actions/:action/:idempotencyKey', { timeout: TIMEOUT_MS }, async ({ task }) => {
    await fuzz(
      task.name,
      fc
        .record({ auth: serverAuth(), userId: userIdArb(), action: actionArb(), key: idempotencyKeyArb(), query: queryString({ x: nasty }), body: noBody })
        .map((r) => build('GET', `/v1/users/${r.userId}/actions/${r.action}/${r.key}${r.query}`, r.auth, r.body)),
    )
  })

  it('PATCH /v1/users/:userId/actions/:action/:idempotencyKey', { timeout: TIMEOUT_MS }, async ({ task }) => {
    await fuzz(
      task.name,
      fc
        .record({
          auth: serverAuth(),
          userId: userIdArb(),
          action: actionArb(),
          key: idempotencyKeyArb(),
          body: jsonBody({ state: fc.constantFrom(...STATES) }, ['state']),
        })
        .map((r) => build('PATCH', `/v1/users/${r.userId}/actions/${r.action}/${r.key}`, r.auth, r.body)),
    )
  })

  it('GET /v1/users/:userId/actions?codes&fromDate&state', { timeout: TIMEOUT_MS }, async ({ task }) => {
    const query = queryString({
      codes: fc.array(fc.oneof(fc.constantFrom(...fx.actionCodes), nasty), { maxLength: 4 }).map((c) => c.join(',')),
      fromDate: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().replace('Z', '+05:30')),
        fc.constantFrom('2024-02-29T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999Z', '2024-01-01', 'yesterday'),
      ),
      state: fc.constantFrom(...STATES),
    })
    await fuzz(
      task.name,
      fc
        .record({ auth: serverAuth(), userId: userIdArb(), query, body: noBody })
        .map((r) => build('GET', `/v1/users/${r.userId}/actions${r.query}`, r.auth, r.body)),
    )
  })

  it('POST /v1/validate', { timeout: TIMEOUT_MS }, async ({ task }) => {
    const fields: Fields = {
      token: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...fx.tokens) }, { weight: 3, arbitrary: jwtJunk() }),
      userId: fc.constantFrom(...fx.userIds),
      action: fc.constantFrom(...fx.actionCodes),
    }
    await fuzz(
      task.name,
      fc.record({ auth: serverAuth(), body: jsonBody(fields, ['token']) }).map((r) => build('POST', '/v1/validate', r.auth, r.body)),
    )
  })

  it('GET /v1/users/:userId', { timeout: TIMEOUT_MS }, async ({ task }) => {
    await fuzz(
      task.name,
      fc
        .record({ auth: serverAuth(), userId: userIdArb(), query: queryString({ x: nasty }), body: noBody })
        .map((r) => build('GET', `/v1/users/${r.userId}${r.query}`, r.auth, r.body)),
    )
  })

  it('PATCH /v1/users/:userId', { timeout: TIMEOUT_MS }, async ({ task }) => {
    await fuzz(
      task.name,
      fc
        .record({ auth: serverAuth(), userId: userIdArb(), body: jsonBody(userFields()) })
        .map((r) => build('PATCH', `/v1/users/${r.userId}`, r.auth, r.body)),
    )
  })

  it('GET /v1/users?username&email&phoneNumber&limit&lastEvaluatedUserId', { timeout: TIMEOUT_MS }, async ({ task }) => {
    const query = queryString({
      username: fc.string({ unit: 'grapheme', maxLength: 20 }),
      email,
      phoneNumber,
      limit: fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.constantFrom('1e2', '0x10', '20.5', ' 7', '', 'Infinity', '-0', '99999999999999999999')),
      lastEvaluatedUserId: fc.constantFrom(...fx.userIds),
    })
    await fuzz(
      task.name,
      fc.record({ auth: serverAuth(), query, body: noBody }).map((r) => build('GET', `/v1/users${r.query}`, r.auth, r.body)),
    )
  })

  it('GET /v1/users/:userId/authenticators', { timeout: TIMEOUT_MS }, async ({ task }) => {
    await fuzz(
      task.name,
      fc
        .record({ auth: serverAuth(), userId: userIdArb(), body: noBody })
        .map((r) => build('GET', `/v1/users/${r.userId}/authenticators`, r.auth, r.body)),
    )
  })
})

describe('fuzz: Client API (tenant ID or token)', () => {
  it('POST /v1/client/challenge', { timeout: TIMEOUT_MS }, async ({ task }) => {
    await fuzz(
      task.name,
      fc
        .record({ auth: clientAuth(), tenant: tenantHeader(), body: jsonBody({ action: fc.constantFrom(...fx.actionCodes) }) })
        .map((r) => build('POST', '/v1/client/challenge', r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant })),
    )
  })

  it('POST /v1/client/user-authenticators/:namespace (add credential)', { timeout: TIMEOUT_MS }, async ({ task }) => {
    const fields: Fields = {
      publicKey: publicKeyValue(),
      deviceName: fc.string({ unit: 'grapheme', maxLength: 30 }),
      devicePlatform: fc.constantFrom('ios', 'android', 'web'),
      pushToken: randomBase64(100),
      performAttestation: fc.record({ provider: fc.constantFrom('playIntegrity', 'appAttest'), token: randomBase64(200), keyId: fc.uuid() }, { requiredKeys: ['provider', 'token'] }),
      userAuthenticationRequired: fc.boolean(),
    }
    await fuzz(
      task.name,
      fc.oneof(
        fc
          .record({ auth: clientAuth(true), tenant: tenantHeader(), namespace: namespaceArb(), body: jsonBody(fields, ['publicKey']) })
          .map((r) => build('POST', `/v1/client/user-authenticators/${r.namespace}`, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant })),
        fc
          .record({ namespace: fc.constantFrom('in-app', 'device', 'push', 'qr-code'), request: validCase(fx.valid.add, fields, ['publicKey']) })
          .map((r) => build('POST', `/v1/client/user-authenticators/${r.namespace}`, r.request.auth, r.request.body)),
      ),
    )
  })

  it('GET /v1/client/user-authenticators/:namespace?publicKey', { timeout: TIMEOUT_MS }, async ({ task }) => {
    const query = queryString({
      publicKey: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...fx.queryKeys) },
        { weight: 1, arbitrary: publicKeyValue() },
        { weight: 1, arbitrary: publicKeyValue().map(b64) },
        { weight: 1, arbitrary: publicKeyValue().map(b64url) },
      ),
    })
    // Raw `+` and `/` as Android sends them, not percent-encoded.
    const rawQuery = fc.constantFrom(...fx.queryKeys).map((k) => `?publicKey=${k.replace(/ /g, '+')}`)
    await fuzz(
      task.name,
      fc
        .record({ auth: clientAuth(), tenant: tenantHeader(), namespace: namespaceArb(), query: fc.oneof(query, rawQuery), body: noBody })
        .map((r) => build('GET', `/v1/client/user-authenticators/${r.namespace}${r.query}`, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant })),
    )
  })

  it('POST /v1/client/verify/in-app', { timeout: TIMEOUT_MS }, async ({ task }) => {
    const fields: Fields = { challengeId: challengeIdValue(), publicKey: publicKeyValue(), signature: signatureValue() }
    const required = ['challengeId', 'publicKey', 'signature']
    const valid = fc.constantFrom(...fx.verifyTriples).map((t) => ({ ...t }))
    await fuzz(
      task.name,
      fc.oneof(
        fc
          .record({ auth: clientAuth(), tenant: tenantHeader(), body: jsonBody(fields, required, valid) })
          .map((r) => build('POST', '/v1/client/verify/in-app', r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant })),
        validCase(fx.valid.verify, fields, required).map((r) => build('POST', '/v1/client/verify/in-app', r.auth, r.body)),
      ),
    )
  })

  it('POST /v1/client/user-authenticators/:namespace/remove', { timeout: TIMEOUT_MS }, async ({ task }) => {
    const fields: Fields = { publicKey: publicKeyValue(), signature: signatureValue() }
    const required = ['publicKey', 'signature']
    const valid = fc.constantFrom(...fx.removePairs).map((p) => ({ ...p }))
    const url = (namespace: string) => `/v1/client/user-authenticators/${namespace}/remove`
    await fuzz(
      task.name,
      fc.oneof(
        fc
          .record({ auth: clientAuth(), tenant: tenantHeader(), namespace: namespaceArb(), body: jsonBody(fields, required, valid) })
          .map((r) => build('POST', url(r.namespace), r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant })),
        fc
          .constantFrom(...fx.valid.remove)
          .chain((c) => validCase([c], fields, required).map((r) => build('POST', url(c.namespace), r.auth, r.body))),
      ),
    )
  })
})

describe('fuzz: deletions, system routes and everything else', () => {
  it('DELETE /v1/users/:userId/authenticators/:userAuthenticatorId', { timeout: TIMEOUT_MS }, async ({ task }) => {
    await fuzz(
      task.name,
      fc
        .record({
          auth: serverAuth(),
          userId: userIdArb(),
          credentialId: segment(fc.oneof(fc.constantFrom(...fx.credentialIds), uuidLike)),
          body: noBody,
        })
        .map((r) => build('DELETE', `/v1/users/${r.userId}/authenticators/${r.credentialId}`, r.auth, r.body)),
    )
  })

  it('DELETE /v1/users/:userId', { timeout: TIMEOUT_MS }, async ({ task }) => {
    await fuzz(
      task.name,
      fc
        .record({ auth: serverAuth(), userId: userIdArb(), body: noBody })
        .map((r) => build('DELETE', `/v1/users/${r.userId}`, r.auth, r.body)),
    )
  })

  it('GET /healthz, /readyz, /openapi.json', { timeout: TIMEOUT_MS }, async ({ task }) => {
    await fuzz(
      task.name,
      fc
        .record({
          method: fc.constantFrom<Method>('GET', 'GET', 'GET', 'HEAD', 'POST', 'OPTIONS'),
          path: fc.constantFrom('/healthz', '/readyz', '/openapi.json', '/healthz/', '/HEALTHZ', '/readyz%00'),
          query: queryString({ x: nasty, verbose: fc.constant('1') }),
          auth: fc.oneof(fc.constant(undefined), junkAuth()),
          body: noBody,
        })
        .map((r) => build(r.method, `${r.path}${r.query}`, r.auth, r.body)),
    )
  })

  it('any method on any route template or unknown path, any credentials, CORS preflights', { timeout: TIMEOUT_MS }, async ({ task }) => {
    const seg = segment(fc.oneof(fc.constantFrom(...fx.userIds, ...fx.actionCodes, 'in-app', 'remove'), fc.string({ maxLength: 10 })))
    const path = fc.oneof(
      fc.tuple(userIdArb(), actionArb(), idempotencyKeyArb(), namespaceArb(), seg).chain(([u, a, k, n, s]) =>
        fc.constantFrom(
          `/v1/users/${u}/actions/${a}`, `/v1/users/${u}/actions/${a}/${k}`, `/v1/users/${u}/actions`, `/v1/users/${u}`,
          '/v1/users', `/v1/users/${u}/authenticators`, `/v1/users/${u}/authenticators/${s}`, '/v1/validate',
          '/v1/client/challenge', `/v1/client/user-authenticators/${n}`, `/v1/client/user-authenticators/${n}/remove`,
          '/v1/client/verify/in-app', `/v1/client/${s}`, `/v1/${s}`, `/${s}`, '/', '/v1', '/v1/', '//v1/users', '/v1//users',
          '/V1/USERS', '/v1/users/', '/v1/client/verify/in-app/', `/v1/users/${u}/actions/${a}/${k}/${s}`, '/docs', '/docs/json',
        ),
      ),
    )
    const method = fc.constantFrom<Method>('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS')
    const auth = fc.oneof(serverAuth(), clientAuth())
    const cors = fc.option(
      fc.record({
        origin: fc.oneof(fc.constantFrom('https://app.test', 'null', 'http://localhost:3000'), headerText),
        'access-control-request-method': fc.constantFrom('POST', 'GET', 'PATCH', 'DELETE', 'PUT', 'TRACE', 'x'),
        'access-control-request-headers': fc.constantFrom('authorization,content-type', 'x-evil', '*', ''),
      }),
      { freq: 3, nil: undefined },
    )
    const body = fc.oneof(noBody, jsonBody({ ...trackFields(), publicKey: publicKeyValue(), signature: signatureValue(), challengeId: challengeIdValue() }))
    await fuzz(
      task.name,
      fc
        .record({ method, path, query: queryString({ publicKey: fc.constantFrom(...fx.queryKeys), limit: fc.constant('5') }), auth, body, cors, tenant: tenantHeader() })
        .map((r) => build(r.method, `${r.path}${r.query}`, r.auth, r.body, { ...(r.cors ?? {}), 'x-authsignal-tenant-id': r.tenant })),
    )
  })
})
