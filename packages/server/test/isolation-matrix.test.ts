// Tenant isolation, generated (issue 6): every route the app serves × every credential tenant A
// holds × every resource of tenant B a request can name. Each cell sends the request naming B's
// resource and the same request naming a look-alike that exists nowhere. The two answers must
// be the same (status, error code, body), neither may carry anything of B's, and the answer for
// B's resource is never a 2xx unless a 2xx is right without touching B (A's own data, or a new
// resource of A's that shares a name with one of B's); B's state is then checked unchanged.
// The routes come from the served OpenAPI document and Fastify's route table: a route without
// a row in ROUTES fails the suite, so a new route cannot be left out.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeCredentialMessage } from '@countersign/protocol'
import { basicAuth, createHarness, newDevice, type Harness, type TestDevice } from './support/harness.ts'
import { bearer, expectClientOk, expectOk, tenantApi, uniqueId, type Method, type Response, type TenantApi } from './support/api.ts'
import { lookalike, lookalikeToken, requestOverSocket, servedRoutes, shapeOf, spellingsOf, withPlaceholders, wsFirstAnswer } from './support/cross-tenant.ts'

/** What a request can name of tenant B's. The comparison request names a look-alike of each instead. */
interface Resources {
  userId: string
  email: string
  username: string
  phoneNumber: string
  /** Configured at B (BLOCK by default, number matching, a 30 s challenge, push only); A has no configuration for it. */
  actionCode: string
  idempotencyKey: string
  authenticatorId: string
  pushAuthenticatorId: string
  ruleId: string
  listAlias: string
  webhookId: string
  eventId: string
  secretKeyId: string
  managementKeyId: string
  inAppChallengeId: string
  pushChallengeId: string
  qrChallengeId: string
  qrDeviceCode: string
  /** A nonce B's push device was given to sign (the `challengeId` of …/push/sign). */
  signingNonce: string
  inAppPublicKey: string
  pushPublicKey: string
  qrPublicKey: string
  /** A verified token of B's, not yet validated. */
  token: string
  operatorId: string
  operatorEmail: string
}

type CredentialKind = 'secretKey' | 'managementKey' | 'tenantId' | 'trackToken' | 'deviceSignature' | 'none'
type DeviceKind = 'inApp' | 'push' | 'qr'

/** The OpenAPI security scheme each credential is; the device signature travels with the tenant ID. */
const SCHEME_OF: Record<CredentialKind, string | null> = {
  secretKey: 'secretKey',
  managementKey: 'managementKey',
  tenantId: 'tenantBasic',
  trackToken: 'bearerToken',
  deviceSignature: 'tenantBasic',
  none: null,
}
const HEADER_CREDENTIALS: CredentialKind[] = ['secretKey', 'managementKey', 'tenantId', 'trackToken', 'none']

interface Caller {
  kind: CredentialKind
  /** A's device of the variant's kind for deviceSignature; otherwise a key no credential holds. */
  signer: TestDevice
}

interface Built {
  url: string
  payload?: object
  headers?: Record<string, string>
}

interface Variant {
  /** What of B's the request names, for the report; 'nothing' on routes that name nothing of B's. */
  names: string
  /** The request naming these resources: B's, or look-alikes that exist nowhere. */
  build(r: Resources, caller: Caller): Built | Promise<Built>
  /** A 2xx is right here without touching B (for a credential the route takes). */
  own?: true
  /** Device-signed: the deviceSignature credential applies, with A's enrolled device of this kind. */
  device?: DeviceKind
  /**
   * The look-alike is the same in every cell of this variant: the route counts attempts per
   * thing it names (sign-in failures per email), so B's and the look-alike must collect as many.
   */
  sameLookalike?: true
}

interface RouteRow {
  variants: Variant[]
  /**
   * Creates something of A's under a name of B's, so it runs after every route that looks
   * that name up: 2 configuration (an action code, a value list); 3 users, credentials and
   * actions — after 2, because tracking an action code configures it (for the console).
   */
  phase?: 2 | 3
  /** The track token this route needs: of A's enrolled user (default), or of a new user of A's. */
  token?: 'newUser'
  /** Answers with Server-Sent Events: sent over a socket. */
  stream?: true
  /** A route left out of the OpenAPI document (an SDK alias): it takes what this documented one takes. */
  aliasOf?: string
}

let h: Harness
let a: TenantApi
let b: TenantApi
let baseUrl: string

// Tenant A's side: one user with a device in each namespace, an action code and webhook of its own.
let aUserId: string
const aDevices = {} as Record<DeviceKind, TestDevice>
let aActionCode: string
let aWebhookId: string
let aQr: { challengeId: string; deviceCode: string }

// Tenant B's side.
let bRes: Resources
let bDevices: Record<DeviceKind, TestDevice>
let bPushFlowToken: string
/** Every string of B's that must never reach A, by name. */
let bSecrets: Record<string, string>
let bStateBefore: Record<string, unknown>

const enc = encodeURIComponent
/** A public key in a query, base64-encoded once more as the SDKs send it. */
const keyQuery = (publicKey: string) => enc(Buffer.from(publicKey).toString('base64'))
const ALL_SCOPES = 'read:authenticators add:authenticators update:authenticators remove:authenticators'
const WS_PROTOCOL = 'authsignal-ws'
const CONSOLE = { 'x-countersign-console': '1' }

/** A fresh in-app challenge of A's (no action named, so a token caller can use it too). */
async function aChallenge(): Promise<string> {
  return expectClientOk(await a.client('POST', '/v1/client/challenge', a.tenantBasic, {})).challengeId
}

/** A nonce A's tenant hands out for this key (any key gets one: the answer says nothing about enrolment). */
async function aSigningNonce(publicKey: string, path: 'sign' | 'challenge/sign'): Promise<{ challengeId?: string; message: string }> {
  return expectClientOk(await a.client('POST', `/v1/client/user-authenticators/push/${path}?publicKey=${keyQuery(publicKey)}`, a.tenantBasic))
}

const nothing = (build: Variant['build']): Variant => ({ names: 'nothing', own: true, build })
const single = (names: string, build: Variant['build'], extra: Partial<Variant> = {}): Variant => ({ names, build, ...extra })

