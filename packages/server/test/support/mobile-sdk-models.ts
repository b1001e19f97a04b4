// What the official Authsignal mobile SDKs do with a response, and how they build keys and
// signatures, for the wire tests (mobile-sdk-wire.test.ts for in-app, push-qr-wire.test.ts).
//
// * Android (authsignal/authsignal-android, Ktor + kotlinx.serialization, ignoreUnknownKeys):
//   success only on 200; the body must be `application/json`; a non-null field must be
//   present with the declared JSON type (kotlinx is not lenient: a number is no String), a
//   nullable one may be absent or null. Errors decode as {error: String (required),
//   errorCode?, errorDescription?} (APIError.kt).
// * iOS (authsignal/authsignal-ios, URLSession + Codable): success only on 200;
//   JSONSerialization runs on every body first; errors are read as `error`, `errorCode`,
//   `errorDescription` strings (BaseAPIClient.swift performRequest).
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'

/** A field as a model declares it: Kotlin/Swift type, `?` when optional. */
export type WireType = 'String' | 'String?' | 'Boolean' | 'Boolean?' | 'Long?' | 'Double?' | 'Object?'
export type Model = Record<string, WireType>

function fits(type: WireType, value: unknown): boolean {
  switch (type) {
    case 'String':
    case 'String?':
      return typeof value === 'string'
    case 'Boolean':
    case 'Boolean?':
      return typeof value === 'boolean'
    case 'Long?':
      return Number.isSafeInteger(value)
    case 'Double?':
      return typeof value === 'number' && Number.isFinite(value)
    case 'Object?':
      return typeof value === 'object' && value !== null && !Array.isArray(value)
  }
}

/** Decodes `body` as the model would, failing the test with every field that would not decode. */
export function decodeModel(sdk: string, name: string, model: Model, body: unknown): Record<string, unknown> {
  expect(typeof body === 'object' && body !== null && !Array.isArray(body), `${sdk} ${name}: not a JSON object`).toBe(true)
  const record = body as Record<string, unknown>
  const problems: string[] = []
  for (const [field, type] of Object.entries(model)) {
    const value = record[field]
    if (value === undefined || value === null) {
      if (!type.endsWith('?')) problems.push(`${field}: required ${type}, got ${value === null ? 'null' : 'nothing'}`)
      continue
    }
    if (!fits(type, value)) problems.push(`${field}: ${type} cannot hold ${JSON.stringify(value)}`)
  }
  expect(problems, `${sdk} ${name}`).toEqual([])
  return record
}

/** What an SDK call resolves to (its AuthsignalResponse): data, or an error and its code. */
export interface SdkResult {
  status: number
  data?: Record<string, unknown>
  error?: string
  errorCode?: string
  response: LightMyRequestResponse
}

const ANDROID_ERROR: Model = { error: 'String', errorCode: 'String?', errorDescription: 'String?' }

/**
 * Android: `response.body<Model>()` on 200, APIError.kt mapToErrorResponse otherwise. `model`
 * null: the call looks at the status only (remove, approve/deny).
 */
export function androidResult(response: LightMyRequestResponse, model: Model | null, name: string): SdkResult {
  expect(response.headers['content-type'], `Android ${name}: Ktor decodes JSON bodies only`).toMatch(/^application\/json/)
  const body: unknown = response.json()
  if (response.statusCode === 200) {
    return { status: 200, response, data: model ? decodeModel('Android', name, model, body) : {} }
  }
  const error = decodeModel('Android', `${name} error`, ANDROID_ERROR, body)
  const description = typeof error.errorDescription === 'string' && error.errorDescription !== '' ? error.errorDescription : error.error
  return { status: response.statusCode, response, error: description as string, errorCode: (error.errorCode ?? error.error) as string }
}

/** iOS: BaseAPIClient.swift performRequest. */
export function iosResult(response: LightMyRequestResponse, model: Model, name: string): SdkResult {
  let body: unknown
  expect(() => (body = JSON.parse(response.body)), `iOS ${name}: JSONSerialization would throw`).not.toThrow()
  expect(typeof body === 'object' && body !== null, `iOS ${name}: top level must be an object or array`).toBe(true)
  if (response.statusCode === 200) return { status: 200, response, data: decodeModel('iOS', name, model, body) }
  const json = body as Record<string, unknown>
  const text = (key: string) => (typeof json[key] === 'string' ? (json[key] as string) : undefined)
  const description = text('errorDescription')
  return { status: response.statusCode, response, error: description ? description : text('error'), errorCode: text('errorCode') }
}

/** A device key, exported the way each platform exports it. */
export interface MobileKey {
  privateKey: KeyObject
  /** KeyManager.kt derivePublicKey: X509EncodedKeySpec(...).encoded, Base64.NO_WRAP. */
  androidPublicKey: string
  /** KeyManager.swift derivePublicKey: a fixed P-256 SPKI header + SecKeyCopyExternalRepresentation (04‖X‖Y). */
  iosPublicKey: string
}

const IOS_SPKI_HEADER = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex')

/** The publicKey query value Android builds: Encoder.toBase64String(publicKey.toByteArray()), put in the URL unescaped. */
export function androidQueryKey(key: MobileKey): string {
  return Buffer.from(key.androidPublicKey, 'utf8').toString('base64')
}

/** The publicKey query value iOS builds: Data(publicKey.utf8).base64URLEncodedString(), padding stripped. */
export function iosQueryKey(key: MobileKey): string {
  return Buffer.from(key.iosPublicKey, 'utf8').toString('base64url')
}

/** A new P-256 key. */
export function newMobileKey(): MobileKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const raw = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')])
  return {
    privateKey,
    androidPublicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    iosPublicKey: Buffer.concat([IOS_SPKI_HEADER, raw]).toString('base64'),
  }
}

/** Signature.kt (SHA256withECDSA) and Signature.swift (ecdsaSignatureMessageX962SHA256): DER, standard base64. */
export function signDer(key: MobileKey, message: string): string {
  return sign('sha256', Buffer.from(message, 'utf8'), { key: key.privateKey, dsaEncoding: 'der' }).toString('base64')
}
