// Operator passwords: Argon2id (RFC 9106) through @node-rs/argon2, with OWASP's parameters
// (19 MiB, 2 passes, 1 lane), stored as a PHC string so the parameters can be raised later
// without breaking existing hashes. Hashing runs on libuv's thread pool, off the event loop.
import { hash, verify } from '@node-rs/argon2'

// Algorithm.Argon2id: the package's enum is an ambient const enum, which isolated modules cannot read.
const ARGON2ID = 2
const PARAMETERS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMETERS)
}

let decoy: Promise<string> | undefined

/**
 * Whether `password` matches `stored`. With no stored hash (no such operator), a decoy hash
 * is checked instead, so the answer takes as long either way and does not reveal which
 * emails have accounts.
 */
export async function passwordMatches(stored: string | null, password: string): Promise<boolean> {
  if (stored === null) {
    decoy ??= hashPassword('no operator has this password')
    await verify(await decoy, password)
    return false
  }
  try {
    return await verify(stored, password)
  } catch {
    return false
  }
}