const userVariant = (suffix = ''): Variant => single('user ID', (r) => ({ url: `/v1/users/${enc(r.userId)}${suffix}` }))
const actionVariants = (payload?: object): Variant[] => [
  single('user ID, action code and idempotency key', (r) => ({ url: `/v1/users/${enc(r.userId)}/actions/${r.actionCode}/${enc(r.idempotencyKey)}`, payload })),
  single('action code and idempotency key under A’s user', (r) => ({ url: `/v1/users/${enc(aUserId)}/actions/${r.actionCode}/${enc(r.idempotencyKey)}`, payload })),
]
const authenticatorVariants = (path: (userId: string, authenticatorId: string) => string, payload?: object): Variant[] => [
  single('user ID and authenticator ID', (r) => ({ url: path(r.userId, r.authenticatorId), payload })),
  single('authenticator ID under A’s user', (r) => ({ url: path(aUserId, r.authenticatorId), payload })),
]
const m = (path: string) => `/v1/management${path}`
const configVariant = (suffix = '', payload?: object): Variant =>
  single('action code', (r) => ({ url: m(`/action-configurations/${r.actionCode}${suffix}`), payload }))
const ruleVariants = (payload?: object): Variant[] => [
  single('action code and rule ID', (r) => ({ url: m(`/action-configurations/${r.actionCode}/rules/${r.ruleId}`), payload })),
  single('rule ID under A’s action code', (r) => ({ url: m(`/action-configurations/${aActionCode}/rules/${r.ruleId}`), payload })),
]
const listCondition = (alias: string) => `list('${alias}').contains(action.custom.payee)`

const inAppVerify = (path: string): Variant[] => [
  single('in-app challenge ID', (r, c) => ({ url: path, payload: { challengeId: r.inAppChallengeId, publicKey: c.signer.publicKey, signature: c.signer.sign(r.inAppChallengeId) } }), {
    device: 'inApp',
  }),
  single(
    'in-app device public key',
    async (r, c) => {
      const challengeId = await aChallenge()
      return { url: path, payload: { challengeId, publicKey: r.inAppPublicKey, signature: c.signer.sign(challengeId) } }
    },
    { device: 'inApp' },
  ),
]
const qrPoll = (path: string): Variant[] => [
  single('QR challenge ID and device code', (r) => ({ url: path, payload: { challengeId: r.qrChallengeId, deviceCode: r.qrDeviceCode } })),
  single('QR device code for A’s challenge', (r) => ({ url: path, payload: { challengeId: aQr.challengeId, deviceCode: r.qrDeviceCode } })),
]
const signingNonce = (path: 'sign' | 'update/sign' | 'challenge/sign'): Variant =>
  single('push device public key', (r) => ({ url: `/v1/client/user-authenticators/push/${path}?publicKey=${keyQuery(r.pushPublicKey)}` }), { own: true })

/**
 * How to fill every route's parameters and body, keyed `METHOD /path/{param}` as the OpenAPI
 * document names it. Each variant names one kind of B's resources (a route naming several
 * kinds has one variant per kind and per useful combination with A's own).
 */
