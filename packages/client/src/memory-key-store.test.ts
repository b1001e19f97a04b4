import { describe, expect, it } from 'vitest'
import { isP256Spki } from './der.ts'
import { MemoryKeyStore } from './memory-key-store.ts'
import { describeKeyStoreContract } from './testing/key-store-contract.ts'

describeKeyStoreContract('MemoryKeyStore', (confirmUser) => new MemoryKeyStore(confirmUser ? { confirmUser } : {}))

describe('MemoryKeyStore', () => {
  it('signs in P1363 and returns copies of its public key', async () => {
    const store = new MemoryKeyStore()
    expect(store.signatureFormat).toBe('p1363')
    const { publicKey } = await store.create('in-app', { userAuthenticationRequired: false })
    publicKey.fill(0)
    expect(isP256Spki((await store.getPublicKey('in-app')) ?? new Uint8Array())).toBe(true)
    expect(await store.sign('in-app', new Uint8Array([1]))).toHaveLength(64)
  })
})
