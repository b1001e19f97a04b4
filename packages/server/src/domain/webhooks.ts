import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { WebhookEventFilter, type WebhookEnvelope } from '@countersign/protocol'
import type { Config } from '../config.ts'
import { readSecret, storeSecret, webhookSecretContext } from '../crypto/stored-secret.ts'
import { generateWebhookSecret, signWebhook } from '../crypto/webhook-signature.ts'
import type { Db } from '../storage/database.ts'
import * as repo from '../storage/webhooks-repo.ts'
import { ApiError } from './errors.ts'
import { checkOutboundUrl } from './outbound-urls.ts'

/** How long a node holds a delivery it is working on before another node may take it. */
const LEASE_MS = 60_000
const FIRST_RETRY_MS = 10_000
const MAX_RETRY_MS = 3_600_000
const BATCH = 50

export interface NewWebhookEndpoint {
  url: string
  events: WebhookEventFilter[]
  enabled?: boolean | undefined
  description?: string | undefined
  /**
   * The signing secret, when the operator brings one: `@authsignal/node`'s
   * `webhook.constructEvent` verifies with the API secret key it was built with, so an
   * existing backend passes that key here and keeps its code unchanged. Generated otherwise.
   */
  secret?: string | undefined
}

/** Whether an endpoint may be on a loopback, private or link-local address (domain/outbound-urls.ts). */
export interface UrlPolicy {
  allowPrivateUrls: boolean
}

export interface CreatedWebhookEndpoint extends repo.WebhookEndpointRow {
  /** Shown once; stored sealed and used only to sign deliveries. */
  secret: string
}

/**
 * Adds a webhook endpoint. The response carries the signing secret, which is not shown again.
 * @example await createWebhookEndpoint(db, tenantId, { url: 'https://bank.example/hooks', events: ['*'] }, undefined, new Date())
 */
export async function createWebhookEndpoint(
  db: Db,
  tenantId: string,
  endpoint: NewWebhookEndpoint,
  encryptionKey: Uint8Array | undefined,
  now: Date,
  policy: UrlPolicy = { allowPrivateUrls: false },
): Promise<CreatedWebhookEndpoint> {
  const url = checkOutboundUrl({ ALLOW_PRIVATE_WEBHOOK_URLS: policy.allowPrivateUrls }, endpoint.url)
  const events = checkEvents(endpoint.events)
  if (endpoint.secret !== undefined && endpoint.secret.length < 24) {
    throw new ApiError('invalid_request', 'A webhook secret must be at least 24 characters')
  }
  const secret = endpoint.secret ?? generateWebhookSecret()
  const webhookId = randomUUID()
  const row = await repo.insertEndpoint(
    db,
    tenantId,
    {
      webhookId,
      url,
      events,
      enabled: endpoint.enabled ?? true,
      description: endpoint.description ?? null,
      secret: storeSecret(Buffer.from(secret, 'utf8'), webhookSecretContext(tenantId, webhookId), encryptionKey),
    },
    now,
  )
  return { ...row, secret }
}

export async function updateWebhookEndpoint(
  db: Db,
  tenantId: string,
  webhookId: string,
  change: {
    url?: string | undefined
    events?: WebhookEventFilter[] | undefined
    enabled?: boolean | undefined
    description?: string | undefined
  },
  now: Date,
  policy: UrlPolicy = { allowPrivateUrls: false },
): Promise<repo.WebhookEndpointRow> {
  const row = await repo.updateEndpoint(
    db,
    tenantId,
    webhookId,
    {
      ...change,
      url: change.url === undefined ? undefined : checkOutboundUrl({ ALLOW_PRIVATE_WEBHOOK_URLS: policy.allowPrivateUrls }, change.url),
      events: change.events === undefined ? undefined : checkEvents(change.events),
    },
    now,
  )
  if (!row) throw new ApiError('not_found', 'No such webhook endpoint')
  return row
}

function checkEvents(events: readonly string[]): WebhookEventFilter[] {
  if (events.length === 0) throw new ApiError('invalid_request', 'Name at least one event type, or *')
  const parsed = events.map((event) => WebhookEventFilter.safeParse(event))
  const unknown = events.filter((_, i) => !parsed[i]!.success)
  if (unknown.length > 0) throw new ApiError('invalid_request', `Unknown event types: ${unknown.join(', ')}`)
  return [...new Set(parsed.map((p) => p.data!))]
}

/** When the next attempt is due after `attempt` failures: 10 s doubling, at most an hour apart, with jitter. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempt - 1), MAX_RETRY_MS)
  return Math.round(base * (0.8 + 0.4 * random()))
}

export interface WebhookDispatcherOptions {
  db: Db
  config: Pick<
    Config,
    | 'COUNTERSIGN_PUBLIC_URL'
    | 'COUNTERSIGN_ENCRYPTION_KEY'
    | 'COUNTERSIGN_PREVIOUS_ENCRYPTION_KEY'
    | 'WEBHOOK_POLL_MS'
    | 'WEBHOOK_TIMEOUT_MS'
    | 'WEBHOOK_RETRY_SECONDS'
    | 'WEBHOOK_CONCURRENCY'
  >
  log: Logger
  clock: () => number
  fetch?: typeof fetch
}

/**
 * Delivers webhook events from the outbox: leases due deliveries (any node may), POSTs each
 * signed envelope, and records the attempt. Failures are retried with exponential back-off
 * for WEBHOOK_RETRY_SECONDS. Delivery is at least once: a node that dies mid-delivery leaves
 * its lease to run out, and another attempt follows.
 */
