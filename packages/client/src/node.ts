// @countersign/client/node: a key store for servers, CLIs and tests. Keys are kept in one JSON
// file readable only by its owner. A file is not a secure element: anyone who can read it (root,
// a backup, a copied disk) holds the keys. On phones, implement KeyStore over the Secure Enclave
// or Android Keystore instead (see the README).
import { createPrivateKey, generateKeyPairSync, randomBytes, sign as signWithNode, type KeyObject } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import {
  assertCanConfirmUser,
  confirmUserOrThrow,
  KeyStoreError,
  type ConfirmUser,
  type CreateKeyOptions,
  type KeyStore,
  type SignOptions,
} from './key-store.ts'

export interface FileKeyStoreOptions {
  /** The JSON file holding the keys. Missing directories are created with mode 0700. */
  path: string
  /**
   * Asked before every signature with a key created with `userAuthenticationRequired` (a CLI
   * prompt, say); resolve `true` to allow it. Without it, such keys cannot be created.
   */
  confirmUser?: ConfirmUser
}

/** The file's format. Versioned so that a later format can read this one. */
interface KeyFileJson {
  version: 1
  keys: Record<string, StoredKey>
}

/** The file in memory: a Map, so that no namespace can reach an object prototype. */
type Keys = Map<string, StoredKey>

interface StoredKey {
  /** Standard base64 of the PKCS#8 DER private key. */
  privateKey: string
  /** Standard base64 of the SPKI DER public key. */
  publicKey: string
  userAuthenticationRequired: boolean
  createdAt: string
}

const FILE_MODE = 0o600
/** Namespaces are short names like `in-app`. */
const NAMESPACE = /^[A-Za-z0-9._-]{1,64}$/
const DIRECTORY_MODE = 0o700

/**
 * Device keys in a JSON file (PKCS#8 private keys), written atomically with mode 0600.
 * Signatures are DER. Mutations within one process are serialised; do not share one file
 * between processes that write to it at the same time.
 *
 * @example
 * const keyStore = new FileKeyStore({ path: `${os.homedir()}/.config/my-cli/device-keys.json` })
 */
export class FileKeyStore implements KeyStore {
  readonly signatureFormat = 'der'
  readonly path: string
  private readonly confirmUser: ConfirmUser | undefined
  /** The tail of the chain of mutations: each read-modify-write waits for the one before. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(options: FileKeyStoreOptions) {
    if (!options.path) throw new TypeError('FileKeyStore needs a path')
    this.path = options.path
    this.confirmUser = options.confirmUser
  }

  async create(namespace: string, options: CreateKeyOptions): Promise<{ publicKey: Uint8Array }> {
    checkNamespace(namespace)
    assertCanConfirmUser(this.confirmUser, options)
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const publicKey = new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' }))
    const privateKey = pair.privateKey.export({ format: 'der', type: 'pkcs8' })
    await this.mutate((keys) => {
      keys.set(namespace, {
        privateKey: privateKey.toString('base64'),
        publicKey: Buffer.from(publicKey).toString('base64'),
        userAuthenticationRequired: options.userAuthenticationRequired,
        createdAt: new Date().toISOString(),
      })
    })
    return { publicKey }
  }

  async getPublicKey(namespace: string): Promise<Uint8Array | undefined> {
    const key = await this.find(namespace)
    return key ? new Uint8Array(Buffer.from(key.publicKey, 'base64')) : undefined
  }

  async sign(namespace: string, message: Uint8Array, options?: SignOptions): Promise<Uint8Array> {
    const key = await this.find(namespace)
    if (!key) throw new KeyStoreError('key_not_found', `No key in namespace ${namespace}`)
    if (key.userAuthenticationRequired) {
      await confirmUserOrThrow(this.confirmUser, namespace, options?.reason ?? 'verify')
    }
    let privateKey: KeyObject
    try {
      privateKey = createPrivateKey({ key: Buffer.from(key.privateKey, 'base64'), format: 'der', type: 'pkcs8' })
    } catch (cause) {
      throw new KeyStoreError('key_store_error', `The key file holds an unreadable key for ${namespace}`, { cause })
    }
    return new Uint8Array(signWithNode('sha256', message, { key: privateKey, dsaEncoding: 'der' }))
  }

  async delete(namespace: string): Promise<void> {
    checkNamespace(namespace)
    await this.mutate((keys) => {
      keys.delete(namespace)
    })
  }

  /** The key in `namespace`, once pending writes have landed. */
  private async find(namespace: string): Promise<StoredKey | undefined> {
    checkNamespace(namespace)
    await this.queue
    return (await this.read()).get(namespace)
  }

  private mutate(change: (keys: Keys) => void): Promise<void> {
    const run = this.queue.then(async () => {
      const keys = await this.read()
      change(keys)
      await this.write(keys)
    })
    // A failed mutation must not block the ones after it.
    this.queue = run.catch(() => undefined)
    return run
  }

  private async read(): Promise<Keys> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return new Map()
      throw new KeyStoreError('key_store_error', `Cannot read the key file ${this.path}`, { cause })
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (cause) {
      // Never overwrite a file we cannot read: it may hold the only copy of a key.
      throw new KeyStoreError('key_store_error', `The key file ${this.path} is not valid JSON`, { cause })
    }
    if (!isKeyFile(parsed)) throw new KeyStoreError('key_store_error', `${this.path} is not a Countersign key file`)
    return new Map(Object.entries(parsed.keys))
  }

  /** Write a temporary file beside the target, flush it, then rename it over the target. */
  private async write(keys: Keys): Promise<void> {
    const file: KeyFileJson = { version: 1, keys: Object.fromEntries(keys) }
    const directory = dirname(this.path)
    const temporary = `${this.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
    try {
      // Only directories created here get 0700; an existing one (say, the working directory)
      // is the app's to set.
      await mkdir(directory, { recursive: true, mode: DIRECTORY_MODE })
      const handle = await open(temporary, 'wx', FILE_MODE)
      try {
        // The umask may have narrowed the mode; set it exactly.
        await handle.chmod(FILE_MODE)
        await handle.writeFile(`${JSON.stringify(file, null, 2)}\n`, 'utf8')
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temporary, this.path)
    } catch (cause) {
      await rm(temporary, { force: true }).catch(() => undefined)
      throw new KeyStoreError('key_store_error', `Cannot write the key file ${this.path}`, { cause })
    }
    await syncDirectory(directory)
  }
}

/** Makes the rename durable. Not every platform can open a directory; that is not an error. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Windows and some filesystems refuse; the rename itself is still atomic.
  }
}

function checkNamespace(namespace: string): void {
  if (!NAMESPACE.test(namespace)) throw new KeyStoreError('key_store_error', 'Invalid key namespace')
}

function isKeyFile(value: unknown): value is KeyFileJson {
  if (typeof value !== 'object' || value === null) return false
  const file = value as Partial<KeyFileJson>
  if (file.version !== 1 || typeof file.keys !== 'object' || file.keys === null) return false
  return Object.values(file.keys).every(
    (key: Partial<StoredKey>) =>
      typeof key === 'object' &&
      key !== null &&
      typeof key.privateKey === 'string' &&
      typeof key.publicKey === 'string' &&
      typeof key.userAuthenticationRequired === 'boolean',
  )
}
