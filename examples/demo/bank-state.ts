// The demo bank's own records: customers, payees, payments and sign-in sessions. A real bank
// has a database; this one keeps a JSON file beside Countersign's in the demo data directory,
// so a restart of `npm run demo` finds the same customers (and the phone the same session).
import { randomBytes, randomInt, randomUUID } from 'node:crypto'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

export type Channel = 'web' | 'app'

export interface Payee {
  payeeId: string
  name: string
  iban: string
  addedAt: string
}

export interface Payment {
  paymentId: string
  payeeId: string
  payeeName: string
  amountCents: number
  currency: 'EUR'
  completedAt: string
  /** Where the customer started it. */
  channel: Channel
  /** How the phone confirmed it (`IN_APP`, `PUSH`, `QR_CODE`), as Countersign's validation says. */
  verificationMethod: string
}

export interface Customer {
  /** The user ID the bank gives Countersign: the username, lowercased. */
  userId: string
  username: string
  balanceCents: number
  payees: Payee[]
  payments: Payment[]
  createdAt: string
  /** When the customer last signed in on the website with a QR code. */
  qrSignInAt?: string
}

/** What the customer asked for and the bank holds until Countersign says it was confirmed. */
export type PendingDetails =
  | { kind: 'addPayee'; name: string; iban: string }
  | { kind: 'authorizePayment'; payeeId: string; payeeName: string; iban: string; amountCents: number }

export interface PendingAction {
  /** The bank's ID for the request, also the idempotency key of the action it tracked. */
  actionId: string
  userId: string
  details: PendingDetails
  channel: Channel
  createdAt: number
}

interface Session {
  userId: string
  channel: Channel
  createdAt: string
}

interface StoredState {
  version: 1
  customers: Record<string, Customer>
  sessions: Record<string, Session>
}

const OPENING_BALANCE_CENTS = 2_500_00
const ACTIVATION_TTL_MS = 10 * 60_000
const PENDING_TTL_MS = 15 * 60_000

/**
 * The bank's state, saved to `path` (mode 0600) after every change.
 *
 * @example
 * const bank = new BankState('.countersign/demo/bank-state.json')
 * const customer = bank.signIn('ana')
 */
export class BankState {
  private readonly state: StoredState
  private readonly pending = new Map<string, PendingAction>()
  private readonly activationCodes = new Map<string, { userId: string; expiresAt: number }>()

  constructor(private readonly path: string) {
    this.state = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as StoredState) : { version: 1, customers: {}, sessions: {} }
  }

  customer(userId: string): Customer | undefined {
    return this.state.customers[userId]
  }

  /** The customer with this username, opened with a starting balance and one payee on first sign-in. */
  customerFor(username: string): Customer {
    const userId = username.toLowerCase()
    let customer = this.state.customers[userId]
    if (!customer) {
      customer = {
        userId,
        username,
        balanceCents: OPENING_BALANCE_CENTS,
        payees: [{ payeeId: randomUUID(), name: 'Bright Energy', iban: 'NL91 ABNA 0417 1643 00', addedAt: new Date().toISOString() }],
        payments: [],
        createdAt: new Date().toISOString(),
      }
      this.state.customers[userId] = customer
      this.save()
    }
    return customer
  }

  /** A new session for the website or the app; the value is the bearer token the page keeps. */
  openSession(userId: string, channel: Channel): string {
    const token = randomBytes(32).toString('base64url')
    this.state.sessions[token] = { userId, channel, createdAt: new Date().toISOString() }
    this.save()
    return token
  }

  session(token: string | undefined, channel: Channel): Customer | undefined {
    const session = token ? this.state.sessions[token] : undefined
    if (!session || session.channel !== channel) return undefined
    return this.state.customers[session.userId]
  }

  closeSession(token: string): void {
    delete this.state.sessions[token]
    this.save()
  }

  noteQrSignIn(customer: Customer): void {
    customer.qrSignInAt = new Date().toISOString()
    this.save()
  }

  /** A six-digit code the website shows and the phone types to become this customer's app. */
  newActivationCode(userId: string): { code: string; expiresAt: number } {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0')
    const expiresAt = Date.now() + ACTIVATION_TTL_MS
    this.activationCodes.set(code, { userId, expiresAt })
    return { code, expiresAt }
  }

  /** The customer an activation code was issued for; each code works once. */
  redeemActivationCode(code: string): Customer | undefined {
    const entry = this.activationCodes.get(code)
    this.activationCodes.delete(code)
    if (!entry || entry.expiresAt < Date.now()) return undefined
    return this.state.customers[entry.userId]
  }

  addPending(userId: string, details: PendingDetails, channel: Channel): PendingAction {
    for (const [id, action] of this.pending) if (action.createdAt + PENDING_TTL_MS < Date.now()) this.pending.delete(id)
    const action: PendingAction = { actionId: randomUUID(), userId, details, channel, createdAt: Date.now() }
    this.pending.set(action.actionId, action)
    return action
  }

  pendingAction(actionId: string, userId?: string): PendingAction | undefined {
    const action = this.pending.get(actionId)
    return action && (userId === undefined || action.userId === userId) ? action : undefined
  }

  /** Carries out a confirmed request (once: it is no longer pending afterwards). */
  complete(action: PendingAction, verificationMethod: string): Payee | Payment {
    this.pending.delete(action.actionId)
    const customer = this.state.customers[action.userId]
    if (!customer) throw new Error(`no customer ${action.userId}`)
    const { details } = action
    let done: Payee | Payment
    if (details.kind === 'addPayee') {
      done = { payeeId: randomUUID(), name: details.name, iban: details.iban, addedAt: new Date().toISOString() }
      customer.payees.push(done)
    } else {
      customer.balanceCents -= details.amountCents
      done = {
        paymentId: action.actionId,
        payeeId: details.payeeId,
        payeeName: details.payeeName,
        amountCents: details.amountCents,
        currency: 'EUR',
        completedAt: new Date().toISOString(),
        channel: action.channel,
        verificationMethod,
      }
      customer.payments.unshift(done)
    }
    this.save()
    return done
  }

  private save(): void {
    // Write a temporary file and rename it: a crash mid-write leaves the old file whole.
    const temporary = `${this.path}.tmp`
    writeFileSync(temporary, `${JSON.stringify(this.state, null, 2)}\n`, { mode: 0o600 })
    renameSync(temporary, this.path)
  }
}
