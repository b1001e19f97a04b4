// Property-based fuzzing of every route (PROTOCOL.md §1-3, STYLE.md §5): whatever a caller
// sends — any JSON, wrong types, huge or unicode strings, NUL bytes, odd path segments and
// query strings, forged or mangled credentials, any content type — the answer is below 500,
// a refusal carries a registered code in both `error` and `errorCode` with the status the
// registry gives it, and no body holds a stack frame or a credential or secret the caller sent.
//
// Most requests are authenticated for real (a tenant's secret key, tenant Basic, track
// tokens, a management key or a console session) and are valid except for what the fuzzer
// changes, so they reach the domain and the database rather than stopping at authentication.
// Requests that need a value that works only once (a nonce, a pending challenge, a device
// code, something to delete) get it made fresh just before they are sent (see `Live`), so
// every run can reach the success path. The challenge streams go over a socket, and the
// WebSocket at /ws-v1-challenge is fuzzed too.
//
// Every route the OpenAPI document lists, and the WebSocket, has a test of its own that sends
// FUZZ_RUNS (default 200) requests aimed at it: its path parameters, query, headers and body.
// After the file, every documented route must have had that many (see `coverage`). Requests
// are generated up front from a seed (FUZZ_SEED, default fixed, so CI is repeatable) derived
// per route, and sent FUZZ_CONCURRENCY (default 8) at a time; a failure names the request,
// and is then replayed alone and shrunk. CI runs 2,000 per route on PostgreSQL:
//   FUZZ_RUNS=2000 TEST_DATABASE_URL=postgres://… npx vitest run --project integration:postgres packages/server/test/fuzz.test.ts
import { Buffer } from 'node:buffer'
import { randomUUID, sign } from 'node:crypto'
import { createRequire } from 'node:module'
import { sql } from 'drizzle-orm'
import fc, { type Arbitrary } from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  acceptedTimeBucketMessages,
  ActionCode,
  CustomData,
  errorCodes,
  isErrorCode,
  OutOfBandState,
  SESSION_COOKIE,
  signedDecisionMessage,
  type SignedDecisionInput,
} from '@countersign/protocol'
import { issueChallengeId } from '../src/crypto/challenge-id.ts'
import { hashPassword } from '../src/crypto/passwords.ts'
import { createApiKey, revokeApiKey } from '../src/domain/management.ts'
import { configureAction } from '../src/domain/action-configurations.ts'
import { createWebhookEndpoint, updateWebhookEndpoint } from '../src/domain/webhooks.ts'
import { queryRows } from '../src/storage/database.ts'
import { insertOperator } from '../src/storage/operators-repo.ts'
import { deleteEndpoint, listDeliveries, listEndpoints } from '../src/storage/webhooks-repo.ts'
import { basicAuth, createHarness, newDevice, type Harness, type TestDevice } from './support/harness.ts'
import { bearer, expectClientOk, expectOk, tenantApi, uniqueId, type TenantApi } from './support/api.ts'
import { sendOverSocket } from './support/socket-request.ts'

const RUNS = envInt('FUZZ_RUNS', 200)
const SEED = envInt('FUZZ_SEED', 20_261_129)
/** Requests in flight at once (1 sends them one after another, as before). */
const CONCURRENCY = Math.max(1, envInt('FUZZ_CONCURRENCY', 8))
// Generous: a loaded machine, and shrinking a failure replays many requests one at a time.
const TIMEOUT_MS = 120_000 + RUNS * 100

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
  /** What to make just before sending, for the `@live:` placeholders the request carries. */
  live?: Live
  /** Body fields the route returns by design (PATCH …/push returns the push token it was sent). */
  echoed?: string[]
}

/** What the checks read of a response, whether it came from app.inject or over a socket. */
type FuzzResponse = Pick<LightMyRequestResponse, 'statusCode' | 'headers' | 'body'>

/** The Server-Sent Events routes: a 200 is a stream of `state` events, not a JSON body. */
const STREAM_PATH = /^\/v1\/client\/verify\/(?:push|qr-code)\/stream(?:\?|$)/

/** Shorter values may occur in a body by chance (a state name, a short user ID). */
const MIN_SECRET_LENGTH = 12
const STACK_FRAME = /\bat (?:async )?[^\s"(]*\s?\(?(?:file:\/\/|node:|\/)[^\s)"]*:\d+:\d+|node_modules\/|node:internal/
/** Codes a request gets before the domain looks at it; anything else means the fuzz reached it. */
const GATE_CODES = new Set<string>(['invalid_request', 'unauthorized', 'unsupported_media_type', 'payload_too_large'])

function violations(req: FuzzRequest, res: FuzzResponse): string[] {
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
  if (STREAM_PATH.test(req.url) && status < 400) return [...problems, ...streamViolations(res)]
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

/**
 * A stream read up to its first complete event: each event is `state` with the body of the
 * matching poll (a JSON object without `error`, with a known state).
 */
function streamViolations(res: FuzzResponse): string[] {
  const problems: string[] = []
  if (res.statusCode !== 200) problems.push(`a stream answered ${res.statusCode}`)
  if (!/^text\/event-stream/.test(String(res.headers['content-type'] ?? ''))) {
    problems.push(`a stream with content-type ${String(res.headers['content-type'])}`)
  }
  const events = res.body.split('\n\n').slice(0, -1)
  if (events.length === 0) problems.push('a stream without an event')
  for (const event of events) {
    const lines = event.split('\n').filter((line) => !line.startsWith(':'))
    if (lines.length === 0) continue
    const name = /^event: (.*)$/m.exec(event)?.[1]
    const data = /^data: (.*)$/m.exec(event)?.[1]
    if (name !== 'state' || data === undefined) {
      problems.push(`a stream event that is not a state: ${JSON.stringify(event.slice(0, 200))}`)
      continue
    }
    let body: unknown
    try {
      body = JSON.parse(data)
    } catch {
      problems.push('a stream event whose data is not JSON')
      continue
    }
    const record = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null
    if (!record) problems.push('a stream event whose data is not an object')
    else if ('error' in record) problems.push('a stream event with an error key')
    else if (!OutOfBandState.safeParse(record.state).success) problems.push(`a stream event with state ${JSON.stringify(record.state)}`)
  }
  return problems
}

let h: Harness
/** Where the harness listens: for the streams and the WebSocket, which app.inject cannot hold open. */
let baseUrl: string
/** What the server logged, newest last (trimmed as it grows): a failure shows its request's lines. */
const logLines: string[] = []

// ---------------------------------------------------------------------------------------
// Routes, and the cases each got
// ---------------------------------------------------------------------------------------

/** The WebSocket: not in the OpenAPI document, fuzzed all the same. */
const WS_ROUTE = 'GET /ws-v1-challenge'
/** Routes the OpenAPI document leaves out that get cases of their own: aliases, the document itself, unknown paths. */
const EXTRA_ROUTES = new Set([
  'POST /v1/client/verify/device',
  'POST /v1/client/user-authenticators/{namespace}/update/sign',
  'GET /openapi.json',
  'any route',
])
/** Every route the OpenAPI document lists, as "METHOD /path/{param}", and the WebSocket (read in beforeAll). */
let documented: string[] = []
/** Status (and code) counts per route: how many cases each got, and whether they reached the domain. */
const tallies = new Map<string, Map<string, number>>()
/** Tests of this file, and those that passed: coverage is checked only when every one ran and passed. */
const progress = { registered: 0, passed: 0 }

function casesOf(route: string): number {
  let cases = 0
  for (const count of tallies.get(route)?.values() ?? []) cases += count
  return cases
}

/** After the file: every documented route was fuzzed with at least RUNS cases aimed at it. */
function coverage(): void {
  const counts = documented.map(casesOf)
  const total = counts.reduce((sum, n) => sum + n, 0)
  const extra = [...tallies.keys()].filter((route) => !documented.includes(route)).reduce((sum, route) => sum + casesOf(route), 0)
  console.info(
    `fuzz: ${total} cases over ${documented.length} routes (min ${counts.length > 0 ? Math.min(...counts) : 0} per route); ` +
      `${extra} more on undocumented aliases and unknown paths`,
  )
  if (RUNS < 100 || progress.passed < progress.registered) return
  const short = documented.filter((route) => casesOf(route) < RUNS).map((route) => `${route}: ${casesOf(route)}`)
  expect(short, `documented routes fuzzed with fewer than ${RUNS} cases`).toEqual([])
}

/** Where case `index` comes from: many addresses, so the failed-key throttle (per address) counts each only a little. */
function clientAddress(index: number): string {
  return index % 8 === 7 ? `2001:db8::${(index % 4093).toString(16)}` : `198.51.100.${index % 251}`
}

async function send(route: string, generated: FuzzRequest, index: number): Promise<void> {
  const req = await bindLive(generated)
  if (logLines.length > 20_000) logLines.splice(0, logLines.length - 2_000)
  const res = STREAM_PATH.test(req.url)
    ? await overSocket(req)
    : await h.inject({
        method: req.method,
        url: req.url,
        headers: req.headers,
        remoteAddress: clientAddress(index),
        ...(req.payload !== undefined ? { payload: req.payload } : {}),
      })
  tally(route, `${res.statusCode} ${codeOf(res) ?? ''}`.trim())
  const problems = violations(req, res)
  if (problems.length > 0) {
    const requestId = res.headers['x-request-id']
    const logged = typeof requestId === 'string' ? logLines.filter((line) => line.includes(requestId)).map((line) => line.slice(0, 1500)) : []
    throw new Error(
      [
        problems.join('; '),
        `request: ${describeRequest(req)}`,
        `response: ${res.statusCode} ${res.body.slice(0, 500)}`,
        ...(logged.length > 0 ? [`server log:\n${logged.join('\n')}`] : []),
      ].join('\n'),
    )
  }
}

/**
 * Over a socket: with app.inject a stream for a pending challenge would never end (and its
 * fake socket lacks what the stream's cleanup calls).
 */
function overSocket(req: FuzzRequest): Promise<FuzzResponse> {
  return sendOverSocket(baseUrl, { method: req.method, url: req.url, headers: req.headers, body: req.payload }, describeRequest(req))
}

function tally(route: string, outcome: string): void {
  const counts = tallies.get(route) ?? new Map<string, number>()
  counts.set(outcome, (counts.get(outcome) ?? 0) + 1)
  tallies.set(route, counts)
}

function codeOf(res: FuzzResponse): string | undefined {
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

interface CaseOptions {
  /** Cases to send; RUNS unless given (fewer for an undocumented alias that costs much). */
  runs?: number
  /** Outcomes that show a case got past authentication and the schemas; at least one is due. */
  reachedDomain?: (outcome: string) => boolean
}

/**
 * A test that fuzzes one route ("METHOD /path/{param}", as the OpenAPI document names it) with
 * RUNS requests from `requests`, which is called when the test starts (generators read the fixtures).
 */
function fuzzRoute(
  route: string,
  label: string,
  requests: () => Arbitrary<FuzzRequest> | Promise<Arbitrary<FuzzRequest>>,
  options: CaseOptions = {},
): void {
  property(route, label, async () => ({ values: await requests(), run: (req, index) => send(route, req, index) }), options)
}

/** A test that runs `run` on RUNS values aimed at `route` (see `runCases`). */
function property<T>(
  route: string,
  label: string,
  setup: () => Promise<{ values: Arbitrary<T>; run: (value: T, index: number) => Promise<void> }>,
  options: CaseOptions = {},
): void {
  const name = label ? `${route} (${label})` : route
  progress.registered += 1
  it(name, { timeout: TIMEOUT_MS }, async () => {
    const { values, run } = await setup()
    await runCases(name, route, values, run, options)
    progress.passed += 1
  })
}

/**
 * Sends the route's cases, generated up front from a seed derived from FUZZ_SEED and the route
 * (so each route explores its own sequence and one variable reproduces them all), CONCURRENCY
 * at a time. After a failure no more are started; the first failing case is then replayed
 * alone from its place in the sequence and shrunk. Then checks from the tally that the cases
 * reached the domain.
 */
async function runCases<T>(
  name: string,
  route: string,
  values: Arbitrary<T>,
  run: (value: T, index: number) => Promise<void>,
  options: CaseOptions,
): Promise<void> {
  if (!documented.includes(route) && !EXTRA_ROUTES.has(route)) throw new Error(`${route}: not a route the OpenAPI document lists`)
  const runs = options.runs ?? RUNS
  const seed = (SEED ^ hash(route)) | 0
  const cases = fc.sample(values, { numRuns: runs, seed })
  const failure = await inParallel(cases, run)
  if (failure) {
    // fast-check's run at path `i` is the i-th value fc.sample gave for the same seed.
    const replay = await fc.check(
      fc.asyncProperty(values, (value) => run(value, failure.index)),
      { seed, path: String(failure.index), interruptAfterTimeLimit: 120_000 },
    )
    const project = process.env.COUNTERSIGN_TEST_DB === 'postgres' ? 'TEST_DATABASE_URL=… npx vitest run --project integration:postgres' : 'npx vitest run --project integration:pglite'
    throw new Error(
      `Fuzzing ${route} found a violation in case ${failure.index + 1} of ${runs}. Reproduce with\n` +
        `  FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} ${project} packages/server/test/fuzz.test.ts\n` +
        `or only this route (without the state earlier routes left behind), add -t '${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}';\n` +
        `FUZZ_CONCURRENCY=1 sends the cases one at a time.\n${messageOf(failure.error)}\n\n` +
        (replay.failed
          ? `Sent again alone and shrunk ${replay.numShrinks} times (fast-check seed ${seed}, path ${JSON.stringify(replay.counterexamplePath)}):\n${messageOf(replay.errorInstance)}`
          : 'Sent again alone it passed: the state the requests in flight with it left behind mattered.'),
    )
  }
  if (runs >= 100) {
    // A fuzz that never gets past authentication and the schemas tests only those.
    const reached = [...(tallies.get(route)?.keys() ?? [])].some(options.reachedDomain ?? passedTheGates)
    expect(reached, `${route} never reached the domain: ${JSON.stringify(Object.fromEntries(tallies.get(route) ?? []))}`).toBe(true)
  }
  if (process.env.FUZZ_VERBOSE) console.info(route, Object.fromEntries(tallies.get(route) ?? []))
}

/** Runs `run` on every case, CONCURRENCY at a time; the first failure (in case order) among those started. */
async function inParallel<T>(cases: T[], run: (value: T, index: number) => Promise<void>): Promise<{ index: number; error: unknown } | undefined> {
  let next = 0
  const failures: Array<{ index: number; error: unknown }> = []
  const worker = async () => {
    while (failures.length === 0 && next < cases.length) {
      const index = next++
      try {
        await run(cases[index]!, index)
      } catch (error) {
        failures.push({ index, error })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, cases.length) }, worker))
  return failures.sort((a, b) => a.index - b.index)[0]
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function passedTheGates(outcome: string): boolean {
  const [status, code] = outcome.split(' ')
  return Number(status) < 300 || (code !== undefined && !GATE_CODES.has(code))
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

/** A value in one case of six, else nothing (an optional header most requests lack). */
function rarely<T>(arbitrary: Arbitrary<T>): Arbitrary<T | undefined> {
  return fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary })
}

/** A GET or DELETE usually has no body; sometimes it has one anyway. */
const noBody: Arbitrary<Body> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constant({ payload: '', contentType: 'application/json' }) },
  { weight: 1, arbitrary: fc.tuple(rawBody, fc.constantFrom('application/json', 'text/plain')).map(([payload, contentType]) => ({ payload, contentType })) },
)

