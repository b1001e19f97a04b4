import { Command, Option } from 'commander'
import { VERSION } from './app.ts'
import { registerOperatorCommands } from './cli-operations.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import type { Deps } from './domain/deps.ts'
import { ApiError } from './domain/errors.ts'
import { CreateOperatorRequest } from '@countersign/protocol'
import { createOperator, deleteOperator, listOperators } from './domain/console-sessions.ts'
import { createApiKey, revokeApiKey } from './domain/management.ts'
import { createTenant } from './domain/tenants.ts'
import { createLogger } from './logger.ts'
import { closeOnSignals, openDeps, startServer } from './main.ts'
import { DataDirLockedError } from './storage/data-dir-lock.ts'
import { listKeys, listTenants } from './storage/tenants-repo.ts'

const program = new Command('countersign')
  .description(
    'Countersign: self-hosted in-app verification.\nConfiguration comes from the environment (PORT, HOST, DATABASE_URL, COUNTERSIGN_DATA_DIR, LOG_LEVEL).',
  )
  .version(VERSION)
  .showHelpAfterError()

program
  .command('serve')
  .description('Start the server (embedded database unless DATABASE_URL is set); applies pending migrations first')
  .action(async () => {
    const config = configOrExit()
    const server = await startServer(config)
    closeOnSignals(server, config.SHUTDOWN_GRACE_MS)
    process.stdout.write(
      `Countersign ${VERSION} listening on ${server.url} (${server.deps.database.kind}); API at ${server.url}/v1, docs at ${server.url}/docs\n`,
    )
  })

program
  .command('migrate')
  .description('Apply pending database migrations and exit')
  .action(() =>
    withDeps(async (deps) => {
      process.stdout.write(`Migrations applied (${deps.database.kind}).\n`)
    }),
  )

const tenants = program.command('tenants').description('Manage tenants')

tenants
  .command('create')
  .description('Create a tenant with a secret key and a management key (shown once)')
  .requiredOption('--name <name>', 'display name of the tenant')
  .option('--json', 'print JSON')
  .action((options: { name: string; json?: boolean }) =>
    withDeps(async (deps, config) => {
      const tenant = await createTenant(deps.db, options.name, {}, config.COUNTERSIGN_ENCRYPTION_KEY)
      const apiUrl = `${config.COUNTERSIGN_PUBLIC_URL}/v1`
      if (options.json) {
        print({ tenantId: tenant.tenantId, secretKey: tenant.secretKey, managementKey: tenant.managementKey, apiUrl })
      } else {
        process.stdout.write(
          `Created tenant "${tenant.name}". Keep these keys now: they are not shown again.\n` +
            `  Tenant ID:       ${tenant.tenantId}\n  Secret key:      ${tenant.secretKey}\n` +
            `  Management key:  ${tenant.managementKey}\n  API URL:         ${apiUrl}\n`,
        )
      }
    }),
  )

tenants
  .command('list')
  .description('List tenants')
  .option('--json', 'print JSON')
  .action((options: { json?: boolean }) =>
    withDeps(async (deps) => {
      const rows = await listTenants(deps.db)
      if (options.json) return print(rows.map((t) => ({ tenantId: t.tenantId, name: t.name, createdAt: t.createdAt })))
      for (const t of rows) process.stdout.write(`${t.tenantId}  ${t.name}  ${t.createdAt.toISOString()}\n`)
      if (rows.length === 0) process.stdout.write('No tenants yet. Create one with: countersign tenants create --name "Acme"\n')
    }),
  )

const keys = program.command('keys').description('Manage a tenant’s API keys')

keys
  .command('create')
  .description('Create an API key (shown once)')
  .requiredOption('--tenant <tenantId>', 'tenant ID')
  .addOption(new Option('--type <type>', 'key type').choices(['secret', 'management']).default('secret'))
  .option('--name <name>', 'a label for the key')
  .option('--json', 'print JSON')
  .action((options: { tenant: string; type: 'secret' | 'management'; name?: string; json?: boolean }) =>
    withDeps(async (deps) => {
      const key = await createApiKey(deps, options.tenant, 'cli', { type: options.type, name: options.name })
      if (options.json) return print(key)
      process.stdout.write(`Created ${key.type} key ${key.keyId}. Keep it now: it is not shown again.\n  ${key.key}\n`)
    }),
  )

keys
  .command('list')
  .description('List a tenant’s API keys (never their values)')
  .requiredOption('--tenant <tenantId>', 'tenant ID')
  .option('--json', 'print JSON')
  .action((options: { tenant: string; json?: boolean }) =>
    withDeps(async (deps) => {
      const rows = await listKeys(deps.db, options.tenant)
      if (options.json) return print(rows)
      for (const k of rows) {
        const status = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'
        process.stdout.write(`${k.keyId}  ${k.type.padEnd(10)}  ${status.padEnd(32)}  ${k.name ?? ''}\n`)
      }
      if (rows.length === 0) process.stdout.write('No keys for this tenant (or no such tenant).\n')
    }),
  )

