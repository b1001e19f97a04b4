// Wire compatibility with the official Authsignal mobile SDKs (PROTOCOL.md §1, §3). Each case
// replays a Client API call the way that SDK builds it (Authorization form, X-Authsignal-*
// headers, body serialisation, publicKey query encoding, signed message, key and signature
// encodings), and checks the answer against what that SDK's decoder needs:
//
// * Android (authsignal/authsignal-android, Ktor + kotlinx.serialization with
//   ignoreUnknownKeys = true): success only on 200; the body must be `application/json`; a
//   non-null `String` field must be a JSON string, a `String?` may be absent or null. Errors
//   are decoded as {error: String (required), errorCode?, errorDescription?}.
// * iOS (authsignal/authsignal-ios, URLSession + Codable, unknown keys ignored): success only
//   on 200; every body, error or not, must parse with JSONSerialization; errors are read as
//   `error`, `errorCode`, `errorDescription` strings.
// * React Native (authsignal/react-native-authsignal) makes no HTTP calls of its own for
//   in-app: its native modules call the two SDKs above, which then send wrapper headers.
//
// Bytes are built here with node:crypto; nothing is taken from the server's own helpers.
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryRows } from '../src/storage/database.ts'
import { createHarness, type Harness } from './support/harness.ts'
import { claimsOf, expectError, expectOk, tenantApi, uniqueId, type Response, type TenantApi } from './support/api.ts'
import { androidResult, iosResult, newMobileKey, signDer, type MobileKey, type Model, type SdkResult } from './support/mobile-sdk-models.ts'

let h: Harness
let api: TenantApi

beforeAll(async () => {
  h = await createHarness()
  api = tenantApi(h, await h.newTenant())
})
afterAll(() => h.close())

// ---------------------------------------------------------------------------------------------
// Decoders: the response models' field types, as each SDK declares them.

const ANDROID_MODELS = {
  // module/src/main/java/com/authsignal/models/api/AppCredentialResponse.kt
  // (+ expiresAt as an ISO string since the push-credential expiry of v4.2.0, AppCredential.kt)
  credential: { userAuthenticatorId: 'String', userId: 'String', verifiedAt: 'String', lastVerifiedAt: 'String?', expiresAt: 'String?' },
  // module/src/main/java/com/authsignal/models/ChallengeResponse.kt
  challenge: { challengeId: 'String', nonce: 'String?' },
  // module/src/main/java/com/authsignal/inapp/api/models/InAppVerifyResponse.kt (and device/api/models/VerifyDeviceResponse.kt)
  verify: { token: 'String', userId: 'String', userAuthenticatorId: 'String', username: 'String?' },
} satisfies Record<string, Model>

const IOS_MODELS = {
  // Sources/Authsignal/API/Models/App/CredentialResponse.swift (expiresAt a String since v2.12.0,
  // the release that implements push-credential expiry; earlier revisions declared a Double)
  credential: { userAuthenticatorId: 'String', verifiedAt: 'String', userId: 'String', lastVerifiedAt: 'String?', expiresAt: 'String?' },
  // Sources/Authsignal/API/Models/App/AddCredentialResponse.swift
  added: { userAuthenticatorId: 'String', userId: 'String', verifiedAt: 'String' },
  // Sources/Authsignal/API/Models/ChallengeResponse.swift
  challenge: { challengeId: 'String', nonce: 'String?' },
  // Sources/Authsignal/API/Models/App/InAppVerifyResponse.swift (and Models/Device/VerifyDeviceResponse.swift)
  verify: { token: 'String', userId: 'String', userAuthenticatorId: 'String', username: 'String?' },
  // Sources/Authsignal/API/Models/Push/RemoveCredentialResponse.swift (and Models/Device/RemoveDeviceCredentialResponse.swift)
  removed: { removedAuthenticatorId: 'String?' },
  // Sources/Authsignal/API/Models/Device/DeviceCredentialResponse.swift
  deviceCredential: { userAuthenticatorId: 'String', userId: 'String', verifiedAt: 'String', lastVerifiedAt: 'String?' },
  // Sources/Authsignal/API/Models/Device/AddDeviceCredentialResponse.swift
  deviceAdded: { userAuthenticatorId: 'String?' },
} satisfies Record<string, Model>