/** Secret-bearing fields a body may carry. */
function bodySecrets(payload: string | undefined, echoed: string[] = []): string[] {
  if (typeof payload !== 'string') return []
  try {
    const body = JSON.parse(payload) as Record<string, unknown>
    if (typeof body !== 'object' || body === null) return []
    const attestation = body.performAttestation as Record<string, unknown> | undefined
    const fields = {
      token: body.token,
      signature: body.signature,
      pushToken: body.pushToken,
      deviceCode: body.deviceCode,
      attestation: attestation?.token,
      password: body.password,
      managementKey: body.managementKey,
    }
    return Object.entries(fields)
      .filter(([name]) => !echoed.includes(name))
      .map(([, value]) => value)
      .filter((v): v is string => typeof v === 'string')
  } catch {
    return []
  }
}

/** Everything secret a request carries; `echoed` names body fields its route returns by design. */
function secretsOf(req: Pick<FuzzRequest, 'headers' | 'payload' | 'echoed'>): string[] {
  const signature = req.headers['x-authsignal-signature']
  const session = req.headers.cookie?.match(/countersign_session=([^;]*)/)?.[1]
  return [
    ...authSecrets(req.headers.authorization),
    ...bodySecrets(typeof req.payload === 'string' ? req.payload : undefined, req.echoed),
    ...(signature ? [signature] : []),
    // The cookie, and its secret part (the tenant ID before it is public).
    ...(session ? [session, session.split('.').at(-1) ?? ''] : []),
  ]
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
  const payload = body.payload !== undefined ? { payload: body.payload } : {}
  return { method, url, headers, ...payload, secrets: secretsOf({ headers, ...payload }) }
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
  /** Push and QR-code credentials and challenges. */
  oob: OutOfBandFixtures
}

interface OutOfBandFixtures {
  /**
   * Every key a push or QR request may name: a user's push device and the legacy one (namespace
   * `device`) that approved it, another user's QR-code device, an in-app one, another tenant's
   * push device, one never enrolled. (Requests meant to succeed use new devices: see `Live`.)
   */
  devices: TestDevice[]
  /** Those keys as the push SDKs put them in a query string, and as others might. */
  queryKeys: string[]
  /** Tokens of the actions the challenges below are for. */
  tokens: string[]
  credentialIds: string[]
  /** Push challenges approved, denied, expired, pending, pending with number matching, another tenant's; each with its action's token. */
  pushChallenges: Array<{ challengeId: string; token: string }>
  /** QR codes unclaimed, for a token, claimed, approved, denied, expired, another tenant's; each with its device code. */
  qrChallenges: Array<{ challengeId: string; deviceCode: string }>
}

/** An action whose push and QR answers need number matching and a v2 signed decision. */
const MATCHED_ACTION = 'approveTransfer'

async function outOfBandFixtures(api: TenantApi, other: TenantApi, inApp: TestDevice): Promise<OutOfBandFixtures> {
  await configureAction(h.deps, api.tenant.tenantId, 'test', MATCHED_ACTION, { numberMatching: true, requireSignedDecision: true }, { allowPrivateUrls: true })
  const pushUser = uniqueId('fuzz-push')
  const legacy = await api.enroll(pushUser, { namespace: 'device' })
  const push = await api.enroll(pushUser, { namespace: 'push', approvedBy: legacy.device, pushToken: 'fuzz-push-token' })
  const qrUser = uniqueId('fuzz-qr')
  const qr = await api.enroll(qrUser, { namespace: 'qr-code' })
  const foreign = await other.enroll(uniqueId('fuzz-foreign-push'), { namespace: 'push' })

  const startPush = async (a: TenantApi, userId: string, action = 'authorizePayment') => {
    const tracked = await a.track(userId, action, { transaction: { amount: 100, currency: 'EUR', payee: 'ACME' }, challengeMethod: 'PUSH' })
    if (!tracked.pushChallenge) throw new Error(`fixture: no push (${String(tracked.pushChallengeRefused)})`)
    return { challengeId: tracked.pushChallenge.challengeId, token: tracked.token }
  }
  const expire = (challengeId: string) =>
    queryRows(h.database.db, sql`UPDATE challenges SET expires_at = ${new Date(h.clock() - 1000)} WHERE tenant_id = ${api.tenant.tenantId} AND challenge_id = ${challengeId}`)
  // A user may have three pending pushes (pushMaxPending): the answered and expired ones come first.
  const approved = await startPush(api, pushUser)
  await answerAs(api, push.device, 'push', approved.challengeId, true)
  const denied = await startPush(api, pushUser)
  await answerAs(api, legacy.device, 'device', denied.challengeId, false)
  const expired = await startPush(api, pushUser)
  await expire(expired.challengeId)
  const pushChallenges = [approved, denied, expired, await startPush(api, pushUser), await startPush(api, pushUser, MATCHED_ACTION), await startPush(other, foreign.credential.userId)]

  const qrCode = async (a: TenantApi, authorization: string, body: object = { action: 'signIn' }) => {
    const { challengeId, deviceCode } = expectClientOk(await a.client('POST', '/v1/client/challenge/qr-code', authorization, body)) as Record<string, string>
    return { challengeId: challengeId!, deviceCode: deviceCode! }
  }
  const claim = async (challengeId: string) => {
    const body = { challengeId, publicKey: qr.device.publicKey, signature: qr.device.sign(challengeId) }
    expectClientOk(await api.client('POST', '/v1/client/user-authenticators/qr-code/challenge/claim', api.tenantBasic, body))
  }
  const qrTracked = await api.track(qrUser, 'authorizePayment')
  const qrChallenges = [await qrCode(api, api.tenantBasic), await qrCode(api, bearer(qrTracked.token), {})]
  for (const answer of [undefined, true, false]) {
    const code = await qrCode(api, api.tenantBasic)
    await claim(code.challengeId)
    if (answer !== undefined) await answerAs(api, qr.device, 'qr-code', code.challengeId, answer)
    qrChallenges.push(code)
  }
  const qrExpired = await qrCode(api, api.tenantBasic)
  await expire(qrExpired.challengeId)
  qrChallenges.push(qrExpired, await qrCode(other, other.tenantBasic))

  const devices = [push.device, legacy.device, qr.device, inApp, foreign.device, newDevice()]
  return {
    devices,
    queryKeys: devices.flatMap((device) => [keyQuery(device), b64url(device.publicKey), b64(device.publicKey).replace(/\+/g, ' '), device.publicKey]),
    tokens: [...pushChallenges.map((c) => c.token), qrTracked.token],
    credentialIds: [push, legacy, qr, foreign].map((e) => e.credential.userAuthenticatorId),
    pushChallenges,
    qrChallenges,
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
  const openapi = expectOk(await h.inject({ method: 'GET', url: '/openapi.json' })) as { paths: Record<string, Record<string, unknown>> }
  documented = [
    ...Object.entries(openapi.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((method) => /^(?:get|put|post|delete|options|head|patch|trace)$/.test(method))
        .map((method) => `${method.toUpperCase()} ${path}`),
    ),
    WS_ROUTE,
  ]
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
  // A user with a push device, so track's challengeMethod PUSH can send one.
  const trackPush = await api.enroll(uniqueId('fuzz-track-push'), { namespace: 'push' })
  const userIds = [enrolledUser, removable.credential.userId, ...awkwardUsers, trackPush.credential.userId]

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

  const revoked = await createApiKey(h.deps, tenant.tenantId, 'test', { type: 'secret', name: 'fuzz-revoked' })
  await revokeApiKey(h.deps, tenant.tenantId, 'test', revoked.keyId)
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
    actionCodes: ['authorizePayment', 'signIn', 'withdraw', 'addAuthenticator', MATCHED_ACTION],
    idempotencyKeys: [...tracked.map((t) => t.idempotencyKey), used.idempotencyKey],
    credentialIds: [
      enrolled.credential.userAuthenticatorId,
      removable.credential.userAuthenticatorId,
      foreign.credential.userAuthenticatorId,
      trackPush.credential.userAuthenticatorId,
    ],
    devices,
    challengeIds,
    verifyTriples,
    removePairs,
    queryKeys,
    valid: { verify: verifyCases, remove: removeCases, add: addCases },
    oob: await outOfBandFixtures(api, other, enrolled.device),
  }
  baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 })
}, 120_000)

afterAll(async () => {
  try {
    coverage()
  } finally {
    await h.close()
  }
})

// ---------------------------------------------------------------------------------------
// Values made just before sending
// ---------------------------------------------------------------------------------------

/**
 * Placeholders a generated request may carry where a value works only once. A request that
 * still holds one when it is sent gets a fresh value made for it (see `Live`); the rest of the
 * request stays as generated, so a valid request and its one-field mutations both reach the
 * state they are about.
 */
const LIVE = {
  challengeId: '@live:challengeId',
  deviceCode: '@live:deviceCode',
  nonce: '@live:nonce',
  publicKey: '@live:publicKey',
  /** The public key in a query string: base64 once more and percent-encoded, raw (Android), base64url (iOS). */
  publicKeyQuery: '@live:publicKeyQuery',
  publicKeyQueryRaw: '@live:publicKeyQueryRaw',
  publicKeyQueryUrl: '@live:publicKeyQueryUrl',
  token: '@live:token',
  verificationCode: '@live:verificationCode',
  userAuthenticatorId: '@live:userAuthenticatorId',
  /**
   * In a body: the device's signature over the body's `challengeId` as sent (v1), or over the
   * decision the body states (v2), so even a hostile challenge ID gets past the signature check.
   * In X-Authsignal-Signature: the signature over the nonce.
   */
  signature: '@live:signature',
  /** What a Management API request names: a rule, list, webhook, action code, operator or key made for it. */
  id: '@live:id',
  userId: '@live:userId',
  /** A console session's cookie value. */
  cookie: '@live:cookie',
} as const
type LiveName = keyof typeof LIVE

/**
 * What a request needs made before it is sent. Each is a new user with a new device, so the
 * failed signatures of other runs (which lock a credential) never stand in its way.
 */
type Live =
  /**
   * A device in `namespace` and an action tracked for its user (the token); with `start`,
   * tracked with challengeMethod PUSH and then answered when `answer` says so; with `nonce`,
   * a nonce from …/challenge/sign.
   */
  | { make: 'push'; namespace: 'push' | 'device'; action: string; transaction?: Record<string, unknown>; start: boolean; answer?: boolean; nonce?: boolean }
  /** A QR code created with the tenant ID and a device in `namespace`; claimed and answered by it when asked. */
  | { make: 'qr'; namespace: 'qr-code' | 'device'; claim: boolean; answer?: boolean }
  /** Something in the management tenant for a Management API request to delete (or a session to end). */
  | { make: 'managed'; what: Managed }

type Managed = 'rule' | 'valueList' | 'webhook' | 'actionConfiguration' | 'operator' | 'apiKey' | 'user' | 'authenticator' | 'session'

interface Made {
  values: Partial<Record<LiveName, string>>
  /** For push and QR: the device that signs, and what a v2 signature covers besides the challenge ID, the decision and the code. */
  signer?: TestDevice
  decision?: Omit<SignedDecisionInput, 'challengeId' | 'decision' | 'verificationCode'>
}

const LIVE_PLACEHOLDER = /@live:(\w+)/g

/** The request with its placeholders replaced by values made now; unchanged when it holds none. */
async function bindLive(req: FuzzRequest): Promise<FuzzRequest> {
  const carried = [req.url, typeof req.payload === 'string' ? req.payload : '', ...Object.values(req.headers)].some((text) => text.includes('@live:'))
  if (!req.live || !carried) return req
  const made = await makeLive(req.live).catch((error: unknown) => {
    throw new Error(`making ${JSON.stringify(req.live)} failed: ${error instanceof Error ? error.message : String(error)}`)
  })
  const fill = (text: string) =>
    text.replace(LIVE_PLACEHOLDER, (placeholder, name: string) => (name === 'signature' ? placeholder : (made.values[name as LiveName] ?? placeholder)))
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, fill(v)]))
  if (headers['x-authsignal-signature'] === LIVE.signature && made.signer) headers['x-authsignal-signature'] = made.signer.sign(made.values.nonce ?? '')
  let payload = typeof req.payload === 'string' ? fill(req.payload) : req.payload
  if (typeof payload === 'string' && payload.includes(JSON.stringify(LIVE.signature))) {
    payload = payload.replaceAll(JSON.stringify(LIVE.signature), JSON.stringify(liveSignature(made, payload)))
  }
  const bound = { ...req, url: fill(req.url), headers, ...(payload !== undefined ? { payload } : {}) }
  return { ...bound, secrets: secretsOf(bound) }
}

/** The device's signature over what the body says: v1 over its challengeId, v2 over its decision. */
function liveSignature(made: Made, payload: string): string {
  if (!made.signer || !made.decision) return LIVE.signature
  let body: Record<string, unknown> = {}
  try {
    const parsed: unknown = JSON.parse(payload)
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>
  } catch {
    // Not JSON after all: sign the challenge ID that was made.
  }
  const { signer } = made
  const challengeId = typeof body.challengeId === 'string' ? body.challengeId : (made.values.challengeId ?? '')
  if (body.signatureVersion !== 2) return signer.sign(challengeId)
  let message: string
  try {
    message = signedDecisionMessage({
      ...made.decision,
      challengeId,
      decision: body.approved === true ? 'approved' : 'denied',
      verificationCode: typeof body.verificationCode === 'string' ? body.verificationCode : null,
    })
  } catch {
    // A code no device could sign (a lone surrogate): send the v1 signature, which v2 refuses.
    return signer.sign(challengeId)
  }
  const dsaEncoding = body.signatureFormat === 'p1363' ? 'ieee-p1363' : 'der'
  return sign('sha256', Buffer.from(message, 'utf8'), { key: signer.privateKey, dsaEncoding }).toString('base64')
}

async function makeLive(live: Live): Promise<Made> {
  if (live.make === 'managed') return { values: await makeManaged(live.what) }
  const api = fx.api
  const tenantId = api.tenant.tenantId
  const userId = uniqueId(`fuzz-live-${live.make}`)
  const { device, credential } = await api.enroll(userId, { namespace: live.namespace, pushToken: 'fuzz-push-token' })
  const values: Made['values'] = {
    publicKey: device.publicKey,
    publicKeyQuery: keyQuery(device),
    publicKeyQueryRaw: b64(device.publicKey),
    publicKeyQueryUrl: b64url(device.publicKey),
    userAuthenticatorId: credential.userAuthenticatorId,
  }
  switch (live.make) {
    case 'push': {
      const tracked = await api.track(userId, live.action, {
        ...(live.transaction ? { transaction: live.transaction } : {}),
        ...(live.start ? { challengeMethod: 'PUSH' } : {}),
      })
      values.token = tracked.token
      if (live.start) {
        if (!tracked.pushChallenge) throw new Error(`fixture: track sent no push (${String(tracked.pushChallengeRefused)})`)
        values.challengeId = tracked.pushChallenge.challengeId
        values.verificationCode = tracked.pushChallenge.verificationCode ?? ''
        if (live.answer !== undefined) await answerAs(api, device, live.namespace, values.challengeId, live.answer)
      }
      if (live.nonce) {
        const url = `/v1/client/user-authenticators/${live.namespace}/challenge/sign?publicKey=${keyQuery(device)}`
        values.nonce = (expectClientOk(await api.client('POST', url, api.tenantBasic)) as { message: string }).message
      }
      return { values, signer: device, decision: { tenantId, action: live.action, idempotencyKey: tracked.idempotencyKey, transaction: live.transaction ?? null } }
    }
    case 'qr': {
      const created = expectClientOk(await api.client('POST', '/v1/client/challenge/qr-code', api.tenantBasic, { action: 'signIn' })) as {
        challengeId: string
        deviceCode: string
      }
      values.challengeId = created.challengeId
      values.deviceCode = created.deviceCode
      if (live.claim) {
        const claim = { challengeId: created.challengeId, publicKey: device.publicKey, signature: device.sign(created.challengeId) }
        expectClientOk(await api.client('POST', `/v1/client/user-authenticators/${live.namespace}/challenge/claim`, api.tenantBasic, claim))
        if (live.answer !== undefined) await answerAs(api, device, live.namespace, created.challengeId, live.answer)
      }
      return { values, signer: device, decision: { tenantId, action: 'signIn', idempotencyKey: null, transaction: null } }
    }
  }
}

