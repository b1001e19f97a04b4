// Operator commands beyond tenants and keys: webhooks, push services, action and tenant
// settings, push blocks. Changes go through the same domain functions as the Management API
// and are audited with the actor `cli`.
import { readFileSync } from 'node:fs'
import { ActionCode, RuleOutcome, UpdateActionConfigurationRequest, WebhookEventType } from '@countersign/protocol'
import { Option, type Command } from 'commander'
import type { Config } from './config.ts'
import type { Deps } from './domain/deps.ts'
import { configurePushProvider } from './domain/push-delivery.ts'
import { configureAction } from './domain/action-configurations.ts'
import { ApiError } from './domain/errors.ts'
import { clearUserPushBlock, createWebhook, deleteWebhook, retryWebhookDelivery, updateTenant, updateWebhook } from './domain/management.ts'
import { readTenantSettings, type TenantContext } from './domain/tenants.ts'
import { fcmConfigFromServiceAccount } from './push/fcm.ts'
import { deletePushProvider } from './storage/push-providers-repo.ts'
import { findTenant } from './storage/tenants-repo.ts'
import * as webhooksRepo from './storage/webhooks-repo.ts'

type WithDeps = (work: (deps: Deps, config: Config) => Promise<void>) => Promise<void>
interface Io {
  withDeps: WithDeps
  print(value: unknown): void
  fail(message: string): never
}

const out = (text: string) => process.stdout.write(`${text}\n`)

function eventList(value: string): string[] {
  return value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
}

function bool(value: string): boolean {
  if (value === 'true' || value === 'on' || value === 'yes') return true
  if (value === 'false' || value === 'off' || value === 'no') return false
  throw new Error(`expected true or false, got ${value}`)
}

interface ActionOptions {
  tenant: string
  action: string
  defaultOutcome?: RuleOutcome
  methods?: string
  challengeTtl?: number
  tokenTtl?: number
  requireSignedDecision?: boolean
  numberMatching?: boolean
  verificationWebhook?: string
  json?: boolean
}