const ROUTES: Record<string, RouteRow> = {
  // ── System ──
  'GET /healthz': { variants: [nothing(() => ({ url: '/healthz' }))] },
  'GET /readyz': { variants: [nothing(() => ({ url: '/readyz' }))] },

  // ── Server API ──
  'POST /v1/users/{userId}/actions/{action}': {
    phase: 3,
    variants: [
      single('user ID', (r) => ({ url: `/v1/users/${enc(r.userId)}/actions/authorizePayment`, payload: {} }), { own: true }),
      single('action code', (r) => ({ url: `/v1/users/${enc(aUserId)}/actions/${r.actionCode}`, payload: {} }), { own: true }),
      single('idempotency key', (r) => ({ url: `/v1/users/${enc(aUserId)}/actions/authorizePayment`, payload: { idempotencyKey: r.idempotencyKey } }), { own: true }),
    ],
  },
  'GET /v1/users/{userId}/actions/{action}/{idempotencyKey}': { variants: actionVariants() },
  'PATCH /v1/users/{userId}/actions/{action}/{idempotencyKey}': { variants: actionVariants({ state: 'ALLOW' }) },
  'GET /v1/users/{userId}/actions': { variants: [{ ...userVariant('/actions'), own: true }] },
  'POST /v1/validate': {
    variants: [
      single('token', (r) => ({ url: '/v1/validate', payload: { token: r.token } }), { own: true }),
      single('token and user ID', (r) => ({ url: '/v1/validate', payload: { token: r.token, userId: r.userId } }), { own: true }),
    ],
  },
  'GET /v1/users/{userId}': { variants: [userVariant()] },
  'PATCH /v1/users/{userId}': { phase: 3, variants: [single('user ID', (r) => ({ url: `/v1/users/${enc(r.userId)}`, payload: { displayName: 'A’s user' } }), { own: true })] },
  'DELETE /v1/users/{userId}': { variants: [userVariant()] },
  'GET /v1/users': {
    variants: [
      single('email', (r) => ({ url: `/v1/users?email=${enc(r.email)}` }), { own: true }),
      single('username', (r) => ({ url: `/v1/users?username=${enc(r.username)}` }), { own: true }),
      single('phone number', (r) => ({ url: `/v1/users?phoneNumber=${enc(r.phoneNumber)}` }), { own: true }),
    ],
  },
  'GET /v1/users/{userId}/authenticators': { variants: [{ ...userVariant('/authenticators'), own: true }] },
  'DELETE /v1/users/{userId}/authenticators/{userAuthenticatorId}': {
    variants: authenticatorVariants((userId, id) => `/v1/users/${enc(userId)}/authenticators/${id}`),
  },

  // ── Management API ──
  'GET /v1/management/tenant': { variants: [nothing(() => ({ url: m('/tenant') }))] },
  'PATCH /v1/management/tenant': { variants: [nothing(() => ({ url: m('/tenant'), payload: { name: 'Tenant A' } }))] },
  'GET /v1/management/api-keys': { variants: [nothing(() => ({ url: m('/api-keys') }))] },
  'POST /v1/management/api-keys': { variants: [nothing(() => ({ url: m('/api-keys'), payload: { type: 'secret', name: 'matrix' } }))] },
  'DELETE /v1/management/api-keys/{keyId}': {
    variants: [single('secret key ID', (r) => ({ url: m(`/api-keys/${r.secretKeyId}`) })), single('management key ID', (r) => ({ url: m(`/api-keys/${r.managementKeyId}`) }))],
  },
  'GET /v1/management/action-configurations': { variants: [nothing(() => ({ url: m('/action-configurations') }))] },
  'POST /v1/management/action-configurations': {
    phase: 2,
    variants: [single('action code', (r) => ({ url: m('/action-configurations'), payload: { actionCode: r.actionCode } }), { own: true })],
  },
  'GET /v1/management/action-configurations/{actionCode}': { variants: [configVariant()] },
  'PATCH /v1/management/action-configurations/{actionCode}': { variants: [configVariant('', { defaultOutcome: 'ALLOW' })] },
  'DELETE /v1/management/action-configurations/{actionCode}': { variants: [configVariant()] },
  'GET /v1/management/action-configurations/{actionCode}/rules': { variants: [configVariant('/rules')] },
  'POST /v1/management/action-configurations/{actionCode}/rules': {
    variants: [
      configVariant('/rules', { name: 'A rule', outcome: 'ALLOW', condition: 'true' }),
      single('value-list alias in a condition', (r) => ({
        url: m(`/action-configurations/${aActionCode}/rules`),
        payload: { name: 'A rule', outcome: 'BLOCK', condition: listCondition(r.listAlias) },
      })),
    ],
  },
  'POST /v1/management/action-configurations/{actionCode}/rules/dry-run': {
    variants: [
      configVariant('/rules/dry-run', { context: {} }),
      single('user ID and idempotency key of a past action', (r) => ({
        url: m(`/action-configurations/${aActionCode}/rules/dry-run`),
        payload: { userId: r.userId, idempotencyKey: r.idempotencyKey },
      })),
      // A draft that fails to evaluate is a 200 with the error beside it, as for any unknown list.
      single(
        'value-list alias in a draft condition',
        (r) => ({ url: m(`/action-configurations/${aActionCode}/rules/dry-run`), payload: { context: {}, condition: listCondition(r.listAlias) } }),
        { own: true },
      ),
    ],
  },
  'GET /v1/management/action-configurations/{actionCode}/rules/{ruleId}': { variants: ruleVariants() },
  'PATCH /v1/management/action-configurations/{actionCode}/rules/{ruleId}': { variants: ruleVariants({ priority: 1 }) },
  'DELETE /v1/management/action-configurations/{actionCode}/rules/{ruleId}': { variants: ruleVariants() },
  'GET /v1/management/value-lists': { variants: [nothing(() => ({ url: m('/value-lists') }))] },
  'POST /v1/management/value-lists': {
    phase: 2,
    variants: [single('value-list alias', (r) => ({ url: m('/value-lists'), payload: { alias: r.listAlias, name: 'A list', itemType: 'string', items: [] } }), { own: true })],
  },
  'GET /v1/management/value-lists/{alias}': { variants: [single('value-list alias', (r) => ({ url: m(`/value-lists/${r.listAlias}`) }))] },
  'PATCH /v1/management/value-lists/{alias}': { variants: [single('value-list alias', (r) => ({ url: m(`/value-lists/${r.listAlias}`), payload: { name: 'A list' } }))] },
  'DELETE /v1/management/value-lists/{alias}': { variants: [single('value-list alias', (r) => ({ url: m(`/value-lists/${r.listAlias}`) }))] },
  'GET /v1/management/webhooks': { variants: [nothing(() => ({ url: m('/webhooks') }))] },
  'POST /v1/management/webhooks': {
    variants: [nothing(() => ({ url: m('/webhooks'), payload: { url: 'https://hooks.example.com/a-matrix', events: ['*'], enabled: false } }))],
  },
  'GET /v1/management/webhooks/{webhookId}': { variants: [single('webhook ID', (r) => ({ url: m(`/webhooks/${r.webhookId}`) }))] },
  'PATCH /v1/management/webhooks/{webhookId}': { variants: [single('webhook ID', (r) => ({ url: m(`/webhooks/${r.webhookId}`), payload: { enabled: false } }))] },
  'DELETE /v1/management/webhooks/{webhookId}': { variants: [single('webhook ID', (r) => ({ url: m(`/webhooks/${r.webhookId}`) }))] },
  'GET /v1/management/webhooks/{webhookId}/deliveries': { variants: [single('webhook ID', (r) => ({ url: m(`/webhooks/${r.webhookId}/deliveries`) }))] },
  'POST /v1/management/webhooks/{webhookId}/deliveries/{eventId}/retry': {
    variants: [
      single('webhook ID and event ID', (r) => ({ url: m(`/webhooks/${r.webhookId}/deliveries/${r.eventId}/retry`) })),
      single('event ID under A’s webhook', (r) => ({ url: m(`/webhooks/${aWebhookId}/deliveries/${r.eventId}/retry`) })),
    ],
  },
  'GET /v1/management/users': {
    variants: [
      single('user ID', (r) => ({ url: m(`/users?query=${enc(r.userId)}`) }), { own: true }),
      single('email', (r) => ({ url: m(`/users?query=${enc(r.email)}`) }), { own: true }),
      single('username', (r) => ({ url: m(`/users?query=${enc(r.username)}`) }), { own: true }),
      single('phone number', (r) => ({ url: m(`/users?query=${enc(r.phoneNumber)}`) }), { own: true }),
    ],
  },
  'GET /v1/management/users/{userId}': { variants: [single('user ID', (r) => ({ url: m(`/users/${enc(r.userId)}`) }))] },
  'DELETE /v1/management/users/{userId}': { variants: [single('user ID', (r) => ({ url: m(`/users/${enc(r.userId)}`) }))] },
  'DELETE /v1/management/users/{userId}/authenticators/{userAuthenticatorId}': {
    variants: authenticatorVariants((userId, id) => m(`/users/${enc(userId)}/authenticators/${id}`)),
  },
  'POST /v1/management/users/{userId}/authenticators/{userAuthenticatorId}/unlock': {
    variants: authenticatorVariants((userId, id) => m(`/users/${enc(userId)}/authenticators/${id}/unlock`)),
  },
  'POST /v1/management/users/{userId}/push-block/clear': { variants: [single('user ID', (r) => ({ url: m(`/users/${enc(r.userId)}/push-block/clear`) }))] },
  'GET /v1/management/actions': {
    variants: [
      single('user ID', (r) => ({ url: m(`/actions?userId=${enc(r.userId)}`) }), { own: true }),
      single('action code', (r) => ({ url: m(`/actions?actionCode=${r.actionCode}`) }), { own: true }),
      single('rule ID', (r) => ({ url: m(`/actions?ruleId=${r.ruleId}`) }), { own: true }),
    ],
  },
  'GET /v1/management/audit-log': { variants: [nothing(() => ({ url: m('/audit-log?limit=200') }))] },
  'GET /v1/management/stats': { variants: [nothing(() => ({ url: m('/stats?days=2') }))] },
  'POST /v1/management/session': {
    variants: [
      single('operator email', (r) => ({ url: m('/session'), payload: { email: r.operatorEmail, password: 'not the operator’s password' }, headers: CONSOLE }), {
        sameLookalike: true,
      }),
    ],
  },
  'GET /v1/management/session': { variants: [nothing(() => ({ url: m('/session'), headers: CONSOLE }))] },
  'DELETE /v1/management/session': { variants: [nothing(() => ({ url: m('/session'), headers: CONSOLE }))] },
  'GET /v1/management/operators': { variants: [nothing(() => ({ url: m('/operators') }))] },
  'POST /v1/management/operators': {
    phase: 2,
    variants: [single('operator email', (r) => ({ url: m('/operators'), payload: { email: r.operatorEmail, password: 'an operator of A’s own password' } }), { own: true })],
  },
  'DELETE /v1/management/operators/{operatorId}': { variants: [single('operator ID', (r) => ({ url: m(`/operators/${r.operatorId}`) }))] },

  // ── Client API ──
  'GET /v1/client/hosted-challenge': { variants: [nothing(() => ({ url: '/v1/client/hosted-challenge' }))] },
  'POST /v1/client/challenge': { variants: [single('action code', (r) => ({ url: '/v1/client/challenge', payload: { action: r.actionCode } }), { own: true })] },
  'POST /v1/client/verify/in-app': { variants: inAppVerify('/v1/client/verify/in-app') },
  'POST /v1/client/verify/device': { aliasOf: 'POST /v1/client/verify/in-app', variants: inAppVerify('/v1/client/verify/device') },
  'POST /v1/client/user-authenticators/{namespace}': {
    phase: 3,
    token: 'newUser',
    variants: [
      single('in-app device public key', (r) => ({ url: '/v1/client/user-authenticators/in-app', payload: { publicKey: r.inAppPublicKey, deviceName: 'A phone' } }), { own: true }),
      single('push device public key', (r) => ({ url: '/v1/client/user-authenticators/push', payload: { publicKey: r.pushPublicKey, pushToken: 'a-push-token' } }), { own: true }),
    ],
  },
  'GET /v1/client/user-authenticators/{namespace}': {
    variants: [
      single('in-app device public key', (r) => ({ url: `/v1/client/user-authenticators/in-app?publicKey=${keyQuery(r.inAppPublicKey)}` })),
      single('push device public key', (r) => ({ url: `/v1/client/user-authenticators/push?publicKey=${keyQuery(r.pushPublicKey)}` })),
      single('QR device public key', (r) => ({ url: `/v1/client/user-authenticators/qr-code?publicKey=${keyQuery(r.qrPublicKey)}` })),
    ],
  },
  'PATCH /v1/client/user-authenticators/{namespace}': {
    variants: [
      single(
        'signing nonce',
        (r, c) => ({
          url: '/v1/client/user-authenticators/push',
          payload: { challengeId: r.signingNonce, publicKey: c.signer.publicKey, signature: c.signer.sign(r.signingNonce), pushToken: 'a-push-token' },
        }),
        { device: 'push' },
      ),
      single(
        'push device public key',
        async (r, c) => {
          const { challengeId, message } = await aSigningNonce(r.pushPublicKey, 'sign')
          return { url: '/v1/client/user-authenticators/push', payload: { challengeId, publicKey: r.pushPublicKey, signature: c.signer.sign(message), resetExpiry: true } }
        },
        { device: 'push' },
      ),
    ],
  },
  'POST /v1/client/user-authenticators/{namespace}/remove': {
    variants: [
      single(
        'in-app device public key',
        (r, c) => ({ url: '/v1/client/user-authenticators/in-app/remove', payload: { publicKey: r.inAppPublicKey, signature: c.signer.sign(removeCredentialMessage(h.clock())) } }),
        { device: 'inApp' },
      ),
    ],
  },
  'POST /v1/client/user-authenticators/{namespace}/challenge/sign': { variants: [signingNonce('challenge/sign')] },
  'POST /v1/client/user-authenticators/{namespace}/sign': { variants: [signingNonce('sign')] },
  'POST /v1/client/user-authenticators/{namespace}/update/sign': { aliasOf: 'POST /v1/client/user-authenticators/{namespace}/sign', variants: [signingNonce('update/sign')] },
  'GET /v1/client/user-authenticators/{namespace}/challenge': {
    variants: [
      single(
        'push device public key',
        async (r, c): Promise<Built> => {
          const url = `/v1/client/user-authenticators/push/challenge?publicKey=${keyQuery(r.pushPublicKey)}`
          if (c.kind !== 'deviceSignature') return { url }
          // A's device signs a nonce A's tenant issued for this key, as newer SDKs do before fetching.
          const { message } = await aSigningNonce(r.pushPublicKey, 'challenge/sign')
          return { url, headers: { 'x-authsignal-signature': c.signer.sign(message) } }
        },
        { device: 'push' },
      ),
    ],
  },
  'POST /v1/client/user-authenticators/{namespace}/challenge': {
    variants: [
      single(
        'push challenge ID',
        (r, c) => ({
          url: '/v1/client/user-authenticators/push/challenge',
          payload: { challengeId: r.pushChallengeId, publicKey: c.signer.publicKey, signature: c.signer.sign(r.pushChallengeId), approved: true },
        }),
        { device: 'push' },
      ),
      single(
        'push challenge ID (denied and reported)',
        (r, c) => ({
          url: '/v1/client/user-authenticators/push/challenge',
          payload: { challengeId: r.pushChallengeId, publicKey: c.signer.publicKey, signature: c.signer.sign(r.pushChallengeId), approved: false, reportFraud: true },
        }),
        { device: 'push' },
      ),
      single(
        'QR challenge ID',
        (r, c) => ({
          url: '/v1/client/user-authenticators/qr-code/challenge',
          payload: { challengeId: r.qrChallengeId, publicKey: c.signer.publicKey, signature: c.signer.sign(r.qrChallengeId), approved: true },
        }),
        { device: 'qr' },
      ),
    ],
  },
  'POST /v1/client/user-authenticators/{namespace}/challenge/claim': {
    variants: [
      single(
        'QR challenge ID',
        (r, c) => ({
          url: '/v1/client/user-authenticators/qr-code/challenge/claim',
          payload: { challengeId: r.qrChallengeId, publicKey: c.signer.publicKey, signature: c.signer.sign(r.qrChallengeId) },
        }),
        { device: 'qr' },
      ),
    ],
  },
  'POST /v1/client/challenge/push': { variants: [single('push authenticator ID', (r) => ({ url: '/v1/client/challenge/push', payload: { userAuthenticatorId: r.pushAuthenticatorId } }))] },
  'POST /v1/client/verify/push': { variants: [single('push challenge ID', (r) => ({ url: '/v1/client/verify/push', payload: { challengeId: r.pushChallengeId } }))] },
  'POST /v1/client/verify/push/stream': {
    stream: true,
    variants: [single('push challenge ID', (r) => ({ url: '/v1/client/verify/push/stream', payload: { challengeId: r.pushChallengeId } }))],
  },
  'POST /v1/client/challenge/qr-code': { variants: [single('action code', (r) => ({ url: '/v1/client/challenge/qr-code', payload: { action: r.actionCode } }), { own: true })] },
  'POST /v1/client/verify/qr-code': { variants: qrPoll('/v1/client/verify/qr-code') },
  'POST /v1/client/verify/qr-code/stream': { stream: true, variants: qrPoll('/v1/client/verify/qr-code/stream') },
}