/** A v1 answer that must be recorded (puts a challenge in a state before the fuzzed request). */
async function answerAs(api: TenantApi, device: TestDevice, namespace: string, challengeId: string, approved: boolean): Promise<void> {
  const body = { challengeId, publicKey: device.publicKey, signature: device.sign(challengeId), approved }
  expectClientOk(await api.client('POST', `/v1/client/user-authenticators/${namespace}/challenge`, api.tenantBasic, body))
}

/** The public key as the push SDKs put it in a query string (base64 once more, percent-encoded). */
const keyQuery = (device: TestDevice) => encodeURIComponent(Buffer.from(device.publicKey).toString('base64'))

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

/** CEL-looking conditions: valid ones, near misses, and token soup. */
const conditionArb: Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'true',
      'action.custom.amount > 1000.0',
      "ip.inCidr('10.0.0.0/8') || ip.country in ['NZ']",
      'velocity.actions1h > 3 && device.isNew',
      "list('fuzz_list').contains(action.transaction.payee)",
      "list('missing').contains(1)",
      'travel.impossible',
      'action.custom.amount > ',
      'now - user.createdAt < duration("24h")',
      '[1, 2].exists(x, [3].all(y, y > x))',
      "user.id.matches('^(a+)+$')",
      'size(action.code) > 99999999999999999999',
    ),
  },
  { weight: 1, arbitrary: nasty },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.constantFrom('action', '.', 'custom', 'ip', 'isNew', '(', ')', '&&', '||', '!', '1', '"x"', ' in ', '[', ']', 'list', "'fuzz_list'", 'size', ' '), { maxLength: 20 })
      .map((t) => t.join('')),
  },
)

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

// Fastify refuses any body with a `__proto__` key (prototype poisoning): such a transaction is a hostile one.
const transactionKey = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/).filter((key) => key !== '__proto__')
/** Values a transaction field may hold, numbers RFC 8785 spells in unusual ways among them. */
const transactionValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }).filter((text) => !text.includes('\u0000')),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(1e21, 1e-7, 0.1, -0, 5e-324, 2 ** 53 + 2, 1.7976931348623157e308, 333333333.3333332, 9.999999999999997e22),
  fc.boolean(),
  fc.constant(null),
)
/** Transaction details within the limits: flat, ≤ 32 fields, names of letters, digits, `_ . -`. */
const validTransaction = fc.dictionary(transactionKey, transactionValue, { maxKeys: 6 })
const HOSTILE_TRANSACTIONS: Array<Record<string, unknown>> = [
  { memo: 'x'.repeat(1025) }, { '': 1 }, { ['k'.repeat(65)]: 1 }, { 'a b': 1 }, { nested: { amount: 1 } }, { list: [1, 2] },
  { payee: 'ACME\u0000' }, { payee: 'ACME \ud800' }, { 'payee\u0000': 1 }, { amount: '1e999' },
  JSON.parse('{"__proto__":{"amount":1}}') as Record<string, unknown>, JSON.parse('{"constructor":1,"toString":"x"}') as Record<string, unknown>,
]
const transactionDetails: Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 12, arbitrary: validTransaction },
  // Around the 32-field limit.
  { weight: 1, arbitrary: fc.dictionary(transactionKey, transactionValue, { minKeys: 31, maxKeys: 34 }) },
  { weight: 1, arbitrary: fc.dictionary(nasty, anyJson, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_TRANSACTIONS) },
)

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
    transaction: transactionDetails,
    challengeMethod: fc.oneof({ weight: 6, arbitrary: fc.constant('PUSH') }, { weight: 1, arbitrary: fc.constantFrom('push', 'SMS', 'IN_APP', '') }),
    pushUserAuthenticatorId: fc.oneof(fc.constantFrom(...fx.credentialIds, ...fx.oob.credentialIds), uuidLike),
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
// Push and QR-code values
// ---------------------------------------------------------------------------------------

/** Tenant-ID routes: mostly the tenant's Basic forms the SDKs send, sometimes anything. */
function tenantAuth(): Arbitrary<string | undefined> {
  return fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...fx.tenantBasics.slice(0, 3)) }, { weight: 2, arbitrary: clientAuth() })
}

/** Push and QR routes: the tenant ID, a token of one of these actions, or anything clientAuth gives. */
function outOfBandAuth(): Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...fx.tenantBasics.slice(0, 3)) },
    { weight: 2, arbitrary: fc.constantFrom(...fx.oob.tokens).map(bearer) },
    { weight: 3, arbitrary: clientAuth() },
  )
}

/** X-Authsignal-Tenant-ID on push and QR routes: usually absent (the mobile SDKs send none), otherwise as tenantHeader. */
function occasionalTenantHeader(): Arbitrary<string | undefined> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: tenantHeader() })
}

/**
 * A body that passes the route's schema, from domain-relevant choices (another challenge, a
 * wrong code, another device's key): it reaches the domain's own refusals, which bodies the
 * schema refuses never do.
 */
function wellFormedBody(fields: Fields, required: string[]): Arbitrary<Body> {
  return fc.record(fields, { requiredKeys: required as never[] }).map((body) => ({ payload: json(body), contentType: 'application/json' }))
}

/** A route's bodies: as `jsonBody` gives them, or well formed (`wellFormedBody`). */
function outOfBandBody(fields: Fields, required: string[], valid: Arbitrary<Record<string, unknown>>, wellFormed: Fields): Arbitrary<Body> {
  return fc.oneof({ weight: 3, arbitrary: jsonBody(fields, required, valid) }, { weight: 2, arbitrary: wellFormedBody(wellFormed, required) })
}

/** Challenge IDs that pass the schema: a real one in another state, another tenant's, a UUID no challenge has. */
const knownChallengeId = () =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...[...fx.oob.pushChallenges, ...fx.oob.qrChallenges].map((c) => c.challengeId)) },
    { weight: 1, arbitrary: fc.uuid() },
  )

/** A fresh value (a `LIVE` placeholder) most of the time, otherwise `other`. */
function liveOr(placeholder: string, other: Arbitrary<unknown>, weight = 3): Arbitrary<unknown> {
  return fc.oneof({ weight, arbitrary: fc.constant(placeholder) }, { weight: 2, arbitrary: other })
}

const outOfBandKeys = () => fc.constantFrom(...fx.oob.devices.map((d) => d.publicKey))
/** A nonce's shape (32 random bytes, base64url) that no device was given. */
const nonceLike = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('base64url'))

const outOfBandPublicKey = () =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...fx.oob.devices.map((d) => d.publicKey)) }, { weight: 2, arbitrary: publicKeyValue() })

/** Real push and QR challenge IDs in every state, another tenant's, in-app ones, and near misses. */
const outOfBandChallengeId = () => {
  const real = [...fx.oob.pushChallenges, ...fx.oob.qrChallenges].map((c) => c.challengeId)
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...real) },
    { weight: 1, arbitrary: fc.constantFrom(...real).map((id) => id.toUpperCase()) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: challengeIdValue() },
  )
}

/** `?publicKey=` as the push SDKs send it (base64 once more; percent-encoded, or raw as Android does), or hostile. */
function outOfBandKeyQuery(): Arbitrary<string> {
  const query = queryString({
    publicKey: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...fx.oob.queryKeys) }, { weight: 1, arbitrary: publicKeyValue() }),
  })
  const raw = fc.constantFrom(...fx.oob.queryKeys).map((key) => `?publicKey=${key.replace(/ /g, '+')}`)
  return fc.oneof(query, raw)
}

/**
 * A new user's device in either push namespace with a tracked action, sometimes one with number
 * matching and v2; with `start`, a push challenge for it, pending or (with `anyState`) answered.
 */
function livePush(options: { start: boolean; anyState?: boolean; nonce?: boolean }): Arbitrary<Live> {
  return fc
    .record({
      namespace: fc.constantFrom('push' as const, 'device' as const),
      // Answered with v1 before the request, so not for the action that requires v2.
      action: options.anyState ? fc.constant('authorizePayment') : fc.constantFrom('authorizePayment', 'authorizePayment', MATCHED_ACTION),
      transaction: fc.option(validTransaction, { nil: undefined }),
      answer: options.anyState ? fc.constantFrom(undefined, true, false) : fc.constant(undefined),
    })
    .map((r) => ({ make: 'push', ...r, start: options.start, ...(options.nonce ? { nonce: true } : {}) }))
}

/** A QR code and a new user's device in either QR namespace; claimed or not, or (with `anyState`) also answered. */
function liveQr(options: { claimed?: boolean; anyState?: boolean } = {}): Arbitrary<Live> {
  return fc
    .record({
      namespace: fc.constantFrom('qr-code' as const, 'device' as const),
      claim: options.claimed === undefined ? fc.boolean() : fc.constant(options.claimed),
      answer: options.anyState ? fc.constantFrom(undefined, true, false) : fc.constant(undefined),
    })
    .map((r) => ({ make: 'qr', ...r, ...(r.claim ? {} : { answer: undefined }) }))
}

/** The namespace a live request is for, usually; sometimes another or a hostile segment. */
function namespaceFor(live: Live): Arbitrary<string> {
  if (live.make === 'managed') return namespaceArb()
  return fc.oneof({ weight: 6, arbitrary: fc.constant(live.namespace) }, { weight: 1, arbitrary: namespaceArb() })
}

/** POST /verify/push and its stream: a live challenge in any state polled with its token, a fixture one, or hostile. */
function verifyPushRequests(path: string): Arbitrary<FuzzRequest> {
  const fields: Fields = { challengeId: liveOr(LIVE.challengeId, outOfBandChallengeId()) }
  const wellFormed = (challengeId: string): Fields => ({ challengeId: liveOr(challengeId, knownChallengeId(), 4) })
  const auth = (token: string) => fc.oneof({ weight: 6, arbitrary: fc.constant(bearer(token)) }, { weight: 1, arbitrary: outOfBandAuth() })
  const body = (challengeId: string) => outOfBandBody(fields, ['challengeId'], fc.constant({ challengeId }), wellFormed(challengeId))
  return fc.oneof(
    livePush({ start: true, anyState: true }).chain((live) =>
      fc.record({ auth: auth(LIVE.token), body: body(LIVE.challengeId) }).map((r) => ({ ...build('POST', path, r.auth, r.body), live })),
    ),
    fc.constantFrom(...fx.oob.pushChallenges).chain((c) =>
      fc
        .record({ auth: auth(c.token), tenant: occasionalTenantHeader(), body: body(c.challengeId) })
        .map((r) => build('POST', path, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant })),
    ),
  )
}

/** POST /verify/qr-code and its stream: a live QR code in any state with its device code, a fixture one, or hostile. */
function verifyQrRequests(path: string): Arbitrary<FuzzRequest> {
  const fields: Fields = {
    challengeId: liveOr(LIVE.challengeId, outOfBandChallengeId()),
    deviceCode: liveOr(
      LIVE.deviceCode,
      fc.oneof(fc.constantFrom(...fx.oob.qrChallenges.map((c) => c.deviceCode)), randomBase64Url(32), fc.integer({ min: 250, max: 260 }).map((n) => 'd'.repeat(n))),
    ),
  }
  const required = ['challengeId', 'deviceCode']
  const deviceCodes = fc.oneof(fc.constantFrom(...fx.oob.qrChallenges.map((c) => c.deviceCode)), nonceLike)
  const body = (challengeId: string, deviceCode: string) =>
    outOfBandBody(fields, required, fc.constant({ challengeId, deviceCode }), {
      challengeId: liveOr(challengeId, knownChallengeId(), 4),
      deviceCode: liveOr(deviceCode, deviceCodes, 4),
    })
  return fc.oneof(
    liveQr({ anyState: true }).chain((live) =>
      fc
        .record({ auth: tenantAuth(), tenant: occasionalTenantHeader(), body: body(LIVE.challengeId, LIVE.deviceCode) })
        .map((r) => ({ ...build('POST', path, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant }), live })),
    ),
    fc.constantFrom(...fx.oob.qrChallenges).chain((c) =>
      fc.record({ auth: tenantAuth(), body: body(c.challengeId, c.deviceCode) }).map((r) => build('POST', path, r.auth, r.body)),
    ),
  )
}

// ---------------------------------------------------------------------------------------
// The WebSocket
// ---------------------------------------------------------------------------------------

/** The members of a `ws` client used here (`ws` is installed for @fastify/websocket, without types). */
interface WsClient {
  on(event: 'open', listener: () => void): this
  on(event: 'message', listener: (data: Buffer) => void): this
  on(event: 'close', listener: (code: number) => void): this
  on(event: 'error', listener: (error: Error) => void): this
  send(data: string | Buffer, options: { binary: boolean }): void
  terminate(): void
}
const requireCjs = createRequire(import.meta.url)
const { WebSocket } = requireCjs('ws') as { WebSocket: new (address: string, protocols: string[]) => WsClient }

const WS_PROTOCOL = 'authsignal-ws'
const WS_TENANT = 'x.authsignal.tenant.'
const WS_TOKEN = 'x.authsignal.token.'
const WS_MAX_PAYLOAD = 16 * 1024
const WS_CLOSE = { unauthorized: 4401, tooBig: 1009, policy: 1008 } as const

// What the browser SDK sends to create a QR code, read by the server with this schema: the
// fuzz predicts from it which messages the server must answer.
const CreateChallengeMessage = z.object({
  type: z.literal('CREATE_CHALLENGE'),
  data: z.object({ challengeType: z.literal('QR_CODE'), actionCode: ActionCode.optional(), custom: CustomData.optional() }),
})

interface WsFrame {
  data: string | Buffer
  binary: boolean
}

/** Who the server should take the page for: the token's action, a tenant, or nobody. */
type WsCaller = { kind: 'token'; action: string } | { kind: 'tenant' } | null

/** The server's rule (websocket.ts): the first token subprotocol decides if it is non-empty, else the first tenant one. */
function wsCaller(protocols: string[], wsToken: { token: string; action: string }): WsCaller {
  const token = protocols.find((p) => p.startsWith(WS_TOKEN))?.slice(WS_TOKEN.length)
  if (token) return token === wsToken.token ? { kind: 'token', action: wsToken.action } : null
  const tenantId = protocols.find((p) => p.startsWith(WS_TENANT))?.slice(WS_TENANT.length)
  return tenantId === fx.api.tenant.tenantId || tenantId === fx.other.tenant.tenantId ? { kind: 'tenant' } : null
}

