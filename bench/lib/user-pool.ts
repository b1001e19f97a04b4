// Which enrolled user a worker's next flow is for. In-app flows of one user are independent,
// so any worker may pick any user at any time. Push flows of one user are not: the phone
// holds one signing nonce (a second request replaces the first) and is shown only its newest
// pending challenge, and the server limits push requests per user. So a push user is used by
// one flow at a time, in turn, and not beyond the hourly limit.
import type { BenchUser } from './countersign.ts'

export interface UserPool<U = BenchUser> {
  /** The user of the next flow; undefined when no user may take one more. */
  take(): U | undefined
  /** Gives back what `take` returned once that flow has ended, successful or not. */
  release(user: U): void
  /** What bounds a user's flows when `take` can run out, for the report: "the server allows per user and hour". */
  readonly limit?: string
}

/** Any user, at random, shared between workers: the in-app load (and the peer's one client). */
export class SharedUsers<U = BenchUser> implements UserPool<U> {
  constructor(readonly users: readonly U[]) {
    if (users.length === 0) throw new Error('no users')
  }

  take(): U {
    return this.users[Math.floor(Math.random() * this.users.length)]!
  }

  release(): void {}
}

/**
 * Each user in one flow at most, users taking turns (first released, first taken again), so
 * flows spread evenly over users. A user who has had `maxFlowsPerUser` flows is not handed
 * out again; `limit` says what sets that number.
 * @example const pool = new ExclusiveUsers(users, 1000) // the tenant's pushMaxPerHour
 */
export class ExclusiveUsers implements UserPool {
  /** Free users, longest-waiting first (a few hundred: shift() is cheap). */
  readonly #free: BenchUser[]
  readonly #flows = new Map<BenchUser, number>()

  constructor(
    users: readonly BenchUser[],
    readonly maxFlowsPerUser: number,
    readonly limit = 'the server allows per user and hour',
  ) {
    this.#free = [...users]
  }

  take(): BenchUser | undefined {
    const user = this.#free[0]
    if (user === undefined) return undefined
    const flows = this.#flows.get(user) ?? 0
    // Users take turns, so the counts stay about even: when the next one is at its limit,
    // the rest are at or next to it, and the load ends here rather than meet the server's.
    if (flows >= this.maxFlowsPerUser) return undefined
    this.#free.shift()
    this.#flows.set(user, flows + 1)
    return user
  }

  release(user: BenchUser): void {
    this.#free.push(user)
  }

  /** The most flows any one user has been handed. */
  get maxFlowsSoFar(): number {
    return Math.max(0, ...this.#flows.values())
  }
}
