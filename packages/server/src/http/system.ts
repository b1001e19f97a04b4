import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ErrorBody } from '@countersign/protocol'
import type { Deps } from '../domain/deps.ts'
import { errorBody } from './errors.ts'

const tags = ['System']

/** Liveness, readiness and the OpenAPI document. */
export function systemRoutes(deps: Deps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const api = app.withTypeProvider<ZodTypeProvider>()
    api.get(
      '/healthz',
      { schema: { summary: 'Liveness', tags, response: { 200: z.object({ status: z.literal('ok') }) } } },
      async () => ({ status: 'ok' as const }),
    )
    api.get(
      '/readyz',
      {
        schema: {
          summary: 'Readiness: the database answers',
          tags,
          response: { 200: z.object({ status: z.literal('ready'), database: z.enum(['postgres', 'pglite']) }), 503: ErrorBody },
        },
      },
      async (_request, reply) => {
        try {
          await deps.database.ping()
        } catch {
          return reply
            .status(503)
            .header('retry-after', '5')
            .send(errorBody('service_unavailable', 'The database does not answer'))
        }
        return { status: 'ready' as const, database: deps.database.kind }
      },
    )
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  }
}
