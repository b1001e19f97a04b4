import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import type { IpLocator } from '../geo/ip-locations.ts'
import type { Database, Db } from '../storage/database.ts'
import type { ChallengeWatch } from './challenge-watch.ts'
import type { PushDirectory } from './push-delivery.ts'
import type { WebhookDispatcher } from './webhooks.ts'
import type { TenantDirectory } from './tenants.ts'
import type { FailureThrottle } from './throttle.ts'

/** What domain functions need, injected so tests control the clock and the database. */
export interface Deps {
  config: Config
  database: Database
  db: Db
  tenants: TenantDirectory
  /** Failed API-key attempts per client IP. */
  apiKeyFailures: FailureThrottle
  /** Live updates of push and QR challenges, across nodes. */
  challengeWatch: ChallengeWatch
  /** Built-in push senders (APNs, FCM) per tenant. */
  push: PushDirectory
  /** Wakes this node's webhook delivery after a change queued events. */
  webhooks: WebhookDispatcher
  /** fetch for outgoing calls the request waits for (the action.verify webhook); tests inject one. */
  fetch: typeof fetch
  /** Offline IP geolocation for rule signals. */
  ipLocations: IpLocator
  /** Milliseconds since the epoch; tests inject a fixed or stepping clock. */
  clock: () => number
  log: Logger
}

export function now(deps: Pick<Deps, 'clock'>): Date {
  return new Date(deps.clock())
}