/** Served routes that name no tenant's data, or are checked elsewhere in this file. */
const OUTSIDE_THE_MATRIX: Record<string, string> = {
  'GET /openapi.json': 'the API description; the same for everyone',
  'GET /docs': 'the docs page',
  'GET /docs/': 'the docs page',
  'GET /docs/static/index.html': 'the docs page',
  'GET /docs/static/swagger-initializer.js': 'the docs page',
  'GET /docs/*': 'the docs page’s assets',
  'GET /docs/json': 'the API description',
  'GET /docs/yaml': 'the API description',
  'OPTIONS *': 'CORS preflight: carries no credentials',
  'GET /console': 'the console’s page (static; its data comes from the Management API)',
  'GET /console*': 'the console’s own routes (/console/*): its page',
  'GET /challenge': 'the hosted challenge page (static; its data comes from the Client API)',
  'GET /ws-v1-challenge': 'the WebSocket: its own test below',
}

/** The look-alikes for one cell: fresh, of the same shape as B's, naming nothing. */
function nowhere(of: Resources): Resources {
  const fresh = Object.fromEntries(Object.entries(of).map(([name, value]) => [name, lookalike(value)])) as unknown as Resources
  return {
    ...fresh,
    qrDeviceCode: randomBytes(32).toString('base64url'),
    signingNonce: randomBytes(32).toString('base64url'),
    inAppPublicKey: newDevice().publicKey,
    pushPublicKey: newDevice().publicKey,
    qrPublicKey: newDevice().publicKey,
    token: lookalikeToken(of.token),
  }
}

