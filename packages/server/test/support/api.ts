// Helpers for the protocol integration tests: one tenant's Server and Client API calls, coded
// error assertions, and raw HTTP for what app.inject cannot send.
import { generateKeyPairSync, sign } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import type { ErrorCode, TrackResponse } from '@countersign/protocol'
import type { CreatedTenant } from '../../src/domain/tenants.ts'
import { basicAuth, newDevice, type Harness, type TestDevice } from './harness.ts'

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
export type Response = LightMyRequestResponse

let counter = 0
/** A user ID no other test uses. */
export function uniqueId(prefix: string): string {
  counter += 1
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`
}

export const bearer = (token: string): string => `Bearer ${token}`

/**
 * Asserts a coded refusal: the status, the code in both `error` and `errorCode`, a public
 * description, and nothing internal (no stack trace, no file paths).
 */
export function expectError(res: Response, status: number, code: ErrorCode): Record<string, unknown> {
  let body: Record<string, unknown>
  try {
    body = res.json()
  } catch {
    throw new Error(`expected a JSON error body with ${code}, got ${res.statusCode}: ${res.body.slice(0, 200)}`)
  }
  expect({ status: res.statusCode, errorCode: body.errorCode }).toEqual({ status, errorCode: code })
  expect(body.error).toBe(code)
  expect(typeof body.errorDescription).toBe('string')
  expect((body.errorDescription as string).length).toBeGreaterThan(0)
  expect(body).not.toHaveProperty('stack')
  expect(res.body).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  return body
}

/** Asserts success and returns the JSON body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function expectOk(res: Response, status = 200): any {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body.slice(0, 300)}`)
  return status === 204 ? null : res.json()
}

/** A successful Client API answer: the browser SDK takes any body with an `error` key as an error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function expectClientOk(res: Response): any {
  const body = expectOk(res)
  expect(body).not.toHaveProperty('error')
  return body
}

/** The JWT's claims, read without verifying (what existing SDKs do with `other`). */
export function claimsOf(token: string): Record<string, unknown> & { scope: string; sub: string; other: Record<string, unknown> } {
  const [, payload] = token.split('.')
  return JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'))
}

export interface TenantApi {
  tenant: CreatedTenant
  /** `Basic base64(tenantId:)`, as Android sends it. */
  tenantBasic: string
  server(method: Method, url: string, payload?: object): Promise<Response>
  /** A Management API call with the tenant's management key; `url` is relative to /v1/management. */
  manage(method: Method, url: string, payload?: object): Promise<Response>
  client(method: Method, url: string, authorization: string | undefined, payload?: object, headers?: Record<string, string>): Promise<Response>
  track(userId: string, action?: string, body?: object): Promise<TrackResponse>
  /**
   * Enrolls a device for the user with an add:authenticators token. For a second device the
   * addAuthenticator action is CHALLENGE_REQUIRED: `approvedBy`, a device already enrolled,
   * completes it first, and the completed action's token enrolls the new device.
   */
  enroll(
    userId: string,
    options?: {
      device?: TestDevice
      namespace?: 'in-app' | 'device' | 'push' | 'qr-code'
      approvedBy?: TestDevice
      pushToken?: string
      devicePlatform?: string
    },
  ): Promise<{ device: TestDevice; credential: { userAuthenticatorId: string; userId: string } & Record<string, unknown> }>
  challenge(authorization: string, action?: string): Promise<string>
  verify(authorization: string, challengeId: string, device: TestDevice, signature?: string): Promise<Response>
  /** Track, challenge and verify with the token; returns the new token. */
  completeFlow(userId: string, device: TestDevice, action?: string): Promise<{ token: string; idempotencyKey: string }>
}

