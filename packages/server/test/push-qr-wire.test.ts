// Wire compatibility of push and QR-code with the official Authsignal mobile SDKs (PROTOCOL.md
// §3; research in docs/protocol-decisions.md). Each case replays a call the way the SDK builds
// it — Authorization form, X-Authsignal-* headers, body serialisation (Android pretty-printed
// with `verificationCode: null` always written, iOS compact with nil omitted and `/` escaped),
// body-less POSTs for the sign calls, the publicKey base64-encoded a second time in queries
// (Android standard base64 put in the URL unescaped; iOS base64url) — and decodes the answer
// with that SDK's response models:
//
// * Android v4.2.0: module/src/main/java/com/authsignal/push/api/PushAPI.kt,
//   qr/api/QRCodeAPI.kt, device/api/DeviceAPI.kt and the models under models/api/.
// * iOS v2.12.0: Sources/Authsignal/API/PushAPIClient.swift, QRCodeAPIClient.swift,
//   DeviceAPIClient.swift and the models under API/Models/.
// * React Native (react-native-authsignal) calls the two native SDKs, which add wrapper headers.
//
// The initiating page is played with plain requests here; browser-sdk-compat.test.ts runs the
// real browser SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ErrorCode } from '@countersign/protocol'
import { createHarness, type Harness } from './support/harness.ts'
import { bearer, expectClientOk, expectError, expectOk, tenantApi, uniqueId, type TenantApi } from './support/api.ts'
import {
  androidQueryKey,
  androidResult,
  iosQueryKey,
  iosResult,
  newMobileKey,
  signDer,
  type MobileKey,
  type Model,
  type SdkResult,
} from './support/mobile-sdk-models.ts'

let h: Harness
let api: TenantApi
/** A tenant whose push credentials live 30 days unless their expiry is reset. */
let ttlApi: TenantApi

beforeAll(async () => {
  h = await createHarness()
  api = tenantApi(h, await h.newTenant())
  ttlApi = tenantApi(h, await h.newTenant({ pushCredentialTtlDays: 30 }))
})
afterAll(() => h.close())

const DAY_MS = 86_400_000
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

// ---------------------------------------------------------------------------------------------
// Response models, as each SDK declares them.

const ANDROID_MODELS = {
  // models/api/AppCredentialResponse.kt (expiresAt an ISO string since v4.2.0)
  credential: { userAuthenticatorId: 'String', userId: 'String', verifiedAt: 'String', lastVerifiedAt: 'String?', expiresAt: 'String?' },
  // device/api/models/CredentialResponse.kt
  deviceCredential: { userAuthenticatorId: 'String', verifiedAt: 'String', userId: 'String', lastVerifiedAt: 'String?' },
  // models/api/AppChallengeSignResponse.kt
  challengeSign: { message: 'String?' },
  // models/api/AppChallengeResponse.kt (@42f0d8e): userAuthenticatorId has no default, so it is
  // required in every 200 answer, also when nothing is pending; expiresAt is a Long there.
  pending: {
    userAuthenticatorId: 'String',
    challengeId: 'String?',
    userId: 'String?',
    actionCode: 'String?',
    idempotencyKey: 'String?',
    userAgent: 'String?',
    deviceId: 'String?',
    ipAddress: 'String?',
    custom: 'Object?',
    user: 'Object?',
    expiresAt: 'Long?',
  },
  // device/api/models/DeviceChalllengeResponse.kt
  deviceChallenge: {
    challengeId: 'String?',
    userId: 'String?',
    actionCode: 'String?',
    idempotencyKey: 'String?',
    userAgent: 'String?',
    deviceId: 'String?',
    ipAddress: 'String?',
  },
  // qr/api/models/ClaimChallengeResponse.kt (newest, with custom and user)
  claim: {
    success: 'Boolean',
    userAgent: 'String?',
    ipAddress: 'String?',
    actionCode: 'String?',
    idempotencyKey: 'String?',
    custom: 'Object?',
    user: 'Object?',
  },
  // device/api/models/ClaimChallengeResponse.kt
  deviceClaim: { success: 'Boolean', userAgent: 'String?', ipAddress: 'String?' },
  // models/api/AppUpdateSignResponse.kt (AuthsignalPush.kt then requires both fields)
  updateSign: { challengeId: 'String?', message: 'String?' },
  // models/api/UpdateAppCredentialResponse.kt (v4.2.0)
  updatedCredential: { userAuthenticatorId: 'String', userId: 'String', lastVerifiedAt: 'String', pushToken: 'String?', expiresAt: 'String?' },
} satisfies Record<string, Model>

const IOS_MODELS = {
  // API/Models/App/CredentialResponse.swift (expiresAt a String since v2.12.0)
  credential: { userAuthenticatorId: 'String', verifiedAt: 'String', userId: 'String', lastVerifiedAt: 'String?', expiresAt: 'String?' },
  // API/Models/App/AddCredentialResponse.swift
  added: { userAuthenticatorId: 'String', userId: 'String', verifiedAt: 'String' },
  // API/Models/Device/DeviceCredentialResponse.swift
  deviceCredential: { userAuthenticatorId: 'String', userId: 'String', verifiedAt: 'String', lastVerifiedAt: 'String?' },
  // API/Models/Device/AddDeviceCredentialResponse.swift
  deviceAdded: { userAuthenticatorId: 'String?' },
  // API/Models/App/PushChallengeNonceResponse.swift
  challengeNonce: { message: 'String?' },
  // API/Models/App/PushChallengeResponse.swift (newest, with custom and user): all optional
  pending: {
    challengeId: 'String?',
    userId: 'String?',
    actionCode: 'String?',
    idempotencyKey: 'String?',
    deviceId: 'String?',
    userAgent: 'String?',
    ipAddress: 'String?',
    custom: 'Object?',
    user: 'Object?',
  },
  // API/Models/Device/DeviceChallengeResponse.swift
  deviceChallenge: {
    challengeId: 'String?',
    userId: 'String?',
    actionCode: 'String?',
    idempotencyKey: 'String?',
    deviceId: 'String?',
    userAgent: 'String?',
    ipAddress: 'String?',
  },
  // API/Models/App/ClaimChallengeResponse.swift (newest)
  claim: {
    success: 'Boolean',
    ipAddress: 'String?',
    userAgent: 'String?',
    actionCode: 'String?',
    idempotencyKey: 'String?',
    custom: 'Object?',
    user: 'Object?',
  },
  // API/Models/Device/ClaimDeviceChallengeResponse.swift
  deviceClaim: { success: 'Boolean', ipAddress: 'String?', userAgent: 'String?' },
  // API/Models/Push/UpdateChallengeResponse.swift and Device/UpdateDeviceChallengeResponse.swift:
  // isVerified is required, for a denial too.
  answered: { isVerified: 'Boolean' },
  // API/Models/App/UpdateNonceResponse.swift (AuthsignalPush.swift then requires both fields)
  updateNonce: { challengeId: 'String?', message: 'String?' },
  // API/Models/App/UpdateCredentialResponse.swift (v2.12.0)
  updatedCredential: { userAuthenticatorId: 'String', userId: 'String', lastVerifiedAt: 'String', pushToken: 'String?', expiresAt: 'String?' },
} satisfies Record<string, Model>