async function authorizationFor(kind: CredentialKind, row: RouteRow): Promise<string | undefined> {
  switch (kind) {
    case 'secretKey':
      return basicAuth(a.tenant.secretKey)
    case 'managementKey':
      return basicAuth(a.tenant.managementKey)
    case 'tenantId':
    case 'deviceSignature':
      return a.tenantBasic
    case 'trackToken': {
      const tracked = row.token === 'newUser' ? await a.track(uniqueId('a-new-user'), 'addAuthenticator', { scope: 'add:authenticators' }) : await a.track(aUserId, 'authorizePayment', { scope: ALL_SCOPES })
      return bearer(tracked.token)
    }
    case 'none':
      return undefined
  }
}

/** Whether a route takes this credential: its OpenAPI security, or none at all for a public route. */
function takes(security: Array<Record<string, unknown>> | undefined, kind: CredentialKind): boolean {
  if (security === undefined) return true
  const scheme = SCHEME_OF[kind]
  const schemes = security.flatMap((s) => Object.keys(s))
  // The Client API takes a Bearer token wherever it takes the tenant ID: the token names (and proves) the tenant too.
  return scheme !== null && (schemes.includes(scheme) || (scheme === 'bearerToken' && schemes.includes('tenantBasic')))
}

interface Answer {
  status: number
  /** The headers that say something about the resource (not the date, request ID or length). */
  headers: Record<string, string>
  body: string
  /** What was sent, for the report and for telling an echo from a leak. */
  sent: string
}

// Response headers that differ on every request or follow from the body's length.
const VOLATILE_HEADERS = new Set(['date', 'x-request-id', 'content-length', 'connection', 'keep-alive', 'transfer-encoding'])
function meaningfulHeaders(headers: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => !VOLATILE_HEADERS.has(name))
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .map(([name, value]) => [name, String(value)]),
  )
}

async function send(method: Method, row: RouteRow, built: Built, authorization: string | undefined): Promise<Answer> {
  const headers = { ...(authorization === undefined ? {} : { authorization }), ...built.headers }
  const sent = `${method} ${built.url}${built.payload === undefined ? '' : ` ${JSON.stringify(built.payload)}`}${built.headers && Object.keys(built.headers).length > 0 ? ` ${JSON.stringify(built.headers)}` : ''}`
  if (row.stream) {
    const res = await requestOverSocket(baseUrl, { method, url: built.url, headers, ...(built.payload === undefined ? {} : { payload: built.payload }) })
    return { status: res.statusCode, headers: meaningfulHeaders(res.headers), body: res.body, sent }
  }
  const res = await h.inject({ method, url: built.url, headers, ...(built.payload === undefined ? {} : { payload: built.payload }) })
  return { status: res.statusCode, headers: meaningfulHeaders(res.headers), body: res.body, sent }
}

function errorOf(answer: Answer): { errorCode?: unknown; errorDescription?: unknown } {
  try {
    const body: unknown = JSON.parse(answer.body)
    return body !== null && typeof body === 'object' ? body : {}
  } catch {
    return {}
  }
}
const codeOf = (answer: Answer): string => String(errorOf(answer).errorCode ?? '')
const descriptionOf = (answer: Answer): string => String(errorOf(answer).errorDescription ?? '')
const brief = (answer: Answer) => `${answer.status} ${codeOf(answer)} ${answer.body.slice(0, 300)}`.replace(/\s+/g, ' ')
const is2xx = (status: number) => status >= 200 && status < 300

