import type { ClientContext } from './credentials.ts'
import { DeviceClient } from './device.ts'
import { InAppClient } from './in-app.ts'
import type { KeyStore } from './key-store.ts'
import { PushClient } from './push.ts'
import { QrCodeClient } from './qr-code.ts'
import type { TokenStorage } from './storage.ts'
import { Transport, type FetchLike } from './transport.ts'

export interface CountersignClientOptions {
  /** The tenant's public ID. The device never holds a secret key. */
  tenantId: string
  /** The server's origin, or its `/v1` root: `https://auth.example.com` or `https://auth.example.com/v1`. */
  baseUrl: string
  /**
   * Where device keys live: MemoryKeyStore, WebCryptoKeyStore, FileKeyStore, or your own. A
   * page that only starts push or QR requests never touches it (WebCryptoKeyStore opens
   * nothing until first used).
   */
  keyStore: KeyStore
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike
  /**
   * Keeps the current token across reloads (sessionStorage, AsyncStorage, …). Without it the
   * token lives in memory only. Tokens are short-lived bearer credentials: prefer storage that
   * ends with the session.
   */
  storage?: TokenStorage
  /** Milliseconds since the epoch; injectable for tests. Defaults to `Date.now`. */
  now?: () => number
}

/**
 * The device SDK: enrolls a device-bound P-256 key and answers challenges with it. One
 * namespace per verification method, each with its own key: `inapp`, `push`, `qr` (QR code)
 * and `device` (the legacy credential shared by all three). `push` and `qr` also serve the
 * page that starts a request and waits for the phone's answer.
 *
 * @example
 * const client = new CountersignClient({ tenantId, baseUrl: 'https://auth.example.com', keyStore })
 * client.setToken(tokenFromBackend)
 * const enrolled = await client.inapp.addCredential({ deviceName: 'Ana’s laptop', devicePlatform: 'web' })
 */
export class CountersignClient {
  readonly inapp: InAppClient
  readonly push: PushClient
  readonly qr: QrCodeClient
  readonly device: DeviceClient
  private readonly session: TokenSession

  constructor(options: CountersignClientOptions) {
    if (typeof options.tenantId !== 'string' || options.tenantId === '') throw new TypeError('tenantId is required')
    if (!options.keyStore) throw new TypeError('keyStore is required')
    const fetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    const transport = new Transport(options.tenantId, options.baseUrl, fetch)
    this.session = new TokenSession(options.storage, `countersign:${options.tenantId}:token`)
    const now = options.now ?? (() => Date.now())
    const context: ClientContext = {
      transport,
      keyStore: options.keyStore,
      getToken: () => this.session.get(),
      setToken: (token) => this.session.set(token),
      now,
    }
    this.inapp = new InAppClient(context)
    this.push = new PushClient(context)
    this.qr = new QrCodeClient(context)
    this.device = new DeviceClient(context)
  }

  /** Sets the token the tenant backend got from track(); used as Bearer auth from now on. */
  setToken(token: string): void {
    this.session.set(token)
  }

  /** Forgets the current token (and removes it from storage). */
  clearToken(): void {
    this.session.clear()
  }

  /** The current token: the last one set, or returned by inapp.verify() or device.verify(). */
  getToken(): Promise<string | undefined> {
    return this.session.get()
  }
}

/**
 * The current token, in memory and, when storage is given, written through to it. Storage
 * failures are swallowed: the in-memory token keeps working, and a token is never worth an
 * exception in the app.
 */
class TokenSession {
  private token: string | undefined
  /** Whether `token` is authoritative (set in this process, or already read from storage). */
  private settled: boolean
  private writes: Promise<void> = Promise.resolve()

  constructor(
    private readonly storage: TokenStorage | undefined,
    private readonly key: string,
  ) {
    this.settled = storage === undefined
  }

  set(token: string): void {
    this.token = token
    this.settled = true
    this.persist((storage) => storage.setItem(this.key, token))
  }

  clear(): void {
    this.token = undefined
    this.settled = true
    this.persist((storage) => storage.removeItem(this.key))
  }

  async get(): Promise<string | undefined> {
    if (!this.settled && this.storage) {
      let stored: string | null | undefined
      try {
        stored = await this.storage.getItem(this.key)
      } catch {
        stored = undefined
      }
      // A set() or clear() while we were reading wins over what storage held.
      if (!this.settled) {
        this.token = stored ?? undefined
        this.settled = true
      }
    }
    return this.token
  }

  private persist(write: (storage: TokenStorage) => void | Promise<void>): void {
    const storage = this.storage
    if (!storage) return
    // Chained so that writes land in the order they were made.
    this.writes = this.writes.then(() => write(storage)).catch(() => undefined)
  }
}