type Namespace = 'push' | 'qr-code' | 'device'

/** A pending challenge as AuthsignalPush hands it to the app: none unless both challengeId and userId came. */
function appChallengeOf(result: SdkResult): Record<string, unknown> | null {
  if (!result.data) return null
  return typeof result.data.challengeId === 'string' && typeof result.data.userId === 'string' ? result.data : null
}

// ---------------------------------------------------------------------------------------------
// The SDKs' push and QR calls, as they build them.

interface PushQrSdk {
  name: string
  publicKeyOf(key: MobileKey): string
  /** P2: POST /client/user-authenticators/{ns}, Bearer. */
  addCredential(token: string, key: MobileKey, namespace: Namespace, pushToken?: string): Promise<SdkResult>
  /** P1: GET /client/user-authenticators/{ns}?publicKey=…, tenant Basic. */
  getCredential(key: MobileKey, namespace: Namespace): Promise<SdkResult>
  /** P4: body-less POST …/push/challenge/sign?publicKey=…. */
  challengeSignNonce(key: MobileKey): Promise<SdkResult>
  /** P5 (and the legacy GET …/device/challenge): X-Authsignal-Signature only when given. */
  pendingChallenge(key: MobileKey, namespace: 'push' | 'device', signature?: string): Promise<SdkResult>
  /** P6 and its QR and device twins: approve or deny, signed over the challenge ID. */
  updateChallenge(key: MobileKey, namespace: Namespace, challengeId: string, approved: boolean, options?: { verificationCode?: string; signer?: MobileKey }): Promise<SdkResult>
  /** POST …/{qr-code|device}/challenge/claim, signed over the challenge ID. */
  claimChallenge(key: MobileKey, namespace: 'qr-code' | 'device', challengeId: string): Promise<SdkResult>
  /** P7: body-less POST …/push/sign?publicKey=… (one Android revision: …/push/update/sign). */
  signingMessage(key: MobileKey, path?: 'sign' | 'update/sign'): Promise<SdkResult>
  /** P8: PATCH …/push, signed over the P7 message. */
  patchCredential(key: MobileKey, body: { challengeId: string; signature: string; pushToken?: string; resetExpiry?: boolean }): Promise<SdkResult>
}

interface Wrapper {
  sdk: string
  version: string
}

const base = '/v1/client'