/** How the server treats one frame: too big, a request for a QR code (its action), or ignored. */
function wsFrameKind(frame: WsFrame): { kind: 'too-big' } | { kind: 'create'; actionCode: string | undefined } | { kind: 'ignored' } {
  const bytes = typeof frame.data === 'string' ? Buffer.from(frame.data, 'utf8') : frame.data
  if (bytes.length > WS_MAX_PAYLOAD) return { kind: 'too-big' }
  try {
    const parsed = CreateChallengeMessage.safeParse(JSON.parse(bytes.toString('utf8')))
    return parsed.success ? { kind: 'create', actionCode: parsed.data.data.actionCode } : { kind: 'ignored' }
  } catch {
    return { kind: 'ignored' }
  }
}

interface WsExpectation {
  /** CHALLENGE_CREATED messages due, at least and at most. */
  created: [number, number]
  /**
   * Close codes that may end the session; empty when the socket must stay open. `refusal` when
   * a request the domain refuses comes first: the page must be told (a close with a client
   * error code, or a message that is not CHALLENGE_CREATED), never with a server error (1011).
   */
  closeCodes: number[]
  refusal: boolean
}

/** Close codes an application may use for a client's mistake (RFC 6455 §7.4.2), and policy violation. */
const CLIENT_CLOSE_CODES = [WS_CLOSE.policy, ...Array.from({ length: 1000 }, (_, i) => 4000 + i)]

/**
 * What the server must do with these frames: an unauthenticated page is closed (4401); every
 * request for a QR code is answered in turn (at most one a second, so later ones come late);
 * anything else is ignored; a frame over the size limit closes the socket (1009). A request
 * the domain refuses (no action without a token, another action than the token's) is the
 * page's mistake.
 */
function expectWs(caller: WsCaller, frames: WsFrame[]): WsExpectation {
  // The size limit is enforced as a frame arrives, answers come in turn: a close for size may
  // overtake the answers to earlier frames.
  const tooBig = frames.some((f) => wsFrameKind(f).kind === 'too-big')
  const expect = (created: number, closeCodes: number[], refusal = false): WsExpectation =>
    tooBig ? { created: [0, created], closeCodes: [WS_CLOSE.tooBig, ...closeCodes], refusal } : { created: [created, created], closeCodes, refusal }
  if (!caller) return expect(0, [WS_CLOSE.unauthorized])
  let created = 0
  for (const frame of frames) {
    const kind = wsFrameKind(frame)
    if (kind.kind === 'too-big') return expect(created, [])
    if (kind.kind === 'ignored') continue
    const accepted = caller.kind === 'tenant' ? kind.actionCode !== undefined : kind.actionCode === undefined || kind.actionCode === caller.action
    if (!accepted) return expect(created, CLIENT_CLOSE_CODES, true)
    created++
  }
  return expect(created, [])
}

interface WsSession {
  /** Why the client gave up on the handshake, if it did. */
  handshakeError?: string
  messages: string[]
  closeCode?: number
}

