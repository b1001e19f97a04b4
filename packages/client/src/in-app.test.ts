import { createPublicKey, verify as verifySignature } from 'node:crypto'
import { removeCredentialMessage as protocolRemoveCredentialMessage } from '@countersign/protocol'
import { beforeEach, describe, expect, it } from 'vitest'
import { CountersignClient } from './client.ts'
import { encodePublicKeyQuery, removeCredentialMessage } from './in-app.ts'
import { KeyStoreError, type KeyStore } from './key-store.ts'
import { MemoryKeyStore } from './memory-key-store.ts'
import type { FetchLike } from './transport.ts'

const TENANT = 'tenant_123'
const BASIC = `Basic ${Buffer.from(`${TENANT}:`).toString('base64')}`
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5)

interface RecordedRequest {
  method: string
  url: string
  headers: Record<string, string>
  body: Record<string, unknown> | undefined
}

type Handler = (request: RecordedRequest) => { status?: number; body?: unknown; raw?: string }

/** A fetch that records requests and answers from `handler`. */
function fakeFetch(handler: Handler): { fetch: FetchLike; requests: RecordedRequest[] } {
  const requests: RecordedRequest[] = []
  const fetch: FetchLike = async (url, init) => {
    const request: RecordedRequest = {
      method: init.method ?? 'GET',
      url,
      headers: { ...(init.headers as Record<string, string>) },
      body: typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined,
    }
    requests.push(request)
    const answer = handler(request)
    const text = answer.raw ?? (answer.body === undefined ? '' : JSON.stringify(answer.body))
    return new Response(text, { status: answer.status ?? 200, headers: { 'Content-Type': 'application/json' } })
  }
  return { fetch, requests }
}

const credential = {
  userAuthenticatorId: 'ua_1',
  userId: 'user_1',
  verificationMethod: 'IN_APP',
  createdAt: '2026-01-02T03:04:05.000Z',
  verifiedAt: '2026-01-02T03:04:05.000Z',
}
const errorBody = (code: string, description = `about ${code}`) => ({
  error: code,
  errorCode: code,
  errorDescription: description,
})

/** Checks a wire signature the way the server does: base64 DER ECDSA-SHA256 under the SPKI. */
function verifiesOnServer(publicKey: unknown, message: string, signature: unknown): boolean {
  const key = createPublicKey({ key: Buffer.from(String(publicKey), 'base64'), format: 'der', type: 'spki' })
  return verifySignature('sha256', Buffer.from(message), { key, dsaEncoding: 'der' }, Buffer.from(String(signature), 'base64'))
}

function setup(handler: Handler, keyStore: KeyStore = new MemoryKeyStore()) {
  const server = fakeFetch(handler)
  const client = new CountersignClient({
    tenantId: TENANT,
    baseUrl: 'http://127.0.0.1:8080',
    keyStore,
    fetch: server.fetch,
    now: () => NOW,
  })
  return { client, keyStore, requests: server.requests }
}

async function enrolledKeyStore(): Promise<{ keyStore: MemoryKeyStore; publicKey: string }> {
  const keyStore = new MemoryKeyStore()
  const { publicKey } = await keyStore.create('in-app', { userAuthenticationRequired: false })
  return { keyStore, publicKey: Buffer.from(publicKey).toString('base64') }
}

