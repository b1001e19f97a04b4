import { mkdtempSync } from 'node:fs'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FileKeyStore } from './node.ts'
import { describeKeyStoreContract } from './testing/key-store-contract.ts'

const root = mkdtempSync(join(tmpdir(), 'countersign-client-'))
let files = 0
const freshPath = () => join(root, `store-${++files}`, 'keys', 'device-keys.json')

afterAll(async () => {
  const { rm } = await import('node:fs/promises')
  await rm(root, { recursive: true, force: true })
})

describeKeyStoreContract(
  'FileKeyStore',
  (confirmUser) => new FileKeyStore({ path: freshPath(), ...(confirmUser ? { confirmUser } : {}) }),
)

describe('FileKeyStore', () => {
  it.skipIf(process.platform === 'win32')('writes the file with mode 0600 in new directories with mode 0700', async () => {
    const path = freshPath()
    const store = new FileKeyStore({ path })
    await store.create('in-app', { userAuthenticationRequired: false })
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await stat(join(path, '..'))).mode & 0o777).toBe(0o700)
    expect((await stat(join(path, '..', '..'))).mode & 0o777).toBe(0o700)

    // Still 0600 after a rewrite, whatever the umask.
    const previous = process.umask(0o000)
    try {
      await store.delete('in-app')
    } finally {
      process.umask(previous)
    }
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  it('persists PKCS#8 keys that a new store on the same file signs with', async () => {
    const path = freshPath()
    const { publicKey } = await new FileKeyStore({ path }).create('in-app', { userAuthenticationRequired: false })
    const file = JSON.parse(await readFile(path, 'utf8')) as {
      version: number
      keys: Record<string, { privateKey: string; publicKey: string }>
    }
    expect(file.version).toBe(1)
    expect(file.keys['in-app']?.publicKey).toBe(Buffer.from(publicKey).toString('base64'))
    const reopened = new FileKeyStore({ path })
    expect(await reopened.getPublicKey('in-app')).toEqual(publicKey)
    expect(reopened.signatureFormat).toBe('der')
    expect((await reopened.sign('in-app', new Uint8Array([1])))[0]).toBe(0x30)
  })

  it('writes atomically: no temporary file is left behind, and concurrent writes are all kept', async () => {
    const path = freshPath()
    const store = new FileKeyStore({ path })
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((namespace) => store.create(namespace, { userAuthenticationRequired: false })),
    )
    const reopened = new FileKeyStore({ path })
    for (const namespace of ['a', 'b', 'c', 'd', 'e']) expect(await reopened.getPublicKey(namespace)).toBeDefined()
    expect(await readdir(join(path, '..'))).toEqual(['device-keys.json'])
  })

  it('never overwrites a file it cannot read', async () => {
    const path = freshPath()
    const store = new FileKeyStore({ path })
    await store.create('in-app', { userAuthenticationRequired: false })
    await writeFile(path, '{ corrupted', 'utf8')
    await expect(store.create('push', { userAuthenticationRequired: false })).rejects.toMatchObject({
      code: 'key_store_error',
    })
    expect(await readFile(path, 'utf8')).toBe('{ corrupted')
    await writeFile(path, '{"version":2,"keys":{}}', 'utf8')
    await expect(store.getPublicKey('in-app')).rejects.toMatchObject({ code: 'key_store_error' })
  })

  it('refuses namespaces that are not plain names, and no name reaches an object prototype', async () => {
    const path = freshPath()
    const store = new FileKeyStore({ path })
    await expect(store.create('../x', { userAuthenticationRequired: false })).rejects.toMatchObject({
      code: 'key_store_error',
    })
    await expect(store.getPublicKey('constructor')).resolves.toBeUndefined()
    const { publicKey } = await store.create('__proto__', { userAuthenticationRequired: false })
    expect(await new FileKeyStore({ path }).getPublicKey('__proto__')).toEqual(publicKey)
    expect(await new FileKeyStore({ path }).getPublicKey('toString')).toBeUndefined()
  })
})
