import { createHmac, generateKeyPairSync, sign as signWithKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import type { TokenClaims } from '@countersign/protocol'
import { describe, expect, it } from 'vitest'
import { deriveTenantKeys, generateTenantSecret } from './tenant-keys.ts'
import { claimedTenantOf, createTokenCodec } from './tokens.ts'
import type { TokenSubject } from './tokens.ts'

const TENANT = '6f1c1c52-8a55-4d0f-9a3e-0c6a0d1f2b11'
const OTHER_TENANT = '0b4f2d7e-3c1a-4e5b-8f6d-9a8b7c6d5e4f'
const ISSUER = 'https://countersign.example.com'
const keys = deriveTenantKeys(generateTenantSecret())
const otherKeys = deriveTenantKeys(generateTenantSecret())
const codec = createTokenCodec(TENANT, keys.tokenKey, ISSUER)
const NOW = Date.UTC(2030, 0, 2, 3, 4, 5, 678)
const NOW_S = Math.floor(NOW / 1000)
const TTL = 600

const subject: TokenSubject = {
  userId: 'user-42',
  username: 'ada@example.com',
  actionCode: 'authorizePayment',
  idempotencyKey: '2f0d6d2e-5a8e-4a3b-9e7a-1f2e3d4c5b6a',
  scope: 'read:authenticators add:authenticators',
}

// Tokens are crafted by hand (node:crypto, base64url) so the refusals do not depend on fast-jwt's signer.
const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const decodePart = (part: string | undefined): unknown => JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'))

type Header = Record<string, unknown>
const HS_HEADER: Header = { alg: 'HS256', typ: 'JWT' }

function hmacToken(header: Header, payload: unknown, key: Buffer, hash: 'sha256' | 'sha384' | 'sha512' = 'sha256'): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`
}

function ecToken(header: Header, payload: unknown, privateKey: KeyObject): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  return `${input}.${signWithKey('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
}

/** Claims as the codec issues them for `subject` at NOW; overrides replace top-level claims. */
function claims(overrides: Partial<Record<keyof TokenClaims, unknown>> = {}, tenantId = TENANT): Record<string, unknown> {
  return {
    sub: subject.userId,
    iss: ISSUER,
    aud: tenantId,
    iat: NOW_S,
    exp: NOW_S + TTL,
    jti: '7d1f0b8a-3c2e-4f5a-9b6c-0d1e2f3a4b5c',
    scope: subject.scope,
    other: {
      tenantId,
      userId: subject.userId,
      username: subject.username,
      actionCode: subject.actionCode,
      idempotencyKey: subject.idempotencyKey,
      publishableKey: tenantId,
    },
    ...overrides,
  }
}

const invalid = { ok: false, reason: 'invalid_token' } as const

describe('createTokenCodec sign / verify', () => {
  it('issues the claims PROTOCOL.md lists, in a JWT HS256 token, and verifies it', () => {
    const { token, claims: issued } = codec.sign(subject, NOW, TTL)
    const [header, payload, signature] = token.split('.')
    expect(decodePart(header)).toEqual({ alg: 'HS256', typ: 'JWT' })
    expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(issued).toEqual({
      sub: 'user-42',
      iss: ISSUER,
      aud: TENANT,
      iat: NOW_S,
      exp: NOW_S + TTL,
      jti: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      scope: subject.scope,
      other: {
        tenantId: TENANT,
        userId: 'user-42',
        username: 'ada@example.com',
        actionCode: 'authorizePayment',
        idempotencyKey: subject.idempotencyKey,
        publishableKey: TENANT,
      },
    })
    expect(decodePart(payload)).toEqual(issued)
    expect(codec.verify(token, NOW)).toEqual({ ok: true, claims: issued })
  })

  it('leaves username out of `other` when the subject has none', () => {
    const { token, claims: issued } = codec.sign({ ...subject, username: undefined }, NOW, TTL)
    expect('username' in issued.other).toBe(false)
    expect(codec.verify(token, NOW)).toEqual({ ok: true, claims: issued })
  })

  it('gives every token its own jti', () => {
    expect(codec.sign(subject, NOW, TTL).claims.jti).not.toBe(codec.sign(subject, NOW, TTL).claims.jti)
  })

  it('accepts a hand-crafted token with the tenant’s key (the baseline the refusals below differ from)', () => {
    expect(codec.verify(hmacToken(HS_HEADER, claims(), keys.tokenKey), NOW)).toEqual({ ok: true, claims: claims() })
  })
})

describe('createTokenCodec refuses (RFC 8725)', () => {
  const good = hmacToken(HS_HEADER, claims(), keys.tokenKey)
  const [goodHeader, goodPayload, goodSignature] = good.split('.') as [string, string, string]

  it('alg none, with or without a signature', () => {
    const input = `${b64url({ alg: 'none', typ: 'JWT' })}.${goodPayload}`
    expect(codec.verify(`${input}.`, NOW)).toEqual(invalid)
    expect(codec.verify(`${input}.${goodSignature}`, NOW)).toEqual(invalid)
    for (const alg of ['None', 'NONE', 'nOnE']) {
      expect(codec.verify(`${b64url({ alg, typ: 'JWT' })}.${goodPayload}.`, NOW)).toEqual(invalid)
    }
  })

  it('a token without its signature', () => {
    expect(codec.verify(`${goodHeader}.${goodPayload}.`, NOW)).toEqual(invalid)
    expect(codec.verify(`${goodHeader}.${goodPayload}`, NOW)).toEqual(invalid)
  })

  it('HS256 with another key: another tenant’s, the tenant’s challenge key, an empty key', () => {
    expect(codec.verify(hmacToken(HS_HEADER, claims(), otherKeys.tokenKey), NOW)).toEqual(invalid)
    expect(codec.verify(hmacToken(HS_HEADER, claims(), keys.challengeKey), NOW)).toEqual(invalid)
    expect(codec.verify(hmacToken(HS_HEADER, claims(), Buffer.alloc(0)), NOW)).toEqual(invalid)
  })

  it('HS384 and HS512, even with the tenant’s key', () => {
    expect(codec.verify(hmacToken({ alg: 'HS384', typ: 'JWT' }, claims(), keys.tokenKey, 'sha384'), NOW)).toEqual(invalid)
    expect(codec.verify(hmacToken({ alg: 'HS512', typ: 'JWT' }, claims(), keys.tokenKey, 'sha512'), NOW)).toEqual(invalid)
    // An HS256 MAC under another alg name is refused too.
    expect(codec.verify(hmacToken({ alg: 'HS512', typ: 'JWT' }, claims(), keys.tokenKey), NOW)).toEqual(invalid)
  })

  it('ES256 made with a generated EC key, with or without the key embedded as a jwk header', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    expect(codec.verify(ecToken({ alg: 'ES256', typ: 'JWT' }, claims(), privateKey), NOW)).toEqual(invalid)
    const jwk = publicKey.export({ format: 'jwk' })
    expect(codec.verify(ecToken({ alg: 'ES256', typ: 'JWT', jwk }, claims(), privateKey), NOW)).toEqual(invalid)
  })

  it('a modified payload (another sub) under the original signature', () => {
    const payload = b64url(claims({ sub: 'user-43', other: { ...(claims().other as object), userId: 'user-43' } }))
    expect(codec.verify(`${goodHeader}.${payload}.${goodSignature}`, NOW)).toEqual(invalid)
  })

  it('a flipped signature bit, and a non-canonical spelling of the signature', () => {
    const bytes = Buffer.from(goodSignature, 'base64url')
    bytes[0]! ^= 0x01
    expect(codec.verify(`${goodHeader}.${goodPayload}.${bytes.toString('base64url')}`, NOW)).toEqual(invalid)
    expect(codec.verify(`${goodHeader}.${goodPayload}.${Buffer.from(goodSignature, 'base64url').toString('base64')}`, NOW)).toEqual(invalid)
  })

  it('kid / jku / x5u header hints pointing elsewhere, signed with another key', () => {
    const hints = { kid: `../../${OTHER_TENANT}`, jku: 'https://attacker.example/jwks.json', x5u: 'https://attacker.example/cert.pem' }
    expect(codec.verify(hmacToken({ ...HS_HEADER, ...hints }, claims(), otherKeys.tokenKey), NOW)).toEqual(invalid)
    expect(codec.verify(hmacToken({ ...HS_HEADER, kid: OTHER_TENANT }, claims(), otherKeys.tokenKey), NOW)).toEqual(invalid)
  })

  it('never takes a key from the header: with the tenant’s own key, odd hints change nothing', () => {
    const hints = { kid: `../../${OTHER_TENANT}`, jku: 'https://attacker.example/jwks.json', x5u: 'https://attacker.example/cert.pem' }
    expect(codec.verify(hmacToken({ ...HS_HEADER, ...hints }, claims(), keys.tokenKey), NOW)).toEqual({ ok: true, claims: claims() })
  })

  it('a crit header naming an extension the codec does not understand', () => {
    expect(codec.verify(hmacToken({ ...HS_HEADER, crit: ['exp-ext'], 'exp-ext': 1 }, claims(), keys.tokenKey), NOW)).toEqual(invalid)
  })

  it('another typ, or none', () => {
    expect(codec.verify(hmacToken({ alg: 'HS256', typ: 'at+jwt' }, claims(), keys.tokenKey), NOW)).toEqual(invalid)
    expect(codec.verify(hmacToken({ alg: 'HS256' }, claims(), keys.tokenKey), NOW)).toEqual(invalid)
  })

  it('an expired token (exp <= now) as expired_token', () => {
    const { token } = codec.sign(subject, NOW, TTL)
    const expiry = (NOW_S + TTL) * 1000
    expect(codec.verify(token, expiry - 1).ok).toBe(true)
    expect(codec.verify(token, expiry)).toEqual({ ok: false, reason: 'expired_token' })
    expect(codec.verify(token, expiry + 86_400_000)).toEqual({ ok: false, reason: 'expired_token' })
    expect(codec.verify(hmacToken(HS_HEADER, claims({ exp: NOW_S }), keys.tokenKey), NOW)).toEqual({
      ok: false,
      reason: 'expired_token',
    })
  })

  it('an iat more than a minute in the future', () => {
    expect(codec.verify(hmacToken(HS_HEADER, claims({ iat: NOW_S + 60 }), keys.tokenKey), NOW).ok).toBe(true)
    expect(codec.verify(hmacToken(HS_HEADER, claims({ iat: NOW_S + 61 }), keys.tokenKey), NOW)).toEqual(invalid)
    expect(codec.verify(hmacToken(HS_HEADER, claims({ iat: NOW_S + 86_400, exp: NOW_S + 90_000 }), keys.tokenKey), NOW)).toEqual(invalid)
    // Signed at a later clock than the verifier's.
    expect(codec.verify(codec.sign(subject, NOW + 3_600_000, TTL).token, NOW)).toEqual(invalid)
  })

  it('another tenant’s token, signed by that tenant’s codec', () => {
    const theirs = createTokenCodec(OTHER_TENANT, otherKeys.tokenKey, ISSUER).sign(subject, NOW, TTL).token
    expect(codec.verify(theirs, NOW)).toEqual(invalid)
  })

  it('another audience or tenant in the claims, even under the tenant’s key', () => {
    expect(codec.verify(hmacToken(HS_HEADER, claims({ aud: OTHER_TENANT }), keys.tokenKey), NOW)).toEqual(invalid)
    expect(codec.verify(hmacToken(HS_HEADER, claims({}, OTHER_TENANT), keys.tokenKey), NOW)).toEqual(invalid)
    const otherTenantInOther = claims({ other: { ...(claims().other as object), tenantId: OTHER_TENANT } })
    expect(codec.verify(hmacToken(HS_HEADER, otherTenantInOther, keys.tokenKey), NOW)).toEqual(invalid)
  })

  it('another issuer', () => {
    expect(codec.verify(hmacToken(HS_HEADER, claims({ iss: 'https://attacker.example' }), keys.tokenKey), NOW)).toEqual(invalid)
    const otherIssuer = createTokenCodec(TENANT, keys.tokenKey, 'https://other-countersign.example.com')
    expect(otherIssuer.verify(codec.sign(subject, NOW, TTL).token, NOW)).toEqual(invalid)
  })

  // Guards against a verified token whose claims lack aud/iss (RFC 8725 §3.8–3.9, and TokenClaims types both as string).
  it.each(['aud', 'iss'] as const)('a token without %s, even under the tenant’s key', (claim) => {
    const { [claim]: _dropped, ...rest } = claims()
    expect(codec.verify(hmacToken(HS_HEADER, rest, keys.tokenKey), NOW)).toEqual(invalid)
  })

  it('claims of the wrong shape under the tenant’s key', () => {
    const { other } = claims() as { other: Record<string, unknown> }
    for (const bad of [
      claims({ sub: 'someone-else' }), // other.userId differs from sub
      claims({ exp: String(NOW_S + TTL) }),
      claims({ iat: undefined }),
      claims({ jti: undefined }),
      claims({ scope: undefined }),
      claims({ other: undefined }),
      claims({ other: { ...other, actionCode: 7 } }),
      claims({ other: { ...other, idempotencyKey: undefined } }),
    ]) {
      expect(codec.verify(hmacToken(HS_HEADER, bad, keys.tokenKey), NOW)).toEqual(invalid)
    }
    expect(codec.verify(hmacToken(HS_HEADER, 'not an object', keys.tokenKey), NOW)).toEqual(invalid)
    expect(codec.verify(hmacToken(HS_HEADER, [claims()], keys.tokenKey), NOW)).toEqual(invalid)
  })

  it('garbage, without throwing', () => {
    for (const token of ['', '.', '..', 'a.b.c', good.replace(/\./g, ''), `${good}.`, `${good} `, `x${good}`]) {
      expect(codec.verify(token, NOW)).toEqual(invalid)
    }
  })
})

describe('claimedTenantOf', () => {
  it('reads the tenant of an HS256 token without verifying it', () => {
    expect(claimedTenantOf(codec.sign(subject, NOW, TTL).token)).toBe(TENANT)
    expect(claimedTenantOf(hmacToken(HS_HEADER, claims({}, OTHER_TENANT), otherKeys.tokenKey))).toBe(OTHER_TENANT)
    // Unverified on purpose: the caller verifies with the claimed tenant's key next.
    expect(claimedTenantOf(hmacToken(HS_HEADER, claims(), Buffer.from('not the key')))).toBe(TENANT)
  })

  it('is null for alg none and other algorithms', () => {
    const payload = b64url(claims())
    expect(claimedTenantOf(`${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`)).toBeNull()
    expect(claimedTenantOf(hmacToken({ alg: 'HS512', typ: 'JWT' }, claims(), keys.tokenKey, 'sha512'))).toBeNull()
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    expect(claimedTenantOf(ecToken({ alg: 'ES256', typ: 'JWT' }, claims(), privateKey))).toBeNull()
    expect(claimedTenantOf(`${b64url({ typ: 'JWT' })}.${payload}.sig`)).toBeNull()
  })

  it('is null for garbage and for a tenant ID that is not a string', () => {
    for (const token of ['', 'garbage', 'a.b.c', '...', `${b64url('{')}.${b64url(claims())}.x`, `${b64url(HS_HEADER)}.${b64url('[')}.x`]) {
      expect(claimedTenantOf(token)).toBeNull()
    }
    expect(claimedTenantOf(hmacToken(HS_HEADER, claims({ other: { tenantId: 42 } }), keys.tokenKey))).toBeNull()
    expect(claimedTenantOf(hmacToken(HS_HEADER, claims({ other: undefined }), keys.tokenKey))).toBeNull()
    expect(claimedTenantOf(hmacToken(HS_HEADER, null, keys.tokenKey))).toBeNull()
  })

  it('is null for an oversized token (over 8192 characters)', () => {
    const padded = claims({ jti: 'x'.repeat(9000) })
    const token = hmacToken(HS_HEADER, padded, keys.tokenKey)
    expect(token.length).toBeGreaterThan(8192)
    expect(claimedTenantOf(token)).toBeNull()
  })
})
