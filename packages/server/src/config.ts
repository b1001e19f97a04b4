import { z } from 'zod'

// Every setting Countersign reads from the environment, with its default and why. Parsed once
// at start; a bad value stops the process with a message naming the variable.
const ConfigSchema = z.object({
  /** Port to listen on. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Interface to bind; 127.0.0.1 keeps a development server off the network. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** PostgreSQL connection string. Unset: embedded PGlite in COUNTERSIGN_DATA_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /** Where the embedded database lives when DATABASE_URL is unset. */
  COUNTERSIGN_DATA_DIR: z.string().min(1).default('./.countersign'),
  /** Connections in the PostgreSQL pool; about two per core serves best (round trips, not CPU, are the limit). */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Public origin of this server as devices and browsers reach it; used in track's `url` and as token issuer. Default: http://HOST:PORT. */
  COUNTERSIGN_PUBLIC_URL: z.url().optional(),
  /** Largest request body accepted, in bytes; larger bodies are refused before parsing. */
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(65_536),
  /** How long verified API keys are cached per node (ms). Revocation takes effect within this on every node; 0 disables. */
  KEY_CACHE_MS: z.coerce.number().int().min(0).max(1000).default(1000),
  /** Create a development tenant on first start of an empty database and print its keys once. */
  COUNTERSIGN_DEV_TENANT: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /**
   * 32 random bytes, base64, that encrypt each tenant's token and challenge secret at rest
   * (AES-256-GCM). Unset: those secrets are stored as plain bytes. Existing plain secrets are
   * encrypted at the next start. Generate one with `openssl rand -base64 32`; losing it makes
   * every tenant's tokens unverifiable.
   */
  COUNTERSIGN_ENCRYPTION_KEY: z
    .string()
    .transform((value) => Buffer.from(value, 'base64'))
    .refine((key) => key.length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)')
    .optional(),
  /**
   * During a rotation of COUNTERSIGN_ENCRYPTION_KEY, the key it replaces: it still opens secrets
   * sealed under it, never seals, and at start every such secret is sealed again under the
   * current key. Remove it once every node runs with the new key (docs/deploy.md).
   */
  COUNTERSIGN_PREVIOUS_ENCRYPTION_KEY: z
    .string()
    .transform((value) => Buffer.from(value, 'base64'))
    .refine((key) => key.length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)')
    .optional(),
  /** Failed API-key attempts one client IP may make per API_KEY_FAILURE_WINDOW_SECONDS before it is refused (429) until the window ends. */
  API_KEY_FAILURES_PER_WINDOW: z.coerce.number().int().min(1).max(10_000).default(20),
  API_KEY_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /**
   * Which proxies to trust for the client IP (X-Forwarded-For): `false` (default, direct
   * connections), `true` (any), or a comma-separated list of proxy addresses/CIDRs. Set it
   * behind a load balancer, or every client shares the balancer's address.
   */
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((value): boolean | string[] =>
      value === 'true'
        ? true
        : value === 'false'
          ? false
          : value
              .split(',')
              .map((part) => part.trim())
              .filter(Boolean),
    ),
  /**
   * Redis for request limits shared by every node (failed API keys and sign-ins per client IP),
   * e.g. redis://redis:6379/0. Unset: each node counts alone. Limits that protect users are
   * always counted in the database.
   */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Prefix of Countersign's keys in Redis: the same on every node of one installation. */
  REDIS_KEY_PREFIX: z.string().min(1).max(100).default('countersign'),
  /** How often (ms) each node looks for webhook deliveries that are due. */
  WEBHOOK_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** How long (ms) one webhook delivery may take before it counts as failed. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** How long (s) failed deliveries are retried, with exponential back-off, before they are given up. */
  WEBHOOK_RETRY_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(86_400),
  /** Deliveries one node makes at once. */
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** How long (ms) the synchronous action.verify webhook may take before the challenge fails. */
  VERIFICATION_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5000),
  /**
   * Let Management API callers point webhooks at loopback, private and link-local addresses.
   * Off: an operator key must not become a way to reach the internal network (SSRF).
   */
  ALLOW_PRIVATE_WEBHOOK_URLS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /**
   * An MMDB IP-location database for rule signals (ip.country, travel.*): for example DB-IP
   * city lite or MaxMind GeoLite2-City, for coordinates finer than a country's centre. The
   * bundled DB-IP country database is used when unset.
   */
  COUNTERSIGN_GEOIP_DB: z.string().min(1).optional(),
  /** Console sessions end this many hours after sign-in, whatever the activity (NIST SP 800-63B AAL2: 12 h). */
  CONSOLE_SESSION_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(12),
  /** Console sessions end after this many idle minutes (NIST SP 800-63B AAL2: 30). */
  CONSOLE_IDLE_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(30),
  /** Shut down gracefully within this many ms after SIGTERM/SIGINT. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
})

export type Config = Readonly<Omit<z.infer<typeof ConfigSchema>, 'COUNTERSIGN_PUBLIC_URL'> & { COUNTERSIGN_PUBLIC_URL: string }>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Parses the environment into a frozen Config.
 * @example const config = loadConfig(process.env)
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = ConfigSchema.safeParse(present)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nFix these environment variables and start again.`)
  }
  const value = parsed.data
  if (value.COUNTERSIGN_PREVIOUS_ENCRYPTION_KEY && !value.COUNTERSIGN_ENCRYPTION_KEY) {
    throw new ConfigError(
      'Invalid configuration:\n  COUNTERSIGN_PREVIOUS_ENCRYPTION_KEY: set only during a rotation, beside the new COUNTERSIGN_ENCRYPTION_KEY\nFix these environment variables and start again.',
    )
  }
  const publicUrl = (value.COUNTERSIGN_PUBLIC_URL ?? `http://${hostForUrl(value.HOST)}:${value.PORT}`).replace(/\/+$/, '')
  return Object.freeze({ ...value, COUNTERSIGN_PUBLIC_URL: publicUrl })
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}
