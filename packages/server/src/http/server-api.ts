// Server API (secret key): PROTOCOL.md §2. Each route authenticates, calls one domain
// function and returns its result; the domain decides.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  ActionParams,
  ActionResponse,
  AuthenticatorParams,
  AuthenticatorsResponse,
  ErrorBody,
  QueryUserActionsQuery,
  QueryUserActionsResponse,
  QueryUsersQuery,
  QueryUsersResponse,
  TrackRequest,
  TrackResponse,
  UpdateActionRequest,
  UpdateUserRequest,
  UpdateUserResponse,
  UserActionParams,
  UserParams,
  UserResponse,
  ValidateRequest,
  ValidateResponse,
} from '@countersign/protocol'
import * as actions from '../domain/actions.ts'
import type { Deps } from '../domain/deps.ts'
import type { TenantContext } from '../domain/tenants.ts'
import * as users from '../domain/users.ts'
import { authenticateRequest } from './auth.ts'

const tags = ['Server API']
const security = [{ secretKey: [] }]
const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 500: ErrorBody }
const Empty = z.null().describe('No content')

export function serverApiRoutes(deps: Deps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const api = app.withTypeProvider<ZodTypeProvider>()
    const tenantOf = (request: FastifyRequest): Promise<TenantContext> => authenticateRequest(deps, request, 'secret')

    api.post(
      '/v1/users/:userId/actions/:action',
      {
        schema: {
          summary: 'Track an action',
          description: 'Records what the user is doing and decides whether it needs a challenge.',
          tags,
          security,
          params: UserActionParams,
          // Fastify hands a missing body to the validator as null; a body-less track is an empty one.
          body: z.preprocess((body) => body ?? {}, TrackRequest),
          response: { 200: TrackResponse, ...errors },
        },
      },
      async (request) =>
        actions.track(deps, await tenantOf(request), request.params.userId, request.params.action, request.body),
    )

    api.get(
      '/v1/users/:userId/actions/:action/:idempotencyKey',
      { schema: { summary: 'Get an action', tags, security, params: ActionParams, response: { 200: ActionResponse, ...errors } } },
      async (request) => actions.getAction(deps, await tenantOf(request), keyOf(request.params)),
    )

    api.patch(
      '/v1/users/:userId/actions/:action/:idempotencyKey',
      {
        schema: {
          summary: 'Update an action’s state',
          tags,
          security,
          params: ActionParams,
          body: UpdateActionRequest,
          response: { 200: ActionResponse, ...errors },
        },
      },
      async (request) =>
        actions.updateAction(deps, await tenantOf(request), keyOf(request.params), request.body.state),
    )

    api.get(
      '/v1/users/:userId/actions',
      {
        schema: {
          summary: 'Query a user’s actions',
          description: 'Newest first; the window is at most the last 30 days.',
          tags,
          security,
          params: UserParams,
          querystring: QueryUserActionsQuery,
          response: { 200: QueryUserActionsResponse, ...errors },
        },
      },
      async (request) =>
        actions.queryUserActions(deps, await tenantOf(request), request.params.userId, request.query),
    )

    api.post(
      '/v1/validate',
      {
        schema: {
          summary: 'Validate a token',
          description: 'Checks a token the app brought back, once. A refused token is isValid:false with an error.',
          tags,
          security,
          body: ValidateRequest,
          response: { 200: ValidateResponse, ...errors },
        },
      },
      async (request) => actions.validate(deps, await tenantOf(request), request.body),
    )

    api.get(
      '/v1/users/:userId',
      { schema: { summary: 'Get a user', tags, security, params: UserParams, response: { 200: UserResponse, ...errors } } },
      async (request) => users.getUser(deps, await tenantOf(request), request.params.userId),
    )

    api.patch(
      '/v1/users/:userId',
      {
        schema: {
          summary: 'Update a user',
          description: 'Sets the given attributes; omitted ones are unchanged. Creates the user if new.',
          tags,
          security,
          params: UserParams,
          body: UpdateUserRequest,
          response: { 200: UpdateUserResponse, ...errors },
        },
      },
      async (request) => users.updateUser(deps, await tenantOf(request), request.params.userId, request.body),
    )

    api.delete(
      '/v1/users/:userId',
      {
        schema: {
          summary: 'Delete a user',
          description: 'Removes the user, their authenticators and their action history.',
          tags,
          security,
          params: UserParams,
          response: { 204: Empty, ...errors },
        },
      },
      async (request, reply) => {
        await users.deleteUser(deps, await tenantOf(request), request.params.userId)
        return reply.status(204).send(null)
      },
    )

    api.get(
      '/v1/users',
      {
        schema: {
          summary: 'Query users',
          tags,
          security,
          querystring: QueryUsersQuery,
          response: { 200: QueryUsersResponse, ...errors },
        },
      },
      async (request) => users.queryUsers(deps, await tenantOf(request), request.query),
    )

    api.get(
      '/v1/users/:userId/authenticators',
      {
        schema: {
          summary: 'List a user’s authenticators',
          tags,
          security,
          params: UserParams,
          response: { 200: AuthenticatorsResponse, ...errors },
        },
      },
      async (request) => users.getAuthenticators(deps, await tenantOf(request), request.params.userId),
    )

    api.delete(
      '/v1/users/:userId/authenticators/:userAuthenticatorId',
      {
        schema: {
          summary: 'Delete an authenticator',
          description: 'Its signatures fail from the next request on.',
          tags,
          security,
          params: AuthenticatorParams,
          response: { 204: Empty, ...errors },
        },
      },
      async (request, reply) => {
        const { userId, userAuthenticatorId } = request.params
        await users.deleteAuthenticator(deps, await tenantOf(request), userId, userAuthenticatorId)
        return reply.status(204).send(null)
      },
    )
  }
}

function keyOf(params: { userId: string; action: string; idempotencyKey: string }) {
  return { userId: params.userId, actionCode: params.action, idempotencyKey: params.idempotencyKey }
}
