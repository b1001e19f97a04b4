import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sha256 } from './p256.ts'
import { hashesEqual, issueApiKey, parseApiKey, randomToken } from './secrets.ts'

const TENANT = randomUUID()

describe('issueApiKey / parseApiKey', () => {
  it('issues cs_sk_<uuid>.<12 chars>.<43 chars> that parses back to the same tenant, key ID and hash', () => {
    const issued = issueApiKey(TENANT, 'secret')
    expect(issued.type).toBe('secret')
    expect(issued.value).toMatch(/^cs_sk_[0-9a-f-]{36}\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}$/)
    expect(issued.value.startsWith(`cs_sk_${TENANT}.${issued.keyId}.`)).toBe(true)
    expect(issued.hash).toEqual(sha256(issued.value.split('.')[2]!))

    const parsed = parseApiKey(issued.value)
    expect(parsed).toEqual({ type: 'secret', tenantId: TENANT, keyId: issued.keyId, secretHash: issued.hash })
    expect(hashesEqual(parsed!.secretHash, issued.hash)).toBe(true)
  })

  it('issues management keys with the cs_mk prefix', () => {
    const issued = issueApiKey(TENANT, 'management')
    expect(issued.value).toMatch(/^cs_mk_[0-9a-f-]{36}\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}$/)
    expect(parseApiKey(issued.value)).toEqual({ type: 'management', tenantId: TENANT, keyId: issued.keyId, secretHash: issued.hash })
  })

  it('issues a different key ID and secret every time', () => {
    const a = issueApiKey(TENANT, 'secret')
    const b = issueApiKey(TENANT, 'secret')
    expect(a.keyId).not.toBe(b.keyId)
    expect(hashesEqual(a.hash, b.hash)).toBe(false)
  })

  it('hashes only the secret part: another secret under the same key ID does not match', () => {
    const issued = issueApiKey(TENANT, 'secret')
    const other = issueApiKey(TENANT, 'secret')
    const forged = `cs_sk_${TENANT}.${issued.keyId}.${other.value.split('.')[2]!}`
    const parsed = parseApiKey(forged)
    expect(parsed?.keyId).toBe(issued.keyId)
    expect(hashesEqual(parsed!.secretHash, issued.hash)).toBe(false)
  })

  it('returns null for malformed values', () => {
    const { value, keyId } = issueApiKey(TENANT, 'secret')
    const secret = value.split('.')[2]!
    for (const bad of [
      '',
      'cs_sk_',
      value.replace('cs_sk_', 'cs_pk_'),
      value.replace('cs_sk_', 'CS_SK_'),
      value.replace('cs_sk_', 'cs_sk'),
      value.slice(1),
      value.slice(0, -1),
      `${value}A`,
      `${value}\n`,
      ` ${value}`,
      `${value}.extra`,
      `cs_sk_${TENANT.toUpperCase()}.${keyId}.${secret}`,
      `cs_sk_${TENANT.slice(0, -1)}.${keyId}.${secret}`,
      // Right length and alphabet, not a UUID: the lookup's uuid cast would fail (found by fuzzing).
      `cs_sk_${TENANT.replace(/-/g, '0').slice(0, 35)}-.${keyId}.${secret}`,
      `cs_sk_${TENANT}.${keyId.slice(1)}.${secret}`,
      `cs_sk_${TENANT}.${keyId}A.${secret}`,
      `cs_sk_${TENANT}.${keyId}.${secret.slice(0, -1)}+`,
      `cs_sk_${TENANT}.${keyId}.${secret.slice(0, -1)}=`,
      `cs_sk_${TENANT}:${keyId}.${secret}`,
      `cs_sk_${TENANT}.${keyId}`,
      `Bearer ${value}`,
    ]) {
      expect(parseApiKey(bad)).toBeNull()
    }
  })
})

describe('hashesEqual', () => {
  it('compares equal and unequal hashes of the same length', () => {
    expect(hashesEqual(sha256('a'), sha256('a'))).toBe(true)
    expect(hashesEqual(sha256('a'), sha256('b'))).toBe(false)
  })

  it('is false for different lengths, without throwing', () => {
    const hash = sha256('a')
    expect(hashesEqual(hash, hash.subarray(0, 31))).toBe(false)
    expect(hashesEqual(hash, new Uint8Array(0))).toBe(false)
    expect(hashesEqual(new Uint8Array(0), hash)).toBe(false)
    expect(hashesEqual(hash, Uint8Array.from([...hash, 0]))).toBe(false)
  })
})

describe('randomToken', () => {
  it('is base64url of the requested number of random bytes', () => {
    expect(randomToken()).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(randomToken(16), 'base64url')).toHaveLength(16)
    expect(randomToken()).not.toBe(randomToken())
  })
})