/** What an answer says once the resources it was asked about are replaced by their names. */
function comparable(answer: Answer, named: Resources): unknown {
  const placeholders = named as unknown as Record<string, string>
  const headers = JSON.parse(withPlaceholders(JSON.stringify(answer.headers), placeholders)) as unknown
  const text = withPlaceholders(answer.body, placeholders)
  if (!is2xx(answer.status)) return { headers, body: text }
  try {
    return { headers, body: shapeOf(JSON.parse(text), h.clock()) }
  } catch {
    return { headers, body: text }
  }
}

/** B's strings in an answer (headers or body) that its request did not carry itself. */
function leaksIn(answer: Answer): string[] {
  const received = `${JSON.stringify(answer.headers)}\n${answer.body}`
  return Object.entries(bSecrets)
    .filter(([, value]) => received.includes(value) && !spellingsOf(value).some((spelling) => answer.sent.includes(spelling)))
    .map(([name]) => name)
}

let cells = 0
let requests = 0
const routesCovered = new Set<string>()

beforeAll(async () => {
  h = await createHarness()
  a = tenantApi(h, await h.newTenant())
  b = tenantApi(h, await h.newTenant())
  const tag = () => randomBytes(4).toString('hex')

  // ── B: a webhook first, so every later event of B's has a delivery ──
  const bWebhook = expectOk(await b.manage('POST', '/webhooks', { url: 'https://hooks.example.com/bpriv-hook', events: ['*'] }), 201)
  const listAlias = `bpriv_list_${tag()}`
  expectOk(await b.manage('POST', '/value-lists', { alias: listAlias, name: 'bpriv list', itemType: 'string', items: ['bpriv-payee'] }), 201)
  const actionCode = `bprivCode${tag()}`
  expectOk(
    await b.manage('POST', '/action-configurations', {
      actionCode,
      defaultOutcome: 'BLOCK',
      numberMatching: true,
      challengeTtlSeconds: 30,
      verificationMethods: ['PUSH'],
    }),
    201,
  )
  const rule = expectOk(
    await b.manage('POST', `/action-configurations/${actionCode}/rules`, { name: 'bpriv rule', outcome: 'REVIEW', condition: listCondition(listAlias) }),
    201,
  )
  const bUserId = uniqueId('bpriv-user')
  const inApp = await b.enroll(bUserId)
  const push = await b.enroll(bUserId, { namespace: 'push', approvedBy: inApp.device, pushToken: 'bpriv-push-token' })
  const qr = await b.enroll(bUserId, { namespace: 'qr-code', approvedBy: inApp.device })
  bDevices = { inApp: inApp.device, push: push.device, qr: qr.device }
  const attributes = {
    email: `bpriv-${tag()}@example.com`,
    username: `bpriv-name-${tag()}`,
    phoneNumber: `+1555${String(Date.now()).slice(-7)}`,
    displayName: 'bpriv display name',
    custom: { note: 'bpriv-custom' },
  }
  expectOk(await b.server('PATCH', `/v1/users/${bUserId}`, attributes))
  const tracked = await b.track(bUserId, actionCode, { custom: { payee: 'bpriv-payee' } })
  expect(tracked.ruleIds).toEqual([rule.ruleId])

  const pushFlow = await b.track(bUserId, 'authorizePayment')
  bPushFlowToken = pushFlow.token
  const pushChallenge = expectClientOk(await b.client('POST', '/v1/client/challenge/push', bearer(pushFlow.token), {}))
  const qrChallenge = expectClientOk(await b.client('POST', '/v1/client/challenge/qr-code', b.tenantBasic, { action: 'signIn' }))
  const inAppChallengeId = await b.challenge(b.tenantBasic, 'signIn')
  const nonce = expectClientOk(await b.client('POST', `/v1/client/user-authenticators/push/sign?publicKey=${keyQuery(push.device.publicKey)}`, b.tenantBasic))
  const { token } = await b.completeFlow(bUserId, inApp.device)
  const [delivery] = expectOk(await b.manage('GET', `/webhooks/${bWebhook.webhookId}/deliveries`)).items
  const bOperator = expectOk(await b.manage('POST', '/operators', { email: `bpriv-op-${tag()}@example.com`, password: 'B’s operator password, long enough' }), 201)

  bRes = {
    userId: bUserId,
    email: attributes.email,
    username: attributes.username,
    phoneNumber: attributes.phoneNumber,
    actionCode,
    idempotencyKey: tracked.idempotencyKey,
    authenticatorId: inApp.credential.userAuthenticatorId,
    pushAuthenticatorId: push.credential.userAuthenticatorId,
    ruleId: rule.ruleId,
    listAlias,
    webhookId: bWebhook.webhookId,
    eventId: delivery.eventId,
    secretKeyId: b.tenant.secretKeyId,
    managementKeyId: b.tenant.managementKeyId,
    inAppChallengeId,
    pushChallengeId: pushChallenge.challengeId,
    qrChallengeId: qrChallenge.challengeId,
    qrDeviceCode: qrChallenge.deviceCode,
    signingNonce: nonce.challengeId,
    inAppPublicKey: inApp.device.publicKey,
    pushPublicKey: push.device.publicKey,
    qrPublicKey: qr.device.publicKey,
    token,
    operatorId: bOperator.operatorId,
    operatorEmail: bOperator.email,
  }
  bSecrets = {
    ...(bRes as unknown as Record<string, string>),
    tenantId: b.tenant.tenantId,
    secretKey: b.tenant.secretKey,
    managementKey: b.tenant.managementKey,
    qrAuthenticatorId: qr.credential.userAuthenticatorId,
    pushFlowIdempotencyKey: pushFlow.idempotencyKey,
    pushFlowToken: pushFlow.token,
    displayName: attributes.displayName,
    custom: 'bpriv-custom',
    listItem: 'bpriv-payee',
    ruleName: 'bpriv rule',
    listName: 'bpriv list',
    webhookUrl: 'https://hooks.example.com/bpriv-hook',
    pushToken: 'bpriv-push-token',
  }

  // ── A: one user with a device in each namespace, an action code, a webhook and a QR code of its own ──
  aUserId = uniqueId('a-user')
  const aInApp = await a.enroll(aUserId)
  aDevices.inApp = aInApp.device
  aDevices.push = (await a.enroll(aUserId, { namespace: 'push', approvedBy: aInApp.device, pushToken: 'a-push-token' })).device
  aDevices.qr = (await a.enroll(aUserId, { namespace: 'qr-code', approvedBy: aInApp.device })).device
  aActionCode = `aCode${tag()}`
  expectOk(await a.manage('POST', '/action-configurations', { actionCode: aActionCode }), 201)
  // Disabled, so nothing of A's waits for hooks.example.com.
  aWebhookId = expectOk(await a.manage('POST', '/webhooks', { url: 'https://hooks.example.com/a-matrix', events: ['*'], enabled: false }), 201).webhookId
  aQr = expectClientOk(await a.client('POST', '/v1/client/challenge/qr-code', a.tenantBasic, { action: 'signIn' }))

  baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 })
  bStateBefore = await stateOfB()
})

