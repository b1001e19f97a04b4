import { describe, expect, it } from 'vitest'
import { newBenchUser, newDevice, type BenchUser } from './countersign.ts'
import { ExclusiveUsers, SharedUsers } from './user-pool.ts'

const users = (count: number): BenchUser[] => Array.from({ length: count }, (_, i) => newBenchUser(i))

describe('ExclusiveUsers', () => {
  it('never hands out a user whose flow has not ended', () => {
    const pool = new ExclusiveUsers(users(3), 100)
    const taken = [pool.take(), pool.take(), pool.take()]
    expect(new Set(taken.map((u) => u?.userId)).size).toBe(3)
    // All three are in a flow: a fourth worker gets none rather than a shared one.
    expect(pool.take()).toBeUndefined()
    pool.release(taken[1]!)
    expect(pool.take()).toBe(taken[1])
  })

  it('users take turns, so flows spread evenly', () => {
    const all = users(4)
    const pool = new ExclusiveUsers(all, 1000)
    const counts = new Map<string, number>()
    for (let i = 0; i < 400; i++) {
      const user = pool.take()!
      counts.set(user.userId, (counts.get(user.userId) ?? 0) + 1)
      pool.release(user)
    }
    expect([...counts.values()]).toEqual([100, 100, 100, 100])
  })

  // Regression: the push run must end before the server's pushMaxPerHour refuses a user.
  it('hands out no user beyond maxFlowsPerUser', () => {
    const pool = new ExclusiveUsers(users(2), 3)
    let flows = 0
    for (let user = pool.take(); user !== undefined; user = pool.take()) {
      flows += 1
      pool.release(user)
    }
    expect(flows).toBe(6)
    expect(pool.maxFlowsSoFar).toBe(3)
  })
})

describe('SharedUsers', () => {
  it('may hand the same user to several workers at once (in-app flows are independent)', () => {
    const pool = new SharedUsers(users(1))
    expect(pool.take()).toBe(pool.take())
  })
})

describe('Device', () => {
  it('sends its key in ?publicKey= as base64 of the base64 SPKI, URL-encoded', () => {
    const device = newDevice()
    const decoded = Buffer.from(decodeURIComponent(device.publicKeyQuery), 'base64').toString('utf8')
    expect(decoded).toBe(device.publicKey)
  })
})

describe('newBenchUser', () => {
  it('gives each user three distinct addresses, fewer than the rule set allows in a day', () => {
    for (let i = 0; i < 50; i++) {
      const { addresses } = newBenchUser(i)
      expect(new Set(addresses).size).toBe(3)
    }
  })
})