export function tenantApi(h: Harness, tenant: CreatedTenant): TenantApi {
  const api: TenantApi = {
    tenant,
    tenantBasic: basicAuth(tenant.tenantId),
    server: (method, url, payload) =>
      h.inject({ method, url, headers: { authorization: basicAuth(tenant.secretKey) }, ...(payload ? { payload } : {}) }),
    manage: (method, url, payload) =>
      h.inject({ method, url: `/v1/management${url}`, headers: { authorization: basicAuth(tenant.managementKey) }, ...(payload ? { payload } : {}) }),
    client: (method, url, authorization, payload, headers = {}) =>
      h.inject({
        method,
        url,
        headers: { ...(authorization ? { authorization } : {}), ...headers },
        ...(payload ? { payload } : {}),
      }),
    async track(userId, action = 'authorizePayment', body = {}) {
      return expectOk(await api.server('POST', `/v1/users/${encodeURIComponent(userId)}/actions/${action}`, body))
    },
    async enroll(userId, options = {}) {
      const device = options.device ?? newDevice()
      const tracked = await api.track(userId, 'addAuthenticator', { scope: 'add:authenticators' })
      let token = tracked.token
      if (tracked.state === 'CHALLENGE_REQUIRED' && options.approvedBy) {
        const challengeId = await api.challenge(bearer(token))
        token = expectClientOk(await api.verify(bearer(token), challengeId, options.approvedBy)).token
      }
      const added = await api.client('POST', `/v1/client/user-authenticators/${options.namespace ?? 'in-app'}`, bearer(token), {
        publicKey: device.publicKey,
        deviceName: 'Pixel 8',
        devicePlatform: options.devicePlatform ?? 'android',
        ...(options.pushToken ? { pushToken: options.pushToken } : {}),
      })
      return { device, credential: expectClientOk(added) }
    },
    async challenge(authorization, action) {
      const res = await api.client('POST', '/v1/client/challenge', authorization, action === undefined ? {} : { action })
      return expectClientOk(res).challengeId
    },
    verify: (authorization, challengeId, device, signature) =>
      api.client('POST', '/v1/client/verify/in-app', authorization, {
        challengeId,
        publicKey: device.publicKey,
        signature: signature ?? device.sign(challengeId),
      }),
    async completeFlow(userId, device, action = 'authorizePayment') {
      const tracked = await api.track(userId, action)
      const challengeId = await api.challenge(bearer(tracked.token), undefined)
      const verified = expectClientOk(await api.verify(bearer(tracked.token), challengeId, device))
      return { token: verified.token, idempotencyKey: tracked.idempotencyKey }
    },
  }
  return api
}

/** A DER signature by some other key: well-formed, but not the device's. */
export function foreignSignature(message: string): string {
  return newDevice().sign(message)
}

/** SPKI (standard base64) of keys that are not P-256, for refusal tests. */
export function nonP256Keys(): Record<string, string> {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' })
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'der', type: 'spki' })
  const good = Buffer.from(newDevice().publicKey, 'base64')
  const offCurve = Buffer.from(good)
  // Y := Y + 1 moves the point off the curve (both Y and -Y are on it, never Y + 1 as well).
  for (let i = offCurve.length - 1; i >= 59; i--) {
    offCurve[i] = (offCurve[i]! + 1) & 0xff
    if (offCurve[i] !== 0) break
  }
  return {
    'not base64': '%%% not base64 %%%',
    RSA: rsa.toString('base64'),
    'P-384': p384.toString('base64'),
    truncated: good.subarray(0, 60).toString('base64'),
    'trailing bytes': Buffer.concat([good, Buffer.from([0])]).toString('base64'),
    'point off the curve': offCurve.toString('base64'),
  }
}

/** Signs with a device's private key over arbitrary text (as harness devices do). */
export function signWith(device: TestDevice, message: string): string {
  return sign('sha256', Buffer.from(message, 'utf8'), { key: device.privateKey, dsaEncoding: 'der' }).toString('base64')
}

/**
 * Sends one request over a socket with the path exactly as given: app.inject and fetch
 * normalise `..` segments (WHATWG URL), a raw client does not.
 */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}