/** Opens a socket offering `protocols`, sends `frames` at once, and waits until `expected` is met or the socket closes. */
function wsSession(protocols: string[], frames: WsFrame[], expected: WsExpectation): Promise<WsSession> {
  return new Promise((resolve) => {
    const session: WsSession = { messages: [] }
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws-v1-challenge`, protocols)
    let opened = false
    const finish = () => {
      clearTimeout(timer)
      socket.terminate()
      resolve(session)
    }
    // Requests are answered a second apart: allow for each.
    const timer = setTimeout(finish, 5000 + 1000 * expected.created[1])
    socket.on('open', () => {
      opened = true
      for (const frame of frames) socket.send(frame.data, { binary: frame.binary })
    })
    socket.on('message', (data) => {
      session.messages.push(data.toString('utf8'))
      const created = session.messages.filter((m) => m.includes('"CHALLENGE_CREATED"')).length
      const told = expected.refusal && created < session.messages.length
      if ((expected.closeCodes.length === 0 && created >= expected.created[1]) || told) finish()
    })
    socket.on('error', (error) => {
      if (!opened) session.handshakeError = error.message
    })
    socket.on('close', (code) => {
      if (opened) session.closeCode = code
      finish()
    })
  })
}

function wsViolations(plan: { protocols: string[]; frames: WsFrame[] }, expected: WsExpectation, session: WsSession, secrets: string[]): string[] {
  const problems: string[] = []
  if (session.handshakeError !== undefined) {
    // The browser, like `ws`, drops a connection whose server picked none of its subprotocols.
    const dropped = plan.protocols.length > 0 && !plan.protocols.includes(WS_PROTOCOL) && /no subprotocol/.test(session.handshakeError)
    if (!dropped) problems.push(`the handshake failed: ${session.handshakeError}`)
    return problems
  }
  let created = 0
  let other = 0
  for (const text of session.messages) {
    if (STACK_FRAME.test(text)) problems.push('a message holds a stack frame')
    for (const secret of secrets) if (text.includes(secret)) problems.push('a message echoes the token')
    let message: { type?: unknown; data?: Record<string, unknown> }
    try {
      message = (JSON.parse(text) as typeof message | null) ?? {}
    } catch {
      problems.push(`a message that is not JSON: ${JSON.stringify(text.slice(0, 200))}`)
      continue
    }
    const data = message.data ?? {}
    if (message.type === 'CHALLENGE_CREATED') {
      created++
      const complete = typeof data.challengeId === 'string' && data.challengeType === 'QR_CODE' && data.state === 'unclaimed' && !Number.isNaN(Date.parse(String(data.expiresAt)))
      if (!complete || 'error' in data) problems.push(`a CHALLENGE_CREATED without what the SDK reads: ${text.slice(0, 300)}`)
    } else {
      other++
      if (!expected.refusal) problems.push(`an unexpected message ${text.slice(0, 300)}`)
    }
  }
  if (created < expected.created[0] || created > expected.created[1]) {
    problems.push(`${created} CHALLENGE_CREATED where ${expected.created.join('–')} were due`)
  }
  const code = session.closeCode
  if (code === undefined && expected.closeCodes.length > 0 && !(expected.refusal && other > 0)) {
    problems.push(`still open where it should have been closed with ${describeCloseCodes(expected.closeCodes)}`)
  }
  if (code !== undefined && !expected.closeCodes.includes(code)) {
    problems.push(expected.closeCodes.length === 0 ? `closed with ${code} instead of staying open` : `closed with ${code} where ${describeCloseCodes(expected.closeCodes)} was due`)
  }
  return problems
}

function describeCloseCodes(codes: number[]): string {
  const named = codes.filter((c) => !CLIENT_CLOSE_CODES.includes(c))
  return [...named, ...(codes.some((c) => CLIENT_CLOSE_CODES.includes(c)) ? ['1008 or 4000–4999'] : [])].join(' or ')
}

// ---------------------------------------------------------------------------------------
// The routes
// ---------------------------------------------------------------------------------------

describe('fuzz: Server API (secret key)', () => {
  fuzzRoute('POST /v1/users/{userId}/actions/{action}', 'track', () =>
    fc
      .record({ auth: serverAuth(), userId: userIdArb(), action: actionArb(), body: jsonBody(trackFields()) })
      .map((r) => build('POST', `/v1/users/${r.userId}/actions/${r.action}`, r.auth, r.body)),
  )

  fuzzRoute('GET /v1/users/{userId}/actions/{action}/{idempotencyKey}', '', () =>
    fc
      .record({ auth: serverAuth(), userId: userIdArb(), action: actionArb(), key: idempotencyKeyArb(), query: queryString({ x: nasty }), body: noBody })
      .map((r) => build('GET', `/v1/users/${r.userId}/actions/${r.action}/${r.key}${r.query}`, r.auth, r.body)),
  )

  fuzzRoute('PATCH /v1/users/{userId}/actions/{action}/{idempotencyKey}', '', () =>
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

  fuzzRoute('GET /v1/users/{userId}/actions', 'codes, fromDate, state', () => {
    const query = queryString({
      codes: fc.array(fc.oneof(fc.constantFrom(...fx.actionCodes), nasty), { maxLength: 4 }).map((c) => c.join(',')),
      fromDate: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().replace('Z', '+05:30')),
        fc.constantFrom('2024-02-29T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999Z', '2024-01-01', 'yesterday'),
      ),
      state: fc.constantFrom(...STATES),
    })
    return fc
      .record({ auth: serverAuth(), userId: userIdArb(), query, body: noBody })
      .map((r) => build('GET', `/v1/users/${r.userId}/actions${r.query}`, r.auth, r.body))
  })

  fuzzRoute('POST /v1/validate', '', () => {
    const fields: Fields = {
      token: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...fx.tokens) }, { weight: 3, arbitrary: jwtJunk() }),
      userId: fc.constantFrom(...fx.userIds),
      action: fc.constantFrom(...fx.actionCodes),
    }
    return fc.record({ auth: serverAuth(), body: jsonBody(fields, ['token']) }).map((r) => build('POST', '/v1/validate', r.auth, r.body))
  })

  fuzzRoute('GET /v1/users/{userId}', '', () =>
    fc
      .record({ auth: serverAuth(), userId: userIdArb(), query: queryString({ x: nasty }), body: noBody })
      .map((r) => build('GET', `/v1/users/${r.userId}${r.query}`, r.auth, r.body)),
  )

  fuzzRoute('PATCH /v1/users/{userId}', '', () =>
    fc
      .record({ auth: serverAuth(), userId: userIdArb(), body: jsonBody(userFields()) })
      .map((r) => build('PATCH', `/v1/users/${r.userId}`, r.auth, r.body)),
  )

  fuzzRoute('GET /v1/users', 'username, email, phoneNumber, limit, lastEvaluatedUserId', () => {
    const query = queryString({
      username: fc.string({ unit: 'grapheme', maxLength: 20 }),
      email,
      phoneNumber,
      limit: fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.constantFrom('1e2', '0x10', '20.5', ' 7', '', 'Infinity', '-0', '99999999999999999999')),
      lastEvaluatedUserId: fc.constantFrom(...fx.userIds),
    })
    return fc.record({ auth: serverAuth(), query, body: noBody }).map((r) => build('GET', `/v1/users${r.query}`, r.auth, r.body))
  })

  fuzzRoute('GET /v1/users/{userId}/authenticators', '', () =>
    fc
      .record({ auth: serverAuth(), userId: userIdArb(), body: noBody })
      .map((r) => build('GET', `/v1/users/${r.userId}/authenticators`, r.auth, r.body)),
  )
})

describe('fuzz: Client API (tenant ID or token)', () => {
  fuzzRoute('POST /v1/client/challenge', '', () =>
    fc
      .record({ auth: clientAuth(), tenant: tenantHeader(), body: jsonBody({ action: fc.constantFrom(...fx.actionCodes) }) })
      .map((r) => build('POST', '/v1/client/challenge', r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant })),
  )

  fuzzRoute('POST /v1/client/user-authenticators/{namespace}', 'add credential', () => {
    const fields: Fields = {
      publicKey: publicKeyValue(),
      deviceName: fc.string({ unit: 'grapheme', maxLength: 30 }),
      devicePlatform: fc.constantFrom('ios', 'android', 'web'),
      pushToken: randomBase64(100),
      performAttestation: fc.record({ provider: fc.constantFrom('playIntegrity', 'appAttest'), token: randomBase64(200), keyId: fc.uuid() }, { requiredKeys: ['provider', 'token'] }),
      userAuthenticationRequired: fc.boolean(),
    }
    return fc.oneof(
      fc
        .record({ auth: clientAuth(true), tenant: tenantHeader(), namespace: namespaceArb(), body: jsonBody(fields, ['publicKey']) })
        .map((r) => build('POST', `/v1/client/user-authenticators/${r.namespace}`, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant })),
      fc
        .record({ namespace: fc.constantFrom('in-app', 'device', 'push', 'qr-code'), request: validCase(fx.valid.add, fields, ['publicKey']) })
        .map((r) => build('POST', `/v1/client/user-authenticators/${r.namespace}`, r.request.auth, r.request.body)),
    )
  })

  fuzzRoute('GET /v1/client/user-authenticators/{namespace}', 'publicKey', () => {
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
    return fc
      .record({ auth: clientAuth(), tenant: tenantHeader(), namespace: namespaceArb(), query: fc.oneof(query, rawQuery), body: noBody })
      .map((r) => build('GET', `/v1/client/user-authenticators/${r.namespace}${r.query}`, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant }))
  })

  fuzzRoute('POST /v1/client/verify/in-app', '', () => verifyInAppRequests('/v1/client/verify/in-app'))
  // The legacy device SDKs' name for the same call, left out of the OpenAPI document.
  fuzzRoute('POST /v1/client/verify/device', 'alias of /verify/in-app', () => verifyInAppRequests('/v1/client/verify/device'), { runs: Math.ceil(RUNS / 4) })

  fuzzRoute('POST /v1/client/user-authenticators/{namespace}/remove', '', () => {
    const fields: Fields = { publicKey: publicKeyValue(), signature: signatureValue() }
    const required = ['publicKey', 'signature']
    const valid = fc.constantFrom(...fx.removePairs).map((p) => ({ ...p }))
    const url = (namespace: string) => `/v1/client/user-authenticators/${namespace}/remove`
    return fc.oneof(
      fc
        .record({ auth: clientAuth(), tenant: tenantHeader(), namespace: namespaceArb(), body: jsonBody(fields, required, valid) })
        .map((r) => build('POST', url(r.namespace), r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant })),
      fc
        .constantFrom(...fx.valid.remove)
        .chain((c) => validCase([c], fields, required).map((r) => build('POST', url(c.namespace), r.auth, r.body))),
    )
  })

  fuzzRoute('GET /v1/client/hosted-challenge', 'track token', () =>
    fc
      .record({
        auth: clientAuth(true),
        tenant: tenantHeader(),
        query: queryString({ token: fc.constantFrom(...fx.tokens), x: nasty }),
        origin: rarely(fc.oneof(fc.constantFrom('http://countersign.test', 'https://bank.example', 'null'), headerText)),
        body: noBody,
      })
      .map((r) => build('GET', `/v1/client/hosted-challenge${r.query}`, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant, origin: r.origin })),
  )
})

/** POST /verify/in-app and its alias: any body, or a request that succeeds the first time, sent as it is or changed. */
function verifyInAppRequests(path: string): Arbitrary<FuzzRequest> {
  const fields: Fields = { challengeId: challengeIdValue(), publicKey: publicKeyValue(), signature: signatureValue() }
  const required = ['challengeId', 'publicKey', 'signature']
  const valid = fc.constantFrom(...fx.verifyTriples).map((t) => ({ ...t }))
  return fc.oneof(
    fc
      .record({ auth: clientAuth(), tenant: tenantHeader(), body: jsonBody(fields, required, valid) })
      .map((r) => build('POST', path, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant })),
    validCase(fx.valid.verify, fields, required).map((r) => build('POST', path, r.auth, r.body)),
  )
}

describe('fuzz: push and QR code (Client API)', () => {
  /** The nonce a device signs before fetching its challenge (…/challenge/sign) or updating its push token (…/sign). */
  const nonceRequests = (rest: string) =>
    fc
      .record({ auth: outOfBandAuth(), tenant: occasionalTenantHeader(), namespace: namespaceArb(), query: outOfBandKeyQuery(), body: noBody })
      .map((r) => build('POST', `/v1/client/user-authenticators/${r.namespace}/${rest}${r.query}`, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant }))

  fuzzRoute('POST /v1/client/user-authenticators/{namespace}/challenge/sign', 'nonce', () => nonceRequests('challenge/sign'))
  fuzzRoute('POST /v1/client/user-authenticators/{namespace}/sign', 'nonce', () => nonceRequests('sign'))
  // One Android revision's name for …/sign, left out of the OpenAPI document.
  fuzzRoute('POST /v1/client/user-authenticators/{namespace}/update/sign', 'alias of …/sign', () => nonceRequests('update/sign'), { runs: Math.ceil(RUNS / 4) })

  fuzzRoute('GET /v1/client/user-authenticators/{namespace}/challenge', 'publicKey, X-Authsignal-Signature', () => {
    // Usually the signature over a fresh nonce; sometimes none (older SDKs), or not one at all.
    const signature = fc.option(
      fc.oneof({ weight: 4, arbitrary: fc.constant(LIVE.signature) }, { weight: 1, arbitrary: signatureValue() }, { weight: 1, arbitrary: headerText }),
      { freq: 4, nil: undefined },
    )
    const liveQuery = fc.constantFrom(LIVE.publicKeyQuery, LIVE.publicKeyQueryRaw, LIVE.publicKeyQueryUrl).map((key) => `?publicKey=${key}`)
    return fc.oneof(
      livePush({ start: true, nonce: true }).chain((live) =>
        fc
          .record({ auth: tenantAuth(), tenant: occasionalTenantHeader(), namespace: namespaceFor(live), query: fc.oneof(liveQuery, outOfBandKeyQuery()), signature, body: noBody })
          .map((r) => ({
            ...build('GET', `/v1/client/user-authenticators/${r.namespace}/challenge${r.query}`, r.auth, r.body, {
              'x-authsignal-tenant-id': r.tenant,
              'x-authsignal-signature': r.signature,
            }),
            live,
          })),
      ),
      fc
        .record({ auth: outOfBandAuth(), tenant: occasionalTenantHeader(), namespace: namespaceArb(), query: outOfBandKeyQuery(), signature, body: noBody })
        .map((r) =>
          build('GET', `/v1/client/user-authenticators/${r.namespace}/challenge${r.query}`, r.auth, r.body, {
            'x-authsignal-tenant-id': r.tenant,
            'x-authsignal-signature': r.signature,
          }),
        ),
    )
  })

  fuzzRoute('PATCH /v1/client/user-authenticators/{namespace}', 'push token, expiry', () => {
    const pushToken = fc.oneof(randomBase64(100), fc.constant(null), nasty, fc.integer({ min: 4090, max: 4100 }).map((n) => 'p'.repeat(n)))
    const fields: Fields = {
      challengeId: liveOr(LIVE.nonce, fc.oneof(randomBase64Url(32), randomBase64Url(48), outOfBandChallengeId())),
      publicKey: liveOr(LIVE.publicKey, outOfBandPublicKey()),
      signature: liveOr(LIVE.signature, signatureValue()),
      pushToken,
      resetExpiry: fc.boolean(),
    }
    const required = ['challengeId', 'publicKey', 'signature']
    const valid = fc
      .record({ pushToken: fc.oneof(randomBase64(100), fc.constant(null)), resetExpiry: fc.boolean() }, { requiredKeys: [] })
      .map((extra) => ({ challengeId: LIVE.nonce, publicKey: LIVE.publicKey, signature: LIVE.signature, ...extra }))
    const wellFormed: Fields = {
      challengeId: liveOr(LIVE.nonce, fc.oneof(nonceLike, knownChallengeId()), 4),
      publicKey: liveOr(LIVE.publicKey, outOfBandKeys(), 4),
      signature: liveOr(LIVE.signature, signatureValue(), 4),
      pushToken: fc.oneof(randomBase64(100), fc.constant(null)),
      resetExpiry: fc.boolean(),
    }
    return livePush({ start: false, nonce: true }).chain((live) =>
      fc
        .record({ auth: tenantAuth(), tenant: occasionalTenantHeader(), namespace: namespaceFor(live), body: outOfBandBody(fields, required, valid, wellFormed) })
        .map((r) => ({
          ...build('PATCH', `/v1/client/user-authenticators/${r.namespace}`, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant }),
          live,
          // The answer carries the push token it stored.
          echoed: ['pushToken'],
        })),
    )
  })

  fuzzRoute('POST /v1/client/user-authenticators/{namespace}/challenge', 'approve or deny, v1 and v2', () => {
    const fields: Fields = {
      challengeId: liveOr(LIVE.challengeId, outOfBandChallengeId()),
      publicKey: liveOr(LIVE.publicKey, outOfBandPublicKey()),
      signature: liveOr(LIVE.signature, signatureValue()),
      approved: fc.boolean(),
      verificationCode: fc.oneof(fc.constant(LIVE.verificationCode), fc.constant(null), fc.stringMatching(/^\d{2,6}$/), fc.constantFrom(' 42 ', '4\u00002', '')),
      signatureVersion: fc.constantFrom(1, 2, 3, '2'),
      signatureFormat: fc.constantFrom('der', 'p1363', 'DER', 'raw'),
      reportFraud: fc.boolean(),
    }
    const required = ['challengeId', 'publicKey', 'signature', 'approved']
    // As the SDKs answer: v1, or v2 over the decision (which the number-matching action requires).
    const validFor = (live: Live) =>
      fc
        .record({
          approved: fc.boolean(),
          v2: live.make === 'push' && live.action === MATCHED_ACTION ? fc.constant(true) : fc.boolean(),
          signatureFormat: fc.constantFrom('der', 'p1363'),
          reportFraud: fc.option(fc.boolean(), { nil: undefined }),
        })
        .map(({ approved, v2, signatureFormat, reportFraud }) => ({
          challengeId: LIVE.challengeId,
          publicKey: LIVE.publicKey,
          signature: LIVE.signature,
          approved,
          verificationCode: LIVE.verificationCode,
          ...(v2 ? { signatureVersion: 2, signatureFormat } : {}),
          ...(reportFraud !== undefined ? { reportFraud } : {}),
        }))
    // Another state, another device, the wrong code, v1 where v2 is required, a denial reported as fraud.
    const wellFormed: Fields = {
      challengeId: liveOr(LIVE.challengeId, knownChallengeId(), 4),
      publicKey: liveOr(LIVE.publicKey, outOfBandKeys(), 4),
      signature: liveOr(LIVE.signature, signatureValue(), 4),
      approved: fc.boolean(),
      verificationCode: fc.oneof(fc.constant(LIVE.verificationCode), fc.constant(null), fc.stringMatching(/^\d{2}$/)),
      signatureVersion: fc.constantFrom(1, 2),
      signatureFormat: fc.constantFrom('der', 'p1363'),
      reportFraud: fc.boolean(),
    }
    const live = fc.oneof(livePush({ start: true }), liveQr({ claimed: true }))
    return live.chain((l) =>
      fc
        .record({ auth: tenantAuth(), tenant: occasionalTenantHeader(), namespace: namespaceFor(l), body: outOfBandBody(fields, required, validFor(l), wellFormed) })
        .map((r) => ({ ...build('POST', `/v1/client/user-authenticators/${r.namespace}/challenge`, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant }), live: l })),
    )
  })

  fuzzRoute('POST /v1/client/user-authenticators/{namespace}/challenge/claim', 'QR code', () => {
    const fields: Fields = {
      challengeId: liveOr(LIVE.challengeId, outOfBandChallengeId()),
      publicKey: liveOr(LIVE.publicKey, outOfBandPublicKey()),
      signature: liveOr(LIVE.signature, signatureValue()),
    }
    const required = ['challengeId', 'publicKey', 'signature']
    const valid = fc.constant({ challengeId: LIVE.challengeId, publicKey: LIVE.publicKey, signature: LIVE.signature })
    const wellFormed: Fields = {
      challengeId: liveOr(LIVE.challengeId, knownChallengeId(), 4),
      publicKey: liveOr(LIVE.publicKey, outOfBandKeys(), 4),
      signature: liveOr(LIVE.signature, signatureValue(), 4),
    }
    return liveQr({ claimed: false }).chain((live) =>
      fc
        .record({ auth: tenantAuth(), tenant: occasionalTenantHeader(), namespace: namespaceFor(live), body: outOfBandBody(fields, required, valid, wellFormed) })
        .map((r) => ({ ...build('POST', `/v1/client/user-authenticators/${r.namespace}/challenge/claim`, r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant }), live })),
    )
  })

  fuzzRoute('POST /v1/client/challenge/push', '', () => {
    const fields: Fields = {
      action: fc.constantFrom(...fx.actionCodes),
      userAuthenticatorId: liveOr(LIVE.userAuthenticatorId, fc.oneof(fc.constantFrom(...fx.oob.credentialIds), uuidLike)),
    }
    const auth = fc.oneof({ weight: 6, arbitrary: fc.constant(bearer(LIVE.token)) }, { weight: 1, arbitrary: outOfBandAuth() })
    return livePush({ start: false }).chain((live) => {
      const action = live.make === 'push' ? live.action : 'authorizePayment'
      const valid = fc.constantFrom({}, { action }, { userAuthenticatorId: LIVE.userAuthenticatorId }, { action, userAuthenticatorId: LIVE.userAuthenticatorId })
      const wellFormed: Fields = {
        action: liveOr(action, fc.constantFrom(...fx.actionCodes), 4),
        userAuthenticatorId: liveOr(LIVE.userAuthenticatorId, fc.oneof(fc.constantFrom(...fx.oob.credentialIds), fc.uuid()), 4),
      }
      return fc
        .record({ auth, tenant: occasionalTenantHeader(), body: outOfBandBody(fields, [], valid, wellFormed) })
        .map((r) => ({ ...build('POST', '/v1/client/challenge/push', r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant }), live }))
    })
  })

  fuzzRoute('POST /v1/client/verify/push', '', () => verifyPushRequests('/v1/client/verify/push'))
  fuzzRoute('POST /v1/client/verify/push/stream', 'Server-Sent Events, over a socket', () => verifyPushRequests('/v1/client/verify/push/stream'))

  fuzzRoute('POST /v1/client/challenge/qr-code', '', () => {
    const fields: Fields = { action: fc.constantFrom(...fx.actionCodes), custom: customData }
    return fc
      .record({ auth: outOfBandAuth(), tenant: occasionalTenantHeader(), body: jsonBody(fields) })
      .map((r) => build('POST', '/v1/client/challenge/qr-code', r.auth, r.body, { 'x-authsignal-tenant-id': r.tenant }))
  })

  fuzzRoute('POST /v1/client/verify/qr-code', '', () => verifyQrRequests('/v1/client/verify/qr-code'))
  fuzzRoute('POST /v1/client/verify/qr-code/stream', 'Server-Sent Events, over a socket', () => verifyQrRequests('/v1/client/verify/qr-code/stream'))
})

describe('fuzz: the WebSocket', () => {
  property(WS_ROUTE, 'any subprotocols, any frames', async () => {
    // Fresh: a long run must not outlive the token.
    const wsToken = { token: (await fx.api.track(uniqueId('fuzz-ws'), 'signIn')).token, action: 'signIn' }
    const tokenText = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.!#$%&\'*+^`|~'), minLength: 1, maxLength: 40 })
    // What the SDK offers: the page's tenant ID or token.
    const credential = fc.oneof(
      fc.constantFrom(...[fx.api.tenant.tenantId, fx.other.tenant.tenantId].map((id) => WS_TENANT + id)),
      fc.constant(WS_TOKEN + wsToken.token),
    )
    const offer = fc.oneof(
      credential,
      // Broken tokens: truncated (empty falls through to the tenant), one character more, made up.
      fc.nat().map((n) => WS_TOKEN + wsToken.token.slice(0, n % wsToken.token.length)),
      fc.constant(`${WS_TOKEN}${wsToken.token}x`),
      tokenText.map((t) => WS_TOKEN + t),
      tokenText.map((t) => WS_TENANT + t),
      tokenText,
      fc.constantFrom(WS_TENANT, 'AUTHSIGNAL-WS', 'authsignal-ws2', 'x.authsignal.tenant', 'x.authsignal.token'),
    )
    const protocols = fc
      .record({
        withProtocol: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        main: fc.oneof({ weight: 3, arbitrary: credential }, { weight: 1, arbitrary: offer }),
        others: fc.array(offer, { maxLength: 2 }),
        mainFirst: fc.boolean(),
      })
      .map(({ withProtocol, main, others, mainFirst }) => {
        const offered = mainFirst ? [main, ...others] : [...others, main]
        return [...new Set(withProtocol ? [WS_PROTOCOL, ...offered] : offered)]
      })
    const createRequest = fc.record(
      {
        type: field(fc.constant('CREATE_CHALLENGE')),
        data: field(
          fc.record({ challengeType: field(fc.constant('QR_CODE')), actionCode: field(fc.constantFrom(...fx.actionCodes)), custom: customData }, { requiredKeys: ['challengeType'] }),
        ),
      },
      { requiredKeys: ['type'] },
    )
    const frame: Arbitrary<WsFrame> = fc.oneof(
      { weight: 4, arbitrary: createRequest.map((m) => ({ data: json(m), binary: false })) },
      { weight: 2, arbitrary: fc.oneof(anyJson.map(json), nasty, fc.constantFrom(...RAW_BODIES)).map((data) => ({ data, binary: false })) },
      { weight: 1, arbitrary: createRequest.map((m) => ({ data: Buffer.from(json(m)), binary: true })) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ data: Buffer.from(bytes), binary: true })) },
      { weight: 1, arbitrary: fc.integer({ min: WS_MAX_PAYLOAD - 40, max: WS_MAX_PAYLOAD + 40 }).map((n) => ({ data: json({ type: 'CREATE_CHALLENGE', pad: 'x'.repeat(n) }), binary: false })) },
    )
    // A second request on one socket is answered a second after the first: rarely more than one.
    const requests = (frames: WsFrame[]) => frames.filter((f) => wsFrameKind(f).kind === 'create').length
    const frames = fc.oneof(
      { weight: 40, arbitrary: fc.array(frame, { maxLength: 4 }).filter((f) => requests(f) <= 1) },
      { weight: 1, arbitrary: fc.array(frame, { maxLength: 4 }).filter((f) => requests(f) === 2) },
    )
    const run = async (plan: { protocols: string[]; frames: WsFrame[] }) => {
      const caller = wsCaller(plan.protocols, wsToken)
      // Without a request among them, end with the one the SDK sends on open: its answer shows the rest were read.
      const opening = { type: 'CREATE_CHALLENGE', data: { challengeType: 'QR_CODE', ...(caller?.kind === 'token' ? {} : { actionCode: 'signIn' }) } }
      const frames = requests(plan.frames) > 0 ? plan.frames : [...plan.frames, { data: json(opening), binary: false }]
      const expected = expectWs(caller, frames)
      const logged = logLines.length
      const session = await wsSession(plan.protocols, frames, expected)
      const outcome = session.handshakeError !== undefined ? 'dropped' : session.messages.length > 0 ? 'created' : `closed ${session.closeCode}`
      tally(WS_ROUTE, outcome)
      const problems = wsViolations({ protocols: plan.protocols, frames }, expected, session, [wsToken.token])
      if (problems.length > 0) {
        // Lines of the sockets in flight with this one too.
        const lines = logLines.slice(logged).filter((line) => /websocket/i.test(line)).map((line) => line.slice(0, 1500))
        throw new Error(
          [
            problems.join('; '),
            `subprotocols: ${JSON.stringify(plan.protocols.map((p) => (p.length > 60 ? `${p.slice(0, 60)}…` : p)))}`,
            `frames: ${frames.map((f) => `${f.binary ? 'binary ' : ''}${JSON.stringify(String(f.data).slice(0, 200))}`).join(', ')}`,
            `received: ${JSON.stringify(session.messages.map((m) => m.slice(0, 200)))}, close ${String(session.closeCode)}`,
            ...(lines.length > 0 ? [`server log:\n${lines.join('\n')}`] : []),
          ].join('\n'),
        )
      }
    }
    return { values: fc.record({ protocols, frames }), run }
  }, { reachedDomain: (outcome) => outcome === 'created' })
})