/** authsignal-android v4.2.0 (push/api/PushAPI.kt, qr/api/QRCodeAPI.kt, device/api/DeviceAPI.kt). */
function android(tenantId: string, wrapper?: Wrapper): PushQrSdk {
  // BaseAPI.kt basicAuth: Encoder.toBase64String("$tenantID:") — standard base64, padded.
  const basicAuth = `Basic ${Buffer.from(`${tenantId}:`, 'utf8').toString('base64')}`
  // AuthsignalRequestMetadata.kt, HttpClientFactory.kt (UserAgent), ContentNegotiation (Accept).
  const metadata: Record<string, string> = {
    'user-agent': 'Mozilla/5.0 (Linux; Android 14; Google Pixel 8) AuthsignalAndroidSDK/4.2.0',
    accept: 'application/json',
    'accept-charset': 'UTF-8',
    'x-authsignal-sdk': wrapper?.sdk ?? 'android',
    'x-authsignal-version': wrapper?.version ?? '4.2.0',
    'x-authsignal-tenant-id': tenantId,
    ...(wrapper ? { 'x-authsignal-native-sdk': 'android', 'x-authsignal-native-version': '4.2.0' } : {}),
  }
  // kotlinx Json { prettyPrint = true }: four-space indentation. Properties with a default that
  // still equal it are left out (encodeDefaults = false); those without one, nulls included, are not.
  const send = (method: 'POST' | 'PATCH', url: string, authorization: string, body: object) =>
    h.inject({
      method,
      url,
      headers: { ...metadata, authorization, 'content-type': 'application/json; charset=UTF-8' },
      payload: JSON.stringify(body, null, 4),
    })
  // client.post(url) with only the Authorization header: no body, no Content-Type.
  const postWithoutBody = (url: string) => h.inject({ method: 'POST', url, headers: { ...metadata, authorization: basicAuth } })
  const get = (url: string, extra: Record<string, string> = {}) =>
    h.inject({ method: 'GET', url, headers: { ...metadata, authorization: basicAuth, ...extra } })
  return {
    name: wrapper ? 'React Native on Android' : 'Android',
    publicKeyOf: (key) => key.androidPublicKey,
    async addCredential(token, key, namespace, pushToken) {
      // models/api/AddAppCredentialRequest.kt: pushToken = null is left out.
      const body = { publicKey: key.androidPublicKey, deviceName: 'Google Pixel 8', devicePlatform: 'android', ...(pushToken ? { pushToken } : {}) }
      const response = await send('POST', `${base}/user-authenticators/${namespace}`, `Bearer ${token}`, body)
      return androidResult(response, namespace === 'device' ? ANDROID_MODELS.deviceCredential : ANDROID_MODELS.credential, 'addCredential')
    },
    async getCredential(key, namespace) {
      const response = await get(`${base}/user-authenticators/${namespace}?publicKey=${androidQueryKey(key)}`)
      return androidResult(response, namespace === 'device' ? ANDROID_MODELS.deviceCredential : ANDROID_MODELS.credential, 'getCredential')
    },
    async challengeSignNonce(key) {
      const response = await postWithoutBody(`${base}/user-authenticators/push/challenge/sign?publicKey=${androidQueryKey(key)}`)
      return androidResult(response, ANDROID_MODELS.challengeSign, 'getChallengeSignNonce')
    },
    async pendingChallenge(key, namespace, signature) {
      const response = await get(
        `${base}/user-authenticators/${namespace}/challenge?publicKey=${androidQueryKey(key)}`,
        signature ? { 'x-authsignal-signature': signature } : {},
      )
      return androidResult(response, namespace === 'device' ? ANDROID_MODELS.deviceChallenge : ANDROID_MODELS.pending, 'getChallenge')
    },
    async updateChallenge(key, namespace, challengeId, approved, { verificationCode, signer = key } = {}) {
      // models/api/UpdateAppChallengeRequest.kt (device/api/models/UpdateChallengeRequest.kt):
      // verificationCode has no default, so it is always written, as null when absent.
      const body = { publicKey: key.androidPublicKey, challengeId, signature: signDer(signer, challengeId), approved, verificationCode: verificationCode ?? null }
      const response = await send('POST', `${base}/user-authenticators/${namespace}/challenge`, basicAuth, body)
      // Success is the status alone.
      return androidResult(response, null, 'updateChallenge')
    },
    async claimChallenge(key, namespace, challengeId) {
      // qr/api/models/ClaimChallengeRequest.kt: publicKey, challengeId, signature.
      const body = { publicKey: key.androidPublicKey, challengeId, signature: signDer(key, challengeId) }
      const response = await send('POST', `${base}/user-authenticators/${namespace}/challenge/claim`, basicAuth, body)
      return androidResult(response, namespace === 'device' ? ANDROID_MODELS.deviceClaim : ANDROID_MODELS.claim, 'claimChallenge')
    },
    async signingMessage(key, path = 'sign') {
      const response = await postWithoutBody(`${base}/user-authenticators/push/${path}?publicKey=${androidQueryKey(key)}`)
      return androidResult(response, ANDROID_MODELS.updateSign, 'getSigningMessage')
    },
    async patchCredential(key, { challengeId, signature, pushToken, resetExpiry }) {
      // models/api/UpdateAppCredentialRequest.kt: pushToken = null and resetExpiry = false are left out.
      const body = { challengeId, publicKey: key.androidPublicKey, signature, ...(pushToken ? { pushToken } : {}), ...(resetExpiry ? { resetExpiry } : {}) }
      const response = await send('PATCH', `${base}/user-authenticators/push`, basicAuth, body)
      return androidResult(response, ANDROID_MODELS.updatedCredential, 'updateCredential')
    },
  }
}