describe('addCredential', () => {
  it('creates a key and registers it with Bearer auth', async () => {
    const { client, keyStore, requests } = setup(() => ({ body: credential }))
    client.setToken('track-token')
    const result = await client.inapp.addCredential({
      userAuthenticationRequired: false,
      deviceName: 'Test device',
      devicePlatform: 'web',
    })

    expect(result).toEqual({ data: credential })
    const local = await keyStore.getPublicKey('in-app')
    expect(local).toBeDefined()
    expect(requests).toHaveLength(1)
    const [request] = requests
    expect(request?.method).toBe('POST')
    expect(request?.url).toBe('http://127.0.0.1:8080/v1/client/user-authenticators/in-app')
    expect(request?.headers).toMatchObject({
      Authorization: 'Bearer track-token',
      'X-Authsignal-Tenant-ID': TENANT,
      'Content-Type': 'application/json',
    })
    expect(request?.body).toEqual({
      publicKey: Buffer.from(local ?? []).toString('base64'),
      deviceName: 'Test device',
      devicePlatform: 'web',
      userAuthenticationRequired: false,
    })
  })

  it('prefers the token passed in over the one set', async () => {
    const { client, requests } = setup(() => ({ body: credential }))
    client.setToken('set-token')
    await client.inapp.addCredential({ token: 'passed-token' })
    expect(requests[0]?.headers.Authorization).toBe('Bearer passed-token')
  })

  it('fails with token_not_set and creates no key when there is no token', async () => {
    const { client, keyStore, requests } = setup(() => ({ body: credential }))
    const result = await client.inapp.addCredential()
    expect(result.errorCode).toBe('token_not_set')
    expect(requests).toHaveLength(0)
    expect(await keyStore.getPublicKey('in-app')).toBeUndefined()
  })

  it('deletes the key it created when the server refuses', async () => {
    const { client, keyStore } = setup(() => ({ status: 401, body: errorBody('expired_token', 'The token has expired.') }))
    const result = await client.inapp.addCredential({ token: 'old' })
    expect(result).toEqual({ error: 'The token has expired.', errorCode: 'expired_token', status: 401 })
    expect(await keyStore.getPublicKey('in-app')).toBeUndefined()
  })

  it('keeps the key it created after a network error, since the server may have registered it', async () => {
    const keyStore = new MemoryKeyStore()
    const client = new CountersignClient({
      tenantId: TENANT,
      baseUrl: 'http://127.0.0.1:8080',
      keyStore,
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    })
    const result = await client.inapp.addCredential({ token: 't' })
    expect(result.errorCode).toBe('network_error')
    expect(result.cause).toBeInstanceOf(TypeError)
    expect(await keyStore.getPublicKey('in-app')).toBeDefined()
  })

  it('reuses an existing key, never deletes it on refusal, and does not claim its policy', async () => {
    const { keyStore, publicKey } = await enrolledKeyStore()
    const { client, requests } = setup(() => ({ status: 409, body: errorBody('conflict') }), keyStore)
    const result = await client.inapp.addCredential({ token: 't', userAuthenticationRequired: true })
    expect(result.errorCode).toBe('conflict')
    expect(requests[0]?.body?.publicKey).toBe(publicKey)
    expect(requests[0]?.body).not.toHaveProperty('userAuthenticationRequired')
    expect(Buffer.from((await keyStore.getPublicKey('in-app')) ?? []).toString('base64')).toBe(publicKey)
  })

  it('reports a key store that cannot create the key', async () => {
    const { client, requests } = setup(() => ({ body: credential }), new MemoryKeyStore())
    // MemoryKeyStore without confirmUser cannot make a key that needs the user.
    const result = await client.inapp.addCredential({ token: 't', userAuthenticationRequired: true })
    expect(result.errorCode).toBe('key_store_error')
    expect(requests).toHaveLength(0)
  })

  it('refuses a key store that returns something other than a P-256 SPKI, and cleans up', async () => {
    const memory = new MemoryKeyStore()
    const rawPointStore: KeyStore = {
      signatureFormat: 'der',
      create: async (namespace, options) => {
        const { publicKey } = await memory.create(namespace, options)
        return { publicKey: publicKey.subarray(26) } // the raw point, as iOS exports it
      },
      getPublicKey: (namespace) => memory.getPublicKey(namespace),
      sign: (namespace, message) => memory.sign(namespace, message),
      delete: (namespace) => memory.delete(namespace),
    }
    const { client, requests } = setup(() => ({ body: credential }), rawPointStore)
    const result = await client.inapp.addCredential({ token: 't' })
    expect(result.errorCode).toBe('key_store_error')
    expect(requests).toHaveLength(0)
    expect(await memory.getPublicKey('in-app')).toBeUndefined()
  })

  it('treats a 2xx body of the wrong shape as api_error, keeping the key the server may hold', async () => {
    const { client, keyStore } = setup(() => ({ body: { hello: 'world' } }))
    expect((await client.inapp.addCredential({ token: 't' })).errorCode).toBe('api_error')
    expect(await keyStore.getPublicKey('in-app')).toBeDefined()
  })
})

