import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { ApiError } from './errors.ts'

/**
 * Counts failures per client (an IP address) in a fixed window and, once a client has failed
 * `failures` times, refuses it until the window ends — whatever it sends meanwhile, a right
 * key included. With a Redis client the count is shared by every node (REDIS_URL); while Redis
 * does not answer, each node counts in its own memory instead, so the limit still holds per
 * node. Limits that protect users (failed device signatures, push requests, failed sign-ins
 * per email) live in the database instead.
 */
export class FailureThrottle {
  readonly #limiter: RateLimiterAbstract
  readonly #points: number
  readonly #redis: Redis | undefined

  constructor(options: { failures: number; windowSeconds: number; name: string; redis?: Redis | undefined }) {
    const limits = { keyPrefix: options.name, points: options.failures, duration: options.windowSeconds }
    this.#points = options.failures
    this.#redis = options.redis
    this.#limiter = options.redis
      ? new RateLimiterRedis({ ...limits, storeClient: options.redis, insuranceLimiter: new RateLimiterMemory(limits) })
      : new RateLimiterMemory(limits)
  }

  /** 429 too_many_requests, with Retry-After, while `client` is blocked. */
  async refuseIfBlocked(client: string): Promise<void> {
    const state = await this.#limiter.get(client)
    if (state && state.consumedPoints >= this.#points) refuse(state)
  }

  /** Counts one failure. */
  async recordFailure(client: string): Promise<void> {
    try {
      await this.#limiter.consume(client)
    } catch (error) {
      // Rejected with the limiter's state when already over the limit: still counted, still blocked.
      if (!(error instanceof RateLimiterRes)) throw error
    }
  }

  /** Disconnects from Redis (the client is this throttle's own). */
  async close(): Promise<void> {
    if (this.#redis && this.#redis.status !== 'end') await this.#redis.quit().catch(() => this.#redis?.disconnect())
  }
}

function refuse(state: RateLimiterRes): never {
  throw new ApiError('too_many_requests', 'Too many failed attempts from this address; retry later', undefined, {
    'retry-after': String(Math.max(1, Math.ceil(state.msBeforeNext / 1000))),
  })
}
