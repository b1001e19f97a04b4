// The demo bank's backend. It holds Countersign's secret key and is the only part of the
// demo that calls the Server API (@countersign/node): it tracks each high-risk request, hands
// the track token to the page or the app when Countersign asks for a challenge, and carries
// the request out only after `validateChallenge` says the token is good, unused, and for that
// very request.
//
// Two origins, one process: the bank's website (`/api/…`) and the bank's phone app, whose
// page and backend API (`/app-api/…`) live on a port of their own, as a mobile app would talk
// to its own API host. Both pages call Countersign's Client API directly with the tenant ID.
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, sep } from 'node:path'
import { Countersign, isCountersignError } from '@countersign/node'
import { BankState, type Channel, type Customer, type PendingAction, type PendingDetails } from './bank-state.ts'

export interface BankOptions {
  host: string
  bankPort: number
  phonePort: number
  /** The Vite build of the two pages. */
  distDir: string
  /** Countersign's origin, e.g. http://127.0.0.1:4100 */
  countersignOrigin: string
  tenantId: string
  secretKey: string
  /** The bank's records, e.g. .countersign/demo/bank-state.json */
  statePath: string
  /** One line per thing the bank did, for the terminal. */
  log?: (line: string) => void
}

export interface RunningBank {
  bankUrl: string
  phoneUrl: string
  close(): Promise<void>
}

/** An answer the handlers throw to end a request with a status and a message for the page. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

type Handler = (request: IncomingMessage, url: URL) => Promise<unknown>

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
}

const euro = (cents: number) => `€${(cents / 100).toLocaleString('en-IE', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`

/**
 * Starts the bank's website and its phone app's backend.
 *
 * @example
 * const bank = await startBank({ host: '127.0.0.1', bankPort: 4000, phonePort: 4001, … })
 * console.log(bank.bankUrl, bank.phoneUrl)
 */
