// Helpers for the generated tenant-isolation matrix: the routes a Fastify app serves, look-alike
// identifiers that name nothing, bodies reduced to what may not differ between "B's resource"
// and "no resource", and the two transports app.inject cannot hold open (a Server-Sent Events
// stream, the WebSocket at /ws-v1-challenge).
import { randomBytes, randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import { sendOverSocket, type SocketResponse } from './socket-request.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

/**
 * Every method and path the app serves, read from Fastify's route tree (`:param` written as
 * `{param}`, as OpenAPI does). HEAD is left out: Fastify adds it to every GET.
 *
 * @example servedRoutes(app) // ['GET /healthz', 'POST /v1/validate', …]
 */
export function servedRoutes(app: FastifyInstance): string[] {
  const routes: string[] = []
  const prefixes: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!match) continue
    const depth = match[1]!.length / 4
    prefixes.length = depth
    const path = (prefixes[depth - 1] ?? '') + match[2]!
    prefixes[depth] = path
    for (const method of match[3]?.split(', ') ?? []) {
      if (method !== 'HEAD') routes.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`)
    }
  }
  return routes
}

/**
 * An identifier shaped like `id` that names nothing: a fresh UUID for a UUID, otherwise each
 * letter and digit replaced by a random one of its kind (separators kept), so it passes the
 * same validation as `id` and can only be refused for not existing.
 */
export function lookalike(id: string): string {
  if (UUID.test(id)) return randomUUID()
  const random = randomBytes(id.length)
  return [...id]
    .map((char, i) => {
      const r = random[i]!
      if (/[0-9]/.test(char)) return String(r % 10)
      if (/[a-z]/.test(char)) return String.fromCharCode(97 + (r % 26))
      if (/[A-Z]/.test(char)) return String.fromCharCode(65 + (r % 26))
      return char
    })
    .join('')
}

/** A token shaped like `token` (same header and claims) that claims a tenant that does not exist. */
export function lookalikeToken(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown> & { other?: Record<string, unknown> }
  const forged = {
    ...claims,
    sub: typeof claims.sub === 'string' ? lookalike(claims.sub) : claims.sub,
    jti: typeof claims.jti === 'string' ? lookalike(claims.jti) : claims.jti,
    other: { ...claims.other, tenantId: randomUUID() },
  }
  const forgedSignature = randomBytes(Buffer.from(signature, 'base64url').length).toString('base64url')
  return `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${forgedSignature}`
}

/** The spellings in which a request may carry `value`: as is, URL-encoded, base64-encoded once more (public keys in a query). */
export function spellingsOf(value: string): string[] {
  const again = Buffer.from(value).toString('base64')
  return [...new Set([value, encodeURIComponent(value), again, encodeURIComponent(again), Buffer.from(value).toString('base64url')])]
}

/** `text` with every spelling of each named value replaced by `<name>`, longest first. */
export function withPlaceholders(text: string, named: Record<string, string>): string {
  const pairs = Object.entries(named).flatMap(([name, value]) => spellingsOf(value).map((spelling) => [spelling, `<${name}>`] as const))
  pairs.sort(([a], [b]) => b.length - a.length)
  let out = text
  for (const [spelling, placeholder] of pairs) out = out.split(spelling).join(placeholder)
  return out
}

/**
 * What a success body says, without what is fresh on every call: object keys, booleans,
 * numbers and enumeration-like strings (states, methods, error codes) stay; times become
 * minutes from `nowMs` (so a borrowed challenge lifetime shows); other strings become `string`.
 */
export function shapeOf(value: unknown, nowMs: number): unknown {
  if (Array.isArray(value)) return value.map((item) => shapeOf(item, nowMs))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, item]) => [key, shapeOf(item, nowMs)]),
    )
  }
  if (typeof value === 'string') {
    if (ISO.test(value)) return `in ${Math.round((Date.parse(value) - nowMs) / 60_000)} min`
    if (/^[A-Z][A-Z_]*$/.test(value) || /^[a-z][a-z_]{0,23}$/.test(value)) return value
    return 'string'
  }
  return value
}

/** Sends a JSON request over a socket (see sendOverSocket): what app.inject cannot hold open. */
export function requestOverSocket(
  baseUrl: string,
  request: { method: string; url: string; headers: Record<string, string>; payload?: object },
): Promise<SocketResponse> {
  const body = request.payload === undefined ? undefined : JSON.stringify(request.payload)
  const headers = { ...request.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }
  return sendOverSocket(baseUrl, { method: request.method, url: request.url, headers, body })
}

/** The members of a `ws` client used here (`ws` is installed for @fastify/websocket, without types). */
interface WsClient {
  on(event: 'open', listener: () => void): this
  on(event: 'message', listener: (data: Buffer) => void): this
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this
  on(event: 'error', listener: (error: Error) => void): this
  send(data: string): void
  terminate(): void
}
const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: new (address: string, protocols: string[]) => WsClient }

/** How a WebSocket session ended: its first message, or the close code and reason, or a refused handshake. */
export interface WsOutcome {
  message?: string
  close?: string
  handshakeError?: string
}

/** Opens /ws-v1-challenge with these subprotocols, sends one text frame, and returns the first thing the server does. */
export function wsFirstAnswer(baseUrl: string, protocols: string[], frame: string): Promise<WsOutcome> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws-v1-challenge`, protocols)
    let opened = false
    let settled = false
    const settle = (outcome: WsOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.terminate()
      resolve(outcome)
    }
    // Challenges are created at most one a second per socket; the first is immediate.
    const timer = setTimeout(() => settle({ close: 'no answer within 5 s' }), 5000)
    socket.on('open', () => {
      opened = true
      socket.send(frame)
    })
    socket.on('message', (data) => settle({ message: data.toString('utf8') }))
    socket.on('error', (error) => {
      if (!opened) settle({ handshakeError: error.message })
    })
    socket.on('close', (code, reason) => settle({ close: `${code} ${reason.toString('utf8')}` }))
  })
}