describe('getCredential', () => {
  it('looks the key up with tenant Basic auth and the double-encoded public key', async () => {
    const { keyStore, publicKey } = await enrolledKeyStore()
    const { client, requests } = setup(() => ({ body: credential }), keyStore)
    const result = await client.inapp.getCredential()

    expect(result).toEqual({ data: credential })
    const [request] = requests
    expect(request?.method).toBe('GET')
    expect(request?.body).toBeUndefined()
    expect(request?.headers).toMatchObject({ Authorization: BASIC, 'X-Authsignal-Tenant-ID': TENANT })
    const url = new URL(request?.url ?? '')
    expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:8080/v1/client/user-authenticators/in-app')
    // As iOS sends it: base64url (no padding) of the UTF-8 of the standard-base64 SPKI.
    const query = url.searchParams.get('publicKey') ?? ''
    expect(query).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(Buffer.from(query, 'base64url').toString('utf8')).toBe(publicKey)
    expect(query).toBe(Buffer.from(publicKey, 'utf8').toString('base64url'))
  })

  it('is undefined without asking the server when the device has no key', async () => {
    const { client, requests } = setup(() => ({ body: credential }))
    expect(await client.inapp.getCredential()).toEqual({ data: undefined })
    expect(requests).toHaveLength(0)
  })

  it('is undefined when the server answers 404 not_found', async () => {
    const { keyStore } = await enrolledKeyStore()
    const { client } = setup(() => ({ status: 404, body: errorBody('not_found') }), keyStore)
    expect(await client.inapp.getCredential()).toEqual({ data: undefined })
  })

  it('keeps the public key out of error messages', async () => {
    const { keyStore } = await enrolledKeyStore()
    const { client, requests } = setup(() => ({ body: ['not', 'a', 'credential'] }), keyStore)
    const result = await client.inapp.getCredential()
    expect(result.errorCode).toBe('api_error')
    const query = new URL(requests[0]?.url ?? '').searchParams.get('publicKey') ?? ''
    expect(result.error).not.toContain(query)
    expect(result.error).not.toContain('?')
  })

  it('is api_error, not "no credential", for a bare 404 (a wrong baseUrl)', async () => {
    const { keyStore } = await enrolledKeyStore()
    const { client } = setup(() => ({ status: 404, raw: '<html>Not Found</html>' }), keyStore)
    const result = await client.inapp.getCredential()
    expect(result.errorCode).toBe('api_error')
    expect(result.status).toBe(404)
  })
})

describe('removeCredential', () => {
  it('signs the time bucket, posts it with tenant auth, then deletes the key', async () => {
    const { keyStore, publicKey } = await enrolledKeyStore()
    const { client, requests } = setup(() => ({ body: { removedAuthenticatorId: 'ua_1' } }), keyStore)
    const result = await client.inapp.removeCredential()

    expect(result).toEqual({ data: true })
    const [request] = requests
    expect(request?.method).toBe('POST')
    expect(request?.url).toBe('http://127.0.0.1:8080/v1/client/user-authenticators/in-app/remove')
    expect(request?.headers).toMatchObject({ Authorization: BASIC, 'X-Authsignal-Tenant-ID': TENANT })
    expect(request?.body?.publicKey).toBe(publicKey)
    const message = `${Math.floor(NOW / 1000 / 600)}.0`
    expect(verifiesOnServer(publicKey, message, request?.body?.signature)).toBe(true)
    expect(await keyStore.getPublicKey('in-app')).toBeUndefined()
  })

  it('is false, with no request, when the device has no key', async () => {
    const { client, requests } = setup(() => ({ body: {} }))
    expect(await client.inapp.removeCredential()).toEqual({ data: false })
    expect(requests).toHaveLength(0)
  })

  it('keeps the key when the server refuses, so the call can be retried', async () => {
    const { keyStore } = await enrolledKeyStore()
    const { client } = setup(() => ({ status: 429, body: errorBody('too_many_requests') }), keyStore)
    const result = await client.inapp.removeCredential()
    expect(result.errorCode).toBe('too_many_requests')
    expect(await keyStore.getPublicKey('in-app')).toBeDefined()
  })

  it.each([
    [404, 'not_found'],
    [401, 'invalid_credential'],
  ])('deletes the key when the server no longer knows the credential (%i %s)', async (status, code) => {
    const { keyStore } = await enrolledKeyStore()
    const { client } = setup(() => ({ status, body: errorBody(code) }), keyStore)
    expect(await client.inapp.removeCredential()).toEqual({ data: true })
    expect(await keyStore.getPublicKey('in-app')).toBeUndefined()
  })

  it('builds the same message as @countersign/protocol', () => {
    for (const now of [0, NOW, NOW + 599_999, 1_787_000_000_123]) {
      expect(removeCredentialMessage(now)).toBe(protocolRemoveCredentialMessage(now))
    }
  })
})

