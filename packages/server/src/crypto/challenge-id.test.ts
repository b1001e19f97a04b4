import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { issueChallengeId, openChallengeId } from './challenge-id.ts'
import { deriveTenantKeys, generateTenantSecret } from './tenant-keys.ts'

const TENANT = '6f1c1c52-8a55-4d0f-9a3e-0c6a0d1f2b11'
const OTHER_TENANT = '0b4f2d7e-3c1a-4e5b-8f6d-9a8b7c6d5e4f'
const { challengeKey } = deriveTenantKeys(generateTenantSecret())
const EXPIRES = new Date('2031-05-04T03:02:01.789Z')
const MAC_BYTES = 16
const HEADER_BYTES = 1 + 4 + 16 + 1

const decode = (challengeId: string) => Buffer.from(challengeId, 'base64url')
const encode = (raw: Buffer) => raw.toString('base64url')
/** The layout's MAC, computed independently so a test can change a field and re-authenticate it. */
const macOf = (key: Buffer, tenantId: string, body: Buffer) =>
  createHmac('sha256', key)
    .update(tenantId)
    .update(Buffer.from([0]))
    .update(body)
    .digest()
    .subarray(0, MAC_BYTES)
/** Rewrites the body with `edit` and re-MACs it with the right key: only the edited field is wrong. */
function reauthenticated(challengeId: string, edit: (body: Buffer) => Buffer): string {
  const raw = decode(challengeId)
  const body = edit(Buffer.from(raw.subarray(0, raw.length - MAC_BYTES)))
  return encode(Buffer.concat([body, macOf(challengeKey, TENANT, body)]))
}

describe('issueChallengeId / openChallengeId round trip', () => {
  it.each([
    ['no action', null],
    ['an action', 'authorizePayment'],
    ['a 64-character action', 'a'.repeat(32) + 'Z-_9'.repeat(8)],
    ['a one-character action', 'x'],
  ])('%s', (_label, action) => {
    const { challengeId, challenge } = issueChallengeId(challengeKey, TENANT, EXPIRES, action)
    expect(challengeId).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(decode(challengeId)).toHaveLength(HEADER_BYTES + (action?.length ?? 0) + MAC_BYTES)

    const opened = openChallengeId(challengeKey, TENANT, challengeId)
    expect(opened).not.toBeNull()
    expect(opened).toEqual(challenge)
    expect(opened!.nonce).toHaveLength(16)
    // Expiry is carried in whole seconds.
    expect(opened!.expiresAt.getTime()).toBe(Math.floor(EXPIRES.getTime() / 1000) * 1000)
    expect(opened!.action).toBe(action)
  })

  it('gives every challenge a fresh nonce', () => {
    const nonces = new Set(
      Array.from({ length: 50 }, () => issueChallengeId(challengeKey, TENANT, EXPIRES, null).challenge.nonce.toString('hex')),
    )
    expect(nonces.size).toBe(50)
  })

  it('opens an expired challenge: expiry is the caller’s to check', () => {
    const past = new Date('2001-01-01T00:00:00Z')
    const { challengeId } = issueChallengeId(challengeKey, TENANT, past, null)
    expect(openChallengeId(challengeKey, TENANT, challengeId)?.expiresAt).toEqual(past)
  })
})