export class WebhookDispatcher {
  readonly #options: WebhookDispatcherOptions
  readonly #fetch: typeof fetch
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #again = false
  #stopped = true

  constructor(options: WebhookDispatcherOptions) {
    this.#options = options
    this.#fetch = options.fetch ?? fetch
  }

  start(): void {
    this.#stopped = false
    this.#schedule()
  }

  /** Looks for due deliveries now (after a change on this node queued some). */
  poke(): void {
    if (this.#stopped) return
    if (this.#running) {
      this.#again = true
      return
    }
    clearTimeout(this.#timer)
    this.#running = this.#drain().finally(() => {
      this.#running = undefined
      this.#schedule()
    })
  }

  /** Stops polling and waits for deliveries in flight. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  /** Delivers everything due now; returns how many attempts were made. For tests and tools. */
  async runOnce(): Promise<number> {
    const { db, clock, config } = this.#options
    const now = clock()
    const claimed = await repo.claimDueDeliveries(db, new Date(now), new Date(now + LEASE_MS), BATCH)
    let next = 0
    const worker = async () => {
      while (next < claimed.length) await this.#deliver(claimed[next++]!)
    }
    await Promise.all(Array.from({ length: Math.min(config.WEBHOOK_CONCURRENCY, claimed.length) }, worker))
    return claimed.length
  }

  #schedule(): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.poke(), this.#again ? 0 : this.#options.config.WEBHOOK_POLL_MS)
    this.#again = false
    this.#timer.unref()
  }

  async #drain(): Promise<void> {
    try {
      // A full batch means more may be due: keep going until a batch comes back short.
      while (!this.#stopped && (await this.runOnce()) === BATCH);
    } catch (error) {
      this.#options.log.warn({ err: error }, 'webhook delivery pass failed')
    }
  }

  async #deliver(delivery: repo.ClaimedDelivery): Promise<void> {
    const { db, clock, config, log } = this.#options
    const started = clock()
    let status: number | null = null
    let error: string | null = null
    if (!delivery.enabled) {
      error = 'endpoint_disabled'
    } else {
      try {
        status = await this.#post(delivery)
        if (status < 200 || status >= 300) error = `http_${status}`
      } catch (cause) {
        error = cause instanceof Error && cause.name === 'TimeoutError' ? 'timeout' : 'network_error'
      }
    }
    const finished = clock()
    const giveUpAt = new Date(delivery.deliveryCreatedAt).getTime() + config.WEBHOOK_RETRY_SECONDS * 1000
    const retryAt = finished + retryDelayMs(delivery.attempt)
    const next: repo.AttemptOutcome['next'] =
      error === null
        ? { state: 'delivered' }
        : !delivery.enabled || retryAt > giveUpAt
          ? { state: 'failed' }
          : { state: 'pending', retryAt: new Date(retryAt) }
    try {
      await repo.recordAttempt(db, delivery, { status, error, durationMs: finished - started, next }, new Date(finished))
    } catch (cause) {
      // The lease runs out and the delivery is tried again: at least once, never lost.
      log.warn({ err: cause, eventId: delivery.eventId }, 'could not record a webhook attempt')
      return
    }
    log.info(
      {
        tenantId: delivery.tenantId,
        webhookId: delivery.webhookId,
        eventId: delivery.eventId,
        type: delivery.type,
        attempt: delivery.attempt,
        status,
        error,
        next: next.state,
      },
      'webhook attempt',
    )
  }

  async #post(delivery: repo.ClaimedDelivery): Promise<number> {
    const { config, clock } = this.#options
    const envelope: WebhookEnvelope = {
      version: 1,
      id: delivery.eventId,
      source: config.COUNTERSIGN_PUBLIC_URL,
      time: new Date(delivery.eventCreatedAt).toISOString(),
      tenantId: delivery.tenantId,
      type: delivery.type,
      data: delivery.data,
    }
    const body = JSON.stringify(envelope)
    const secret = readSecret(
      delivery.secret,
      webhookSecretContext(delivery.tenantId, delivery.webhookId),
      config.COUNTERSIGN_ENCRYPTION_KEY,
      config.COUNTERSIGN_PREVIOUS_ENCRYPTION_KEY,
    ).toString('utf8')
    const response = await this.#fetch(delivery.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Countersign-Webhooks/1',
        ...signWebhook(secret, body, { id: delivery.eventId, timestamp: Math.floor(clock() / 1000) }),
      },
      body,
      // A redirect would carry the signed event to a host nobody configured.
      redirect: 'manual',
      signal: AbortSignal.timeout(config.WEBHOOK_TIMEOUT_MS),
    })
    // The body is not read beyond draining it: a receiver's answer is its status.
    await response.body?.cancel().catch(() => undefined)
    return response.status
  }
}
