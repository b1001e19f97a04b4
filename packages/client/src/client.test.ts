import { describe, expect, it } from 'vitest'
import { CountersignClient } from './client.ts'
import { MemoryKeyStore } from './memory-key-store.ts'
import type { TokenStorage } from './storage.ts'
import type { FetchLike } from './transport.ts'

/** An AsyncStorage-like map whose methods return promises. */
class AsyncMapStorage implements TokenStorage {
  readonly items = new Map<string, string>()
  async getItem(key: string) {
    return this.items.get(key) ?? null
  }
  async setItem(key: string, value: string) {
    this.items.set(key, value)
  }
  async removeItem(key: string) {
    this.items.delete(key)
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

function client(options: { storage?: TokenStorage; fetch?: FetchLike; baseUrl?: string } = {}) {
  return new CountersignClient({
    tenantId: 'tenant_123',
    baseUrl: options.baseUrl ?? 'http://127.0.0.1:8080',
    keyStore: new MemoryKeyStore(),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.storage ? { storage: options.storage } : {}),
  })
}

describe('CountersignClient', () => {
  it('refuses construction without a tenant ID, key store or valid baseUrl', () => {
    const keyStore = new MemoryKeyStore()
    expect(() => new CountersignClient({ tenantId: '', baseUrl: 'http://x', keyStore })).toThrow(TypeError)
    expect(() => new CountersignClient({ tenantId: 't', baseUrl: 'nope', keyStore })).toThrow(TypeError)
    // @ts-expect-error: keyStore is required
    expect(() => new CountersignClient({ tenantId: 't', baseUrl: 'http://x' })).toThrow(TypeError)
  })

  it('keeps the token in memory without storage', async () => {
    const c = client()
    expect(await c.getToken()).toBeUndefined()
    c.setToken('a')
    expect(await c.getToken()).toBe('a')
    c.clearToken()
    expect(await c.getToken()).toBeUndefined()
  })

  it('writes the token through to storage and reads it back in a new client', async () => {
    const storage = new AsyncMapStorage()
    client({ storage }).setToken('persisted')
    await settle()
    expect(storage.items.get('countersign:tenant_123:token')).toBe('persisted')
    expect(await client({ storage }).getToken()).toBe('persisted')
  })

  it('lets a token set during the first storage read win over the stored one', async () => {
    const storage = new AsyncMapStorage()
    storage.items.set('countersign:tenant_123:token', 'old')
    const c = client({ storage })
    const reading = c.getToken()
    c.setToken('new')
    expect(await reading).toBe('new')
    expect(await c.getToken()).toBe('new')
  })

  it('works with synchronous Web Storage and survives a storage that throws', async () => {
    const items = new Map<string, string>()
    const webStorage: TokenStorage = {
      getItem: (key) => items.get(key) ?? null,
      setItem: (key, value) => void items.set(key, value),
      removeItem: (key) => void items.delete(key),
    }
    const c = client({ storage: webStorage })
    c.setToken('sync')
    await settle()
    expect(items.get('countersign:tenant_123:token')).toBe('sync')
    c.clearToken()
    await settle()
    expect(items.size).toBe(0)

    const failing: TokenStorage = {
      getItem: () => {
        throw new Error('SecurityError')
      },
      setItem: () => Promise.reject(new Error('QuotaExceededError')),
      removeItem: () => undefined,
    }
    const f = client({ storage: failing })
    expect(await f.getToken()).toBeUndefined()
    f.setToken('memory-only')
    await settle()
    expect(await f.getToken()).toBe('memory-only')
  })

  it('sends requests to the normalised /v1 base URL through the injected fetch', async () => {
    const urls: string[] = []
    const fetch: FetchLike = async (url) => {
      urls.push(url)
      return new Response('{"error":"not_found","errorCode":"not_found","errorDescription":"x"}', { status: 404 })
    }
    const c = client({ fetch, baseUrl: 'https://auth.example.com/' })
    c.setToken('t')
    await c.inapp.addCredential()
    expect(urls).toEqual(['https://auth.example.com/v1/client/user-authenticators/in-app'])
  })
})