/** authsignal-ios v2.12.0 (API/PushAPIClient.swift, QRCodeAPIClient.swift, DeviceAPIClient.swift over BaseAPIClient.swift). */
function ios(tenantId: string, wrapper?: Wrapper): PushQrSdk {
  // BaseAPIClient.swift basicAuth: base64url of "tenantID:", padding stripped.
  const basicAuth = `Basic ${Buffer.from(`${tenantId}:`, 'utf8').toString('base64url')}`
  const metadata: Record<string, string> = {
    'user-agent': `Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) ${wrapper ? 'AuthsignalReactNativeSDK/3.2.0 ' : ''}AuthsignalIOSSDK/2.12.0`,
    accept: '*/*',
    'accept-encoding': 'gzip, deflate, br',
    'accept-language': 'en-GB,en;q=0.9',
    'x-authsignal-sdk': wrapper?.sdk ?? 'ios',
    'x-authsignal-version': wrapper?.version ?? '2.12.0',
    'x-authsignal-tenant-id': tenantId,
    ...(wrapper ? { 'x-authsignal-native-sdk': 'ios', 'x-authsignal-native-version': '2.12.0' } : {}),
  }
  // JSONEncoder: compact, nil optionals left out, `/` escaped as `\/`.
  const send = (method: 'POST' | 'PATCH', url: string, authorization: string, body: object) =>
    h.inject({
      method,
      url,
      headers: { ...metadata, authorization, 'content-type': 'application/json' },
      payload: JSON.stringify(body).replace(/\//g, '\\/'),
    })
  // BaseAPIClient.swift postRequest(url:): no httpBody and no Content-Type. Sent here with a zero
  // Content-Length; the body-less POST test below covers no length at all.
  const postWithoutBody = (url: string) =>
    h.inject({ method: 'POST', url, headers: { ...metadata, authorization: basicAuth, 'content-length': '0' } })
  const get = (url: string, extra: Record<string, string> = {}) =>
    h.inject({ method: 'GET', url, headers: { ...metadata, authorization: basicAuth, ...extra } })
  return {
    name: wrapper ? 'React Native on iOS' : 'iOS',
    publicKeyOf: (key) => key.iosPublicKey,
    async addCredential(token, key, namespace, pushToken) {
      const body = { publicKey: key.iosPublicKey, deviceName: 'Ana’s iPhone', devicePlatform: 'ios', ...(pushToken ? { pushToken } : {}) }
      const response = await send('POST', `${base}/user-authenticators/${namespace}`, `Bearer ${token}`, body)
      return iosResult(response, namespace === 'device' ? IOS_MODELS.deviceAdded : IOS_MODELS.added, 'addCredential')
    },
    async getCredential(key, namespace) {
      const response = await get(`${base}/user-authenticators/${namespace}?publicKey=${iosQueryKey(key)}`)
      return iosResult(response, namespace === 'device' ? IOS_MODELS.deviceCredential : IOS_MODELS.credential, 'getCredential')
    },
    async challengeSignNonce(key) {
      const response = await postWithoutBody(`${base}/user-authenticators/push/challenge/sign?publicKey=${iosQueryKey(key)}`)
      return iosResult(response, IOS_MODELS.challengeNonce, 'getChallengeNonce')
    },
    async pendingChallenge(key, namespace, signature) {
      const response = await get(
        `${base}/user-authenticators/${namespace}/challenge?publicKey=${iosQueryKey(key)}`,
        signature ? { 'x-authsignal-signature': signature } : {},
      )
      return iosResult(response, namespace === 'device' ? IOS_MODELS.deviceChallenge : IOS_MODELS.pending, 'getChallenge')
    },
    async updateChallenge(key, namespace, challengeId, approved, { verificationCode, signer = key } = {}) {
      // Models/App/UpdateChallengeRequest.swift: verificationCode left out when nil.
      const body = { challengeId, publicKey: key.iosPublicKey, approved, signature: signDer(signer, challengeId), ...(verificationCode ? { verificationCode } : {}) }
      const response = await send('POST', `${base}/user-authenticators/${namespace}/challenge`, basicAuth, body)
      return iosResult(response, IOS_MODELS.answered, 'updateChallenge')
    },
    async claimChallenge(key, namespace, challengeId) {
      const body = { challengeId, publicKey: key.iosPublicKey, signature: signDer(key, challengeId) }
      const response = await send('POST', `${base}/user-authenticators/${namespace}/challenge/claim`, basicAuth, body)
      return iosResult(response, namespace === 'device' ? IOS_MODELS.deviceClaim : IOS_MODELS.claim, 'claimChallenge')
    },
    async signingMessage(key, path = 'sign') {
      const response = await postWithoutBody(`${base}/user-authenticators/push/${path}?publicKey=${iosQueryKey(key)}`)
      return iosResult(response, IOS_MODELS.updateNonce, 'getSigningMessage')
    },
    async patchCredential(key, { challengeId, signature, pushToken, resetExpiry }) {
      // Models/App/UpdateCredentialRequest.swift: pushToken and resetExpiry optional, left out when nil.
      const body = { challengeId, publicKey: key.iosPublicKey, signature, ...(pushToken ? { pushToken } : {}), ...(resetExpiry ? { resetExpiry } : {}) }
      const response = await send('PATCH', `${base}/user-authenticators/push`, basicAuth, body)
      return iosResult(response, IOS_MODELS.updatedCredential, 'updateCredential')
    },
  }
}

const SDKS = [
  { name: 'Android', create: (tenantId: string) => android(tenantId) },
  { name: 'iOS', create: (tenantId: string) => ios(tenantId) },
  // react-native-authsignal android/ and ios/ modules: the native SDKs with wrapper metadata.
  { name: 'React Native on Android', create: (tenantId: string) => android(tenantId, { sdk: 'react-native', version: '3.2.0' }) },
  { name: 'React Native on iOS', create: (tenantId: string) => ios(tenantId, { sdk: 'react-native', version: '3.2.0' }) },
]

/**
 * AuthsignalPush.kt / AuthsignalPush.swift getChallenge: ask for a nonce, sign it, fetch with
 * X-Authsignal-Signature; without a nonce (the call failed) or a signature (the key could not
 * sign), fetch without the header.
 */
async function getChallengeAsSdk(sdk: PushQrSdk, key: MobileKey, options: { nonceCallFails?: boolean; signingFails?: boolean } = {}) {
  if (options.nonceCallFails) return sdk.pendingChallenge(key, 'push')
  const nonce = await sdk.challengeSignNonce(key)
  const message = nonce.data?.message
  if (typeof message !== 'string' || options.signingFails) return sdk.pendingChallenge(key, 'push')
  return sdk.pendingChallenge(key, 'push', signDer(key, message))
}

/** AuthsignalPush.kt updateCredential / AuthsignalPush.swift updateCredential: P7, sign its message, P8. */
async function updateCredentialAsSdk(
  sdk: PushQrSdk,
  key: MobileKey,
  change: { pushToken?: string; resetExpiry?: boolean },
  path: 'sign' | 'update/sign' = 'sign',
): Promise<SdkResult> {
  const signing = await sdk.signingMessage(key, path)
  expect(signing.errorCode, `${sdk.name} signing message`).toBeUndefined()
  // "Invalid signing message response." unless both fields came.
  expect(signing.data, `${sdk.name}: AuthsignalPush requires challengeId and message`).toMatchObject({
    challengeId: expect.any(String),
    message: expect.any(String),
  })
  const { challengeId, message } = signing.data as { challengeId: string; message: string }
  return sdk.patchCredential(key, { challengeId, signature: signDer(key, message), ...change })
}

// ---------------------------------------------------------------------------------------------
// The initiating page, as @authsignal/browser sends its calls.

const PAGE_USER_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15'

function pageHeaders(authorization: string): Record<string, string> {
  return { authorization, 'content-type': 'application/json', 'user-agent': PAGE_USER_AGENT, origin: 'https://shop.example' }
}

/** helpers.ts buildHeaders without a token: base64(encodeURIComponent(tenantId)), no colon. */
function pageTenantBasic(tenantId: string): string {
  return `Basic ${Buffer.from(encodeURIComponent(tenantId)).toString('base64')}`
}

async function pageStartsPush(token: string, action: string): Promise<string> {
  const res = await h.inject({ method: 'POST', url: `${base}/challenge/push`, headers: pageHeaders(bearer(token)), payload: JSON.stringify({ action }) })
  return expectClientOk(res).challengeId
}

async function pagePollsPush(token: string, challengeId: string): Promise<Record<string, unknown>> {
  const res = await h.inject({ method: 'POST', url: `${base}/verify/push`, headers: pageHeaders(bearer(token)), payload: JSON.stringify({ challengeId }) })
  return expectClientOk(res)
}

async function pageCreatesQr(tenant: TenantApi, action: string, custom?: Record<string, unknown>): Promise<{ challengeId: string; deviceCode: string; expiresAt: string }> {
  const res = await h.inject({
    method: 'POST',
    url: `${base}/challenge/qr-code`,
    headers: pageHeaders(pageTenantBasic(tenant.tenant.tenantId)),
    payload: JSON.stringify({ action, custom }),
  })
  return expectClientOk(res)
}

async function pagePollsQr(tenant: TenantApi, challengeId: string, deviceCode: string): Promise<Record<string, unknown>> {
  const res = await h.inject({
    method: 'POST',
    url: `${base}/verify/qr-code`,
    headers: pageHeaders(pageTenantBasic(tenant.tenant.tenantId)),
    payload: JSON.stringify({ challengeId, deviceCode }),
  })
  return expectClientOk(res)
}

async function validate(tenant: TenantApi, token: string): Promise<Record<string, unknown>> {
  return expectOk(await tenant.server('POST', '/v1/validate', { token }))
}

/** The user enrolls the phone with the SDK (first authenticator: a track token of any action). */
async function enrollWithSdk(
  sdk: PushQrSdk,
  tenant: TenantApi,
  namespace: Namespace,
  pushToken?: string,
): Promise<{ userId: string; key: MobileKey; credentialId: string; added: SdkResult }> {
  const userId = uniqueId(`pq-${namespace}`)
  const key = newMobileKey()
  const { token } = await tenant.track(userId, 'enrollDevice')
  const added = await sdk.addCredential(token, key, namespace, pushToken)
  expect(added.errorCode, `${sdk.name} addCredential: ${added.error}`).toBeUndefined()
  const credentialId = added.data!.userAuthenticatorId
  expect(credentialId).toEqual(expect.any(String))
  return { userId, key, credentialId: credentialId as string, added }
}

function expectRefusal(result: SdkResult, status: number, code: ErrorCode): void {
  expect({ status: result.status, errorCode: result.errorCode }).toEqual({ status, errorCode: code })
  expect(result.error, 'the SDK shows a message').toEqual(expect.any(String))
  expectError(result.response, status, code)
}

// ---------------------------------------------------------------------------------------------

describe.each(SDKS)('$name SDK: push and QR against the Client API', ({ create }) => {
  let sdk: PushQrSdk
  let ttlSdk: PushQrSdk
  beforeAll(() => {
    sdk = create(api.tenant.tenantId)
    ttlSdk = create(ttlApi.tenant.tenantId)
  })

  // AuthsignalPush.kt / AuthsignalPush.swift: addCredential(pushToken), getChallenge, updateChallenge.
  it('push: add with a push token, fetch the pending challenge with a signed nonce, approve; the page gets the token', async () => {
    const { userId, key, credentialId } = await enrollWithSdk(sdk, api, 'push', 'fcm-or-apns-token-1')
    const found = await sdk.getCredential(key, 'push')
    expect(found.data).toMatchObject({ userAuthenticatorId: credentialId, userId, verifiedAt: expect.stringMatching(ISO) })

    // The backend tracks a payment; the page starts a push with the track token.
    const payment = await api.track(userId, 'authorizePayment')
    expect(payment.state).toBe('CHALLENGE_REQUIRED')
    const challengeId = await pageStartsPush(payment.token, 'authorizePayment')

    // The phone: nonce, signature, fetch.
    const fetched = await getChallengeAsSdk(sdk, key)
    expect(fetched.errorCode, fetched.error).toBeUndefined()
    const challenge = appChallengeOf(fetched)
    expect(challenge).toMatchObject({
      challengeId,
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey: payment.idempotencyKey,
      userAgent: PAGE_USER_AGENT,
      ipAddress: expect.any(String),
    })
    expect(fetched.response.json().userAuthenticatorId).toBe(credentialId)

    // Not answered yet: the page sees it pending.
    expect(await pagePollsPush(payment.token, challengeId)).toMatchObject({ isVerified: false, isConsumed: false })

    const approved = await sdk.updateChallenge(key, 'push', challengeId, true)
    expect(approved.errorCode, approved.error).toBeUndefined()
    expect(approved.response.json()).toEqual({ isVerified: true })

    const polled = await pagePollsPush(payment.token, challengeId)
    expect(polled).toMatchObject({ isVerified: true, isConsumed: true, accessToken: expect.any(String) })
    expect(await validate(api, polled.accessToken as string)).toMatchObject({
      isValid: true,
      state: 'CHALLENGE_SUCCEEDED',
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey: payment.idempotencyKey,
      verificationMethod: 'PUSH',
    })

    // Answered: nothing is pending any more.
    const after = await getChallengeAsSdk(sdk, key)
    expect(after.errorCode).toBeUndefined()
    expect(appChallengeOf(after)).toBeNull()
  })

  // PushAPI.kt getChallenge / PushAPIClient.swift getChallenge with nothing pending.
  it('push: nothing pending is a 200 with userAuthenticatorId and no challengeId, signed or not', async () => {
    const { key, credentialId } = await enrollWithSdk(sdk, api, 'push')
    for (const fetched of [await getChallengeAsSdk(sdk, key), await sdk.pendingChallenge(key, 'push')]) {
      expect(fetched.status).toBe(200)
      expect(fetched.errorCode).toBeUndefined()
      expect(appChallengeOf(fetched)).toBeNull()
      // Android's AppChallengeResponse requires it; the decode above already checked the type.
      expect(fetched.response.json()).toMatchObject({ userAuthenticatorId: credentialId })
      expect(fetched.response.json().challengeId ?? null).toBeNull()
    }
  })

  // AuthsignalPush.kt getChallenge: `nonceResponse.data?.message ?: return api.getChallenge(publicKey)`,
  // and the same fallback when the key cannot sign; AuthsignalPush.swift likewise.
  it('push: when the nonce call fails, or signing it fails, the unsigned fetch still finds the challenge', async () => {
    const { userId, key } = await enrollWithSdk(sdk, api, 'push')
    const payment = await api.track(userId, 'authorizePayment')
    const challengeId = await pageStartsPush(payment.token, 'authorizePayment')

    const withoutNonce = await getChallengeAsSdk(sdk, key, { nonceCallFails: true })
    expect(appChallengeOf(withoutNonce)).toMatchObject({ challengeId, userId })

    // A nonce was issued but never signed (biometric prompt cancelled): the fetch goes unsigned.
    const unsigned = await getChallengeAsSdk(sdk, key, { signingFails: true })
    expect(appChallengeOf(unsigned)).toMatchObject({ challengeId, userId })

    // And the next signed fetch, with a fresh nonce, works too.
    const signed = await getChallengeAsSdk(sdk, key)
    expect(appChallengeOf(signed)).toMatchObject({ challengeId, userId })

    expect((await sdk.updateChallenge(key, 'push', challengeId, true)).errorCode).toBeUndefined()
    expect(await pagePollsPush(payment.token, challengeId)).toMatchObject({ isVerified: true })
  })

  // AuthsignalPush updateChallenge(approved: false); iOS decodes {isVerified} for a denial too.
  it('push: deny answers {isVerified: false}; the page sees it consumed and not verified', async () => {
    const { userId, key } = await enrollWithSdk(sdk, api, 'push')
    const payment = await api.track(userId, 'authorizePayment')
    const challengeId = await pageStartsPush(payment.token, 'authorizePayment')
    const pending = appChallengeOf(await getChallengeAsSdk(sdk, key))
    expect(pending?.challengeId).toBe(challengeId)

    const denied = await sdk.updateChallenge(key, 'push', challengeId, false)
    expect(denied.errorCode, denied.error).toBeUndefined()
    expect(denied.status).toBe(200)
    expect(denied.response.json()).toEqual({ isVerified: false })

    const polled = await pagePollsPush(payment.token, challengeId)
    expect(polled).toMatchObject({ isVerified: false, isConsumed: true })
    expect(polled).not.toHaveProperty('accessToken')
    const action = expectOk(await api.server('GET', `/v1/users/${encodeURIComponent(userId)}/actions/authorizePayment/${payment.idempotencyKey}`))
    expect(action.state).toBe('CHALLENGE_FAILED')
  })

  // AuthsignalQRCode.kt / AuthsignalQRCode.swift: addCredential, claimChallenge, updateChallenge.
  it('QR: the phone claims a scanned code and approves it; the page sees claimed, then approved with the token', async () => {
    const { userId, key, credentialId } = await enrollWithSdk(sdk, api, 'qr-code')
    expect((await sdk.getCredential(key, 'qr-code')).data).toMatchObject({ userAuthenticatorId: credentialId, userId })

    // A login page with no token: tenant Basic, an action and custom display data.
    const qr = await pageCreatesQr(api, 'signInWithQr', { location: 'Front desk' })
    expect(qr).toMatchObject({ challengeId: expect.any(String), deviceCode: expect.any(String), expiresAt: expect.stringMatching(ISO) })
    expect(await pagePollsQr(api, qr.challengeId, qr.deviceCode)).toMatchObject({ isClaimed: false, isConsumed: false, isVerified: false })

    const claimed = await sdk.claimChallenge(key, 'qr-code', qr.challengeId)
    expect(claimed.errorCode, claimed.error).toBeUndefined()
    expect(claimed.data).toMatchObject({
      success: true,
      actionCode: 'signInWithQr',
      custom: { location: 'Front desk' },
      userAgent: PAGE_USER_AGENT,
      ipAddress: expect.any(String),
    })
    expect(await pagePollsQr(api, qr.challengeId, qr.deviceCode)).toMatchObject({ isClaimed: true, isConsumed: false, isVerified: false })

    const approved = await sdk.updateChallenge(key, 'qr-code', qr.challengeId, true)
    expect(approved.errorCode, approved.error).toBeUndefined()
    expect(approved.response.json()).toEqual({ isVerified: true })

    const polled = await pagePollsQr(api, qr.challengeId, qr.deviceCode)
    expect(polled).toMatchObject({ isClaimed: true, isConsumed: true, isVerified: true, accessToken: expect.any(String) })
    expect(await validate(api, polled.accessToken as string)).toMatchObject({
      isValid: true,
      state: 'CHALLENGE_SUCCEEDED',
      userId,
      actionCode: 'signInWithQr',
      verificationMethod: 'QR_CODE',
    })
  })

  it('QR: a claimed code denied; the page sees claimed, consumed and not verified', async () => {
    const { key } = await enrollWithSdk(sdk, api, 'qr-code')
    const qr = await pageCreatesQr(api, 'signInWithQr')
    expect((await sdk.claimChallenge(key, 'qr-code', qr.challengeId)).data).toMatchObject({ success: true })
    const denied = await sdk.updateChallenge(key, 'qr-code', qr.challengeId, false)
    expect(denied.errorCode, denied.error).toBeUndefined()
    expect(denied.response.json()).toEqual({ isVerified: false })
    const polled = await pagePollsQr(api, qr.challengeId, qr.deviceCode)
    expect(polled).toMatchObject({ isClaimed: true, isConsumed: true, isVerified: false })
    expect(polled).not.toHaveProperty('accessToken')
  })

  // TenantSettings.pushCredentialTtlDays: "Days a push credential stays usable after enrollment
  // or its last expiry reset". The SDKs decode the lifetime as expiresAt (AppCredential.kt,
  // AppCredential.swift isExpired) and apps reset it with updateCredential(resetExpiry: true).
  it('a push credential enrolled with pushCredentialTtlDays = 30 expires 30 days after enrollment', async () => {
    const enrolledAt = h.clock()
    const { key, added } = await enrollWithSdk(ttlSdk, ttlApi, 'push', 'token-at-enrollment')
    const found = await ttlSdk.getCredential(key, 'push')
    expect(found.errorCode, found.error).toBeUndefined()
    expect(found.data!.expiresAt, 'GET credential: expiresAt after enrollment').toEqual(expect.stringMatching(ISO))
    expect(Date.parse(found.data!.expiresAt as string)).toBeGreaterThanOrEqual(enrolledAt + 30 * DAY_MS - 1000)
    // Android v4.2.0 reads it from the add-credential answer as well (PushAPI.kt addCredential).
    expect(added.response.json().expiresAt, 'add credential: expiresAt').toBe(found.data!.expiresAt)
  })

  // AuthsignalPush.kt updateCredential(pushToken, resetExpiry) over PushAPI.kt getSigningMessage +
  // updateCredential; AuthsignalPush.swift updateCredential over PushAPIClient.swift.
  it('credential update: a new push token keeps the expiry; resetExpiry sets it 30 days on and keeps the token', async () => {
    const { userId, key, credentialId } = await enrollWithSdk(ttlSdk, ttlApi, 'push', 'token-before')
    const before = (await ttlSdk.getCredential(key, 'push')).data!.expiresAt

    // A rotated push token: the expiry stays where it was.
    const rotated = await updateCredentialAsSdk(ttlSdk, key, { pushToken: 'token-after' })
    expect(rotated.errorCode, rotated.error).toBeUndefined()
    expect(rotated.data).toMatchObject({ userAuthenticatorId: credentialId, userId, lastVerifiedAt: expect.stringMatching(ISO), pushToken: 'token-after' })
    expect(rotated.data!.expiresAt).toBe(before)

    // Ten days on, the app keeps the credential alive without a token: the stored one is kept.
    h.clock.advance(10 * DAY_MS)
    const kept = await updateCredentialAsSdk(ttlSdk, key, { resetExpiry: true })
    expect(kept.errorCode, kept.error).toBeUndefined()
    expect(kept.data).toMatchObject({ userAuthenticatorId: credentialId, userId, pushToken: 'token-after', expiresAt: expect.stringMatching(ISO) })
    const resetTo = Date.parse(kept.data!.expiresAt as string)
    expect(resetTo).toBeGreaterThanOrEqual(h.clock() + 30 * DAY_MS - 1000)
    expect(resetTo).toBeLessThanOrEqual(h.clock() + 30 * DAY_MS + 1000)
    expect((await ttlSdk.getCredential(key, 'push')).data!.expiresAt).toBe(kept.data!.expiresAt)

    // Older iOS (UpdateCredentialRequest.swift @12e3982) and an interim Android: pushToken
    // always sent, no resetExpiry; one Android revision asked …/push/update/sign for the message.
    const legacy = await updateCredentialAsSdk(ttlSdk, key, { pushToken: 'token-legacy' }, 'update/sign')
    expect(legacy.errorCode, legacy.error).toBeUndefined()
    expect(legacy.data).toMatchObject({ pushToken: 'token-legacy', expiresAt: kept.data!.expiresAt })

    // Android v4.2.0 updateCredential() with neither: a keep-alive that changes nothing else.
    const bare = await updateCredentialAsSdk(ttlSdk, key, {})
    expect(bare.errorCode, bare.error).toBeUndefined()
    expect(bare.data).toMatchObject({ pushToken: 'token-legacy', expiresAt: kept.data!.expiresAt })
  })

  it('credential update: a message is used once, a wrong signature is refused, an expired credential stays expired', async () => {
    const { key } = await enrollWithSdk(ttlSdk, ttlApi, 'push')
    const signing = await ttlSdk.signingMessage(key)
    const { challengeId, message } = signing.data as { challengeId: string; message: string }

    const forged = await ttlSdk.patchCredential(key, { challengeId, signature: signDer(newMobileKey(), message), resetExpiry: true })
    expectRefusal(forged, 401, 'invalid_signature')

    const once = await ttlSdk.patchCredential(key, { challengeId, signature: signDer(key, message), resetExpiry: true })
    expect(once.errorCode, once.error).toBeUndefined()
    const replayed = await ttlSdk.patchCredential(key, { challengeId, signature: signDer(key, message), resetExpiry: true })
    expectRefusal(replayed, 400, 'invalid_challenge')

    // Past its 30 days without a reset, the credential cannot be revived.
    h.clock.advance(31 * DAY_MS)
    const late = await ttlSdk.signingMessage(key)
    expect(late.errorCode, 'the nonce is handed out whatever the key (it reveals nothing)').toBeUndefined()
    const { challengeId: lateId, message: lateMessage } = late.data as { challengeId: string; message: string }
    const revived = await ttlSdk.patchCredential(key, { challengeId: lateId, signature: signDer(key, lateMessage), resetExpiry: true })
    expectRefusal(revived, 400, 'invalid_challenge')
    const pending = await ttlSdk.pendingChallenge(key, 'push')
    expectRefusal(pending, 401, 'invalid_credential')
  })

  // device/AuthsignalDevice.kt over device/api/DeviceAPI.kt; AuthsignalDevice.swift over API/DeviceAPIClient.swift.
  it('legacy device namespace: GET /device/challenge with no nonce, approve at /device/challenge, QR claim at /device/challenge/claim', async () => {
    const { userId, key, credentialId } = await enrollWithSdk(sdk, api, 'device')
    expect((await sdk.getCredential(key, 'device')).data).toMatchObject({ userAuthenticatorId: credentialId, userId })

    // Nothing pending: the device models are all optional; no challengeId means none.
    const idle = await sdk.pendingChallenge(key, 'device')
    expect(idle.errorCode, idle.error).toBeUndefined()
    expect(appChallengeOf(idle)).toBeNull()

    // Push, fetched the old way: no nonce step, no X-Authsignal-Signature.
    const payment = await api.track(userId, 'authorizePayment')
    const challengeId = await pageStartsPush(payment.token, 'authorizePayment')
    const fetched = await sdk.pendingChallenge(key, 'device')
    expect(fetched.errorCode, fetched.error).toBeUndefined()
    expect(appChallengeOf(fetched)).toMatchObject({ challengeId, userId, actionCode: 'authorizePayment', idempotencyKey: payment.idempotencyKey })
    const approved = await sdk.updateChallenge(key, 'device', challengeId, true)
    expect(approved.errorCode, approved.error).toBeUndefined()
    expect(approved.response.json()).toEqual({ isVerified: true })
    const polled = await pagePollsPush(payment.token, challengeId)
    expect(polled).toMatchObject({ isVerified: true, accessToken: expect.any(String) })
    expect(await validate(api, polled.accessToken as string)).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED', userId })

    // QR with the same credential.
    const qr = await pageCreatesQr(api, 'signInWithQr')
    const claimed = await sdk.claimChallenge(key, 'device', qr.challengeId)
    expect(claimed.errorCode, claimed.error).toBeUndefined()
    expect(claimed.data).toMatchObject({ success: true, userAgent: PAGE_USER_AGENT, ipAddress: expect.any(String) })
    const qrApproved = await sdk.updateChallenge(key, 'device', qr.challengeId, true)
    expect(qrApproved.errorCode, qrApproved.error).toBeUndefined()
    expect(qrApproved.response.json()).toEqual({ isVerified: true })
    const qrPolled = await pagePollsQr(api, qr.challengeId, qr.deviceCode)
    expect(qrPolled).toMatchObject({ isVerified: true, accessToken: expect.any(String) })
    expect(await validate(api, qrPolled.accessToken as string)).toMatchObject({ isValid: true, userId, actionCode: 'signInWithQr' })
  })

  // APIError.kt mapToErrorResponse; BaseAPIClient.swift performRequest (non-200 branch).
  it('refusals carry error, errorCode and errorDescription the SDKs decode', async () => {
    const { userId, key } = await enrollWithSdk(sdk, api, 'push')

    // A key no credential holds: fetch refused (not "nothing pending").
    const stranger = newMobileKey()
    expectRefusal(await sdk.pendingChallenge(stranger, 'push'), 401, 'invalid_credential')

    const payment = await api.track(userId, 'authorizePayment')
    const challengeId = await pageStartsPush(payment.token, 'authorizePayment')

    // A spent nonce: the signature cannot be replayed on a later fetch.
    const nonce = (await sdk.challengeSignNonce(key)).data!.message as string
    const signature = signDer(key, nonce)
    expect(appChallengeOf(await sdk.pendingChallenge(key, 'push', signature))).toMatchObject({ challengeId })
    expectRefusal(await sdk.pendingChallenge(key, 'push', signature), 400, 'invalid_challenge')
    // A signature by another key over a fresh nonce.
    const fresh = (await sdk.challengeSignNonce(key)).data!.message as string
    expectRefusal(await sdk.pendingChallenge(key, 'push', signDer(stranger, fresh)), 401, 'invalid_signature')

    // Answers: a key no credential holds, a signature by another key, an unknown challenge, then
    // a second answer to the same one.
    expectRefusal(await sdk.updateChallenge(stranger, 'push', challengeId, true), 401, 'invalid_credential')
    expectRefusal(await sdk.updateChallenge(key, 'push', challengeId, true, { signer: stranger }), 401, 'invalid_signature')
    expectRefusal(await sdk.updateChallenge(key, 'push', '2f0c8a4e-0000-4000-8000-000000000000', true), 400, 'invalid_challenge')
    expect((await sdk.updateChallenge(key, 'push', challengeId, true)).errorCode).toBeUndefined()
    expectRefusal(await sdk.updateChallenge(key, 'push', challengeId, false), 409, 'challenge_consumed')

    // QR: answered before it was claimed; claimed by a second phone of another user.
    const qr = await pageCreatesQr(api, 'signInWithQr')
    const { key: qrKey } = await enrollWithSdk(sdk, api, 'qr-code')
    expectRefusal(await sdk.updateChallenge(qrKey, 'qr-code', qr.challengeId, true), 409, 'challenge_not_claimed')
    expect((await sdk.claimChallenge(qrKey, 'qr-code', qr.challengeId)).data).toMatchObject({ success: true })
    const { key: otherKey } = await enrollWithSdk(sdk, api, 'qr-code')
    const second = await sdk.claimChallenge(otherKey, 'qr-code', qr.challengeId)
    expect(second.status, 'a failed claim is an error, never a 200 with success: false').not.toBe(200)
    expectRefusal(second, 400, 'invalid_challenge')
  })
})

describe('body-less POSTs and query encodings', () => {
  // PushAPI.kt getChallengeSignNonce / getSigningMessage: client.post(url) with no body.
  it('the sign calls answer with no body at all, with Content-Length: 0, and with a stray JSON Content-Type and no body', async () => {
    const sdk = android(api.tenant.tenantId)
    const { key } = await enrollWithSdk(sdk, api, 'push')
    const authorization = `Basic ${Buffer.from(`${api.tenant.tenantId}:`).toString('base64')}`
    for (const path of ['push/challenge/sign', 'push/sign', 'push/update/sign']) {
      for (const extra of [{}, { 'content-length': '0' }, { 'content-type': 'application/json', 'content-length': '0' }]) {
        const res = await h.inject({
          method: 'POST',
          url: `${base}/user-authenticators/${path}?publicKey=${androidQueryKey(key)}`,
          headers: { authorization, ...extra },
        })
        expect(res.statusCode, `${path} ${JSON.stringify(extra)}: ${res.body}`).toBe(200)
        expect(res.json().message).toEqual(expect.any(String))
      }
    }
  })

  // Encoder.kt toBase64String put in the URL raw. Base64 of base64 text never holds `+` or `/`:
  // every input byte is an ASCII letter, digit, `+`, `/` or `=`, and only a byte ending in six 1
  // bits or 111110 (`?`, `>`, `~`, DEL) could produce them. So only `=` reaches the query
  // unescaped; a single-encoded key sent the same way would bring `+` (read as a space).
  it('the Android query key: double-encoded it holds only `=` unescaped; single-encoded with a raw `+`, it still goes through', async () => {
    const sdk = android(api.tenant.tenantId)
    let enrolled = await enrollWithSdk(sdk, api, 'push')
    for (let i = 0; i < 20 && !enrolled.key.androidPublicKey.includes('+'); i++) enrolled = await enrollWithSdk(sdk, api, 'push')
    const { key, credentialId } = enrolled
    expect(key.androidPublicKey).toContain('+')
    const doubled = androidQueryKey(key)
    expect(doubled).toMatch(/^[A-Za-z0-9]+=*$/)
    const authorization = `Basic ${Buffer.from(`${api.tenant.tenantId}:`).toString('base64')}`
    for (const query of [doubled, encodeURIComponent(doubled), iosQueryKey(key), key.androidPublicKey, encodeURIComponent(key.androidPublicKey)]) {
      const res = await h.inject({ method: 'GET', url: `${base}/user-authenticators/push/challenge?publicKey=${query}`, headers: { authorization } })
      expect(res.statusCode, `${query}: ${res.body}`).toBe(200)
      expect(res.json()).toMatchObject({ userAuthenticatorId: credentialId })
    }
  })
})
