import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { open, openWithEither, seal, SEAL_OVERHEAD, SecretBoxError } from './secret-box.ts'

const key = randomBytes(32)
const secret = randomBytes(32)
const TENANT = '6f1c1c52-8a55-4d0f-9a3e-0c6a0d1f2b11'

describe('seal / open', () => {
  it('round-trips, with a fresh IV each time', () => {
    const a = seal(key, secret, TENANT)
    const b = seal(key, secret, TENANT)
    expect(a).toHaveLength(secret.length + SEAL_OVERHEAD)
    expect(a.equals(b)).toBe(false)
    expect(open(key, a, TENANT).equals(secret)).toBe(true)
    expect(a.includes(secret)).toBe(false)
  })

  it('refuses another key, another context (a row copied to another tenant), and any changed byte', () => {
    const sealed = seal(key, secret, TENANT)
    expect(() => open(randomBytes(32), sealed, TENANT)).toThrow(SecretBoxError)
    expect(() => open(key, sealed, '0b4f2d7e-3c1a-4e5b-8f6d-9a8b7c6d5e4f')).toThrow(SecretBoxError)
    for (let i = 1; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed)
      tampered[i]! ^= 0x01
      expect(() => open(key, tampered, TENANT)).toThrow(SecretBoxError)
    }
  })

  it('refuses a truncated value and an unknown version', () => {
    const sealed = seal(key, secret, TENANT)
    expect(() => open(key, sealed.subarray(0, SEAL_OVERHEAD - 1), TENANT)).toThrow(SecretBoxError)
    const otherVersion = Buffer.from(sealed)
    otherVersion[0] = 2
    expect(() => open(key, otherVersion, TENANT)).toThrow(SecretBoxError)
  })

  it('opens with the previous key during a rotation, and with neither key refuses', () => {
    const previous = randomBytes(32)
    const current = randomBytes(32)
    expect(openWithEither(current, previous, seal(previous, secret, TENANT), TENANT)).toEqual(secret)
    expect(openWithEither(current, previous, seal(current, secret, TENANT), TENANT)).toEqual(secret)
    expect(() => openWithEither(current, undefined, seal(previous, secret, TENANT), TENANT)).toThrow(SecretBoxError)
    expect(() => openWithEither(current, previous, seal(randomBytes(32), secret, TENANT), TENANT)).toThrow(SecretBoxError)
    // The previous key opens only what it sealed for this context.
    expect(() => openWithEither(current, previous, seal(previous, secret, TENANT), 'another context')).toThrow(SecretBoxError)
  })
})