export function registerOperatorCommands(program: Command, io: Io): void {
  const { withDeps, print, fail } = io

  /** The tenant a command names, or a message that says how to find it. */
  const tenantNamed = async (deps: Deps, tenantId: string): Promise<TenantContext> =>
    (await deps.tenants.find(tenantId, Date.now())) ?? fail(`No tenant ${tenantId}. See: countersign tenants list`)

  /** Runs a change; a not_found refusal becomes the message, anything else stays an error. */
  const orFail = async (change: Promise<unknown>, message: string): Promise<void> => {
    try {
      await change
    } catch (error) {
      if (error instanceof ApiError && error.code === 'not_found') fail(message)
      throw error
    }
  }
  const webhooks = program.command('webhooks').description('Manage a tenant’s webhook endpoints')

  webhooks
    .command('create')
    .description('Add a webhook endpoint; its signing secret is shown once')
    .requiredOption('--tenant <tenantId>', 'tenant ID')
    .requiredOption('--url <url>', 'where deliveries are POSTed')
    .option('--events <types>', `comma-separated event types, or * (${WebhookEventType.options.join(', ')})`, '*')
    .option('--secret <secret>', 'bring your own signing secret, e.g. the secret key an existing @authsignal/node backend verifies with')
    .option('--description <text>', 'a label')
    .option('--disabled', 'create it disabled')
    .option('--json', 'print JSON')
    .action((options: { tenant: string; url: string; events: string; secret?: string; description?: string; disabled?: boolean; json?: boolean }) =>
      withDeps(async (deps) => {
        const created = await createWebhook(
          deps,
          await tenantNamed(deps, options.tenant),
          'cli',
          { url: options.url, events: eventList(options.events) as never, description: options.description, enabled: !options.disabled },
          // The command line runs with the database's credentials: its operator may name any address.
          { allowPrivateUrls: true, secret: options.secret },
        )
        if (options.json) return print(created)
        out(`Created webhook ${created.webhookId} → ${created.url} (${created.events.join(', ')}).`)
        if (!options.secret) out(`Signing secret (shown once): ${created.secret}`)
      }),
    )

  webhooks
    .command('list')
    .description('List a tenant’s webhook endpoints')
    .requiredOption('--tenant <tenantId>', 'tenant ID')
    .option('--json', 'print JSON')
    .action((options: { tenant: string; json?: boolean }) =>
      withDeps(async (deps) => {
        const rows = await webhooksRepo.listEndpoints(deps.db, options.tenant)
        if (options.json) return print(rows)
        for (const w of rows) out(`${w.webhookId}  ${w.enabled ? 'enabled ' : 'disabled'}  ${w.url}  ${w.events.join(',')}`)
        if (rows.length === 0) out('No webhook endpoints. Add one with: countersign webhooks create --tenant <id> --url <url>')
      }),
    )

  webhooks
    .command('update')
    .description('Change a webhook endpoint')
    .requiredOption('--tenant <tenantId>', 'tenant ID')
    .argument('<webhookId>')
    .option('--url <url>', 'new URL')
    .option('--events <types>', 'comma-separated event types, or *')
    .addOption(new Option('--enabled <bool>', 'enable or disable').argParser(bool))
    .option('--json', 'print JSON')
    .action((webhookId: string, options: { tenant: string; url?: string; events?: string; enabled?: boolean; json?: boolean }) =>
      withDeps(async (deps) => {
        const row = await updateWebhook(
          deps,
          await tenantNamed(deps, options.tenant),
          'cli',
          webhookId,
          { url: options.url, events: options.events === undefined ? undefined : (eventList(options.events) as never), enabled: options.enabled },
          { allowPrivateUrls: true },
        )
        if (options.json) return print(row)
        out(`Updated webhook ${row.webhookId}: ${row.enabled ? 'enabled' : 'disabled'}, ${row.url}, ${row.events.join(',')}`)
      }),
    )

  webhooks
    .command('delete')
    .description('Delete a webhook endpoint and its delivery log')
    .requiredOption('--tenant <tenantId>', 'tenant ID')
    .argument('<webhookId>')
    .action((webhookId: string, options: { tenant: string }) =>
      withDeps(async (deps) => {
        const tenant = await tenantNamed(deps, options.tenant)
        await orFail(deleteWebhook(deps, tenant, 'cli', webhookId), `No webhook ${webhookId} for tenant ${options.tenant}. See: countersign webhooks list --tenant ${options.tenant}`)
        out(`Deleted webhook ${webhookId}.`)
      }),
    )

  webhooks
    .command('deliveries')
    .description('Show an endpoint’s delivery log, newest first')
    .requiredOption('--tenant <tenantId>', 'tenant ID')
    .argument('<webhookId>')
    .option('--limit <n>', 'how many', (v) => Number.parseInt(v, 10), 50)
    .option('--json', 'print JSON')
    .action((webhookId: string, options: { tenant: string; limit: number; json?: boolean }) =>
      withDeps(async (deps) => {
        const rows = await webhooksRepo.listDeliveries(deps.db, options.tenant, webhookId, Math.min(Math.max(options.limit, 1), 1000))
        if (options.json) return print(rows)
        for (const d of rows) {
          out(`${d.eventId}  ${d.type.padEnd(22)}  ${d.state.padEnd(9)}  attempts=${d.attempts}  last=${d.lastStatus ?? d.lastError ?? '-'}`)
        }
        if (rows.length === 0) out('No deliveries yet.')
      }),
    )

  webhooks
    .command('retry')
    .description('Deliver an event to an endpoint again, now')
    .requiredOption('--tenant <tenantId>', 'tenant ID')
    .requiredOption('--event <eventId>', 'the event ID from webhooks deliveries')
    .argument('<webhookId>')
    .action((webhookId: string, options: { tenant: string; event: string }) =>
      withDeps(async (deps) => {
        await orFail(
          retryWebhookDelivery(deps, await tenantNamed(deps, options.tenant), 'cli', webhookId, options.event),
          `No delivery of event ${options.event} to webhook ${webhookId}. See: countersign webhooks deliveries ${webhookId} --tenant ${options.tenant}`,
        )
        out('Queued; a running server delivers it within a second.')
      }),
    )

  const push = program.command('push').description('Configure the built-in push senders (APNs, FCM)')

  push
    .command('configure')
    .description('Store a tenant’s APNs or FCM credentials (sealed when COUNTERSIGN_ENCRYPTION_KEY is set)')
    .requiredOption('--tenant <tenantId>', 'tenant ID')
    .addOption(new Option('--provider <provider>', 'push service').choices(['apns', 'fcm']).makeOptionMandatory())
    .option('--team-id <id>', 'APNs: Apple developer team ID')
    .option('--key-id <id>', 'APNs: ID of the .p8 key')
    .option('--key-file <path>', 'APNs: the .p8 key file')
    .option('--topic <bundleId>', 'APNs: the app’s bundle ID')
    .option('--sandbox', 'APNs: use the development environment')
    .option('--service-account <path>', 'FCM: the service-account JSON file')
    .action(
      (options: { tenant: string; provider: 'apns' | 'fcm'; teamId?: string; keyId?: string; keyFile?: string; topic?: string; sandbox?: boolean; serviceAccount?: string }) =>
        withDeps(async (deps, config) => {
          let settings: unknown
          if (options.provider === 'apns') {
            const { teamId, keyId, keyFile, topic } = options
            if (!teamId || !keyId || !keyFile || !topic) return fail('APNs needs --team-id, --key-id, --key-file and --topic')
            settings = {
              teamId,
              keyId,
              privateKey: readFileSync(keyFile, 'utf8'),
              topic,
              environment: options.sandbox ? 'sandbox' : 'production',
            }
          } else {
            const file = options.serviceAccount
            if (!file) return fail('FCM needs --service-account <file.json> (Firebase console → Project settings → Service accounts)')
            settings = fcmConfigFromServiceAccount(JSON.parse(readFileSync(file, 'utf8')))
          }
          await configurePushProvider(deps.db, options.tenant, options.provider, settings, config.COUNTERSIGN_ENCRYPTION_KEY, new Date())
          out(`Configured ${options.provider} for tenant ${options.tenant}; running servers use it within 5 seconds.`)
        }),
    )

  push
    .command('remove')
    .description('Forget a tenant’s APNs or FCM credentials')
    .requiredOption('--tenant <tenantId>', 'tenant ID')
    .addOption(new Option('--provider <provider>', 'push service').choices(['apns', 'fcm']).makeOptionMandatory())
    .action((options: { tenant: string; provider: 'apns' | 'fcm' }) =>
      withDeps(async (deps) => {
        if (!(await deletePushProvider(deps.db, options.tenant, options.provider))) fail(`No ${options.provider} configuration for tenant ${options.tenant}`)
        out(`Removed ${options.provider} for tenant ${options.tenant}.`)
      }),
    )

  const actions = program.command('actions').description('Per-action settings')

  actions
    .command('configure')
    .description('Set an action code’s settings; unset ones inherit the tenant’s')
    .requiredOption('--tenant <tenantId>', 'tenant ID')
    .requiredOption('--action <code>', 'action code, e.g. authorizePayment')
    .addOption(new Option('--default-outcome <outcome>', 'outcome when no rule matches').choices(RuleOutcome.options))
    .option('--methods <list>', 'comma-separated verification methods a challenge may use (IN_APP,PUSH,QR_CODE)')
    .option('--challenge-ttl <seconds>', 'lifetime of this action’s challenges', (v) => Number(v))
    .option('--token-ttl <seconds>', 'lifetime of this action’s tokens', (v) => Number(v))
    .addOption(new Option('--require-signed-decision <bool>', 'accept only v2 signed decisions for push and QR').argParser(bool))
    .addOption(new Option('--number-matching <bool>', 'require the code the initiating side shows').argParser(bool))
    .option('--verification-webhook <url>', 'action.verify webhook that may veto approvals ("none" to remove)')
    .option('--json', 'print JSON')
    .action((options: ActionOptions) =>
      withDeps(async (deps) => {
        if (!ActionCode.safeParse(options.action).success) fail('--action must match ^[a-zA-Z0-9_-]{1,64}$')
        const change = UpdateActionConfigurationRequest.safeParse({
          defaultOutcome: options.defaultOutcome,
          verificationMethods: options.methods?.split(',').map((m) => m.trim()),
          challengeTtlSeconds: options.challengeTtl,
          tokenTtlSeconds: options.tokenTtl,
          requireSignedDecision: options.requireSignedDecision,
          numberMatching: options.numberMatching,
          verificationWebhookUrl: options.verificationWebhook === 'none' ? null : options.verificationWebhook,
        })
        if (!change.success) return fail(`Invalid settings: ${change.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
        const saved = await configureAction(deps, options.tenant, 'cli', options.action, change.data, { allowPrivateUrls: true })
        const tenant = await tenantNamed(deps, options.tenant)
        const secret = saved.verificationWebhookUrl ? tenant.verificationWebhookSecret : undefined
        if (options.json) return print({ ...saved, ...(secret ? { verificationWebhookSecret: secret } : {}) })
        out(`Configured ${options.action}: ${JSON.stringify(saved)}`)
        if (secret) out(`action.verify calls are signed with: ${secret}`)
      }),
    )

  program
    .command('settings')
    .description('Show or change a tenant’s settings (name=value, values as JSON)')
    .requiredOption('--tenant <tenantId>', 'tenant ID')
    .argument('[changes...]', 'e.g. pushMaxPerHour=20 numberMatching=true')
    .option('--json', 'print JSON')
    .action((changes: string[], options: { tenant: string; json?: boolean }) =>
      withDeps(async (deps) => {
        const change: Record<string, unknown> = {}
        for (const pair of changes) {
          const eq = pair.indexOf('=')
          if (eq <= 0) fail(`Write changes as name=value, not ${pair}`)
          const raw = pair.slice(eq + 1)
          try {
            change[pair.slice(0, eq)] = JSON.parse(raw)
          } catch {
            change[pair.slice(0, eq)] = raw
          }
        }
        const tenant = await tenantNamed(deps, options.tenant)
        if (Object.keys(change).length > 0) await updateTenant(deps, tenant, 'cli', change)
        const row = await findTenant(deps.db, options.tenant)
        const settings = readTenantSettings(row?.settings)
        if (options.json) return print(settings)
        for (const [name, value] of Object.entries(settings)) out(`${name.padEnd(26)} ${JSON.stringify(value)}`)
      }),
    )

  program
    .command('unblock-push')
    .description('Let push requests reach a user again after they reported one as not theirs')
    .requiredOption('--tenant <tenantId>', 'tenant ID')
    .requiredOption('--user <userId>', 'the tenant’s user ID')
    .action((options: { tenant: string; user: string }) =>
      withDeps(async (deps) => {
        const { cleared } = await clearUserPushBlock(deps, await tenantNamed(deps, options.tenant), 'cli', options.user)
        if (!cleared) fail(`User ${options.user} has no push block`)
        out(`Push requests reach ${options.user} again.`)
      }),
    )
}