/**
 * The remove-credential message: floor(seconds / 600) as a Kotlin Double.toString or Swift
 * String(Double) renders a whole number below 10^7 (Signature.kt signWithTimeBasedMessage,
 * Signature.swift signWithTimeBasedMessage).
 */
function timeBucketMessage(nowMs: number): string {
  const bucket = Math.floor(Math.floor(nowMs / 1000) / 600)
  expect(bucket).toBeLessThan(1e7) // past that both render an exponent; not before the year 2160
  return `${bucket}.0`
}

// ---------------------------------------------------------------------------------------------
// The SDKs' HTTP clients, as they build requests.

interface Wrapper {
  sdk: string
  version: string
}

interface MobileSdk {
  name: string
  publicKeyOf(key: MobileKey): string
  getCredential(key: MobileKey, namespace?: string): Promise<SdkResult>
  addCredential(token: string, key: MobileKey, extra?: Record<string, unknown>, namespace?: string): Promise<SdkResult>
  removeCredential(key: MobileKey, namespace?: string, message?: string): Promise<SdkResult>
  /** verify(action): challenge (tenant Basic), sign the challenge ID, verify with the cached token only when no action. */
  verify(key: MobileKey, options: { action?: string; cachedToken?: string; path?: string }): Promise<SdkResult>
}

const base = '/v1'

/**
 * authsignal-android: module/src/main/java/com/authsignal/inapp/api/InAppAPI.kt (getCredential,
 * addCredential, removeCredential, challenge, verify), with the request metadata of
 * AuthsignalRequestMetadata.kt and the User-Agent of HttpClientFactory.kt.
 */
function android(tenantId: string, wrapper?: Wrapper): MobileSdk {
  // InAppAPI.kt basicAuth: Encoder.toBase64String("$tenantID:") — standard base64, padded.
  const basicAuth = `Basic ${Buffer.from(`${tenantId}:`, 'utf8').toString('base64')}`
  const metadata: Record<string, string> = {
    'user-agent': 'Mozilla/5.0 (Linux; Android 14; Google Pixel 8) AuthsignalAndroidSDK/3.4.0',
    accept: 'application/json',
    'accept-charset': 'UTF-8',
    'x-authsignal-sdk': wrapper?.sdk ?? 'android',
    'x-authsignal-version': wrapper?.version ?? '3.4.0',
    'x-authsignal-tenant-id': tenantId,
    ...(wrapper ? { 'x-authsignal-native-sdk': 'android', 'x-authsignal-native-version': '3.4.0' } : {}),
  }
  // Ktor ContentNegotiation with kotlinx Json { prettyPrint = true }: four-space indentation;
  // null defaults are not encoded (encodeDefaults = false).
  const json = (value: unknown) => JSON.stringify(value, null, 4)
  const post = (url: string, authorization: string, body: unknown) =>
    h.inject({
      method: 'POST',
      url,
      headers: { ...metadata, authorization, 'content-type': 'application/json; charset=UTF-8' },
      payload: json(body),
    })
  return {
    name: wrapper ? 'React Native on Android' : 'Android',
    publicKeyOf: (key) => key.androidPublicKey,
    async getCredential(key, namespace = 'in-app') {
      // publicKey base64-encoded once more (standard, padded) and put in the URL unescaped.
      const encodedKey = Buffer.from(key.androidPublicKey, 'utf8').toString('base64')
      const response = await h.inject({
        method: 'GET',
        url: `${base}/client/user-authenticators/${namespace}?publicKey=${encodedKey}`,
        headers: { ...metadata, authorization: basicAuth },
      })
      return androidResult(response, ANDROID_MODELS.credential, 'getCredential')
    },
    async addCredential(token, key, extra = {}, namespace = 'in-app') {
      const body = { publicKey: key.androidPublicKey, deviceName: 'Google Pixel 8', devicePlatform: 'android', ...extra }
      const response = await post(`${base}/client/user-authenticators/${namespace}`, `Bearer ${token}`, body)
      return androidResult(response, ANDROID_MODELS.credential, 'addCredential')
    },
    async removeCredential(key, namespace = 'in-app', message = timeBucketMessage(h.clock())) {
      const body = { publicKey: key.androidPublicKey, signature: signDer(key, message) }
      const response = await post(`${base}/client/user-authenticators/${namespace}/remove`, basicAuth, body)
      // Success is the status alone (data = true).
      return androidResult(response, null, 'removeCredential')
    },
    async verify(key, { action, cachedToken, path = 'in-app' }) {
      // InAppAPI.kt challenge: always tenant Basic; the body is `action?.let { ChallengeRequest(it) }`,
      // so with no action Ktor serialises the null body as the JSON literal `null`.
      const challenge = androidResult(
        await post(`${base}/client/challenge`, basicAuth, action === undefined ? null : { action }),
        ANDROID_MODELS.challenge,
        'challenge',
      )
      if (!challenge.data) return challenge
      const challengeId = challenge.data.challengeId as string
      // AuthsignalInApp.kt verify: the cached token only when no action was named.
      const token = action === undefined ? cachedToken : undefined
      const response = await post(`${base}/client/verify/${path}`, token ? `Bearer ${token}` : basicAuth, {
        challengeId,
        publicKey: key.androidPublicKey,
        signature: signDer(key, challengeId),
      })
      return androidResult(response, ANDROID_MODELS.verify, 'verify')
    },
  }
}