// ---------------------------------------------------------------------------------------
// The Management API, in a tenant of its own
// ---------------------------------------------------------------------------------------

/**
 * The Management API is fuzzed in a tenant of its own, so what it changes (settings, rules,
 * users it deletes) never changes what the other routes are fuzzed against.
 */
interface ManagementFixtures {
  api: TenantApi
  /** Basic with the tenant's management key. */
  keyBasic: string
  /** Another tenant's management key: valid, for the wrong tenant. */
  strangerKey: string
  /** Console session cookie values (opened with the key and by an operator); the fuzz never ends them. */
  cookies: string[]
  /** Users with an in-app authenticator and a tracked action. */
  userIds: string[]
  credentials: Array<{ userId: string; userAuthenticatorId: string }>
  idempotencyKeys: string[]
  ruleIds: string[]
  aliases: string[]
  webhookIds: string[]
  /** Deliveries of an endpoint that was enabled while actions were tracked, then disabled (nothing is ever sent). */
  deliveries: Array<{ webhookId: string; eventId: string }>
  /** nextCursor values of real first pages (users, actions, audit log). */
  cursors: string[]
  /** An operator only ever sent with the right password, so signing in as them keeps succeeding. */
  operator: { email: string; password: string }
  /** An operator the fuzz signs in as with wrong passwords (soon slowed down: 429). */
  decoyEmail: string
  /** An Argon2id hash, for operators made to be deleted (hashing each would cost ~35 ms). */
  passwordHash: string
}

let mg: ManagementFixtures

const CONSOLE_PASSWORD = 'correct horse battery staple'
/** The action the users made for deletion are tracked with: no generator names it, so no fuzzed setting applies to it. */
const DOOMED_ACTION = 'fuzzDoomedUser'

async function consoleSession(body: Record<string, string>): Promise<string> {
  const res = await h.inject({ method: 'POST', url: '/v1/management/session', headers: { 'x-countersign-console': '1' }, payload: body })
  expectOk(res)
  const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE)
  if (!cookie) throw new Error('fixture: sign-in set no session cookie')
  return cookie.value
}

async function managementFixtures(): Promise<ManagementFixtures> {
  const api = tenantApi(h, await h.newTenant())
  const tenantId = api.tenant.tenantId
  const stranger = await h.newTenant()
  expectOk(await api.manage('POST', '/action-configurations', { actionCode: 'fuzzRules' }), 201)
  expectOk(await api.manage('POST', '/value-lists', { alias: 'fuzz_list', name: 'Fuzz', itemType: 'string', items: ['a'] }), 201)
  expectOk(await api.manage('POST', '/value-lists', { alias: 'fuzz_numbers', name: 'Numbers', itemType: 'number', items: [1, 2.5] }), 201)
  const ruleIds: string[] = []
  for (const condition of ['true', "list('fuzz_list').contains(action.custom.payee)", 'action.custom.amount > 1000.0']) {
    const rule = expectOk(
      await api.manage('POST', '/action-configurations/fuzzRules/rules', { name: condition.slice(0, 30), isActive: false, outcome: 'CHALLENGE', condition }),
      201,
    ) as { ruleId: string }
    ruleIds.push(rule.ruleId)
  }

  // An endpoint enabled while users enroll and actions are tracked (so it has deliveries), then
  // disabled: the harness runs no dispatcher, and a disabled endpoint's deliveries are never sent.
  const endpoint = await createWebhookEndpoint(h.database.db, tenantId, { url: 'https://hooks.example.com/fuzz', events: ['*'] }, h.deps.config.COUNTERSIGN_ENCRYPTION_KEY, new Date(h.clock()))
  h.deps.tenants.forget(tenantId)
  const userIds: string[] = []
  const credentials: ManagementFixtures['credentials'] = []
  const idempotencyKeys: string[] = []
  for (let i = 0; i < 3; i++) {
    const userId = uniqueId('fuzz-managed')
    const { credential } = await api.enroll(userId)
    const tracked = await api.track(userId, 'fuzzRules', { email: `${userId}@bank.example`, custom: { amount: 5000, payee: 'a' } })
    userIds.push(userId)
    credentials.push({ userId, userAuthenticatorId: credential.userAuthenticatorId })
    idempotencyKeys.push(tracked.idempotencyKey)
  }
  await updateWebhookEndpoint(h.database.db, tenantId, endpoint.webhookId, { enabled: false }, new Date(h.clock()))
  h.deps.tenants.forget(tenantId)
  const deliveries = (await listDeliveries(h.database.db, tenantId, endpoint.webhookId, 10)).map((d) => ({ webhookId: endpoint.webhookId, eventId: d.eventId }))
  if (deliveries.length === 0) throw new Error('fixture: the webhook endpoint got no deliveries')
  const second = expectOk(await api.manage('POST', '/webhooks', { url: 'https://hooks.example.com/second', events: ['action.created'], enabled: false }), 201) as { webhookId: string }

  const operator = { email: `${uniqueId('fuzz-operator')}@bank.example`, password: CONSOLE_PASSWORD }
  expectOk(await api.manage('POST', '/operators', operator), 201)
  const decoyEmail = `${uniqueId('fuzz-decoy')}@bank.example`
  expectOk(await api.manage('POST', '/operators', { email: decoyEmail, password: CONSOLE_PASSWORD }), 201)
  const cookies = [
    await consoleSession({ managementKey: api.tenant.managementKey }),
    await consoleSession({ managementKey: api.tenant.managementKey }),
    await consoleSession(operator),
  ]
  const cursors: string[] = []
  for (const path of ['/users?limit=1', '/actions?limit=1', '/audit-log?limit=1']) {
    const page = expectOk(await api.manage('GET', path)) as { nextCursor?: string }
    if (page.nextCursor) cursors.push(page.nextCursor)
  }
  return {
    api,
    keyBasic: basicAuth(api.tenant.managementKey),
    strangerKey: stranger.managementKey,
    cookies,
    userIds,
    credentials,
    idempotencyKeys,
    ruleIds,
    aliases: ['fuzz_list', 'fuzz_numbers'],
    webhookIds: [endpoint.webhookId, second.webhookId],
    deliveries,
    cursors: cursors.length > 0 ? cursors : ['x'],
    operator,
    decoyEmail,
    passwordHash: await hashPassword(CONSOLE_PASSWORD),
  }
}

let doomed = 0

/** Makes what a Management API request deletes (or a session it ends), in the management tenant. */
async function makeManaged(what: Managed): Promise<Made['values']> {
  const api = mg.api
  const tenantId = api.tenant.tenantId
  const n = ++doomed
  switch (what) {
    case 'rule': {
      const rule = expectOk(await api.manage('POST', '/action-configurations/fuzzRules/rules', { name: `doomed ${n}`, isActive: false, outcome: 'ALLOW', condition: 'true' }), 201)
      return { id: (rule as { ruleId: string }).ruleId }
    }
    case 'valueList': {
      const alias = `doomed_${n}`
      expectOk(await api.manage('POST', '/value-lists', { alias, name: 'Doomed', itemType: 'string', items: ['a'] }), 201)
      return { id: alias }
    }
    case 'webhook': {
      const webhook = expectOk(await api.manage('POST', '/webhooks', { url: 'https://hooks.example.com/doomed', events: ['*'], enabled: false }), 201)
      return { id: (webhook as { webhookId: string }).webhookId }
    }
    case 'actionConfiguration': {
      const actionCode = `doomed-${n}`
      expectOk(await api.manage('POST', '/action-configurations', { actionCode }), 201)
      return { id: actionCode }
    }
    case 'operator': {
      const email = `${uniqueId('fuzz-doomed')}@bank.example`
      const row = await insertOperator(h.database.db, tenantId, { operatorId: randomUUID(), email, passwordHash: mg.passwordHash }, new Date(h.clock()))
      if (!row) throw new Error('fixture: operator not inserted')
      return { id: row.operatorId }
    }
    case 'apiKey':
      return { id: (await createApiKey(h.deps, tenantId, 'test', { type: 'secret', name: `doomed ${n}` })).keyId }
    case 'user': {
      const userId = uniqueId('fuzz-doomed')
      await api.track(userId, DOOMED_ACTION)
      return { userId }
    }
    case 'authenticator': {
      const userId = uniqueId('fuzz-doomed')
      const { credential } = await api.enroll(userId)
      return { userId, userAuthenticatorId: credential.userAuthenticatorId }
    }
    case 'session':
      return { cookie: await consoleSession({ managementKey: api.tenant.managementKey }) }
  }
}

/** X-Countersign-Console and what a browser adds: usually as the console sends them, sometimes not. */
function consoleHeaders(): Arbitrary<Record<string, string | undefined>> {
  return fc.record({
    'x-countersign-console': fc.oneof(
      { weight: 12, arbitrary: fc.constant('1') },
      { weight: 1, arbitrary: fc.constantFrom(undefined, '0', 'true', '', ' 1', '1, 1', '01') },
      { weight: 1, arbitrary: headerText },
    ),
    // app.inject's host is localhost:80: that origin is the server's own.
    origin: fc.oneof(
      { weight: 8, arbitrary: fc.constant(undefined) },
      { weight: 2, arbitrary: fc.constant('http://localhost:80') },
      { weight: 1, arbitrary: fc.constantFrom('https://evil.test', 'null', 'http://localhost', 'HTTP://LOCALHOST:80') },
      { weight: 1, arbitrary: headerText },
    ),
    'sec-fetch-site': fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 2, arbitrary: fc.constant('same-origin') },
      { weight: 1, arbitrary: fc.constantFrom('cross-site', 'same-site', 'none', '') },
    ),
  })
}

const sessionCookie = (value: string) => `${SESSION_COOKIE}=${value}`

/** Cookie headers no session stands behind, or that mangle a real one (without its session ID: DELETE would end it). */
function junkCookies(): Arbitrary<string> {
  const tenantId = mg.api.tenant.tenantId
  const real = fc.constantFrom(...mg.cookies)
  return fc.oneof(
    headerText.map(sessionCookie),
    headerText,
    fc.constant(`${SESSION_COOKIE}=`),
    // Well formed: an unknown session of this tenant, another tenant's, no tenant's.
    fc
      .tuple(fc.constantFrom(tenantId, fx.api.tenant.tenantId, '00000000-0000-4000-8000-000000000000'), randomBase64Url(12), randomBase64Url(32))
      .map(([t, id, secret]) => sessionCookie(`${t}.${id.padEnd(16, 'A').slice(0, 16)}.${secret.padEnd(43, 'A').slice(0, 43)}`)),
    real.map((c) => sessionCookie(c.toUpperCase())),
    real.map((c) => sessionCookie(encodeURIComponent(`${c} `))),
    real.map((c) => sessionCookie(c.slice(0, -1))),
    real.map((c) => `${sessionCookie('x')}; ${sessionCookie(c).replace(/.$/, '')}`),
    fc.integer({ min: 4000, max: 9000 }).map((n) => sessionCookie('a'.repeat(n))),
  )
}

/** Management API credentials: mostly the management key, often a console session, sometimes anything. */
function managementHeaders(): Arbitrary<Record<string, string | undefined>> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant({ authorization: mg.keyBasic }) },
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...mg.cookies), consoleHeaders()).map(([c, headers]) => ({ cookie: sessionCookie(c), ...headers })) },
    { weight: 1, arbitrary: fc.tuple(junkCookies(), consoleHeaders()).map(([cookie, headers]) => ({ cookie, ...headers })) },
    // A key and a session at once: the key decides.
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...mg.cookies), junkAuth()).map(([c, authorization]) => ({ authorization, cookie: sessionCookie(c), 'x-countersign-console': '1' })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(basicAuth(mg.api.tenant.secretKey), basicAuth(mg.strangerKey), basicAuth(mg.api.tenant.tenantId), `Bearer ${mg.api.tenant.managementKey}`)
        .map((authorization) => ({ authorization })),
    },
    { weight: 2, arbitrary: junkAuth().map((authorization) => ({ authorization })) },
  )
}

/** A Management API request to /v1/management`path`; with `live`, what to make for the `LIVE` values it names. */
function manage(method: Method, path: Arbitrary<string>, body: Arbitrary<Body> = noBody, live?: Live): Arbitrary<FuzzRequest> {
  return fc
    .record({ headers: managementHeaders(), path, body })
    .map((r) => ({ ...build(method, `/v1/management${r.path}`, undefined, r.body, r.headers), ...(live ? { live } : {}) }))
}

/** A path segment that names something: usually a real one, else a UUID, a near miss, or hostile. */
function idSegment(real: string[]): Arbitrary<string> {
  return segment(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...real) }, { weight: 2, arbitrary: fc.uuid() }, { weight: 1, arbitrary: uuidLike }))
}

/** A `LIVE` value in a path (made just for the request) most of the time, otherwise `other`. */
function liveSegment(placeholder: string, other: Arbitrary<string>): Arbitrary<string> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(placeholder) }, { weight: 1, arbitrary: other })
}

/** Segments that name nothing: UUIDs, near misses, hostile text. */
const unknownSegment = () => segment(fc.oneof(fc.uuid(), uuidLike, fc.stringMatching(/^[a-z0-9_-]{1,70}$/)))

const managedUserIdArb = () =>
  segment(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...mg.userIds) }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) }))
const managedActionArb = () => fc.oneof({ weight: 4, arbitrary: fc.constant('fuzzRules') }, { weight: 1, arbitrary: actionArb() })
const limitArb = () => fc.oneof(fc.integer({ min: -5, max: 500 }).map(String), fc.constantFrom('1', '200', '201', '0', '1e2', ' 5', '5.0'), nasty)
const cursorArb = () =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...mg.cursors) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...mg.cursors), fc.nat()).map(([c, i]) => c.slice(0, i % c.length) + (c[i % c.length] === 'A' ? 'B' : 'A') + c.slice((i % c.length) + 1)) },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url')) },
    // Shaped like this server's cursors ([time, ID]): any time JavaScript can read, any ID.
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.constantFrom('2024-01-01T00:00:00Z', '-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00Z', '2024-01-01'),
          ),
          fc.oneof(fc.uuid(), fc.constantFrom(...mg.userIds, ...mg.idempotencyKeys), nasty),
        )
        .map((cursor) => Buffer.from(JSON.stringify(cursor)).toString('base64url')),
    },
    { weight: 2, arbitrary: nasty },
    { weight: 1, arbitrary: fc.integer({ min: 510, max: 520 }).map((n) => 'c'.repeat(n)) },
  )
