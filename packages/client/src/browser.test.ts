// IndexedDB comes from fake-indexeddb, which stores values by Node's structuredClone: a
// non-extractable CryptoKey survives it as it does in a browser, so these tests exercise real
// persistence of the key object, not a stand-in.
import 'fake-indexeddb/auto'
import { createStore, set } from 'idb-keyval'
import { describe, expect, it } from 'vitest'
import { WebCryptoKeyStore } from './browser.ts'
import { CountersignClient } from './client.ts'
import { describeKeyStoreContract } from './testing/key-store-contract.ts'

let databases = 0
const freshDatabase = () => `countersign-test-${++databases}`

describeKeyStoreContract(
  'WebCryptoKeyStore',
  (confirmUser) => new WebCryptoKeyStore({ databaseName: freshDatabase(), ...(confirmUser ? { confirmUser } : {}) }),
)

describe('WebCryptoKeyStore', () => {
  it('persists keys in IndexedDB: a new store on the same database signs with the same key', async () => {
    const databaseName = freshDatabase()
    const { publicKey } = await new WebCryptoKeyStore({ databaseName }).create('in-app', {
      userAuthenticationRequired: false,
    })
    const reopened = new WebCryptoKeyStore({ databaseName })
    expect(await reopened.getPublicKey('in-app')).toEqual(publicKey)

    const message = new TextEncoder().encode('chal_1')
    const signature = await reopened.sign('in-app', message)
    const verifyKey = await crypto.subtle.importKey('spki', new Uint8Array(publicKey), { name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'verify',
    ])
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, verifyKey, new Uint8Array(signature), message)).toBe(true)
  })

  it('stores a non-extractable private key', async () => {
    const databaseName = freshDatabase()
    const store = createStore(databaseName, 'device-keys')
    await new WebCryptoKeyStore({ store }).create('in-app', { userAuthenticationRequired: false })
    const { get } = await import('idb-keyval')
    const record = await get<{ privateKey: CryptoKey }>('in-app', store)
    expect(record?.privateKey).toBeInstanceOf(CryptoKey)
    expect(record?.privateKey.extractable).toBe(false)
    expect(record?.privateKey.usages).toEqual(['sign'])
    await expect(crypto.subtle.exportKey('pkcs8', record!.privateKey)).rejects.toThrow()
  })

  it('keeps the user-authentication policy across reopening', async () => {
    const databaseName = freshDatabase()
    await new WebCryptoKeyStore({ databaseName, confirmUser: async () => true }).create('in-app', {
      userAuthenticationRequired: true,
    })
    const reasons: string[] = []
    const reopened = new WebCryptoKeyStore({
      databaseName,
      confirmUser: async ({ namespace, reason }) => {
        reasons.push(`${namespace}:${reason}`)
        return false
      },
    })
    await expect(reopened.sign('in-app', new Uint8Array([1]), { reason: 'remove_credential' })).rejects.toMatchObject({
      code: 'user_cancelled',
    })
    expect(reasons).toEqual(['in-app:remove_credential'])
    // Reopened without any way to ask: fail closed rather than sign.
    await expect(new WebCryptoKeyStore({ databaseName }).sign('in-app', new Uint8Array([1]))).rejects.toMatchObject({
      code: 'key_store_error',
    })
  })

  it('refuses a record that is not one of its keys', async () => {
    const store = createStore(freshDatabase(), 'device-keys')
    await set('in-app', { version: 1, privateKey: 'not a key' }, store)
    await expect(new WebCryptoKeyStore({ store }).getPublicKey('in-app')).rejects.toMatchObject({
      code: 'key_store_error',
    })
  })

  it('turns a refused confirmation into errorCode user_cancelled through the client', async () => {
    const keyStore = new WebCryptoKeyStore({ databaseName: freshDatabase(), confirmUser: async () => false })
    await keyStore.create('in-app', { userAuthenticationRequired: true })
    const client = new CountersignClient({
      tenantId: 't',
      baseUrl: 'http://127.0.0.1:8080',
      keyStore,
      fetch: async () => new Response('{"challengeId":"chal_1"}'),
    })
    const result = await client.inapp.verify()
    expect(result.errorCode).toBe('user_cancelled')
    // The key is untouched by a cancelled prompt.
    expect(await keyStore.getPublicKey('in-app')).toBeDefined()
  })
})