export async function startBank(options: BankOptions): Promise<RunningBank> {
  const { host } = options
  const bankUrl = `http://${host}:${options.bankPort}`
  const phoneUrl = `http://${host}:${options.phonePort}`
  const apiUrl = `${options.countersignOrigin}/v1`
  const countersign = new Countersign({ secretKey: options.secretKey, apiUrl })
  const bank = new BankState(options.statePath)
  const log = options.log ?? (() => {})
  /** The QR code a bank page shows right now, for the phone's stand-in camera (see README). */
  let screen: { payload: string; shownAt: number } | undefined

  // ---- What the pages learn about the customer ----

  async function accountOf(customer: Customer) {
    let devices: Array<{ verificationMethod: string; deviceName?: string; createdAt?: string; lastVerifiedAt?: string }> = []
    try {
      devices = (await countersign.getAuthenticators({ userId: customer.userId })).map((a) => ({
        verificationMethod: a.verificationMethod,
        deviceName: a.displayName ?? a.deviceName,
        createdAt: a.createdAt,
        lastVerifiedAt: a.lastVerifiedAt,
      }))
    } catch (error) {
      // A customer Countersign has not heard of yet has no devices.
      if (!(isCountersignError(error) && error.errorCode === 'not_found')) throw error
    }
    const defaultPayees = 1
    return {
      userId: customer.userId,
      username: customer.username,
      balance: euro(customer.balanceCents),
      payees: customer.payees,
      payments: customer.payments.map((p) => ({ ...p, amount: euro(p.amountCents) })),
      devices,
      milestones: {
        phone: devices.length > 0,
        payee: customer.payees.length > defaultPayees,
        webPayment: customer.payments.some((p) => p.channel === 'web'),
        appPayment: customer.payments.some((p) => p.channel === 'app'),
        qrSignIn: customer.qrSignInAt !== undefined,
      },
    }
  }

  // ---- Tracking a request and completing it after validation ----

  function transactionOf(details: PendingDetails): Record<string, string> {
    return details.kind === 'addPayee'
      ? { payee: details.name, iban: details.iban }
      : { amount: (details.amountCents / 100).toFixed(2), currency: 'EUR', payee: details.payeeName, iban: details.iban }
  }

  function describe(details: PendingDetails): string {
    return details.kind === 'addPayee' ? `add payee ${details.name}` : `pay ${euro(details.amountCents)} to ${details.payeeName}`
  }

  async function startAction(customer: Customer, details: PendingDetails, channel: Channel, request: IncomingMessage) {
    const pending = bank.addPending(customer.userId, details, channel)
    const actionCode = details.kind
    const transaction = transactionOf(details)
    const tracked = await countersign.track({
      userId: customer.userId,
      action: actionCode,
      attributes: {
        // The bank's request ID: a retried track returns the same action, and the token the
        // phone brings back must name it.
        idempotencyKey: pending.actionId,
        username: customer.username,
        ipAddress: request.socket.remoteAddress,
        userAgent: request.headers['user-agent'],
        // What the phone shows and signs (a v2 signed decision covers these fields)…
        transaction,
        // …and what rules may look at.
        custom: { channel, ...(details.kind === 'authorizePayment' ? { amount: details.amountCents / 100 } : {}) },
        // Where Countersign's hosted page sends the customer back with the new token.
        ...(channel === 'web' ? { redirectUrl: `${bankUrl}/return?action=${pending.actionId}` } : {}),
      },
    })
    const steps = [`Bank backend → Countersign: track ${actionCode} (${describe(details)}) → ${tracked.state}`]
    log(`${customer.username}: track ${actionCode} (${describe(details)}) → ${tracked.state}`)
    const base = { actionId: pending.actionId, actionCode, state: tracked.state, transaction, steps }
    switch (tracked.state) {
      case 'CHALLENGE_REQUIRED':
        // The token goes to the page or app, which gets it confirmed by the phone; the bank
        // does nothing until it comes back and validates.
        return { ...base, status: 'challenge', token: tracked.token, url: tracked.url }
      case 'ALLOW':
        if (!tracked.isEnrolled) return { ...base, status: 'needs_phone' }
        bank.complete(pending, 'NONE')
        return { ...base, status: 'completed', account: await accountOf(customer) }
      case 'BLOCK':
        return { ...base, status: 'blocked' }
      case 'REVIEW_REQUIRED':
        return { ...base, status: 'review' }
      default:
        throw new HttpError(502, 'unexpected_state', `Countersign answered ${tracked.state}`)
    }
  }

  async function completeAction(pending: PendingAction, token: unknown) {
    if (typeof token !== 'string' || token.length > 4096) throw new HttpError(400, 'invalid_request', 'token is required')
    const customer = bank.customer(pending.userId)
    if (!customer) throw new HttpError(404, 'not_found', 'No such customer')
    const actionCode = pending.details.kind
    const result = await countersign.validateChallenge({ token, userId: pending.userId, action: actionCode })
    const validation = {
      isValid: result.isValid,
      state: result.state,
      verificationMethod: result.verificationMethod,
      ...(result.error ? { error: result.error } : {}),
    }
    const steps = [
      `Bank backend → Countersign: validateChallenge → isValid ${result.isValid}, ${result.state ?? result.error}${result.verificationMethod ? ` via ${result.verificationMethod}` : ''}`,
    ]
    // Only a valid, unused token whose action is this very request completes it.
    if (!result.isValid || result.state !== 'CHALLENGE_SUCCEEDED' || result.idempotencyKey !== pending.actionId) {
      log(`${customer.username}: validateChallenge for ${describe(pending.details)} → refused (${result.error ?? result.state})`)
      return { status: 'refused', actionId: pending.actionId, validation, steps }
    }
    const done = bank.complete(pending, result.verificationMethod ?? 'UNKNOWN')
    log(`${customer.username}: validateChallenge → ${result.state} via ${result.verificationMethod}; done: ${describe(pending.details)}`)
    steps.push(`Bank: ${actionCode === 'addPayee' ? 'payee added' : 'payment sent'}`)
    return { status: 'completed', actionId: pending.actionId, validation, done, steps, account: await accountOf(customer) }
  }

  async function actionState(pending: PendingAction) {
    const action = await countersign.getAction({ userId: pending.userId, action: pending.details.kind, idempotencyKey: pending.actionId })
    return { actionId: pending.actionId, state: action.state, verificationMethod: action.verificationMethod }
  }

  // ---- Reading requests ----

  function bearer(request: IncomingMessage): string | undefined {
    const header = request.headers.authorization
    return header?.startsWith('Bearer ') ? header.slice(7) : undefined
  }

  function signedIn(request: IncomingMessage, channel: Channel): Customer {
    const customer = bank.session(bearer(request), channel)
    if (!customer) throw new HttpError(401, 'signed_out', 'Please sign in again')
    return customer
  }

  function pendingFor(customer: Customer, url: URL, pattern: RegExp): PendingAction {
    const actionId = pattern.exec(url.pathname)?.[1] ?? ''
    const pending = bank.pendingAction(actionId, customer.userId)
    if (!pending) throw new HttpError(404, 'not_found', 'This request is no longer waiting (done, or expired)')
    return pending
  }

  function paymentDetails(customer: Customer, body: Record<string, unknown>): PendingDetails {
    const payee = customer.payees.find((p) => p.payeeId === body.payeeId)
    if (!payee) throw new HttpError(400, 'invalid_request', 'Choose a payee')
    const amountCents = Math.round(Number(body.amount) * 100)
    if (!Number.isFinite(amountCents) || amountCents < 1 || amountCents > 1_000_000_00) throw new HttpError(400, 'invalid_request', 'Enter an amount')
    if (amountCents > customer.balanceCents) throw new HttpError(400, 'insufficient_funds', `Your balance is ${euro(customer.balanceCents)}`)
    return { kind: 'authorizePayment', payeeId: payee.payeeId, payeeName: payee.name, iban: payee.iban, amountCents }
  }

  const ACTION_COMPLETE = /^\/(?:app-)?api\/actions\/([0-9a-f-]{36})\/complete$/
  const ACTION_STATE = /^\/(?:app-)?api\/actions\/([0-9a-f-]{36})$/

  // ---- The website's API ----

  const bankRoutes: Record<string, Handler> = {
    'GET /api/config': async () => ({ tenantId: options.tenantId, countersignUrl: options.countersignOrigin, phoneUrl, bankUrl }),

    'POST /api/session': async (request) => {
      const { username } = await jsonBody(request)
      if (typeof username !== 'string' || !/^[A-Za-z0-9._-]{1,32}$/.test(username)) {
        throw new HttpError(400, 'invalid_request', 'A username is letters, digits, dots, dashes or underscores (at most 32)')
      }
      // A demo: a username is enough. A real bank checks a password here (and Countersign could
      // confirm the sign-in on the phone).
      const customer = bank.customerFor(username)
      log(`${customer.username}: signed in on the website`)
      return { session: bank.openSession(customer.userId, 'web'), account: await accountOf(customer) }
    },

    'DELETE /api/session': async (request) => {
      const token = bearer(request)
      if (token) bank.closeSession(token)
      return { signedOut: true }
    },

    'GET /api/account': async (request) => ({ account: await accountOf(signedIn(request, 'web')) }),

    'POST /api/phone/activation': async (request) => {
      const customer = signedIn(request, 'web')
      const { code, expiresAt } = bank.newActivationCode(customer.userId)
      log(`${customer.username}: activation code issued for the phone app`)
      return { code, expiresAt: new Date(expiresAt).toISOString(), link: `${phoneUrl}/#activate=${code}` }
    },

    'POST /api/payees': async (request) => {
      const customer = signedIn(request, 'web')
      const body = await jsonBody(request)
      const name = typeof body.name === 'string' ? body.name.trim() : ''
      const iban = typeof body.iban === 'string' ? body.iban.trim().toUpperCase() : ''
      if (!/^[\p{L}\p{N} .,&'-]{2,40}$/u.test(name)) throw new HttpError(400, 'invalid_request', 'Enter the payee’s name')
      if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{8,32}$/.test(iban)) throw new HttpError(400, 'invalid_request', 'Enter an IBAN, e.g. DE89 3704 0044 0532 0130 00')
      return startAction(customer, { kind: 'addPayee', name, iban }, 'web', request)
    },

    'POST /api/payments': async (request) => {
      const customer = signedIn(request, 'web')
      return startAction(customer, paymentDetails(customer, await jsonBody(request)), 'web', request)
    },

    'POST /api/qr-sign-in': async (request) => {
      const { token } = await jsonBody(request)
      if (typeof token !== 'string' || token.length > 4096) throw new HttpError(400, 'invalid_request', 'token is required')
      // The page knew nobody: the phone that approved says who signs in, and only the
      // validated token tells the bank.
      const result = await countersign.validateChallenge({ token, action: 'signIn' })
      const steps = [`Bank backend → Countersign: validateChallenge → isValid ${result.isValid}, ${result.state ?? result.error}, user ${result.userId ?? '?'}`]
      if (!result.isValid || result.state !== 'CHALLENGE_SUCCEEDED' || !result.userId) {
        log(`QR sign-in refused (${result.error ?? result.state})`)
        throw new HttpError(403, 'not_confirmed', 'The phone’s confirmation did not check out')
      }
      const customer = bank.customer(result.userId) ?? bank.customerFor(result.userId)
      bank.noteQrSignIn(customer)
      log(`${customer.username}: signed in on the website with a QR code (${result.verificationMethod})`)
      return {
        session: bank.openSession(customer.userId, 'web'),
        validation: { isValid: result.isValid, state: result.state, verificationMethod: result.verificationMethod, userId: result.userId },
        steps,
        account: await accountOf(customer),
      }
    },

    'POST /api/screen': async (request) => {
      const { payload } = await jsonBody(request)
      if (payload === null) screen = undefined
      else if (typeof payload === 'string' && payload.length <= 512) screen = { payload, shownAt: Date.now() }
      else throw new HttpError(400, 'invalid_request', 'payload is a string')
      return { ok: true }
    },
  }

  // ---- The phone app's API ----

  const appRoutes: Record<string, Handler> = {
    'GET /app-api/config': async () => ({ tenantId: options.tenantId, countersignUrl: options.countersignOrigin, bankUrl }),

    'POST /app-api/activate': async (request) => {
      const { code } = await jsonBody(request)
      const customer = typeof code === 'string' ? bank.redeemActivationCode(code.replace(/\D/g, '')) : undefined
      if (!customer) throw new HttpError(400, 'invalid_code', 'That code is not valid (or has expired): ask the bank website for a new one')
      // This bank allows one phone per customer: an activation code (issued to a customer
      // signed in on the website) replaces the phone set up before, so its keys go.
      for (const device of await countersign.getAuthenticators({ userId: customer.userId }).catch(() => [])) {
        await countersign.deleteAuthenticator({ userId: customer.userId, userAuthenticatorId: device.userAuthenticatorId })
      }
      const tracked = await countersign.track({
        userId: customer.userId,
        action: 'addAuthenticator',
        attributes: { scope: 'add:authenticators', username: customer.username, userAgent: request.headers['user-agent'], ipAddress: request.socket.remoteAddress },
      })
      log(`${customer.username}: phone activated; track addAuthenticator → ${tracked.state}`)
      return { session: bank.openSession(customer.userId, 'app'), username: customer.username, userId: customer.userId, token: tracked.token, state: tracked.state }
    },

    // Another key for the same phone: Countersign asks an enrolled key to approve it first.
    'POST /app-api/enrollment-token': async (request) => {
      const customer = signedIn(request, 'app')
      const tracked = await countersign.track({
        userId: customer.userId,
        action: 'addAuthenticator',
        attributes: { scope: 'add:authenticators', username: customer.username, userAgent: request.headers['user-agent'], ipAddress: request.socket.remoteAddress },
      })
      log(`${customer.username}: track addAuthenticator (another key for the phone) → ${tracked.state}`)
      return { token: tracked.token, state: tracked.state }
    },

    'DELETE /app-api/session': async (request) => {
      const token = bearer(request)
      if (token) bank.closeSession(token)
      return { signedOut: true }
    },

    'GET /app-api/account': async (request) => ({ account: await accountOf(signedIn(request, 'app')) }),

    'POST /app-api/payments': async (request) => {
      const customer = signedIn(request, 'app')
      return startAction(customer, paymentDetails(customer, await jsonBody(request)), 'app', request)
    },

    'GET /app-api/screen': async () => ({ payload: screen && screen.shownAt > Date.now() - 10 * 60_000 ? screen.payload : null }),
  }

  async function route(channel: Channel, request: IncomingMessage, url: URL): Promise<unknown> {
    const routes = channel === 'web' ? bankRoutes : appRoutes
    const handler = routes[`${request.method} ${url.pathname}`]
    if (handler) return handler(request, url)
    const prefix = channel === 'web' ? '/api/' : '/app-api/'
    if (request.method === 'POST' && url.pathname.startsWith(prefix) && ACTION_COMPLETE.test(url.pathname)) {
      const customer = signedIn(request, channel)
      const { token } = await jsonBody(request)
      return completeAction(pendingFor(customer, url, ACTION_COMPLETE), token)
    }
    if (request.method === 'GET' && url.pathname.startsWith(prefix) && ACTION_STATE.test(url.pathname)) {
      return actionState(pendingFor(signedIn(request, channel), url, ACTION_STATE))
    }
    throw new HttpError(404, 'not_found', 'No such endpoint')
  }

  /** Countersign's hosted page sends the customer back here with the new token. */
  async function hostedReturn(url: URL, response: ServerResponse): Promise<void> {
    const pending = bank.pendingAction(url.searchParams.get('action') ?? '')
    const token = url.searchParams.get('token')
    let outcome = 'expired'
    if (pending && token) {
      const result = await completeAction(pending, token)
      outcome = result.status
    }
    response.writeHead(303, { location: `/?hosted=${outcome}` }).end()
  }

  // ---- HTTP ----

  const securityHeaders = {
    'content-security-policy': `default-src 'self'; connect-src 'self' ${options.countersignOrigin}; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  }

  async function serveFile(page: string, url: URL, response: ServerResponse): Promise<void> {
    let relative = page
    if (url.pathname !== '/') {
      try {
        relative = normalize(decodeURIComponent(url.pathname)).replace(/^[/\\]+/, '')
      } catch {
        throw new HttpError(400, 'invalid_request', 'Bad path')
      }
    }
    // Each origin serves its own page and the shared assets; nothing outside the build.
    const path = join(options.distDir, relative)
    if (relative.startsWith('..') || !path.startsWith(options.distDir + sep) || (relative.endsWith('.html') && relative !== page)) {
      throw new HttpError(404, 'not_found', 'Not found')
    }
    let body: Buffer
    try {
      body = await readFile(path)
    } catch {
      throw new HttpError(404, 'not_found', 'Not found')
    }
    response.writeHead(200, {
      ...securityHeaders,
      'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      // Vite names assets by their content hash; the pages themselves are always fetched anew.
      'cache-control': relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    })
    response.end(body)
  }

  function listener(channel: Channel, page: string) {
    return (request: IncomingMessage, response: ServerResponse) => {
      const url = new URL(request.url ?? '/', 'http://localhost')
      const isApi = url.pathname.startsWith(channel === 'web' ? '/api/' : '/app-api/')
      const work = isApi
        ? route(channel, request, url).then((body) => {
            response.writeHead(200, { ...securityHeaders, 'content-type': 'application/json', 'cache-control': 'no-store' })
            response.end(JSON.stringify(body))
          })
        : channel === 'web' && url.pathname === '/return'
          ? hostedReturn(url, response)
          : serveFile(page, url, response)
      work.catch((error: unknown) => {
        const known = error instanceof HttpError
        if (!known) log(`error: ${error instanceof Error ? error.message : String(error)}`)
        if (response.headersSent) return void response.end()
        const status = known ? error.status : 500
        const code = known ? error.code : isCountersignError(error) ? error.errorCode : 'internal_error'
        const message = known ? error.message : 'The bank could not do that just now; see the terminal.'
        response.writeHead(status, { ...securityHeaders, 'content-type': 'application/json' })
        response.end(JSON.stringify({ error: code, message }))
      })
    }
  }

  const servers = [createServer(listener('web', 'index.html')), createServer(listener('app', 'phone.html'))]
  await Promise.all([listen(servers[0]!, host, options.bankPort), listen(servers[1]!, host, options.phonePort)])
  return {
    bankUrl,
    phoneUrl,
    async close() {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve())
              server.closeAllConnections()
            }),
        ),
      )
    },
  }
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server.address() as AddressInfo))
  })
}

async function jsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = ''
  for await (const chunk of request) {
    text += String(chunk)
    if (text.length > 16_384) throw new HttpError(413, 'too_large', 'Request too large')
  }
  try {
    const body: unknown = JSON.parse(text || '{}')
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>
  } catch {
    // fall through
  }
  throw new HttpError(400, 'invalid_request', 'Send a JSON object')
}