afterAll(async () => {
  console.log(`isolation matrix: ${cells} cells checked (${requests} requests) over ${routesCovered.size} routes`)
  // The dispatcher serves every tenant of the shared database: leave no endpoint with pending deliveries behind.
  if (bRes) await b.manage('DELETE', `/webhooks/${bRes.webhookId}`)
  if (a) {
    for (const { webhookId } of expectOk(await a.manage('GET', '/webhooks')).items as Array<{ webhookId: string }>) {
      await a.manage('DELETE', `/webhooks/${webhookId}`)
    }
  }
  await h?.close()
})

/** Everything of B's that A could change, read with B's own keys. */
async function stateOfB(): Promise<Record<string, unknown>> {
  const reads: Array<[string, () => Promise<Response>]> = [
    ['tenant', () => b.manage('GET', '/tenant')],
    ['API keys', () => b.manage('GET', '/api-keys')],
    ['action configurations', () => b.manage('GET', '/action-configurations')],
    ['rules', () => b.manage('GET', `/action-configurations/${bRes.actionCode}/rules`)],
    ['value list', () => b.manage('GET', `/value-lists/${bRes.listAlias}`)],
    ['webhooks', () => b.manage('GET', '/webhooks')],
    ['deliveries', () => b.manage('GET', `/webhooks/${bRes.webhookId}/deliveries`)],
    ['user', () => b.manage('GET', `/users/${enc(bRes.userId)}`)],
    ['users', () => b.manage('GET', '/users?limit=200')],
    ['action log', () => b.manage('GET', '/actions?limit=200')],
    ['audit log', () => b.manage('GET', '/audit-log?limit=200')],
    ['operators', () => b.manage('GET', '/operators')],
    ['user (Server API)', () => b.server('GET', `/v1/users/${enc(bRes.userId)}`)],
    ['authenticators', () => b.server('GET', `/v1/users/${enc(bRes.userId)}/authenticators`)],
    ['action', () => b.server('GET', `/v1/users/${enc(bRes.userId)}/actions/${bRes.actionCode}/${bRes.idempotencyKey}`)],
  ]
  const state: Record<string, unknown> = {}
  for (const [name, read] of reads) state[name] = expectOk(await read())
  return state
}

