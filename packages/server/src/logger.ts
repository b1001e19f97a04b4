import pino, { type Logger } from 'pino'

// Anything that may hold a secret, a token or a signature is censored wherever it appears in
// a logged object at these depths. Request logs carry the path only, never the query string
// (a hosted-page URL carries a token there) and never headers.
const REDACT = [
  'authorization',
  'token',
  'secretKey',
  'managementKey',
  'key',
  'signature',
  'publicKey',
  'password',
  'accessToken',
].flatMap((field) => [field, `*.${field}`, `*.*.${field}`])

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: [...REDACT, 'req.headers', 'res.headers'], censor: '[redacted]' },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
          method: req.method,
          path: (req.url ?? '').split('?')[0],
          remoteAddress: req.ip ?? req.socket?.remoteAddress,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: serializeError,
      },
    },
    destination,
  )
}

/**
 * pino's error serializer, minus the values a failed query carries: Drizzle copies the bound
 * parameters into the error (and its message and stack), and PostgreSQL's `detail` quotes
 * row values. They can hold key hashes, public keys and user data; the query text stays.
 */
function serializeError(error: Error): Record<string, unknown> {
  const failedQuery = error as Error & { query?: unknown; params?: unknown; cause?: unknown }
  if (typeof failedQuery.query === 'string' && 'params' in failedQuery) {
    return {
      type: error.name,
      message: 'Failed query',
      query: failedQuery.query,
      ...(failedQuery.cause instanceof Error ? { cause: serializeError(failedQuery.cause) } : {}),
    }
  }
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>
  delete serialized.params
  delete serialized.detail
  return serialized
}