/** The query of a route that takes none: usually empty, sometimes not. */
const noQuery = () => fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryString({ x: nasty, limit: fc.constant('1') }) })

// Field values for the Management API's strict bodies: valid most of the time (so a body
// built from them passes the schema and reaches the domain), else just out of range.
const outcomeArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('ALLOW', 'CHALLENGE', 'REVIEW', 'BLOCK') }, { weight: 1, arbitrary: fc.constantFrom('allow', 'DENY', '') })
const methodsArb = fc.oneof(
  { weight: 4, arbitrary: fc.uniqueArray(fc.constantFrom('IN_APP', 'PUSH', 'QR_CODE'), { minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom('IN_APP', 'PUSH', 'QR_CODE', 'DEVICE', 'PASSKEY', 'in_app'), { maxLength: 5 }) },
)
/** An integer in [min, max] most of the time, else just outside it or not an integer. */
const intIn = (min: number, max: number) =>
  fc.oneof({ weight: 6, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(min - 1, max + 1, 2 ** 31, -(2 ** 53), min + 0.5) })
/** Text of 1 to `max` characters most of the time, else none or one too many. */
const textUpTo = (max: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.min(max, 40) }).filter((t) => !t.includes('\u0000')) },
    { weight: 1, arbitrary: fc.constantFrom('', 'n'.repeat(max), 'n'.repeat(max + 1), ' ') },
  )
/** Webhook and action.verify URLs: never one the fuzz makes the server call (no dispatcher runs, endpoints stay disabled, nothing is approved there). */
const hookUrl = () =>
  fc.oneof(
    { weight: 4, arbitrary: fc.webUrl({ validSchemes: ['https'] }) },
    { weight: 1, arbitrary: fc.constantFrom('http://10.0.0.1/hook', 'http://169.254.169.254/latest', 'https://user:pw@hooks.example.com/', 'http://[::1]/', 'file:///etc/passwd', 'https://hooks.example.com/' + 'p'.repeat(2040)) },
    { weight: 1, arbitrary: nasty },
  )
const eventsArb = () =>
  fc.oneof(
    { weight: 4, arbitrary: fc.uniqueArray(fc.constantFrom('*', 'action.created', 'action.state_changed', 'authenticator.created', 'authenticator.deleted', 'push.created', 'user.push_blocked'), { minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom('action.*', 'ACTION.CREATED', ''), nasty), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.array(fc.constant('*'), { minLength: 20, maxLength: 22 }) },
  )
const emailArb = () => fc.oneof({ weight: 5, arbitrary: fc.emailAddress() }, { weight: 1, arbitrary: fc.constantFrom('a@b', 'no-at-sign', `${'e'.repeat(310)}@bank.example`, 'A@B.TEST') })

function actionConfigurationFields(): Fields {
  const nullable = <T>(arbitrary: Arbitrary<T>) => fc.option(arbitrary, { freq: 5, nil: null })
  return {
    defaultOutcome: nullable(outcomeArb),
    verificationMethods: nullable(methodsArb),
    requireSignedDecision: nullable(fc.boolean()),
    numberMatching: nullable(fc.boolean()),
    challengeTtlSeconds: nullable(intIn(30, 600)),
    tokenTtlSeconds: nullable(intIn(60, 3600)),
    verificationWebhookUrl: nullable(hookUrl()),
  }
}

/** A rule's fields; `update` allows the nulls PATCH takes. */
function ruleFields(update = false): Fields {
  return {
    name: textUpTo(200),
    description: update ? fc.oneof(fc.string({ maxLength: 40 }), fc.constant(null)) : fc.string({ maxLength: 40 }),
    isActive: fc.constant(false),
    priority: intIn(0, 1_000_000),
    outcome: outcomeArb,
    verificationMethods: update ? fc.oneof(methodsArb, fc.constant(null)) : methodsArb,
    condition: conditionArb,
  }
}

// Routes that make something for each request to delete come first; those that change the
// tenant's settings and action configurations last (enrolling a device tracks addAuthenticator).
describe('fuzz: Management API (management key or console session)', () => {
  beforeAll(async () => {
    mg = await managementFixtures()
  }, 120_000)

  // No delivery of this file's endpoints may be left for another file's dispatcher.
  afterAll(async () => {
    const tenantId = mg.api.tenant.tenantId
    for (const endpoint of await listEndpoints(h.database.db, tenantId)) await deleteEndpoint(h.database.db, tenantId, endpoint.webhookId)
  })

  // ── Users and authenticators ──
  fuzzRoute('GET /v1/management/users', 'query, limit, cursor', () =>
    manage(
      'GET',
      queryString({
        query: fc.oneof(fc.constantFrom(...mg.userIds, 'fuzz', 'bank.example'), fc.string({ maxLength: 330 }), email),
        limit: limitArb(),
        cursor: cursorArb(),
      }).map((q) => `/users${q}`),
    ),
  )

  fuzzRoute('GET /v1/management/users/{userId}', '', () => manage('GET', fc.tuple(managedUserIdArb(), noQuery()).map(([u, q]) => `/users/${u}${q}`)))

  fuzzRoute('DELETE /v1/management/users/{userId}', '', () =>
    manage('DELETE', liveSegment(LIVE.userId, segment(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }))).map((u) => `/users/${u}`), noBody, {
      make: 'managed',
      what: 'user',
    }),
  )

  fuzzRoute('DELETE /v1/management/users/{userId}/authenticators/{userAuthenticatorId}', '', () => {
    const path = fc.oneof(
      { weight: 3, arbitrary: fc.constant(`/users/${LIVE.userId}/authenticators/${LIVE.userAuthenticatorId}`) },
      // Another user's authenticator, or no such one.
      { weight: 1, arbitrary: fc.tuple(managedUserIdArb(), liveSegment(LIVE.userAuthenticatorId, idSegment(mg.credentials.map((c) => c.userAuthenticatorId)))).map(([u, a]) => `/users/${u}/authenticators/${a}`) },
      { weight: 1, arbitrary: fc.tuple(managedUserIdArb(), unknownSegment()).map(([u, a]) => `/users/${u}/authenticators/${a}`) },
    )
    return manage('DELETE', path, noBody, { make: 'managed', what: 'authenticator' })
  })

  fuzzRoute('POST /v1/management/users/{userId}/authenticators/{userAuthenticatorId}/unlock', '', () => {
    const path = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...mg.credentials).map((c) => `/users/${c.userId}/authenticators/${c.userAuthenticatorId}/unlock`) },
      { weight: 2, arbitrary: fc.tuple(managedUserIdArb(), idSegment(mg.credentials.map((c) => c.userAuthenticatorId))).map(([u, a]) => `/users/${u}/authenticators/${a}/unlock`) },
    )
    return manage('POST', path, noBody)
  })

  fuzzRoute('POST /v1/management/users/{userId}/push-block/clear', '', () => manage('POST', managedUserIdArb().map((u) => `/users/${u}/push-block/clear`), noBody))

  // ── Logs and statistics ──
  fuzzRoute('GET /v1/management/actions', 'userId, actionCode, state, ruleId, idempotencyKey, from, to, limit, cursor', () => {
    const date = fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().replace('Z', '-03:30')),
      fc.constantFrom('2024-02-30T00:00:00Z', '2024-01-01', 'now', '+275760-09-13T00:00:00.000Z'),
      nasty,
    )
    const query = queryString({
      userId: fc.constantFrom(...mg.userIds),
      actionCode: fc.oneof(fc.constantFrom('fuzzRules', ...fx.actionCodes), nasty),
      state: fc.oneof(fc.constantFrom(...STATES), nasty),
      ruleId: fc.oneof(fc.constantFrom(...mg.ruleIds), fc.uuid(), nasty),
      idempotencyKey: fc.oneof(fc.constantFrom(...mg.idempotencyKeys), fc.uuid(), fc.stringMatching(/^[\x21-\x7e]{1,255}$/)),
      from: date,
      to: date,
      limit: limitArb(),
      cursor: cursorArb(),
    })
    return manage('GET', query.map((q) => `/actions${q}`))
  })

  fuzzRoute('GET /v1/management/audit-log', 'limit, cursor', () =>
    manage('GET', queryString({ limit: limitArb(), cursor: cursorArb(), from: nasty }).map((q) => `/audit-log${q}`)),
  )

  fuzzRoute('GET /v1/management/stats', 'days, interval', () =>
    manage(
      'GET',
      queryString({
        days: fc.oneof(fc.integer({ min: -5, max: 100 }).map(String), fc.constantFrom('1', '7', '8', '90', '91', '0', '1.5', '1e1', ' 7', '0x10', '', 'NaN')),
        interval: fc.oneof(fc.constantFrom('hour', 'day'), fc.constantFrom('HOUR', 'week', '', 'day ')),
      }).map((q) => `/stats${q}`),
    ),
  )

  // ── Webhooks ──
  fuzzRoute('GET /v1/management/webhooks', '', () => manage('GET', noQuery().map((q) => `/webhooks${q}`)))

  fuzzRoute('POST /v1/management/webhooks', '', () => {
    const fields: Fields = { url: hookUrl(), events: eventsArb(), enabled: fc.constant(false), description: fc.string({ maxLength: 40 }) }
    return manage('POST', fc.constant('/webhooks'), jsonBody(fields, ['url', 'events']))
  })

  fuzzRoute('GET /v1/management/webhooks/{webhookId}', '', () => manage('GET', idSegment(mg.webhookIds).map((id) => `/webhooks/${id}`)))

  fuzzRoute('PATCH /v1/management/webhooks/{webhookId}', '', () => {
    const fields: Fields = { url: hookUrl(), events: eventsArb(), enabled: fc.constant(false), description: fc.string({ maxLength: 40 }) }
    return manage('PATCH', idSegment(mg.webhookIds).map((id) => `/webhooks/${id}`), jsonBody(fields))
  })

  fuzzRoute('DELETE /v1/management/webhooks/{webhookId}', '', () =>
    manage('DELETE', liveSegment(LIVE.id, unknownSegment()).map((id) => `/webhooks/${id}`), noBody, { make: 'managed', what: 'webhook' }),
  )

  fuzzRoute('GET /v1/management/webhooks/{webhookId}/deliveries', '', () => manage('GET', idSegment(mg.webhookIds).map((id) => `/webhooks/${id}/deliveries`)))

  fuzzRoute('POST /v1/management/webhooks/{webhookId}/deliveries/{eventId}/retry', '', () => {
    const eventIds = mg.deliveries.map((d) => d.eventId)
    const path = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...mg.deliveries).map((d) => `/webhooks/${d.webhookId}/deliveries/${d.eventId}/retry`) },
      // Another endpoint's delivery, no such delivery, no such endpoint.
      { weight: 2, arbitrary: fc.tuple(idSegment(mg.webhookIds), idSegment(eventIds)).map(([w, e]) => `/webhooks/${w}/deliveries/${e}/retry`) },
    )
    return manage('POST', path, noBody)
  })

  // ── Operators and console sessions ──
  fuzzRoute('GET /v1/management/operators', '', () => manage('GET', noQuery().map((q) => `/operators${q}`)))

  fuzzRoute('POST /v1/management/operators', 'Argon2id for each well-formed one: few are', () => {
    const password = fc.oneof(
      { weight: 1, arbitrary: fc.string({ minLength: 15, maxLength: 40 }) },
      { weight: 4, arbitrary: fc.string({ maxLength: 14 }) },
      { weight: 1, arbitrary: fc.integer({ min: 250, max: 270 }).map((n) => 'p'.repeat(n)) },
    )
    const fields: Fields = { email: fc.oneof({ weight: 4, arbitrary: emailArb() }, { weight: 1, arbitrary: fc.constant(mg.decoyEmail) }), password }
    return manage('POST', fc.constant('/operators'), jsonBody(fields, ['email', 'password']))
  })

  fuzzRoute('DELETE /v1/management/operators/{operatorId}', '', () =>
    manage('DELETE', liveSegment(LIVE.id, unknownSegment()).map((id) => `/operators/${id}`), noBody, { make: 'managed', what: 'operator' }),
  )

  fuzzRoute('POST /v1/management/session', 'console sign-in: Argon2id for each well-formed email and password, few are', () => {
    const key = mg.api.tenant.managementKey
    // Changed only in its secret part: a body's managementKey is registered whole as a secret
    // for the log scan, and most of the tenant ID (which logs name) must not become one.
    const secretAt = key.lastIndexOf('.') + 1
    const managementKey = fc.oneof(
      { weight: 6, arbitrary: fc.constant(key) },
      { weight: 1, arbitrary: fc.constantFrom(mg.api.tenant.secretKey, mg.strangerKey, mg.api.tenant.tenantId, `${key}x`, key.toUpperCase(), ` ${key}`) },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.nat(), fc.constantFrom('A', 'z', '0', '-', '_', '.')).map(([n, c]) => {
          const i = secretAt + (n % (key.length - secretAt))
          return key.slice(0, i) + c + key.slice(i + 1)
        }),
      },
      { weight: 1, arbitrary: nasty },
    )
    // Never the signed-in operator's email with a wrong password: that would slow their sign-ins down.
    const fields: Fields = {
      email: fc.oneof(fc.constant(mg.decoyEmail), fc.emailAddress(), nasty),
      password: fc.oneof(fc.string({ maxLength: 40 }), fc.integer({ min: 250, max: 260 }).map((n) => 'p'.repeat(n))),
      tenantId: fc.oneof(fc.constant(mg.api.tenant.tenantId), fc.uuid()),
      managementKey,
    }
    const { operator } = mg
    const wellFormed = fc.oneof(
      fc.constantFrom(operator, { ...operator, email: operator.email.toUpperCase() }, { ...operator, tenantId: mg.api.tenant.tenantId }),
      fc.record({ email: fc.constant(mg.decoyEmail), password: fc.string({ minLength: 1, maxLength: 40 }) }),
      fc.record({ email: fc.emailAddress(), password: fc.string({ minLength: 1, maxLength: 40 }), tenantId: fc.uuid() }, { requiredKeys: ['email', 'password'] }),
    )
    const body = fc.oneof(
      { weight: 6, arbitrary: managementKey.map((k) => ({ payload: json({ managementKey: k }), contentType: 'application/json' })) },
      { weight: 5, arbitrary: jsonBody(fields, [], managementKey.map((k) => ({ managementKey: k }))) },
      { weight: 1, arbitrary: wellFormed.map((b) => ({ payload: json(b), contentType: 'application/json' })) },
    )
    return fc
      .record({ console: consoleHeaders(), body, cookie: rarely(fc.oneof(junkCookies(), fc.constantFrom(...mg.cookies).map(sessionCookie))) })
      .map((r) => build('POST', '/v1/management/session', undefined, r.body, { ...r.console, cookie: r.cookie }))
  })

  fuzzRoute('GET /v1/management/session', '', () => {
    const cookie = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...mg.cookies).map(sessionCookie) },
      { weight: 2, arbitrary: junkCookies() },
      { weight: 1, arbitrary: fc.constant(undefined) },
    )
    return fc
      .record({ cookie, console: consoleHeaders(), auth: rarely(fc.oneof(fc.constant(mg.keyBasic), junkAuth())), query: noQuery(), body: noBody })
      .map((r) => build('GET', `/v1/management/session${r.query}`, r.auth, r.body, { ...r.console, cookie: r.cookie }))
  })

  fuzzRoute('DELETE /v1/management/session', 'sign-out', () => {
    // Never a real session's ID: signing out ends it whatever its secret.
    const cookie = fc.oneof(
      { weight: 6, arbitrary: fc.constant(sessionCookie(LIVE.cookie)) },
      { weight: 2, arbitrary: junkCookies().filter((c) => !mg.cookies.some((real) => c.includes(real.split('.')[1]!))) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    )
    return fc
      .record({ cookie, console: consoleHeaders(), auth: rarely(junkAuth()), body: noBody })
      .map((r) => ({
        ...build('DELETE', '/v1/management/session', r.auth, r.body, { ...r.console, cookie: r.cookie }),
        live: { make: 'managed', what: 'session' } as const,
      }))
  })

  // ── API keys ──
  fuzzRoute('GET /v1/management/api-keys', '', () => manage('GET', noQuery().map((q) => `/api-keys${q}`)))

  fuzzRoute('POST /v1/management/api-keys', '', () =>
    manage('POST', fc.constant('/api-keys'), jsonBody({ type: fc.constantFrom('secret', 'management'), name: textUpTo(200) }, ['type'])),
  )

  // Only keys made for the request: the tenant's own keys stay.
  fuzzRoute('DELETE /v1/management/api-keys/{keyId}', '', () =>
    manage('DELETE', liveSegment(LIVE.id, unknownSegment()).map((id) => `/api-keys/${id}`), noBody, { make: 'managed', what: 'apiKey' }),
  )

  // ── Value lists ──
  fuzzRoute('GET /v1/management/value-lists', '', () => manage('GET', noQuery().map((q) => `/value-lists${q}`)))

  /** A list's items: all strings or all numbers mostly, else mixed, too long, too many. */
  const listItems = () =>
    fc.oneof(
      { weight: 3, arbitrary: fc.array(fc.string({ maxLength: 20 }).filter((t) => !t.includes('\u0000')), { maxLength: 20 }) },
      { weight: 3, arbitrary: fc.array(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })), { maxLength: 20 }) },
      { weight: 1, arbitrary: fc.array(fc.oneof(fc.string(), fc.double(), fc.integer(), fc.constant(null)), { maxLength: 20 }) },
      { weight: 1, arbitrary: fc.array(fc.constant('a'), { minLength: 9_999, maxLength: 10_001 }) },
      { weight: 1, arbitrary: fc.array(fc.integer({ min: 512, max: 520 }).map((n) => 'i'.repeat(n)), { maxLength: 2 }) },
    )

  fuzzRoute('POST /v1/management/value-lists', '', () => {
    const fields: Fields = {
      alias: fc.oneof({ weight: 6, arbitrary: fc.stringMatching(/^[a-z0-9_]{1,64}$/) }, { weight: 1, arbitrary: fc.constantFrom('fuzz_list', 'Upper', 'a'.repeat(65), 'a-b') }),
      name: textUpTo(200),
      itemType: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('string', 'number') }, { weight: 1, arbitrary: fc.constantFrom('boolean', 'STRING') }),
      items: listItems(),
    }
    return manage('POST', fc.constant('/value-lists'), jsonBody(fields, ['alias', 'name', 'itemType']))
  })

  const aliasArb = () => segment(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...mg.aliases) }, { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9_]{1,70}$/) }))

  fuzzRoute('GET /v1/management/value-lists/{alias}', '', () => manage('GET', aliasArb().map((a) => `/value-lists/${a}`)))

  fuzzRoute('PATCH /v1/management/value-lists/{alias}', '', () => {
    const fields: Fields = { name: textUpTo(200), items: listItems() }
    return manage('PATCH', aliasArb().map((a) => `/value-lists/${a}`), jsonBody(fields))
  })

  fuzzRoute('DELETE /v1/management/value-lists/{alias}', '', () =>
    manage('DELETE', liveSegment(LIVE.id, segment(fc.stringMatching(/^[a-z0-9_]{1,70}$/))).map((a) => `/value-lists/${a}`), noBody, { make: 'managed', what: 'valueList' }),
  )

  // ── Rules ──
  fuzzRoute('GET /v1/management/action-configurations/{actionCode}/rules', '', () =>
    manage('GET', managedActionArb().map((code) => `/action-configurations/${code}/rules`)),
  )

  fuzzRoute('POST /v1/management/action-configurations/{actionCode}/rules', '', () =>
    manage('POST', managedActionArb().map((code) => `/action-configurations/${code}/rules`), jsonBody(ruleFields(), ['name', 'outcome', 'condition'])),
  )

  fuzzRoute('POST /v1/management/action-configurations/{actionCode}/rules/dry-run', '', () => {
    const context = fc.record(
      {
        action: fc.record({ code: fc.string(), custom: fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 3 }) }, { requiredKeys: [] }),
        velocity: fc.record({ actions1h: fc.oneof(fc.integer(), fc.double(), nasty) }, { requiredKeys: [] }),
        ip: fc.record({ address: fc.oneof(fc.ipV4(), fc.ipV6(), nasty), isNew: fc.boolean() }, { requiredKeys: [] }),
        now: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), nasty),
      },
      { requiredKeys: [] },
    )
    const fields: Fields = {
      context,
      userId: fc.constantFrom(...mg.userIds),
      idempotencyKey: fc.constantFrom(...mg.idempotencyKeys),
      condition: conditionArb,
    }
    // A context, or a past action (its user and idempotency key, not always a pair that belongs together); a draft condition or not.
    const valid = fc.oneof(
      fc.record({ context, condition: conditionArb }, { requiredKeys: ['context'] }),
      fc.record({ userId: fields.userId!, idempotencyKey: fields.idempotencyKey!, condition: conditionArb }, { requiredKeys: ['userId', 'idempotencyKey'] }),
    )
    return manage('POST', managedActionArb().map((code) => `/action-configurations/${code}/rules/dry-run`), jsonBody(fields, [], valid))
  })

  const ruleIdArb = () => idSegment(mg.ruleIds)

  fuzzRoute('GET /v1/management/action-configurations/{actionCode}/rules/{ruleId}', '', () =>
    manage('GET', fc.tuple(managedActionArb(), ruleIdArb()).map(([code, id]) => `/action-configurations/${code}/rules/${id}`)),
  )

  fuzzRoute('PATCH /v1/management/action-configurations/{actionCode}/rules/{ruleId}', '', () =>
    manage('PATCH', fc.tuple(managedActionArb(), ruleIdArb()).map(([code, id]) => `/action-configurations/${code}/rules/${id}`), jsonBody(ruleFields(true))),
  )

  fuzzRoute('DELETE /v1/management/action-configurations/{actionCode}/rules/{ruleId}', '', () =>
    manage(
      'DELETE',
      fc.tuple(managedActionArb(), liveSegment(LIVE.id, unknownSegment())).map(([code, id]) => `/action-configurations/${code}/rules/${id}`),
      noBody,
      { make: 'managed', what: 'rule' },
    ),
  )

  // ── Action configurations ──
  fuzzRoute('GET /v1/management/action-configurations', '', () => manage('GET', noQuery().map((q) => `/action-configurations${q}`)))

  fuzzRoute('POST /v1/management/action-configurations', '', () => {
    const fields: Fields = { actionCode: fc.oneof(fc.stringMatching(/^[a-zA-Z0-9_-]{1,66}$/), fc.constantFrom('fuzzRules', ...fx.actionCodes)), ...actionConfigurationFields() }
    return manage('POST', fc.constant('/action-configurations'), jsonBody(fields, ['actionCode']))
  })

  fuzzRoute('GET /v1/management/action-configurations/{actionCode}', '', () =>
    manage('GET', segment(fc.oneof(fc.constantFrom('fuzzRules', ...fx.actionCodes), fc.stringMatching(/^[a-zA-Z0-9_-]{1,66}$/))).map((code) => `/action-configurations/${code}`)),
  )

  fuzzRoute('PATCH /v1/management/action-configurations/{actionCode}', '', () =>
    manage('PATCH', managedActionArb().map((code) => `/action-configurations/${code}`), jsonBody(actionConfigurationFields())),
  )

  fuzzRoute('DELETE /v1/management/action-configurations/{actionCode}', '', () =>
    manage(
      'DELETE',
      liveSegment(LIVE.id, segment(fc.stringMatching(/^[a-zA-Z0-9_-]{1,66}$/))).map((code) => `/action-configurations/${code}`),
      noBody,
      { make: 'managed', what: 'actionConfiguration' },
    ),
  )

  // ── The tenant ──
  fuzzRoute('GET /v1/management/tenant', '', () => manage('GET', noQuery().map((q) => `/tenant${q}`)))

  fuzzRoute('PATCH /v1/management/tenant', '', () => {
    const origin = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom('https', 'http'), fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })).map(([scheme, host, port]) => `${scheme}://${host}${port ? `:${port}` : ''}`) },
      { weight: 1, arbitrary: fc.constantFrom('https://bank.example/', 'HTTPS://BANK.EXAMPLE:443', '*', 'null', 'https://ü.example', 'https://bank.example:999999') },
      { weight: 1, arbitrary: nasty },
    )
    const fields: Fields = {
      name: textUpTo(200),
      tokenTtlSeconds: intIn(60, 3600),
      challengeTtlSeconds: intIn(30, 600),
      pushChallengeTtlSeconds: intIn(30, 900),
      qrChallengeTtlSeconds: intIn(60, 900),
      pushMaxPending: intIn(1, 20),
      pushMaxPerHour: intIn(1, 1000),
      defaultOutcome: outcomeArb,
      verificationMethods: methodsArb,
      requireSignedDecision: fc.boolean(),
      numberMatching: fc.boolean(),
      allowedOrigins: fc.oneof({ weight: 6, arbitrary: fc.array(origin, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.array(origin, { minLength: 50, maxLength: 52 }) }),
    }
    return manage('PATCH', fc.constant('/tenant'), jsonBody(fields))
  })
})

