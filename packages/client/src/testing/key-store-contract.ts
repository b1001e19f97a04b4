// The behaviour every KeyStore must show, run by each store's tests. Test support only: nothing
// in the package's entry points imports it.
import { createPublicKey, verify } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isP256Spki } from '../der.ts'
import { isKeyStoreError, type KeyStore } from '../key-store.ts'

/** Runs the shared KeyStore tests against stores made by `makeStore`. */
export function describeKeyStoreContract(name: string, makeStore: (confirm?: () => Promise<boolean>) => KeyStore) {
  describe(`${name}: KeyStore contract`, () => {
    const message = new TextEncoder().encode('chal_abc')

    it('creates a P-256 key whose signatures verify under its SPKI', async () => {
      const store = makeStore()
      const { publicKey } = await store.create('in-app', { userAuthenticationRequired: false })
      expect(isP256Spki(publicKey)).toBe(true)
      expect(await store.getPublicKey('in-app')).toEqual(publicKey)
      const signature = await store.sign('in-app', message, { reason: 'verify' })
      const key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' })
      const dsaEncoding = store.signatureFormat === 'der' ? 'der' : 'ieee-p1363'
      expect(verify('sha256', message, { key, dsaEncoding }, signature)).toBe(true)
    })

    it('keeps namespaces apart, and create replaces the key in its namespace', async () => {
      const store = makeStore()
      const first = await store.create('in-app', { userAuthenticationRequired: false })
      const push = await store.create('push', { userAuthenticationRequired: false })
      const second = await store.create('in-app', { userAuthenticationRequired: false })
      expect(second.publicKey).not.toEqual(first.publicKey)
      expect(await store.getPublicKey('in-app')).toEqual(second.publicKey)
      expect(await store.getPublicKey('push')).toEqual(push.publicKey)
    })

    it('deletes, and deleting a missing key is fine', async () => {
      const store = makeStore()
      await store.create('in-app', { userAuthenticationRequired: false })
      await store.delete('in-app')
      await store.delete('in-app')
      expect(await store.getPublicKey('in-app')).toBeUndefined()
      await expect(store.sign('in-app', message)).rejects.toMatchObject({ code: 'key_not_found' })
    })

    it('asks confirmUser before signing with a key that requires the user, and only then', async () => {
      const asked: unknown[] = []
      let answer = true
      const store = makeStore(async () => {
        asked.push('asked')
        return answer
      })
      await store.create('plain', { userAuthenticationRequired: false })
      await store.sign('plain', message)
      expect(asked).toHaveLength(0)

      await store.create('in-app', { userAuthenticationRequired: true })
      await store.sign('in-app', message, { reason: 'verify' })
      expect(asked).toHaveLength(1)

      answer = false
      const refusal = await store.sign('in-app', message).catch((error: unknown) => error)
      expect(isKeyStoreError(refusal) && refusal.code).toBe('user_cancelled')
    })

    it('maps a rejecting confirmUser to user_cancelled', async () => {
      const store = makeStore(() => Promise.reject(new Error('dialog closed')))
      await store.create('in-app', { userAuthenticationRequired: true })
      await expect(store.sign('in-app', message)).rejects.toMatchObject({ code: 'user_cancelled' })
    })

    it('refuses to create a key requiring the user when it has no way to ask', async () => {
      const store = makeStore()
      await expect(store.create('in-app', { userAuthenticationRequired: true })).rejects.toMatchObject({
        name: 'KeyStoreError',
        code: 'key_store_error',
      })
      expect(await store.getPublicKey('in-app')).toBeUndefined()
    })
  })
}
