import type { DeliveryResult as WireDeliveryResult } from '@countersign/protocol'
import type { Logger } from 'pino'
import { pushConfigContext, readSecret, storeSecret } from '../crypto/stored-secret.ts'
import { ApnsConfig, ApnsSender, type ApnsSenderOptions } from '../push/apns.ts'
import { FcmConfig, FcmSender, type FcmSenderOptions } from '../push/fcm.ts'
import type { PushMessage, PushProvider, PushSender } from '../push/sender.ts'
import type { PushDevice } from '../storage/challenges-repo.ts'
import type { Db } from '../storage/database.ts'
import * as repo from '../storage/push-providers-repo.ts'
import { ApiError } from './errors.ts'

/** Connection options of the senders: where they connect (tests point them at loopback) and time limits. */
export interface PushSenderOptions {
  apns?: ApnsSenderOptions
  fcm?: FcmSenderOptions
}

/** How long a node reuses a tenant's senders before checking for a changed configuration. */
const CONFIG_TTL_MS = 5000

/**
 * Stores a tenant's APNs or FCM configuration, checked against the sender's schema and sealed
 * (it holds a private key). Throws 400 invalid_request naming the bad field.
 */
export async function configurePushProvider(
  db: Db,
  tenantId: string,
  provider: PushProvider,
  config: unknown,
  encryptionKey: Uint8Array | undefined,
  now: Date,
): Promise<void> {
  const parsed = (provider === 'apns' ? ApnsConfig : FcmConfig).safeParse(config)
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)')
    throw new ApiError('invalid_request', `Invalid ${provider} configuration: ${[...new Set(fields)].join(', ')}`)
  }
  const stored = storeSecret(Buffer.from(JSON.stringify(parsed.data), 'utf8'), pushConfigContext(tenantId, provider), encryptionKey)
  await repo.upsertPushProvider(db, tenantId, provider, stored, now)
}

/**
 * The push senders of each tenant, built from their stored configuration and kept (with their
 * HTTP/2 sessions and cached provider tokens) while the configuration is unchanged.
 */
export class PushDirectory {
  readonly #db: Db
  readonly #encryptionKey: Uint8Array | undefined
  readonly #previousKey: Uint8Array | undefined
  readonly #log: Logger
  readonly #senderOptions: PushSenderOptions
  readonly #tenants = new Map<string, { checkedAt: number; senders: Map<PushProvider, { sender: PushSender; version: number }> }>()

  constructor(
    db: Db,
    options: {
      encryptionKey: Uint8Array | undefined
      previousKey?: Uint8Array | undefined
      log: Logger
      senderOptions?: PushSenderOptions | undefined
    },
  ) {
    this.#db = db
    this.#senderOptions = options.senderOptions ?? {}
    this.#encryptionKey = options.encryptionKey
    this.#previousKey = options.previousKey
    this.#log = options.log
  }

  /**
   * Sends `message` to every device with a push token, through the service for its platform
   * (APNs for iOS, FCM otherwise, whichever is configured), all at once. A device without a
   * token or a configured service is `skipped`: its app finds the challenge by polling.
   */
  async deliver(
    tenantId: string,
    devices: readonly PushDevice[],
    message: Omit<PushMessage, 'pushToken'>,
    nowMs: number,
  ): Promise<WireDeliveryResult[]> {
    const senders = await this.#sendersFor(tenantId, nowMs)
    return Promise.all(
      devices.map(async (device): Promise<WireDeliveryResult> => {
        const userAuthenticatorId = device.credentialId
        const sender = pickSender(senders, device.devicePlatform)
        if (!device.pushToken || !sender) return { userAuthenticatorId, provider: sender?.provider ?? 'none', status: 'skipped' }
        try {
          const result = await sender.send({ ...message, pushToken: device.pushToken })
          return { userAuthenticatorId, ...result }
        } catch (error) {
          this.#log.warn({ err: error, tenantId, provider: sender.provider }, 'push sender failed')
          return { userAuthenticatorId, provider: sender.provider, status: 'failed', error: 'sender_error' }
        }
      }),
    )
  }

  async close(): Promise<void> {
    const all = [...this.#tenants.values()].flatMap((entry) => [...entry.senders.values()])
    this.#tenants.clear()
    await Promise.all(all.map(({ sender }) => sender.close().catch(() => undefined)))
  }

  async #sendersFor(tenantId: string, nowMs: number): Promise<Map<PushProvider, PushSender>> {
    let entry = this.#tenants.get(tenantId)
    if (!entry || nowMs - entry.checkedAt > CONFIG_TTL_MS) {
      const rows = await repo.listPushProviders(this.#db, tenantId)
      const previous = entry?.senders ?? new Map<PushProvider, { sender: PushSender; version: number }>()
      const senders = new Map<PushProvider, { sender: PushSender; version: number }>()
      for (const row of rows) {
        const version = new Date(row.updatedAt).getTime()
        const kept = previous.get(row.provider)
        if (kept && kept.version === version) {
          senders.set(row.provider, kept)
          continue
        }
        try {
          senders.set(row.provider, { sender: this.#build(tenantId, row), version })
        } catch (error) {
          this.#log.error({ err: error, tenantId, provider: row.provider }, 'push configuration cannot be used')
        }
      }
      for (const [provider, old] of previous) {
        if (senders.get(provider) !== old) void old.sender.close().catch(() => undefined)
      }
      entry = { checkedAt: nowMs, senders }
      this.#tenants.set(tenantId, entry)
    }
    return new Map([...entry.senders].map(([provider, { sender }]) => [provider, sender]))
  }

  #build(tenantId: string, row: repo.PushProviderRow): PushSender {
    const json: unknown = JSON.parse(
      readSecret(row.config, pushConfigContext(tenantId, row.provider), this.#encryptionKey, this.#previousKey).toString('utf8'),
    )
    return row.provider === 'apns'
      ? new ApnsSender(ApnsConfig.parse(json), this.#senderOptions.apns)
      : new FcmSender(FcmConfig.parse(json), this.#senderOptions.fcm)
  }
}

function pickSender(senders: Map<PushProvider, PushSender>, platform: string | null): PushSender | undefined {
  const p = platform?.toLowerCase() ?? ''
  if (p === 'ios' || p === 'ipados' || p === 'macos') return senders.get('apns')
  if (p === 'android') return senders.get('fcm')
  return senders.get('fcm') ?? senders.get('apns')
}
