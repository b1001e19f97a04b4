import { randomUUID } from 'node:crypto'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import type { Deps } from './domain/deps.ts'
import { endChallengeStreams } from './http/challenge-stream.ts'
import { clientApiRoutes } from './http/client-api.ts'
import { frameworkErrorHandler, installErrorHandling, rejectMalformedRequest } from './http/errors.ts'
import { managementApiRoutes } from './http/management-api.ts'
import { serverApiRoutes } from './http/server-api.ts'
import { systemRoutes } from './http/system.ts'
import { webPageRoutes } from './http/web-pages.ts'
import { websocketRoutes } from './http/websocket.ts'

export const VERSION = '0.1.0'

/**
 * Builds the HTTP application. Does no I/O: tests call `app.inject` on it, main.ts listens.
 * @example const app = await createApp(deps); await app.inject({ method: 'GET', url: '/healthz' })
 */
export async function createApp(deps: Deps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    routerOptions: { maxParamLength: 512 },
    // While draining after SIGTERM, a request that reaches us is served (new connections are
    // already refused). Fastify's 503 for it would bypass the coded error body and Retry-After.
    return503OnClosing: false,
    trustProxy: deps.config.TRUST_PROXY,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler: rejectMalformedRequest,
  })
  // Bodies are JSON only: anything else is 415, not a string handed to a schema that wants an object.
  app.removeContentTypeParser('text/plain')
  // Official server SDKs (Python) send Content-Type: application/json on every request, DELETE
  // included, with an empty body: that is no body, not malformed JSON.
  app.addHook('onRequest', async (request) => {
    if (request.headers['content-length'] === '0') delete request.headers['content-type']
  })
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  installErrorHandling(app)

  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id)
    void reply.header('x-content-type-options', 'nosniff')
    // API bodies carry tokens and user data: no cache may keep them.
    if (request.url.startsWith('/v1/')) void reply.header('cache-control', 'no-store')
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Countersign API',
        version: VERSION,
        description:
          'In-app verification: a device-bound P-256 key confirms high-risk actions. Wire-compatible with the Authsignal SDKs.',
      },
      servers: [{ url: deps.config.COUNTERSIGN_PUBLIC_URL }],
      components: {
        securitySchemes: {
          secretKey: { type: 'http', scheme: 'basic', description: 'Secret key as the username, empty password' },
          managementKey: { type: 'http', scheme: 'basic', description: 'Management key as the username, empty password' },
          tenantBasic: { type: 'http', scheme: 'basic', description: 'Tenant ID as the username, empty password' },
          bearerToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Token from track or verify' },
        },
      },
    },
    transform: jsonSchemaTransform,
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  await app.register(systemRoutes(deps))
  await app.register(serverApiRoutes(deps))
  await app.register(managementApiRoutes(deps))
  // Shutdown ends open challenge streams rather than waiting up to their lifetime for them.
  app.addHook('preClose', async () => endChallengeStreams(deps))
  await app.register(clientApiRoutes(deps), { prefix: '/v1/client' })
  await app.register(websocketRoutes(deps))
  await app.register(webPageRoutes(deps))
  return app
}