describe('openChallengeId returns null for', () => {
  const { challengeId } = issueChallengeId(challengeKey, TENANT, EXPIRES, 'authorizePayment')

  it('a forged MAC', () => {
    const raw = decode(challengeId)
    for (const index of [raw.length - 1, raw.length - MAC_BYTES]) {
      const forged = Buffer.from(raw)
      forged[index]! ^= 0x01
      expect(openChallengeId(challengeKey, TENANT, encode(forged))).toBeNull()
    }
    const zeroMac = Buffer.concat([raw.subarray(0, raw.length - MAC_BYTES), Buffer.alloc(MAC_BYTES)])
    expect(openChallengeId(challengeKey, TENANT, encode(zeroMac))).toBeNull()
  })

  it('a changed body under the original MAC (expiry, nonce, action)', () => {
    for (const index of [1, 4, 5, 20, HEADER_BYTES]) {
      const raw = decode(challengeId)
      raw[index]! ^= 0x01
      expect(openChallengeId(challengeKey, TENANT, encode(raw))).toBeNull()
    }
  })

  it('another tenant’s ID: another tenant ID, or another key', () => {
    expect(openChallengeId(challengeKey, OTHER_TENANT, challengeId)).toBeNull()
    expect(openChallengeId(deriveTenantKeys(generateTenantSecret()).challengeKey, TENANT, challengeId)).toBeNull()
    const theirs = issueChallengeId(challengeKey, OTHER_TENANT, EXPIRES, 'authorizePayment').challengeId
    expect(openChallengeId(challengeKey, TENANT, theirs)).toBeNull()
  })

  it('an ID whose tenant ID is a prefix of ours (the 0x00 separator keeps them apart)', () => {
    const theirs = issueChallengeId(challengeKey, TENANT.slice(0, -1), EXPIRES, null).challengeId
    expect(openChallengeId(challengeKey, TENANT, theirs)).toBeNull()
  })

  it('a truncated ID', () => {
    const raw = decode(challengeId)
    for (const length of [0, 1, HEADER_BYTES, HEADER_BYTES + MAC_BYTES - 1, raw.length - 1, raw.length - MAC_BYTES]) {
      expect(openChallengeId(challengeKey, TENANT, encode(raw.subarray(0, length)))).toBeNull()
    }
    // Cut as a string, too (base64url characters, not whole bytes).
    for (let cut = 1; cut <= 8; cut++) {
      expect(openChallengeId(challengeKey, TENANT, challengeId.slice(0, -cut))).toBeNull()
    }
  })

  it('an ID extended by whole bytes', () => {
    const raw = decode(challengeId)
    expect(openChallengeId(challengeKey, TENANT, encode(Buffer.concat([raw, Buffer.from([0])])))).toBeNull()
    expect(openChallengeId(challengeKey, TENANT, encode(Buffer.concat([raw, raw])))).toBeNull()
  })

  it('characters outside base64url', () => {
    for (const bad of [
      '',
      `${challengeId}=`,
      `${challengeId}==`,
      `${challengeId} `,
      ` ${challengeId}`,
      `${challengeId}\n`,
      challengeId.replace(/[-_]/g, '+') + '+/',
      `${challengeId.slice(0, 10)}.${challengeId.slice(10)}`,
    ]) {
      expect(openChallengeId(challengeKey, TENANT, bad)).toBeNull()
    }
  })

  it('the standard-alphabet spelling of an ID that needs + or /', () => {
    const ids = Array.from({ length: 20 }, () => issueChallengeId(challengeKey, TENANT, EXPIRES, 'a').challengeId)
    const spelled = ids.map((id) => decode(id).toString('base64')).filter((standard) => /[+/]/.test(standard))
    expect(spelled.length).toBeGreaterThan(0)
    for (const standard of spelled) expect(openChallengeId(challengeKey, TENANT, standard)).toBeNull()
  })

  // Regression: Node's lenient base64url decoding let other spellings of the same bytes open.
  it('another spelling of the same bytes (spare low bits changed, a stray last character)', () => {
    // 22 + 3 + 16 = 41 bytes: the last character carries two spare bits.
    const { challengeId } = issueChallengeId(challengeKey, TENANT, EXPIRES, 'pay')
    const last = challengeId.at(-1)!
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const respelled = [...alphabet]
      .filter((c) => c !== last)
      .map((c) => challengeId.slice(0, -1) + c)
      .filter((id) => decode(id).equals(decode(challengeId)))
    expect(respelled).toHaveLength(3)
    for (const id of [...respelled, `${challengeId}A`]) expect(openChallengeId(challengeKey, TENANT, id)).toBeNull()
    expect(openChallengeId(challengeKey, TENANT, challengeId)).not.toBeNull()
  })

  it('another version byte, even with a valid MAC', () => {
    for (const version of [0, 2, 0xff]) {
      const changed = reauthenticated(challengeId, (body) => {
        body[0] = version
        return body
      })
      expect(openChallengeId(challengeKey, TENANT, changed)).toBeNull()
    }
    // The helper re-MACs correctly: the unchanged version still opens.
    expect(
      openChallengeId(
        challengeKey,
        TENANT,
        reauthenticated(challengeId, (body) => body),
      ),
    ).not.toBeNull()
  })

  it('an action length byte inconsistent with the body, even with a valid MAC', () => {
    const actionLength = 'authorizePayment'.length
    for (const length of [0, actionLength - 1, actionLength + 1, 0xff]) {
      const changed = reauthenticated(challengeId, (body) => {
        body[HEADER_BYTES - 1] = length
        return body
      })
      expect(openChallengeId(challengeKey, TENANT, changed)).toBeNull()
    }
    // A body cut short of the header (it reads no further than it has), re-MACed.
    const short = reauthenticated(challengeId, (body) => body.subarray(0, HEADER_BYTES - 1))
    expect(openChallengeId(challengeKey, TENANT, short)).toBeNull()
  })

  it('any string, without throwing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(openChallengeId(challengeKey, TENANT, text)).toBeNull()
      }),
    )
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 200 }), (chars) => {
        expect(openChallengeId(challengeKey, TENANT, chars.join(''))).toBeNull()
      }),
    )
  })
})
