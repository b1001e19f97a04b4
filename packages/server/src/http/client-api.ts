// Client API (device side, tenant ID or Bearer token): PROTOCOL.md §3.
import cors from '@fastify/cors'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  AddCredentialRequest,
  ChallengeRequest,
  ChallengeResponse,
  CredentialResponse,
  ErrorBody,
  GetCredentialQuery,
  NamespaceParams,
  RemoveCredentialRequest,
  RemoveCredentialResponse,
  VerifyInAppRequest,
  VerifyInAppResponse,
} from '@countersign/protocol'
import { authenticateClient, type ClientCaller } from '../domain/client-auth.ts'
import * as credentials from '../domain/credentials.ts'
import type { Deps } from '../domain/deps.ts'
import { ApiError } from '../domain/errors.ts'
import * as inApp from '../domain/in-app.ts'

const tags = ['Client API']
const bearerOrTenant: Array<Record<string, string[]>> = [{ bearerToken: [] }, { tenantBasic: [] }]
const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  410: ErrorBody,
  423: ErrorBody,
  429: ErrorBody,
  500: ErrorBody,
}

// Headers a Client API call from a web page may carry.
const CLIENT_HEADERS = ['authorization', 'content-type', 'x-authsignal-tenant-id', 'x-authsignal-signature', 'x-authsignal-version']

/** Client API routes; register with the prefix `/v1/client` so CORS stays inside it. */
export function clientApiRoutes(deps: Deps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    // A preflight without Origin or Access-Control-Request-Method is refused here, with a
    // coded body: @fastify/cors's strict mode (off below) would answer it in plain text.
    app.addHook('onRequest', async (request) => {
      if (request.method === 'OPTIONS' && (!request.headers.origin || !request.headers['access-control-request-method'])) {
        throw new ApiError('invalid_request', 'A preflight request needs Origin and Access-Control-Request-Method')
      }
    })
    // The Client API is called from tenants' web pages with an Authorization header and no
    // cookies, so any origin may call it. Registered in this plugin only: the Server API
    // sends no CORS headers at all.
    await app.register(cors, {
      origin: true,
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: CLIENT_HEADERS,
      credentials: false,
      maxAge: 600,
      strictPreflight: false,
    })
    const api = app.withTypeProvider<ZodTypeProvider>()
    const callerOf = (request: FastifyRequest): Promise<ClientCaller> => {
      const tenantHeader = request.headers['x-authsignal-tenant-id']
      return authenticateClient(deps, request.headers.authorization, typeof tenantHeader === 'string' ? tenantHeader : undefined)
    }

    api.post(
      '/challenge',
      {
        schema: {
          summary: 'Get an in-app challenge',
          description: 'Returns a challenge ID for the device to sign. Name the action when calling without a token.',
          tags,
          security: bearerOrTenant,
          // Fastify hands a missing body to the validator as null; a body-less request is an empty one.
          body: z.preprocess((body) => body ?? {}, ChallengeRequest),
          response: { 200: ChallengeResponse, ...errors },
        },
      },
      async (request) => inApp.createChallenge(deps, await callerOf(request), request.body.action),
    )

    // The legacy device SDKs (Android DeviceAPI, iOS DeviceAPIClient) send the same call to
    // /verify/device. An alias, left out of the OpenAPI document: new clients use /verify/in-app.
    for (const path of ['/verify/in-app', '/verify/device']) {
      api.post(
        path,
        {
          schema: {
            summary: 'Verify an in-app challenge',
            description: 'The device signed the challenge ID with its enrolled key; returns a token for the backend to validate.',
            tags,
            security: bearerOrTenant,
            body: VerifyInAppRequest,
            response: { 200: VerifyInAppResponse, ...errors },
            ...(path === '/verify/device' ? { hide: true } : {}),
          },
        },
        async (request) =>
          inApp.verifyInApp(deps, await callerOf(request), request.body, path === '/verify/device' ? 'DEVICE' : 'IN_APP'),
      )
    }

    api.post(
      '/user-authenticators/:namespace',
      {
        schema: {
          summary: 'Add a credential',
          description: 'Enrolls the device’s P-256 public key for the token’s user.',
          tags,
          security: [{ bearerToken: [] }],
          params: NamespaceParams,
          body: AddCredentialRequest,
          response: { 200: CredentialResponse, ...errors },
        },
      },
      async (request) => credentials.addCredential(deps, await callerOf(request), request.params.namespace, request.body),
    )

    api.get(
      '/user-authenticators/:namespace',
      {
        schema: {
          summary: 'Get a credential',
          description: 'Finds the credential holding a public key (base64-encoded once more in the query).',
          tags,
          security: bearerOrTenant,
          params: NamespaceParams,
          querystring: GetCredentialQuery,
          response: { 200: CredentialResponse, ...errors },
        },
      },
      async (request) => {
        const caller = await callerOf(request)
        return credentials.getCredential(deps, caller.tenant, request.params.namespace, request.query.publicKey)
      },
    )

    api.post(
      '/user-authenticators/:namespace/remove',
      {
        schema: {
          summary: 'Remove a credential',
          description: 'The device signs the current 10-minute time bucket to prove it holds the key.',
          tags,
          security: bearerOrTenant,
          params: NamespaceParams,
          body: RemoveCredentialRequest,
          response: { 200: RemoveCredentialResponse, ...errors },
        },
      },
      async (request) => {
        const caller = await callerOf(request)
        return credentials.removeCredential(deps, caller.tenant, request.params.namespace, request.body)
      },
    )
  }
}
