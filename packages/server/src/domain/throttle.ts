import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { ApiError } from './errors.ts'

/**
 * Counts failures per client (an IP address) in a fixed window and, once a client has failed
 * `failures` times, refuses it until the window ends — whatever it sends meanwhile, a right
 * key included. Per node, in memory (rate-limiter-flexible also has Redis stores for a shared
 * count). Limits that protect users (failed device signatures) live in the database instead.
 */
export class FailureThrottle {
  readonly #limiter: RateLimiterMemory

  constructor(options: { failures: number; windowSeconds: number; name: string }) {
    this.#limiter = new RateLimiterMemory({
      keyPrefix: options.name,
      points: options.failures,
      duration: options.windowSeconds,
    })
  }

  /** 429 too_many_requests, with Retry-After, while `client` is blocked. */
  async refuseIfBlocked(client: string): Promise<void> {
    const state = await this.#limiter.get(client)
    if (state && state.consumedPoints >= this.#limiter.points) refuse(state)
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
}

function refuse(state: RateLimiterRes): never {
  throw new ApiError('too_many_requests', 'Too many failed attempts from this address; retry later', undefined, {
    'retry-after': String(Math.max(1, Math.ceil(state.msBeforeNext / 1000))),
  })
}