keys
  .command('revoke')
  .description('Revoke an API key; requests with it are refused from now on')
  .requiredOption('--tenant <tenantId>', 'tenant ID')
  .argument('<keyId>', 'the key ID shown by keys list')
  .option('--json', 'print JSON')
  .action((keyId: string, options: { tenant: string; json?: boolean }) =>
    withDeps(async (deps) => {
      try {
        await revokeApiKey(deps, options.tenant, 'cli', keyId)
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'not_found')) throw error
        fail(`No active key ${keyId} for tenant ${options.tenant}. See: countersign keys list --tenant ${options.tenant}`)
      }
      if (options.json) return print({ keyId, revoked: true })
      process.stdout.write(`Revoked key ${keyId}.\n`)
    }),
  )

registerOperatorCommands(program, { withDeps, print, fail })

const operators = program.command('operators').description('Manage who signs in to the console (/console)')

operators
  .command('create')
  .description('Add a console operator; the password (at least 15 characters) is read from stdin, or asked for without echo')
  .requiredOption('--tenant <tenantId>', 'tenant ID')
  .requiredOption('--email <email>', 'the email the operator signs in with')
  .option('--json', 'print JSON')
  .action((options: { tenant: string; email: string; json?: boolean }) =>
    withDeps(async (deps) => {
      const request = CreateOperatorRequest.safeParse({ email: options.email, password: await readPassword() })
      if (!request.success) fail(`Not created: ${request.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
      const operator = await createOperator(deps, options.tenant, 'cli', request.data)
      if (options.json) return print(operator)
      process.stdout.write(
        `Created operator ${operator.email} (${operator.operatorId}). Sign in at ${deps.config.COUNTERSIGN_PUBLIC_URL}/console\n`,
      )
    }),
  )

operators
  .command('list')
  .description('List a tenant’s console operators')
  .requiredOption('--tenant <tenantId>', 'tenant ID')
  .option('--json', 'print JSON')
  .action((options: { tenant: string; json?: boolean }) =>
    withDeps(async (deps) => {
      const rows = await listOperators(deps, options.tenant)
      if (options.json) return print(rows)
      for (const o of rows) process.stdout.write(`${o.operatorId}  ${o.email.padEnd(40)}  last sign-in ${o.lastSignedInAt ?? 'never'}\n`)
      if (rows.length === 0)
        process.stdout.write(
          `No operators. Add one with: countersign operators create --tenant ${options.tenant} --email you@example.com\n`,
        )
    }),
  )

operators
  .command('remove')
  .description('Remove an operator and end their console sessions')
  .requiredOption('--tenant <tenantId>', 'tenant ID')
  .argument('<operatorId>', 'the operator ID shown by operators list')
  .action((operatorId: string, options: { tenant: string }) =>
    withDeps(async (deps) => {
      try {
        await deleteOperator(deps, options.tenant, 'cli', operatorId)
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'not_found')) throw error
        fail(`No operator ${operatorId} in tenant ${options.tenant}. See: countersign operators list --tenant ${options.tenant}`)
      }
      process.stdout.write(`Removed operator ${operatorId}.\n`)
    }),
  )

/** A password from piped stdin (up to its first line end), or typed at a terminal without echo. */
async function readPassword(): Promise<string> {
  const { stdin, stderr } = process
  if (!stdin.isTTY) {
    let text = ''
    for await (const chunk of stdin) text += String(chunk)
    return text.split(/\r?\n/, 1)[0] ?? ''
  }
  stderr.write('Password (at least 15 characters, not shown): ')
  stdin.setRawMode(true)
  stdin.setEncoding('utf8')
  let typed = ''
  try {
    for await (const chunk of stdin) {
      for (const char of String(chunk)) {
        if (char === '\r' || char === '\n') return typed
        if (char === '\u0003') fail('Cancelled.')
        typed = char === '\u007f' ? typed.slice(0, -1) : typed + char
      }
    }
    return typed
  } finally {
    stdin.setRawMode(false)
    stdin.pause()
    stderr.write('\n')
  }
}

function configOrExit(): Config {
  try {
    return loadConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message)
    throw error
  }
}

/** Opens the configured database (migrating it), runs `work`, closes it. */
async function withDeps(work: (deps: Deps, config: Config) => Promise<void>): Promise<void> {
  const config = configOrExit()
  // A command checks no request limits: it needs no Redis connection (which would also keep it from exiting).
  const deps = await openDeps({ ...config, REDIS_URL: undefined }, createLogger('warn', process.stderr as never))
  try {
    await work(deps, config)
  } finally {
    await deps.push.close()
    await deps.apiKeyFailures.close()
    await deps.database.close()
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

function fail(message: string): never {
  process.stderr.write(`countersign: ${message}\n`)
  process.exit(1)
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof DataDirLockedError || error instanceof ApiError) fail(error.message)
  if ((error as { code?: string }).code === 'ECONNREFUSED') {
    fail('Cannot reach the database at DATABASE_URL. Is PostgreSQL running, and is the URL right?')
  }
  if ((error as { code?: string }).code === 'EADDRINUSE') {
    fail('The port is in use. Stop the other process or set PORT to another port.')
  }
  fail(error instanceof Error ? error.message : String(error))
})
