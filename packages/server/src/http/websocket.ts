// The browser SDK's default QR mode: a WebSocket at {origin}/ws-v1-challenge (PROTOCOL.md §3,
// "What the existing browser SDK relies on"). The page authenticates with a subprotocol, asks
// for QR challenges, and hears their state changes.
import websocket, { type WebSocket } from '@fastify/websocket'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { ActionCode, CustomData } from '@countersign/protocol'
import { callerFromTenantId, callerFromToken, refuseForeignOrigin, type ClientCaller } from '../domain/client-auth.ts'
import type { Deps } from '../domain/deps.ts'
import { ApiError } from '../domain/errors.ts'
import { followChallenge, initiatorViewOf, isFinal } from '../domain/out-of-band.ts'
import * as qr from '../domain/qr-code.ts'

const PROTOCOL = 'authsignal-ws'
const TENANT_PREFIX = 'x.authsignal.tenant.'
const TOKEN_PREFIX = 'x.authsignal.token.'
/** The page is silent for up to 9 minutes between refreshes; ping frames keep proxies from closing it. */
const PING_MS = 30_000
/**
 * The SDK creates one challenge on open and one per refresh (every 9 minutes, or when the page
 * changes its custom data). Faster requests are answered late, not refused: the SDK waits for
 * CHALLENGE_CREATED with no timeout, so a refusal would leave the page without a code.
 */
const MIN_CREATE_INTERVAL_MS = 1000
const MAX_CHALLENGES_PER_SOCKET = 200
const MAX_WATCHED = 5

const CreateChallengeMessage = z.object({
  type: z.literal('CREATE_CHALLENGE'),
  data: z.object({ challengeType: z.literal('QR_CODE'), actionCode: ActionCode.optional(), custom: CustomData.optional() }),
})

/** Registers the WebSocket plugin and the /ws-v1-challenge route. */
export function websocketRoutes(deps: Deps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    await app.register(websocket, {
      options: {
        maxPayload: 16 * 1024,
        // The browser drops the connection unless the server selects one of its subprotocols.
        handleProtocols: (protocols: Set<string>) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
      },
    })
    app.route({
      method: 'GET',
      url: '/ws-v1-challenge',
      schema: { hide: true },
      // A plain GET (no Upgrade) gets a coded error like every other refusal.
      handler: async () => {
        throw new ApiError('invalid_request', 'Connect with a WebSocket (Upgrade: websocket)')
      },
      wsHandler: (socket, request) => {
        void serve(deps, socket, request)
      },
    })
  }
}

/** Who the page is, from the subprotocols it offered: a token, or the tenant ID. */
async function callerFromProtocols(deps: Deps, header: string | undefined): Promise<ClientCaller> {
  const offered = (header ?? '').split(',').map((p) => p.trim())
  const token = offered.find((p) => p.startsWith(TOKEN_PREFIX))?.slice(TOKEN_PREFIX.length)
  if (token) return callerFromToken(deps, token)
  const tenantId = offered.find((p) => p.startsWith(TENANT_PREFIX))?.slice(TENANT_PREFIX.length)
  if (tenantId) return callerFromTenantId(deps, tenantId)
  throw new ApiError('unauthorized')
}

async function serve(deps: Deps, socket: WebSocket, request: FastifyRequest): Promise<void> {
  // Messages that arrive while the caller is being authenticated wait for it.
  const queued: string[] = []
  const early = (data: unknown) => queued.push(String(data))
  socket.on('message', early)
  let caller: ClientCaller
  try {
    caller = await callerFromProtocols(deps, request.headers['sec-websocket-protocol'])
    refuseForeignOrigin(deps, caller.tenant, request.headers.origin)
  } catch (error) {
    request.log.info({ code: error instanceof ApiError ? error.code : 'internal_error' }, 'websocket refused')
    socket.close(4401, 'unauthorized')
    return
  }
  socket.off('message', early)

  // The challenges this page is shown, each followed until it is answered or expires.
  const followed = new Map<string, () => void>()
  let created = 0
  let lastCreate = 0
  const userAgent = request.headers['user-agent']
  const origin = { ipAddress: request.ip, userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 1024) : null }

  const send = (message: unknown) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message))
  }

  const unfollow = (challengeId: string) => {
    followed.get(challengeId)?.()
    followed.delete(challengeId)
  }

  const follow = (challengeId: string) => {
    const stop = followChallenge(
      deps,
      { tenantId: caller.tenant.tenantId, challengeId },
      'unclaimed',
      () => initiatorViewOf(deps, caller.tenant, challengeId),
      (view) => {
        // The SDK knows no `expired` state: an expired code is simply replaced at the next refresh.
        if (view.state !== 'expired') {
          send({ type: 'STATE_CHANGE', data: { challengeId, state: view.state, ...(view.accessToken ? { accessToken: view.accessToken } : {}) } })
        }
        if (isFinal(view.state)) followed.delete(challengeId)
      },
    )
    followed.set(challengeId, stop)
  }

  const handle = async (raw: string): Promise<void> => {
    let parsed: z.infer<typeof CreateChallengeMessage>
    try {
      parsed = CreateChallengeMessage.parse(JSON.parse(raw))
    } catch {
      return // The SDK ignores what it does not understand; so do we.
    }
    if (created >= MAX_CHALLENGES_PER_SOCKET) {
      socket.close(4429, 'too many challenges')
      return
    }
    const wait = lastCreate + MIN_CREATE_INTERVAL_MS - Date.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    if (socket.readyState !== socket.OPEN) return
    created++
    lastCreate = Date.now()
    const challenge = await qr.createQrChallenge(deps, caller, { action: parsed.data.actionCode, custom: parsed.data.custom }, origin)
    // A refreshed page forgets its older codes; follow only the newest few.
    while (followed.size >= MAX_WATCHED) unfollow(followed.keys().next().value!)
    follow(challenge.challengeId)
    send({
      type: 'CHALLENGE_CREATED',
      data: {
        challengeId: challenge.challengeId,
        challengeType: 'QR_CODE',
        expiresAt: challenge.expiresAt,
        state: 'unclaimed',
        ...(challenge.verificationCode ? { verificationCode: challenge.verificationCode } : {}),
      },
    })
  }

  // Messages are handled one at a time, in order: each CREATE_CHALLENGE gets its CHALLENGE_CREATED.
  let chain = Promise.resolve()
  const onMessage = (data: unknown) => {
    chain = chain
      .then(() => handle(String(data)))
      .catch((error: unknown) => {
        // A refused request (wrong action for the token, no action without one) is the page's
        // mistake: 4000 + its HTTP status, with the error code as the reason. The SDK has no
        // error message type, so closing is how the page learns; 1011 only for our own faults.
        if (error instanceof ApiError && error.status < 500) {
          request.log.info({ code: error.code }, 'websocket request refused')
          socket.close(4000 + error.status, error.code)
          return
        }
        request.log.warn({ err: error }, 'websocket message failed')
        socket.close(1011, 'server error')
      })
  }
  socket.on('message', onMessage)
  for (const message of queued) onMessage(message)

  const ping = setInterval(() => socket.ping(), PING_MS)
  socket.on('close', () => {
    clearInterval(ping)
    for (const challengeId of [...followed.keys()]) unfollow(challengeId)
  })
}
