// Client API (device side, tenant ID or Bearer token): PROTOCOL.md §3.
import cors from '@fastify/cors'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  AddCredentialRequest,
  AnswerChallengeRequest,
  AnswerChallengeResponse,
  AnswerNamespaceParams,
  ClaimChallengeRequest,
  HostedChallengeResponse,
  ClaimChallengeResponse,
  PendingChallengeResponse,
  PublicKeyQuery,
  PushChallengeRequest,
  PushChallengeResponse,
  PushNamespaceParams,
  QrChallengeRequest,
  QrChallengeResponse,
  QrNamespaceParams,
  SigningMessageResponse,
  UpdatePushCredentialRequest,
  UpdatePushCredentialResponse,
  UpdateSigningMessageResponse,
  VerifyPushRequest,
  VerifyPushResponse,
  VerifyQrRequest,
  VerifyQrResponse,
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
import * as answers from '../domain/answers.ts'
import * as push from '../domain/push.ts'
import * as qr from '../domain/qr-code.ts'
import { hostedChallenge } from '../domain/hosted-challenge.ts'
import { streamChallenge } from './challenge-stream.ts'

const tags = ['Client API']
const pushTags = ['Push (Client API)']
const qrTags = ['QR code (Client API)']
const tenantOnly: Array<Record<string, string[]>> = [{ tenantBasic: [] }]
const bearerOnly: Array<Record<string, string[]>> = [{ bearerToken: [] }]
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
const CLIENT_HEADERS = ['authorization', 'content-type', 'x-authsignal-tenant-id', 'x-authsignal-signature', 'x-authsignal-version', 'x-authsignal-sdk']

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
      return authenticateClient(deps, request.headers.authorization, typeof tenantHeader === 'string' ? tenantHeader : undefined, request.headers.origin)
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

    // ---- Push: the phone's side ----

    // Newer mobile SDKs sign a fresh nonce before fetching their pending challenge (P4 in
    // docs/protocol-decisions.md). Body-less POSTs: no body schema.
    api.post(
      '/user-authenticators/:namespace/challenge/sign',
      {
        schema: {
          summary: 'Get a message to sign before fetching the pending push challenge',
          tags: pushTags,
          security: tenantOnly,
          params: PushNamespaceParams,
          querystring: PublicKeyQuery,
          response: { 200: SigningMessageResponse, ...errors },
        },
      },
      async (request) => {
        const caller = await callerOf(request)
        const { message } = await push.issueSigningNonce(deps, caller.tenant, request.params.namespace, request.query.publicKey)
        return { message }
      },
    )

    // Released SDKs use /push/sign; one Android revision used /push/update/sign.
    for (const path of ['/user-authenticators/:namespace/sign', '/user-authenticators/:namespace/update/sign']) {
      api.post(
        path,
        {
          schema: {
            summary: 'Get a message to sign before updating the push credential',
            tags: pushTags,
            security: tenantOnly,
            params: z.object({ namespace: z.literal('push') }),
            querystring: PublicKeyQuery,
            response: { 200: UpdateSigningMessageResponse, ...errors },
            ...(path.includes('/update/') ? { hide: true } : {}),
          },
        },
        async (request) => {
          const caller = await callerOf(request)
          return push.issueSigningNonce(deps, caller.tenant, request.params.namespace, request.query.publicKey)
        },
      )
    }

    api.get(
      '/user-authenticators/:namespace/challenge',
      {
        schema: {
          summary: 'Get the pending push challenge',
          description:
            'The newest unanswered push challenge for this device. Send X-Authsignal-Signature (a signature over the message from …/challenge/sign) to prove possession; `challengeId` is absent when nothing is pending.',
          tags: pushTags,
          security: tenantOnly,
          params: PushNamespaceParams,
          querystring: PublicKeyQuery,
          response: { 200: PendingChallengeResponse, ...errors },
        },
      },
      async (request) => {
        const caller = await callerOf(request)
        const header = request.headers['x-authsignal-signature']
        return push.getPendingPushChallenge(
          deps,
          caller.tenant,
          request.params.namespace,
          request.query.publicKey,
          typeof header === 'string' && header.trim() !== '' ? header : undefined,
        )
      },
    )

    api.patch(
      '/user-authenticators/:namespace',
      {
        schema: {
          summary: 'Update the push token or reset the credential’s expiry',
          tags: pushTags,
          security: tenantOnly,
          params: z.object({ namespace: z.literal('push') }),
          body: UpdatePushCredentialRequest,
          response: { 200: UpdatePushCredentialResponse, ...errors },
        },
      },
      async (request) => {
        const caller = await callerOf(request)
        return push.updatePushCredential(deps, caller.tenant, request.params.namespace, request.body)
      },
    )

    // ---- Push and QR: approve or deny (the phone) ----

    api.post(
      '/user-authenticators/:namespace/challenge',
      {
        schema: {
          summary: 'Approve or deny a push or QR challenge',
          description:
            'v1 signs the challenge ID; [ext] v2 signs the decision with the action and transaction details (PROTOCOL.md §4).',
          tags: pushTags,
          security: tenantOnly,
          params: AnswerNamespaceParams,
          body: AnswerChallengeRequest,
          response: { 200: AnswerChallengeResponse, ...errors },
        },
      },
      async (request) => {
        const caller = await callerOf(request)
        return answers.answerChallenge(deps, caller.tenant, request.params.namespace, request.body)
      },
    )

    api.post(
      '/user-authenticators/:namespace/challenge/claim',
      {
        schema: {
          summary: 'Claim a scanned QR challenge',
          tags: qrTags,
          security: tenantOnly,
          params: QrNamespaceParams,
          body: ClaimChallengeRequest,
          response: { 200: ClaimChallengeResponse, ...errors },
        },
      },
      async (request) => {
        const caller = await callerOf(request)
        return qr.claimQrChallenge(deps, caller.tenant, request.params.namespace, request.body)
      },
    )

    api.get(
      '/hosted-challenge',
      {
        schema: {
          summary: 'What the hosted challenge page shows for a token',
          description:
            'Countersign extension, for the page behind track’s `url`: the action, where to send the user afterwards, and which verification methods apply.',
          tags,
          security: bearerOnly,
          response: { 200: HostedChallengeResponse, ...errors },
        },
      },
      async (request) => hostedChallenge(deps, await callerOf(request)),
    )

    // ---- Push: the initiating browser ----

    api.post(
      '/challenge/push',
      {
        schema: {
          summary: 'Send a push challenge to the user’s phone',
          tags: pushTags,
          security: bearerOnly,
          body: z.preprocess((body) => body ?? {}, PushChallengeRequest),
          response: { 200: PushChallengeResponse, ...errors },
        },
      },
      async (request) => push.startPushChallenge(deps, await callerOf(request), request.body, originOf(request)),
    )

    api.post(
      '/verify/push',
      {
        schema: {
          summary: 'Poll a push challenge',
          description: 'isVerified once approved (with accessToken on the first such poll); isConsumed once approved, denied or expired.',
          tags: pushTags,
          security: bearerOnly,
          body: VerifyPushRequest,
          response: { 200: VerifyPushResponse, ...errors },
        },
      },
      async (request) => push.verifyPush(deps, await callerOf(request), request.body.challengeId),
    )

    api.post(
      '/verify/push/stream',
      {
        schema: {
          summary: '[ext] Stream a push challenge’s state (Server-Sent Events)',
          description: 'Each `state` event carries the body of POST /verify/push; the stream ends when the challenge is approved, rejected or expired.',
          tags: pushTags,
          security: bearerOnly,
          body: VerifyPushRequest,
        },
      },
      async (request, reply) => {
        const caller = await callerOf(request)
        await streamChallenge(deps, request, reply, { tenantId: caller.tenant.tenantId, challengeId: request.body.challengeId }, async () => {
          const body = await push.verifyPush(deps, caller, request.body.challengeId)
          return { state: body.state!, body }
        })
      },
    )

    // ---- QR code: the initiating browser ----

    api.post(
      '/challenge/qr-code',
      {
        schema: {
          summary: 'Create a QR-code challenge',
          description: 'With a token, for the token’s action; with only the tenant ID, an anonymous login completed by the scanning device’s user.',
          tags: qrTags,
          security: bearerOrTenant,
          body: z.preprocess((body) => body ?? {}, QrChallengeRequest),
          response: { 200: QrChallengeResponse, ...errors },
        },
      },
      async (request) => qr.createQrChallenge(deps, await callerOf(request), request.body, originOf(request)),
    )

    api.post(
      '/verify/qr-code',
      {
        schema: {
          summary: 'Poll a QR-code challenge',
          tags: qrTags,
          security: tenantOnly,
          body: VerifyQrRequest,
          response: { 200: VerifyQrResponse, ...errors },
        },
      },
      async (request) => {
        const caller = await callerOf(request)
        return qr.verifyQr(deps, caller.tenant, request.body)
      },
    )

    api.post(
      '/verify/qr-code/stream',
      {
        schema: {
          summary: '[ext] Stream a QR-code challenge’s state (Server-Sent Events)',
          description: 'Each `state` event carries the body of POST /verify/qr-code.',
          tags: qrTags,
          security: tenantOnly,
          body: VerifyQrRequest,
        },
      },
      async (request, reply) => {
        const caller = await callerOf(request)
        await streamChallenge(deps, request, reply, { tenantId: caller.tenant.tenantId, challengeId: request.body.challengeId }, async () => {
          const body = await qr.verifyQr(deps, caller.tenant, request.body)
          return { state: body.state!, body }
        })
      },
    )
  }
}

/** Where a request came from, as the phone is shown it. */
function originOf(request: FastifyRequest): push.RequestOrigin {
  const userAgent = request.headers['user-agent']
  return { ipAddress: request.ip, userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 1024) : null }
}