/**
 * authsignal-ios: Sources/Authsignal/API/InAppAPIClient.swift (getCredential, addCredential,
 * removeCredential, verify) over BaseAPIClient.swift (challenge, getRequest, postRequest), with
 * the headers of AuthsignalRequestMetadata.swift.
 */
function ios(tenantId: string, wrapper?: Wrapper): MobileSdk {
  // BaseAPIClient.swift basicAuth: Data("\(tenantID):").base64URLEncodedString() — base64url, no padding.
  const basicAuth = `Basic ${Buffer.from(`${tenantId}:`, 'utf8').toString('base64url')}`
  const metadata: Record<string, string> = {
    'user-agent': `Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) ${wrapper ? 'AuthsignalReactNativeSDK/3.3.0 ' : ''}AuthsignalIOSSDK/2.11.0`,
    accept: '*/*',
    'accept-encoding': 'gzip, deflate, br',
    'accept-language': 'en-GB,en;q=0.9',
    'x-authsignal-sdk': wrapper?.sdk ?? 'ios',
    'x-authsignal-version': wrapper?.version ?? '2.11.0',
    'x-authsignal-tenant-id': tenantId,
    ...(wrapper ? { 'x-authsignal-native-sdk': 'ios', 'x-authsignal-native-version': '2.11.0' } : {}),
  }
  // JSONEncoder: compact, nil optionals omitted, and `/` escaped as `\/`.
  const json = (value: unknown) => JSON.stringify(value).replace(/\//g, '\\/')
  const post = (url: string, body: unknown, token?: string) =>
    h.inject({
      method: 'POST',
      url,
      headers: { ...metadata, 'content-type': 'application/json', authorization: token ? `Bearer ${token}` : basicAuth },
      payload: json(body),
    })
  return {
    name: wrapper ? 'React Native on iOS' : 'iOS',
    publicKeyOf: (key) => key.iosPublicKey,
    async getCredential(key, namespace = 'in-app') {
      // publicKey base64url-encoded (no padding) once more.
      const encodedKey = Buffer.from(key.iosPublicKey, 'utf8').toString('base64url')
      const response = await h.inject({
        method: 'GET',
        url: `${base}/client/user-authenticators/${namespace}?publicKey=${encodedKey}`,
        headers: { ...metadata, authorization: basicAuth },
      })
      return iosResult(response, namespace === 'device' ? IOS_MODELS.deviceCredential : IOS_MODELS.credential, 'getCredential')
    },
    async addCredential(token, key, extra = {}, namespace = 'in-app') {
      const body = { publicKey: key.iosPublicKey, deviceName: 'Ana’s iPhone', devicePlatform: 'ios', ...extra }
      const response = await post(`${base}/client/user-authenticators/${namespace}`, body, token)
      return iosResult(response, namespace === 'device' ? IOS_MODELS.deviceAdded : IOS_MODELS.added, 'addCredential')
    },
    async removeCredential(key, namespace = 'in-app', message = timeBucketMessage(h.clock())) {
      const body = { publicKey: key.iosPublicKey, signature: signDer(key, message) }
      const response = await post(`${base}/client/user-authenticators/${namespace}/remove`, body)
      return iosResult(response, IOS_MODELS.removed, 'removeCredential')
    },
    async verify(key, { action, cachedToken, path = 'in-app' }) {
      // BaseAPIClient.swift challenge: ChallengeRequest(action:) — `{}` without an action — and no token.
      const challenge = iosResult(
        await post(`${base}/client/challenge`, action === undefined ? {} : { action }),
        IOS_MODELS.challenge,
        'challenge',
      )
      if (!challenge.data) return challenge
      const challengeId = challenge.data.challengeId as string
      // AuthsignalInApp.swift verify: "Only set a user token if an action is not provided".
      const token = action === undefined ? cachedToken : undefined
      const response = await post(
        `${base}/client/verify/${path}`,
        { challengeId, publicKey: key.iosPublicKey, signature: signDer(key, challengeId) },
        token,
      )
      return iosResult(response, IOS_MODELS.verify, 'verify')
    },
  }
}

const SDKS = [
  { name: 'Android', create: (tenantId: string) => android(tenantId) },
  { name: 'iOS', create: (tenantId: string) => ios(tenantId) },
  // react-native-authsignal android/ and ios/ modules: the native SDKs with wrapper metadata.
  { name: 'React Native on Android', create: (tenantId: string) => android(tenantId, { sdk: 'react-native', version: '3.3.0' }) },
  { name: 'React Native on iOS', create: (tenantId: string) => ios(tenantId, { sdk: 'react-native', version: '3.3.0' }) },
]

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

async function validate(token: string, extra: object = {}): Promise<Record<string, unknown>> {
  return expectOk(await api.server('POST', '/v1/validate', { token, ...extra }))
}

describe('iOS key export', () => {
  // Sources/Authsignal/KeyManager.swift derivePublicKey / createSubjectPublicKeyInfo.
  it('builds the same SPKI bytes as an X.509 export (KeyManager.swift createSubjectPublicKeyInfo)', () => {
    const key = newMobileKey()
    expect(key.iosPublicKey).toBe(key.androidPublicKey)
  })
})

describe.each(SDKS)('$name SDK against the Client API', ({ create }) => {
  let sdk: MobileSdk
  beforeAll(() => {
    sdk = create(api.tenant.tenantId)
  })

  // Android module/src/main/java/com/authsignal/inapp/AuthsignalInApp.kt (addCredential, getCredential, verify,
  // removeCredential) over inapp/api/InAppAPI.kt; iOS Sources/Authsignal/AuthsignalInApp.swift (same functions)
  // over Sources/Authsignal/API/InAppAPIClient.swift.
  it('runs the whole in-app flow: track → add → get → challenge → verify → validate → remove', async () => {
    const userId = uniqueId('wire-flow')
    const key = newMobileKey()

    // Backend: Server API track with the secret key; the app enrolls with its token.
    const enrolment = await api.track(userId, 'enrollDevice')
    expect(enrolment).toMatchObject({ state: 'ALLOW', isEnrolled: false })
    // addCredential (InAppAPI.kt addCredential / InAppAPIClient.swift addCredential): Bearer track token.
    const added = await sdk.addCredential(enrolment.token, key)
    expect(added.errorCode).toBeUndefined()
    const credentialId = added.data!.userAuthenticatorId as string
    expect(added.data).toMatchObject({ userId, verifiedAt: expect.stringMatching(ISO) })

    // getCredential: tenant Basic, publicKey double-encoded in the query.
    const found = await sdk.getCredential(key)
    expect(found.errorCode).toBeUndefined()
    expect(found.data).toMatchObject({ userAuthenticatorId: credentialId, userId, verifiedAt: expect.stringMatching(ISO) })

    // The app sets the token of a tracked payment (setToken / TokenCache), then verify() with no action.
    const payment = await api.track(userId, 'authorizePayment')
    expect(payment).toMatchObject({ state: 'CHALLENGE_REQUIRED', isEnrolled: true })
    const verified = await sdk.verify(key, { cachedToken: payment.token })
    expect(verified.errorCode).toBeUndefined()
    expect(verified.data).toMatchObject({ userId, userAuthenticatorId: credentialId })

    // Backend: validate the token the device handed back.
    expect(await validate(verified.data!.token as string, { userId, action: 'authorizePayment' })).toMatchObject({
      isValid: true,
      state: 'CHALLENGE_SUCCEEDED',
      userId,
      actionCode: 'authorizePayment',
      idempotencyKey: payment.idempotencyKey,
      verificationMethod: 'IN_APP',
    })

    // removeCredential: tenant Basic, DER signature over the `N.0` time bucket.
    const removed = await sdk.removeCredential(key)
    expect(removed.errorCode).toBeUndefined()
    expect(removed.status).toBe(200)
    expect(removed.response.json()).toEqual({ removedAuthenticatorId: credentialId })

    const gone = await sdk.getCredential(key)
    expect(gone.errorCode).toBe('not_found')
    expectError(gone.response, 404, 'not_found')
    expect(await api.server('GET', `/v1/users/${userId}/authenticators`).then((r) => r.json())).toEqual([])
  })

  // AuthsignalInApp.kt verify(action) / AuthsignalInApp.swift verify(action:): challenge and verify with tenant Basic.
  it('verify(action:) without a token: tenant Basic for challenge and verify, and the action is recorded', async () => {
    const userId = uniqueId('wire-action')
    const key = newMobileKey()
    const { token } = await api.track(userId, 'enrollDevice')
    const added = await sdk.addCredential(token, key)
    expect(added.errorCode).toBeUndefined()

    // A token is cached, but AuthsignalInApp ignores it when an action is named.
    const verified = await sdk.verify(key, { action: 'signIn', cachedToken: token })
    expect(verified.errorCode).toBeUndefined()
    expect(verified.data).toMatchObject({ userId, userAuthenticatorId: added.data!.userAuthenticatorId })
    expect(await validate(verified.data!.token as string)).toMatchObject({
      isValid: true,
      state: 'CHALLENGE_SUCCEEDED',
      userId,
      action: 'signIn',
      actionCode: 'signIn',
      verificationMethod: 'IN_APP',
    })
  })

  // Android module/src/main/java/com/authsignal/APIError.kt mapToErrorResponse; iOS
  // Sources/Authsignal/API/BaseAPIClient.swift performRequest (non-200 branch).
  it('decodes every refusal into an error code', async () => {
    const userId = uniqueId('wire-refusals')
    const key = newMobileKey()

    // Not enrolled: getCredential answers 404 with a coded body (not the SDKs' "endpoint not found").
    const unknown = await sdk.getCredential(key)
    expect(unknown.errorCode).toBe('not_found')
    expectError(unknown.response, 404, 'not_found')

    const { token } = await api.track(userId, 'enrollDevice')
    expect((await sdk.addCredential(token, key)).errorCode).toBeUndefined()
    // The same key again, for another user (a reinstall that kept the key store).
    const other = await api.track(uniqueId('wire-refusals-other'), 'enrollDevice')
    const twice = await sdk.addCredential(other.token, key)
    expect(twice.errorCode).toBe('conflict')
    expectError(twice.response, 409, 'conflict')

    // A key the server has never seen cannot verify.
    const stranger = await sdk.verify(newMobileKey(), { action: 'signIn' })
    expect(stranger.errorCode).toBe('invalid_credential')
    expectError(stranger.response, 401, 'invalid_credential')

    // A signature over a bucket two windows old does not remove the credential.
    const stale = await sdk.removeCredential(key, 'in-app', timeBucketMessage(h.clock() - 1_200_000))
    expect(stale.errorCode).toBe('invalid_signature')
    expectError(stale.response, 401, 'invalid_signature')

    // A token that is not one of ours.
    const forged = await sdk.addCredential('not-a-token', newMobileKey())
    expect(forged.errorCode).toBe('invalid_token')
    expectError(forged.response, 401, 'invalid_token')
  })

  // Android module/src/main/java/com/authsignal/Signature.kt signWithTimeBasedMessage; iOS
  // Sources/Authsignal/Signature.swift signWithTimeBasedMessage.
  it('removes with the previous time bucket (signed just before the bucket turned)', async () => {
    const userId = uniqueId('wire-bucket')
    const key = newMobileKey()
    const { token } = await api.track(userId, 'enrollDevice')
    expect((await sdk.addCredential(token, key)).errorCode).toBeUndefined()
    const signedAt = h.clock()
    h.clock.advance(600_000)
    const removed = await sdk.removeCredential(key, 'in-app', timeBucketMessage(signedAt))
    expect(removed.errorCode).toBeUndefined()
  })

  // Android module/src/main/java/com/authsignal/device/api/DeviceAPI.kt; iOS Sources/Authsignal/API/DeviceAPIClient.swift
  // (addCredential, getCredential, verify, removeCredential). Their body-less challenge is replayed below.
  it('legacy device namespace: add, get, verify at /client/verify/device, remove', async () => {
    const userId = uniqueId('wire-device')
    const key = newMobileKey()
    const { token } = await api.track(userId, 'enrollDevice')
    // module/src/main/java/com/authsignal/device/api/DeviceAPI.kt / Sources/Authsignal/API/DeviceAPIClient.swift addCredential
    const added = await sdk.addCredential(token, key, {}, 'device')
    expect(added.errorCode).toBeUndefined()
    const credentialId = added.data!.userAuthenticatorId
    expect(credentialId).toEqual(expect.any(String))
    // DeviceAPI.kt / DeviceAPIClient.swift getCredential
    const found = await sdk.getCredential(key, 'device')
    expect(found.data).toMatchObject({ userAuthenticatorId: credentialId, userId })
    // DeviceAPI.kt / DeviceAPIClient.swift verify: POST /client/verify/device
    const payment = await api.track(userId, 'authorizePayment')
    const verified = await sdk.verify(key, { cachedToken: payment.token, path: 'device' })
    expect(verified.errorCode).toBeUndefined()
    expect(verified.data).toMatchObject({ userId, userAuthenticatorId: credentialId })
    expect(await validate(verified.data!.token as string)).toMatchObject({ isValid: true, state: 'CHALLENGE_SUCCEEDED' })
    // DeviceAPI.kt / DeviceAPIClient.swift removeCredential
    expect((await sdk.removeCredential(key, 'device')).errorCode).toBeUndefined()
  })

  // iOS v2.12.0 Sources/Authsignal/API/Models/App/CredentialResponse.swift and AppCredential.swift
  // (isExpired); Android v4.2.0 module/src/main/java/com/authsignal/models/AppCredential.kt.
  it('a credential with an expiry decodes: expiresAt is an ISO 8601 string', async () => {
    // The releases that implement push-credential expiry decode expiresAt as a String and parse
    // ISO 8601 with a Z or ±HH:MM offset; a number there fails the whole decode.
    const userId = uniqueId('wire-expiry')
    const key = newMobileKey()
    const { token } = await api.track(userId, 'enrollDevice')
    const added = await sdk.addCredential(token, key)
    const expiresAt = new Date(Math.floor(h.clock() / 1000) * 1000 + 30 * 86_400_000)
    await queryRows(
      h.database.db,
      sql`UPDATE credentials SET expires_at = ${expiresAt} WHERE credential_id = ${added.data!.userAuthenticatorId as string}`,
    )
    const found = await sdk.getCredential(key)
    expect(found.errorCode).toBeUndefined()
    expect(found.response.json().expiresAt).toBe(expiresAt.toISOString())
  })
})

describe('Android SDK versions and variants', () => {
  let sdk: MobileSdk
  let basicAuth: string
  beforeAll(() => {
    sdk = android(api.tenant.tenantId)
    basicAuth = `Basic ${Buffer.from(`${api.tenant.tenantId}:`).toString('base64')}`
  })

  async function enrolled(): Promise<{ userId: string; key: MobileKey; credentialId: string }> {
    const userId = uniqueId('wire-android')
    const key = newMobileKey()
    const { token } = await api.track(userId, 'enrollDevice')
    const added = await sdk.addCredential(token, key)
    expect(added.errorCode).toBeUndefined()
    return { userId, key, credentialId: added.data!.userAuthenticatorId as string }
  }

  const challengeOk = (response: Response): string => androidResult(response, ANDROID_MODELS.challenge, 'challenge').data!.challengeId as string

  // module/src/main/java/com/authsignal/inapp/api/InAppAPI.kt challenge, BaseAPI.kt challenge, device/api/DeviceAPI.kt challenge.
  it('challenge bodies of each version: `null` (InAppAPI.kt), `{}` (BaseAPI.kt), none at all (device/api/DeviceAPI.kt)', async () => {
    const json = { 'content-type': 'application/json; charset=UTF-8', authorization: basicAuth }
    // inapp/api/InAppAPI.kt challenge with an action: {"action": …}
    challengeOk(await h.inject({ method: 'POST', url: '/v1/client/challenge', headers: json, payload: '{\n    "action": "signIn"\n}' }))
    // inapp/api/InAppAPI.kt challenge without an action: a null body.
    challengeOk(await h.inject({ method: 'POST', url: '/v1/client/challenge', headers: json, payload: 'null' }))
    // BaseAPI.kt challenge: ChallengeRequest(action = null) with encodeDefaults off.
    challengeOk(await h.inject({ method: 'POST', url: '/v1/client/challenge', headers: json, payload: '{\n}' }))
    // device/api/DeviceAPI.kt challenge: no body and no Content-Type.
    challengeOk(await h.inject({ method: 'POST', url: '/v1/client/challenge', headers: { authorization: basicAuth } }))
  })

  // module/src/main/java/com/authsignal/BaseAPI.kt challenge(action, token), then inapp/api/InAppAPI.kt verify.
  it('BaseAPI.kt challenge with a Bearer token, then verify with it', async () => {
    const { userId, key, credentialId } = await enrolled()
    const payment = await api.track(userId, 'authorizePayment')
    const challengeId = challengeOk(
      await h.inject({
        method: 'POST',
        url: '/v1/client/challenge',
        headers: { 'content-type': 'application/json; charset=UTF-8', authorization: `Bearer ${payment.token}`, 'x-authsignal-tenant-id': api.tenant.tenantId },
        payload: '{\n}',
      }),
    )
    const verified = androidResult(
      await h.inject({
        method: 'POST',
        url: '/v1/client/verify/in-app',
        headers: { 'content-type': 'application/json; charset=UTF-8', authorization: `Bearer ${payment.token}` },
        payload: JSON.stringify({ challengeId, publicKey: key.androidPublicKey, signature: signDer(key, challengeId) }, null, 4),
      }),
      ANDROID_MODELS.verify,
      'verify',
    )
    expect(verified.data).toMatchObject({ userId, userAuthenticatorId: credentialId })
  })

  // module/src/main/java/com/authsignal/inapp/api/InAppAPI.kt addCredential and push/api/PushAPI.kt addCredential.
  it('integrity fields of each version are accepted on add credential', async () => {
    for (const extra of [
      // models/api/AddAppCredentialRequest.kt (newest): deviceIntegrity
      { deviceIntegrity: { provider: 'PLAY_INTEGRITY', token: 'x'.repeat(4000) } },
      // models/api/AddAppCredentialRequest.kt with models/api/AppAttestation.kt: appAttestation
      { appAttestation: { provider: 'playIntegrity', token: 'x'.repeat(4000) } },
      // push/api/PushAPI.kt: performAttestation
      { performAttestation: { provider: 'PLAY_INTEGRITY', token: 'x'.repeat(4000) } },
    ]) {
      const { token } = await api.track(uniqueId('wire-integrity'), 'enrollDevice')
      const added = await sdk.addCredential(token, newMobileKey(), extra)
      expect(added.errorCode, JSON.stringify(Object.keys(extra))).toBeUndefined()
    }
  })

  // module/src/main/java/com/authsignal/inapp/AuthsignalInApp.kt addCredential(deviceIntegrity) via Encoder.kt getJwtClaim.
  it('the track token carries idempotencyKey where Encoder.kt getJwtClaim looks for it (Play Integrity nonce)', async () => {
    const tracked = await api.track(uniqueId('wire-nonce'), 'enrollDevice')
    // Encoder.kt getJwtClaim: the top-level claim, else `other.<claim>`, read as a string.
    const claims = claimsOf(tracked.token)
    const nonce = 'idempotencyKey' in claims ? claims.idempotencyKey : claims.other.idempotencyKey
    expect(nonce).toBe(tracked.idempotencyKey)
  })

  // module/src/main/java/com/authsignal/AuthsignalRequestMetadata.kt headers; inapp/api/InAppAPI.kt getCredential.
  it('AuthsignalRequestMetadata.kt omits X-Authsignal-Tenant-ID when blank; without it the call still succeeds', async () => {
    const { key, credentialId } = await enrolled()
    const encodedKey = Buffer.from(key.androidPublicKey).toString('base64')
    const res = await h.inject({
      method: 'GET',
      url: `/v1/client/user-authenticators/in-app?publicKey=${encodedKey}`,
      headers: { authorization: basicAuth, 'x-authsignal-sdk': 'android' },
    })
    expect(androidResult(res, ANDROID_MODELS.credential, 'getCredential').data).toMatchObject({ userAuthenticatorId: credentialId })
  })
})

describe('iOS SDK versions and variants', () => {
  let sdk: MobileSdk
  beforeAll(() => {
    sdk = ios(api.tenant.tenantId)
  })

  // Sources/Authsignal/API/InAppAPIClient.swift addCredential with Models/App/AddCredentialRequest.swift.
  it('attestation fields of each version are accepted on add credential', async () => {
    for (const extra of [
      // Models/App/AddCredentialRequest.swift with Models/AppAttestationResult.swift: performAttestation
      { performAttestation: { provider: 'APP_ATTEST', token: 'o2NmbXRv'.repeat(1000), keyId: 'aGVsbG8=' } },
      { performAttestation: { provider: 'APP_ATTEST', token: 'o2NmbXRv'.repeat(1000) } },
      // Models/App/AddCredentialRequest.swift (another version): appAttestation
      { appAttestation: { provider: 'APP_ATTEST', token: 'o2NmbXRv'.repeat(1000), keyId: 'aGVsbG8=' } },
    ]) {
      const { token } = await api.track(uniqueId('wire-attest'), 'enrollDevice')
      const added = await sdk.addCredential(token, newMobileKey(), extra)
      expect(added.errorCode, JSON.stringify(extra).slice(0, 60)).toBeUndefined()
    }
  })

  // Sources/Authsignal/AuthsignalRequestMetadata.swift headers (X-Authsignal-Tenant-ID on every call); BaseAPIClient.swift challenge.
  it('an X-Authsignal-Tenant-ID that names another tenant is refused with a decodable 401', async () => {
    const res = await h.inject({
      method: 'POST',
      url: '/v1/client/challenge',
      headers: {
        authorization: `Basic ${Buffer.from(`${api.tenant.tenantId}:`).toString('base64url')}`,
        'x-authsignal-tenant-id': '00000000-0000-4000-8000-000000000000',
        'content-type': 'application/json',
      },
      payload: '{"action":"signIn"}',
    })
    expect(iosResult(res, IOS_MODELS.challenge, 'challenge').errorCode).toBe('unauthorized')
    expectError(res, 401, 'unauthorized')
  })
})