describe('verify', () => {
  let challengeCount = 0
  beforeEach(() => {
    challengeCount = 0
  })
  const server: Handler = (request) => {
    if (request.url.endsWith('/client/challenge')) return { body: { challengeId: `chal_${++challengeCount}` } }
    if (request.url.endsWith('/client/verify/in-app')) {
      const ok = verifiesOnServer(request.body?.publicKey, String(request.body?.challengeId), request.body?.signature)
      if (!ok) return { status: 401, body: errorBody('invalid_signature') }
      return { body: { token: `new-token-${challengeCount}`, userId: 'user_1', userAuthenticatorId: 'ua_1' } }
    }
    return { status: 404, body: errorBody('not_found') }
  }

  it('uses tenant auth without a token: challenge, then a DER signature over the challenge ID', async () => {
    const { keyStore, publicKey } = await enrolledKeyStore()
    const { client, requests } = setup(server, keyStore)
    const result = await client.inapp.verify({ action: 'authorizePayment' })

    expect(result).toEqual({ data: { token: 'new-token-1', userId: 'user_1', userAuthenticatorId: 'ua_1' } })
    const [challenge, answer] = requests
    expect(challenge?.url).toBe('http://127.0.0.1:8080/v1/client/challenge')
    expect(challenge?.method).toBe('POST')
    expect(challenge?.headers).toMatchObject({ Authorization: BASIC, 'X-Authsignal-Tenant-ID': TENANT })
    expect(challenge?.body).toEqual({ action: 'authorizePayment' })
    expect(answer?.url).toBe('http://127.0.0.1:8080/v1/client/verify/in-app')
    expect(answer?.headers.Authorization).toBe(BASIC)
    expect(answer?.body).toMatchObject({ challengeId: 'chal_1', publicKey })
    expect(await client.getToken()).toBe('new-token-1')
  })

  it('uses the token as Bearer on both calls when one is set, and replaces it with the new one', async () => {
    const { keyStore } = await enrolledKeyStore()
    const { client, requests } = setup(server, keyStore)
    client.setToken('track-token')
    const result = await client.inapp.verify()

    expect(result.data?.token).toBe('new-token-1')
    expect(requests.map((request) => request.headers.Authorization)).toEqual(['Bearer track-token', 'Bearer track-token'])
    expect(requests[0]?.body).toEqual({})
    expect(await client.getToken()).toBe('new-token-1')
  })

  // Regression: a token left from an earlier verify must not be sent with another action.
  it('uses tenant auth when an action is named, even with a token set', async () => {
    const { keyStore } = await enrolledKeyStore()
    const { client, requests } = setup(server, keyStore)
    client.setToken('token-of-another-action')
    const result = await client.inapp.verify({ action: 'signIn' })

    expect(result.data?.token).toBe('new-token-1')
    expect(requests.map((request) => request.headers.Authorization)).toEqual([BASIC, BASIC])
    expect(requests[0]?.body).toEqual({ action: 'signIn' })
  })

  it('is credential_not_found, with no request, when the device has no key', async () => {
    const { client, requests } = setup(server)
    expect((await client.inapp.verify()).errorCode).toBe('credential_not_found')
    expect(requests).toHaveLength(0)
  })

  it('passes the server error through and keeps the old token', async () => {
    const { keyStore } = await enrolledKeyStore()
    const { client } = setup(
      (request) =>
        request.url.endsWith('/challenge')
          ? { body: { challengeId: 'c' } }
          : { status: 409, body: errorBody('challenge_consumed', 'The challenge has already been used.') },
      keyStore,
    )
    client.setToken('track-token')
    expect(await client.inapp.verify()).toEqual({
      error: 'The challenge has already been used.',
      errorCode: 'challenge_consumed',
      status: 409,
    })
    expect(await client.getToken()).toBe('track-token')
  })

  it('stops at a failed challenge request', async () => {
    const { keyStore } = await enrolledKeyStore()
    const { client, requests } = setup(() => ({ status: 401, body: errorBody('unauthorized') }), keyStore)
    expect((await client.inapp.verify()).errorCode).toBe('unauthorized')
    expect(requests).toHaveLength(1)
  })

  it('is user_cancelled when the user declines the prompt, and sends no answer', async () => {
    const keyStore = new MemoryKeyStore({ confirmUser: async () => false })
    await keyStore.create('in-app', { userAuthenticationRequired: true })
    const { client, requests } = setup(server, keyStore)
    const result = await client.inapp.verify()
    expect(result.errorCode).toBe('user_cancelled')
    expect(requests.map((request) => request.url)).toEqual(['http://127.0.0.1:8080/v1/client/challenge'])
  })

  it('passes the sign reason to the key store, and accepts DER from a DER store', async () => {
    const { keyStore: memory } = await enrolledKeyStore()
    const reasons: unknown[] = []
    const derStore: KeyStore = {
      signatureFormat: 'der',
      create: (namespace, options) => memory.create(namespace, options),
      getPublicKey: (namespace) => memory.getPublicKey(namespace),
      sign: async (namespace, message, options) => {
        reasons.push(options?.reason)
        const { p1363ToDer } = await import('./der.ts')
        return p1363ToDer(await memory.sign(namespace, message))
      },
      delete: (namespace) => memory.delete(namespace),
    }
    const { client } = setup(server, derStore)
    expect((await client.inapp.verify()).data?.token).toBe('new-token-1')
    expect(await client.inapp.removeCredential()).toEqual({ data: true })
    expect(reasons).toEqual(['verify', 'remove_credential'])
  })

  it.each([
    ['a P1363 store returning DER-length garbage', 'p1363', new Uint8Array(70)],
    ['a DER store returning P1363', 'der', new Uint8Array(64).fill(1)],
  ] as const)('refuses %s before it reaches the server', async (_name, signatureFormat, signature) => {
    const { keyStore: memory } = await enrolledKeyStore()
    const broken: KeyStore = {
      signatureFormat,
      create: (namespace, options) => memory.create(namespace, options),
      getPublicKey: (namespace) => memory.getPublicKey(namespace),
      sign: async () => signature,
      delete: (namespace) => memory.delete(namespace),
    }
    const { client, requests } = setup(server, broken)
    expect((await client.inapp.verify()).errorCode).toBe('key_store_error')
    expect(requests).toHaveLength(1)
  })

  it.each([
    ['a KeyStoreError user_cancelled', new KeyStoreError('user_cancelled', 'Face ID cancelled'), 'user_cancelled'],
    ['a native error with code user_cancelled', Object.assign(new Error('cancel'), { code: 'user_cancelled' }), 'user_cancelled'],
    ['a key that vanished', new KeyStoreError('key_not_found', 'gone'), 'credential_not_found'],
    ['anything else', new Error('Keystore exploded'), 'key_store_error'],
  ])('maps %s thrown by sign', async (_name, thrown, errorCode) => {
    const { keyStore: memory } = await enrolledKeyStore()
    const throwing: KeyStore = {
      signatureFormat: 'p1363',
      create: (namespace, options) => memory.create(namespace, options),
      getPublicKey: (namespace) => memory.getPublicKey(namespace),
      sign: () => Promise.reject(thrown),
      delete: (namespace) => memory.delete(namespace),
    }
    const { client } = setup(server, throwing)
    const result = await client.inapp.verify()
    expect(result.errorCode).toBe(errorCode)
    expect(result.cause).toBe(thrown)
  })
})

describe('encodePublicKeyQuery', () => {
  it('base64url-encodes the base64 string once more, without padding', () => {
    expect(encodePublicKeyQuery('MFkw+/==')).toBe('TUZrdysvPT0')
  })
})