describe('tenant isolation matrix', () => {
  it('has a row for every route the app serves, and no row without a route', async () => {
    const document = (await h.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> }
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
    const served = servedRoutes(h.app)
    expect(documented.length).toBeGreaterThan(60)
    expect(documented.filter((route) => !ROUTES[route]), 'documented routes without a row in ROUTES').toEqual([])
    // The web pages' built files (one route each, named by content hash) are static, like /docs's.
    const webFile = (route: string) => /^GET \/(console|challenge)\/[^*]+$/.test(route)
    expect(served.filter((route) => !ROUTES[route] && !OUTSIDE_THE_MATRIX[route] && !webFile(route)), 'served routes without a row').toEqual([])
    expect(Object.keys(ROUTES).filter((route) => !served.includes(route)), 'rows for routes the app does not serve').toEqual([])
    expect(Object.keys(OUTSIDE_THE_MATRIX).filter((route) => !served.includes(route)), 'exemptions for routes the app does not serve').toEqual([])
    for (const [route, row] of Object.entries(ROUTES)) {
      if (documented.includes(route)) expect(row.aliasOf, `${route} is documented`).toBeUndefined()
      else expect(documented, `${route} is not documented: name the documented route it mirrors`).toContain(row.aliasOf)
    }
  })

  it('answers A alike for B’s resources and for none, never with a 2xx B is touched by, never with B’s data', { timeout: 180_000 }, async () => {
    const document = (await h.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { security?: Array<Record<string, unknown>> }>>
    }
    const securityOf = (route: string): Array<Record<string, unknown>> | undefined => {
      const [method, path] = route.split(' ') as [string, string]
      return document.paths[path]?.[method.toLowerCase()]?.security
    }
    const problems: string[] = []
    const sameLookalikes = new Map<Variant, Resources>()
    const ordered = Object.entries(ROUTES).sort(([, x], [, y]) => (x.phase ?? 1) - (y.phase ?? 1))
    for (const [route, row] of ordered) {
      const method = route.split(' ')[0] as Method
      const security = securityOf(row.aliasOf ?? route)
      routesCovered.add(route)
      for (const variant of row.variants) {
        const kinds = variant.device ? [...HEADER_CREDENTIALS, 'deviceSignature' as const] : HEADER_CREDENTIALS
        for (const kind of kinds) {
          cells += 1
          const caller: Caller = { kind, signer: kind === 'deviceSignature' ? aDevices[variant.device!] : newDevice() }
          const taken = takes(security, kind)
          // One token serves both requests of a cell, unless the first one is meant to use it up.
          const authorization = await authorizationFor(kind, row)
          const forB = await send(method, row, await variant.build(bRes, caller), authorization)
          requests += 1
          const where = `${forB.sent} as ${kind} (naming B’s ${variant.names})`
          if (forB.status >= 500) problems.push(`${where}: ${brief(forB)}`)
          if (is2xx(forB.status) && !(variant.own && taken)) problems.push(`${where}: a 2xx: ${brief(forB)}`)
          // With a credential the route takes, the request must reach the lookup: a row whose
          // request fails validation or authentication would pass without testing anything.
          if (taken && (codeOf(forB) === 'unauthorized' || /^Invalid request:/.test(descriptionOf(forB)))) {
            problems.push(`${where}: refused before any lookup, fix its row: ${brief(forB)}`)
          }
          const leaked = leaksIn(forB)
          if (leaked.length > 0) problems.push(`${where}: carries B’s ${leaked.join(', ')}: ${brief(forB)}`)
          if (variant.names === 'nothing') continue

          const look = variant.sameLookalike ? sameLookalikes.get(variant) ?? sameLookalikes.set(variant, nowhere(bRes)).get(variant)! : nowhere(bRes)
          const forNothing = await send(method, row, await variant.build(look, caller), row.token === 'newUser' ? await authorizationFor(kind, row) : authorization)
          requests += 1
          const leakedToo = leaksIn(forNothing)
          if (leakedToo.length > 0) problems.push(`${forNothing.sent} as ${kind}: carries B’s ${leakedToo.join(', ')}: ${brief(forNothing)}`)
          if (forB.status !== forNothing.status || codeOf(forB) !== codeOf(forNothing)) {
            problems.push(`${where}: B’s → ${brief(forB)} | nowhere (${forNothing.sent}) → ${brief(forNothing)}`)
          } else if (JSON.stringify(comparable(forB, bRes)) !== JSON.stringify(comparable(forNothing, look))) {
            problems.push(`${where}: answers differ: B’s → ${JSON.stringify(comparable(forB, bRes))} | nowhere → ${JSON.stringify(comparable(forNothing, look))}`)
          }
        }
      }
    }
    expect(problems).toEqual([])
  })

  it('WebSocket /ws-v1-challenge: B’s action code configures nothing of A’s QR codes', { timeout: 60_000 }, async () => {
    const withCredential: Array<[CredentialKind, () => Promise<string[]>]> = [
      ['tenantId', async () => [WS_PROTOCOL, `x.authsignal.tenant.${a.tenant.tenantId}`]],
      ['trackToken', async () => [WS_PROTOCOL, `x.authsignal.token.${(await a.track(aUserId, 'authorizePayment')).token}`]],
      ['secretKey', async () => [WS_PROTOCOL, `x.authsignal.tenant.${a.tenant.secretKey}`]],
      ['managementKey', async () => [WS_PROTOCOL, `x.authsignal.tenant.${a.tenant.managementKey}`]],
      ['none', async () => [WS_PROTOCOL]],
    ]
    const create = (actionCode: string) => JSON.stringify({ type: 'CREATE_CHALLENGE', data: { challengeType: 'QR_CODE', actionCode } })
    const comparableWs = (outcome: { message?: string; close?: string; handshakeError?: string }, actionCode: string) =>
      outcome.message === undefined ? outcome : { message: shapeOf(JSON.parse(withPlaceholders(outcome.message, { actionCode })), h.clock()) }
    const problems: string[] = []
    routesCovered.add('GET /ws-v1-challenge')
    for (const [kind, protocols] of withCredential) {
      cells += 1
      requests += 2
      const forB = await wsFirstAnswer(baseUrl, await protocols(), create(bRes.actionCode))
      const lookalikeCode = lookalike(bRes.actionCode)
      const forNothing = await wsFirstAnswer(baseUrl, await protocols(), create(lookalikeCode))
      const where = `CREATE_CHALLENGE for B’s action code as ${kind}`
      if (forB.message !== undefined && kind !== 'tenantId') problems.push(`${where}: answered ${forB.message}`)
      const leaked = Object.entries(bSecrets).filter(([name, value]) => name !== 'actionCode' && JSON.stringify(forB).includes(value))
      if (leaked.length > 0) problems.push(`${where}: carries B’s ${leaked.map(([name]) => name).join(', ')}`)
      if (JSON.stringify(comparableWs(forB, bRes.actionCode)) !== JSON.stringify(comparableWs(forNothing, lookalikeCode))) {
        problems.push(`${where}: B’s → ${JSON.stringify(forB)} | nowhere → ${JSON.stringify(forNothing)}`)
      }
    }
    expect(problems).toEqual([])
  })

  it('leaves B’s data as it was, and B’s challenges, nonce and token still work for B', async () => {
    expect(await stateOfB()).toEqual(bStateBefore)
    // B's push challenge is still pending: the browser sees it unanswered, the phone still gets it.
    expect(expectClientOk(await b.client('POST', '/v1/client/verify/push', bearer(bPushFlowToken), { challengeId: bRes.pushChallengeId }))).toEqual({
      isVerified: false,
      isConsumed: false,
      state: 'unclaimed',
    })
    const pending = expectClientOk(await b.client('GET', `/v1/client/user-authenticators/push/challenge?publicKey=${keyQuery(bRes.pushPublicKey)}`, b.tenantBasic))
    expect(pending).toMatchObject({ challengeId: bRes.pushChallengeId, userAuthenticatorId: bRes.pushAuthenticatorId })
    // B's QR code is unclaimed, and B's device may still claim it.
    expect(expectClientOk(await b.client('POST', '/v1/client/verify/qr-code', b.tenantBasic, { challengeId: bRes.qrChallengeId, deviceCode: bRes.qrDeviceCode }))).toMatchObject({
      isClaimed: false,
      isConsumed: false,
    })
    const claim = { challengeId: bRes.qrChallengeId, publicKey: bDevices.qr.publicKey, signature: bDevices.qr.sign(bRes.qrChallengeId) }
    expect(expectClientOk(await b.client('POST', '/v1/client/user-authenticators/qr-code/challenge/claim', b.tenantBasic, claim))).toMatchObject({ success: true })
    // B's signing nonce was not spent by A.
    const update = { challengeId: bRes.signingNonce, publicKey: bDevices.push.publicKey, signature: bDevices.push.sign(bRes.signingNonce) }
    expect(expectClientOk(await b.client('PATCH', '/v1/client/user-authenticators/push', b.tenantBasic, update))).toMatchObject({ userAuthenticatorId: bRes.pushAuthenticatorId })
    // B's in-app challenge verifies once, and B's token validates once.
    expectClientOk(await b.verify(b.tenantBasic, bRes.inAppChallengeId, bDevices.inApp))
    expect(expectOk(await b.server('POST', '/v1/validate', { token: bRes.token }))).toMatchObject({ isValid: true, userId: bRes.userId })
  })
})