// ---------------------------------------------------------------------------------------
// Deletions, system routes and everything else
// ---------------------------------------------------------------------------------------

describe('fuzz: deletions, system routes and everything else', () => {
  fuzzRoute('DELETE /v1/users/{userId}/authenticators/{userAuthenticatorId}', '', () =>
    fc
      .record({
        auth: serverAuth(),
        userId: userIdArb(),
        credentialId: segment(fc.oneof(fc.constantFrom(...fx.credentialIds), uuidLike)),
        body: noBody,
      })
      .map((r) => build('DELETE', `/v1/users/${r.userId}/authenticators/${r.credentialId}`, r.auth, r.body)),
  )

  fuzzRoute('DELETE /v1/users/{userId}', '', () =>
    fc
      .record({ auth: serverAuth(), userId: userIdArb(), body: noBody })
      .map((r) => build('DELETE', `/v1/users/${r.userId}`, r.auth, r.body)),
  )

  /** Health checks and the OpenAPI document: any method, near-miss paths, any query and credentials. */
  const system = (paths: string[]) =>
    fc
      .record({
        method: fc.constantFrom<Method>('GET', 'GET', 'GET', 'HEAD', 'POST', 'OPTIONS'),
        path: fc.constantFrom(...paths),
        query: queryString({ x: nasty, verbose: fc.constant('1') }),
        auth: fc.oneof(fc.constant(undefined), junkAuth()),
        body: noBody,
      })
      .map((r) => build(r.method, `${r.path}${r.query}`, r.auth, r.body))

  fuzzRoute('GET /healthz', '', () => system(['/healthz', '/healthz', '/healthz', '/healthz/', '/HEALTHZ', '/healthz%00']))
  fuzzRoute('GET /readyz', '', () => system(['/readyz', '/readyz', '/readyz', '/readyz/', '/READYZ', '/readyz%00']))
  // Large, and the same for every request: a few are enough.
  fuzzRoute('GET /openapi.json', '', () => system(['/openapi.json', '/openapi.json', '/openapi.json/', '/OPENAPI.JSON']), { runs: Math.ceil(RUNS / 10) })

  fuzzRoute('any route', 'any method on any route template or unknown path, any credentials, CORS preflights', () => {
    const seg = segment(fc.oneof(fc.constantFrom(...fx.userIds, ...fx.actionCodes, 'in-app', 'remove', 'fuzzRules'), fc.string({ maxLength: 10 })))
    const path = fc.tuple(userIdArb(), actionArb(), idempotencyKeyArb(), namespaceArb(), seg).chain(([u, a, k, n, s]) =>
      fc.constantFrom(
        `/v1/users/${u}/actions/${a}`, `/v1/users/${u}/actions/${a}/${k}`, `/v1/users/${u}/actions`, `/v1/users/${u}`,
        '/v1/users', `/v1/users/${u}/authenticators`, `/v1/users/${u}/authenticators/${s}`, '/v1/validate',
        '/v1/client/challenge', `/v1/client/user-authenticators/${n}`, `/v1/client/user-authenticators/${n}/remove`,
        '/v1/client/verify/in-app', `/v1/client/${s}`, `/v1/${s}`, `/${s}`, '/', '/v1', '/v1/', '//v1/users', '/v1//users',
        '/V1/USERS', '/v1/users/', '/v1/client/verify/in-app/', `/v1/users/${u}/actions/${a}/${k}/${s}`, '/docs', '/docs/json',
        `/v1/client/user-authenticators/${n}/challenge`, `/v1/client/user-authenticators/${n}/challenge/sign`,
        `/v1/client/user-authenticators/${n}/challenge/claim`, `/v1/client/user-authenticators/${n}/sign`,
        `/v1/client/user-authenticators/${n}/update/sign`, '/v1/client/challenge/push', '/v1/client/verify/push',
        '/v1/client/verify/push/stream', '/v1/client/challenge/qr-code', '/v1/client/verify/qr-code',
        '/v1/client/verify/qr-code/stream', '/v1/client/verify/device', '/v1/client/hosted-challenge', '/ws-v1-challenge', '/ws-v1-challenge/',
        `/v1/management/${s}`, `/v1/management/users/${u}`, `/v1/management/action-configurations/${a}/rules/${s}`,
        `/v1/management/webhooks/${s}/deliveries/${s}/retry`, '/v1/management/session', '/v1/management/operators', '/v1/management/stats',
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
    const body = fc.oneof(
      noBody,
      jsonBody({
        ...trackFields(),
        publicKey: publicKeyValue(),
        signature: signatureValue(),
        challengeId: fc.oneof(challengeIdValue(), outOfBandChallengeId()),
        deviceCode: fc.constantFrom(...fx.oob.qrChallenges.map((c) => c.deviceCode)),
        approved: fc.boolean(),
      }),
    )
    return fc
      .record({ method, path, query: queryString({ publicKey: fc.constantFrom(...fx.queryKeys, ...fx.oob.queryKeys), limit: fc.constant('5') }), auth, body, cors, tenant: tenantHeader() })
      .map((r) => build(r.method, `${r.path}${r.query}`, r.auth, r.body, { ...(r.cors ?? {}), 'x-authsignal-tenant-id': r.tenant }))
  })
})
