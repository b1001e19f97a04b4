import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
// Test only: the server's signer is the other half of the contract. The SDK itself never
// imports server code.
import { generateWebhookSecret, signWebhook } from '../../server/src/crypto/webhook-signature.ts'
import { Countersign } from './countersign.ts'
import { isCountersignError, type CountersignError } from './errors.ts'
import { DEFAULT_WEBHOOK_TOLERANCE_SECONDS, verifyWebhook, Webhooks, type WebhookEvent, type WebhookHeaders } from './webhooks.ts'

const SECRET = generateWebhookSecret()
const NOW_MS = Date.UTC(2030, 0, 2, 3, 4, 5, 678)
const NOW_S = Math.floor(NOW_MS / 1000)
const EVENT: WebhookEvent = {
  version: 1,
  id: 'evt_6f1c1c52',
  source: 'https://countersign.example.com',
  time: '2030-01-02T03:04:05.000Z',
  tenantId: '6f1c1c52-8a55-4d0f-9a3e-0c6a0d1f2b11',
  type: 'action.state_changed',
  data: { userId: 'user-42', actionCode: 'authorizePayment', state: 'CHALLENGE_SUCCEEDED', note: 'é ✓' },
}
const BODY = JSON.stringify(EVENT)

const webhooks = (options: { secret?: string; toleranceSeconds?: number } = {}) =>
  new Webhooks({ secret: SECRET, now: () => NOW_MS, ...options })

function signed(options: { secret?: string; body?: string; timestamp?: number } = {}) {
  return signWebhook(options.secret ?? SECRET, options.body ?? BODY, { id: EVENT.id, timestamp: options.timestamp ?? NOW_S })
}

/** Only the Standard Webhooks headers, or only Authsignal's. */
function standardOnly(headers: Record<string, string>): Record<string, string> {
  const { 'x-signature-v2': _dropped, ...rest } = headers
  return rest
}
function authsignalOnly(headers: Record<string, string>): Record<string, string> {
  return { 'x-signature-v2': headers['x-signature-v2']! }
}

function rejection(verify: () => unknown): CountersignError {
  try {
    verify()
  } catch (e) {
    if (isCountersignError(e)) return e
    throw e
  }
  throw new Error('expected verify to throw')
}

const SCHEMES = [
  ['Standard Webhooks', standardOnly],
  ['x-signature-v2', authsignalOnly],
  ['both', (headers: Record<string, string>) => headers],
] as const

describe('webhooks.verify: round trip with the server signer', () => {
  it.each(SCHEMES)('returns the event signed with %s headers', (_name, pick) => {
    expect(webhooks().verify(BODY, pick(signed()))).toEqual(EVENT)
  })

  it.each([
    ['a generated whsec_ secret', generateWebhookSecret()],
    ['an arbitrary secret string (UTF-8)', 'a secret ✓ with spaces'],
    ['a whsec_ secret that is not base64 (used as text, as the server does)', 'whsec_not base64!'],
    ['a whsec_ secret without its padding (used as text, as the server does)', `whsec_${'A'.repeat(43)}`],
  ])('derives the same keys as the server for %s', (_name, secret) => {
    for (const [, pick] of SCHEMES) {
      expect(webhooks({ secret }).verify(BODY, pick(signed({ secret })))).toEqual(EVENT)
    }
  })

  it('takes the secret given to verify() over the constructor one', () => {
    const other = generateWebhookSecret()
    expect(webhooks().verify(BODY, signed({ secret: other }), other)).toEqual(EVENT)
    expect(rejection(() => webhooks({ secret: other }).verify(BODY, signed())).errorCode).toBe('invalid_webhook_signature')
  })

  it('is on the client as countersign.webhooks, with webhookSecret from the constructor', () => {
    const countersign = new Countersign({ secretKey: 'sk_test', apiUrl: 'http://127.0.0.1:8080/v1', webhookSecret: SECRET })
    const now = Math.floor(Date.now() / 1000)
    expect(countersign.webhooks.verify(BODY, signed({ timestamp: now }))).toEqual(EVENT)
  })

  it('honours webhookToleranceSeconds on the client', () => {
    const countersign = new Countersign({
      secretKey: 'sk_test',
      apiUrl: 'http://127.0.0.1:8080/v1',
      webhookSecret: SECRET,
      webhookToleranceSeconds: 3600,
    })
    const anHourAgo = Math.floor(Date.now() / 1000) - 3500
    expect(countersign.webhooks.verify(BODY, signed({ timestamp: anHourAgo }))).toEqual(EVENT)
  })

  it('is also a standalone verifyWebhook', () => {
    expect(verifyWebhook(BODY, signed(), { secret: SECRET, now: () => NOW_MS })).toEqual(EVENT)
  })

  it('keeps the webhook secret out of console.log and JSON.stringify', () => {
    const countersign = new Countersign({ secretKey: 'sk_test', apiUrl: 'http://127.0.0.1:8080/v1', webhookSecret: SECRET })
    expect(inspect(countersign, { depth: 5, showHidden: true })).not.toContain(SECRET)
    expect(JSON.stringify(countersign)).not.toContain(SECRET)
  })
})

describe('webhooks.verify refuses', () => {
  it.each(SCHEMES)('a tampered body (%s)', (_name, pick) => {
    const headers = pick(signed())
    const tampered = BODY.replace('CHALLENGE_SUCCEEDED', 'CHALLENGE_FAILED')
    expect(rejection(() => webhooks().verify(tampered, headers)).errorCode).toBe('invalid_webhook_signature')
    // Whitespace counts: the signature is over the exact bytes sent, not the parsed JSON.
    expect(rejection(() => webhooks().verify(`${BODY} `, headers)).errorCode).toBe('invalid_webhook_signature')
  })

  it.each(SCHEMES)('the wrong secret (%s)', (_name, pick) => {
    const error = rejection(() => webhooks({ secret: generateWebhookSecret() }).verify(BODY, pick(signed())))
    expect(error.errorCode).toBe('invalid_webhook_signature')
    expect(error.statusCode).toBe(0)
  })

  it.each(SCHEMES)('an old timestamp, past the 300 s default (%s)', (_name, pick) => {
    expect(DEFAULT_WEBHOOK_TOLERANCE_SECONDS).toBe(300)
    expect(webhooks().verify(BODY, pick(signed({ timestamp: NOW_S - 300 })))).toEqual(EVENT)
    const error = rejection(() => webhooks().verify(BODY, pick(signed({ timestamp: NOW_S - 301 }))))
    expect(error.errorCode).toBe('invalid_webhook_signature')
  })

  it.each(SCHEMES)('a future timestamp, past the tolerance (%s)', (_name, pick) => {
    expect(webhooks().verify(BODY, pick(signed({ timestamp: NOW_S + 300 })))).toEqual(EVENT)
    const error = rejection(() => webhooks().verify(BODY, pick(signed({ timestamp: NOW_S + 301 }))))
    expect(error.errorCode).toBe('invalid_webhook_signature')
  })

  it('a timestamp outside a custom tolerance', () => {
    const strict = webhooks({ toleranceSeconds: 10 })
    expect(strict.verify(BODY, signed({ timestamp: NOW_S - 10 }))).toEqual(EVENT)
    expect(rejection(() => strict.verify(BODY, signed({ timestamp: NOW_S - 11 }))).errorCode).toBe('invalid_webhook_signature')
    expect(rejection(() => strict.verify(BODY, signed({ timestamp: NOW_S + 11 }))).errorCode).toBe('invalid_webhook_signature')
  })

  it.each<[string, WebhookHeaders]>([
    ['no headers at all', {}],
    ['unrelated headers only', { 'content-type': 'application/json', 'webhook-id': EVENT.id }],
    ['webhook-signature without webhook-id', { ...standardOnly(signed()), 'webhook-id': undefined }],
    ['webhook-signature without webhook-timestamp', { ...standardOnly(signed()), 'webhook-timestamp': undefined }],
    ['webhook-signature with no v1 entry', { ...standardOnly(signed()), 'webhook-signature': 'v1a,abc' }],
    ['webhook-signature that is empty', { ...standardOnly(signed()), 'webhook-signature': '' }],
    ['x-signature-v2 without t=', { 'x-signature-v2': authsignalOnly(signed())['x-signature-v2']!.replace(/^t=\d+,/, '') }],
    ['x-signature-v2 without v2=', { 'x-signature-v2': `t=${NOW_S}` }],
    ['x-signature-v2 with two t= entries', { 'x-signature-v2': `t=${NOW_S},${authsignalOnly(signed())['x-signature-v2']!}` }],
    ['an empty x-signature-v2', { 'x-signature-v2': '' }],
  ])('missing or malformed headers: %s', (_name, headers) => {
    expect(rejection(() => webhooks().verify(BODY, headers)).errorCode).toBe('invalid_webhook_signature')
  })

  it.each([
    ['with trailing text', `${NOW_S}abc`],
    ['in exponent notation', '1.8933e9'],
    ['negative', `-${NOW_S}`],
    ['with a leading zero (not what was signed)', `0${NOW_S}`],
  ])('a timestamp %s', (_name, timestamp) => {
    const headers = { ...standardOnly(signed()), 'webhook-timestamp': timestamp }
    expect(rejection(() => webhooks().verify(BODY, headers)).errorCode).toBe('invalid_webhook_signature')
    const v2 = authsignalOnly(signed())['x-signature-v2']!.replace(/^t=\d+/, `t=${timestamp}`)
    expect(rejection(() => webhooks().verify(BODY, { 'x-signature-v2': v2 })).errorCode).toBe('invalid_webhook_signature')
  })

  it('a Standard Webhooks signature over another webhook-id (the ID is signed)', () => {
    const headers = { ...standardOnly(signed()), 'webhook-id': 'evt_other' }
    expect(rejection(() => webhooks().verify(BODY, headers)).errorCode).toBe('invalid_webhook_signature')
  })

  it('a valid x-signature-v2 when a bad webhook-signature is present (Standard Webhooks is preferred, no fallback)', () => {
    const headers = { ...signed(), 'webhook-signature': 'v1,AAAA' }
    expect(rejection(() => webhooks().verify(BODY, headers)).errorCode).toBe('invalid_webhook_signature')
  })

  it('an x-signature-v2 signature with its padding put back (only the exact spelling is accepted)', () => {
    const header = `${authsignalOnly(signed())['x-signature-v2']!}=`
    expect(rejection(() => webhooks().verify(BODY, { 'x-signature-v2': header })).errorCode).toBe('invalid_webhook_signature')
  })

  it('without any secret, as invalid_argument', () => {
    expect(rejection(() => new Webhooks().verify(BODY, signed())).errorCode).toBe('invalid_argument')
    expect(rejection(() => new Webhooks().verify(BODY, signed(), '')).errorCode).toBe('invalid_argument')
  })

  it('a body that was already parsed, as invalid_argument', () => {
    const error = rejection(() => webhooks().verify(EVENT as unknown as string, signed()))
    expect(error.errorCode).toBe('invalid_argument')
  })

  it('a correctly signed body that is not a JSON object, as invalid_response', () => {
    for (const body of ['not json', '[1,2]', 'null', '"text"']) {
      expect(rejection(() => webhooks().verify(body, signed({ body }))).errorCode).toBe('invalid_response')
    }
  })

  it('bad options at construction, with a TypeError', () => {
    expect(() => new Webhooks({ secret: '' })).toThrow(TypeError)
    expect(() => new Webhooks({ toleranceSeconds: 0 })).toThrow(TypeError)
    expect(() => new Webhooks({ toleranceSeconds: Number.POSITIVE_INFINITY })).toThrow(TypeError)
    expect(() => new Countersign({ secretKey: 'sk', apiUrl: 'http://127.0.0.1/v1', webhookToleranceSeconds: -1 })).toThrow(TypeError)
  })

  it('never names the secret or the expected signature in the error', () => {
    const headers = signed({ secret: generateWebhookSecret() })
    const error = rejection(() => webhooks().verify(BODY, headers))
    const expected = standardOnly(signed())['webhook-signature']!.slice('v1,'.length)
    for (const text of [error.message, error.errorDescription ?? '', JSON.stringify(error)]) {
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain(expected)
    }
  })
})

describe('webhooks.verify: header forms', () => {
  it('accepts any of several space-separated v1 signatures (secret rotation)', () => {
    const oldSecret = generateWebhookSecret()
    const headers = signed()
    const other = signed({ secret: oldSecret })['webhook-signature']!
    const rotated = { ...standardOnly(headers), 'webhook-signature': `${other} v1a,ignored ${headers['webhook-signature']!}` }
    expect(webhooks().verify(BODY, rotated)).toEqual(EVENT)
    expect(webhooks({ secret: oldSecret }).verify(BODY, rotated)).toEqual(EVENT)
    // None of them made with this secret: refused.
    const onlyOthers = { ...standardOnly(headers), 'webhook-signature': `${other} v1,AAAA` }
    expect(rejection(() => webhooks().verify(BODY, onlyOthers)).errorCode).toBe('invalid_webhook_signature')
  })

  it('accepts several v2= entries in x-signature-v2, as @authsignal/node does', () => {
    const mine = authsignalOnly(signed())['x-signature-v2']!
    const theirs = authsignalOnly(signed({ secret: generateWebhookSecret() }))['x-signature-v2']!
    const combined = `${theirs},${mine.slice(mine.indexOf(',') + 1)}`
    expect(webhooks().verify(BODY, { 'x-signature-v2': combined })).toEqual(EVENT)
  })

  it('accepts repeated webhook-signature headers as Node gives them (an array)', () => {
    const headers = signed()
    const other = signed({ secret: generateWebhookSecret() })['webhook-signature']!
    const asNode = { ...standardOnly(headers), 'webhook-signature': [other, headers['webhook-signature']!] }
    expect(webhooks().verify(BODY, asNode)).toEqual(EVENT)
  })

  it.each(SCHEMES)('reads header names case-insensitively (%s)', (_name, pick) => {
    const upper = Object.fromEntries(Object.entries(pick(signed())).map(([name, value]) => [name.toUpperCase(), value]))
    expect(webhooks().verify(BODY, upper)).toEqual(EVENT)
    const mixed = Object.fromEntries(
      Object.entries(pick(signed())).map(([name, value]) => [name.replace(/(^|-)\w/g, (c) => c.toUpperCase()), value]),
    )
    expect(webhooks().verify(BODY, mixed)).toEqual(EVENT)
  })

  it.each(SCHEMES)('accepts a Fetch API Headers object (%s)', (_name, pick) => {
    expect(webhooks().verify(BODY, new Headers(pick(signed())))).toEqual(EVENT)
  })

  it('accepts repeated webhook-signature headers in a Headers object (joined with ", ")', () => {
    const headers = signed()
    const other = signed({ secret: generateWebhookSecret() })['webhook-signature']!
    const fetchHeaders = new Headers(standardOnly(headers))
    fetchHeaders.delete('webhook-signature')
    fetchHeaders.append('webhook-signature', other)
    fetchHeaders.append('webhook-signature', headers['webhook-signature']!)
    expect(fetchHeaders.get('webhook-signature')).toContain(', ')
    expect(webhooks().verify(BODY, fetchHeaders)).toEqual(EVENT)
  })

  it('accepts what a Request handler sees (await request.text(), request.headers)', async () => {
    const request = new Request('https://tenant.example.com/webhooks', { method: 'POST', body: BODY, headers: signed() })
    expect(webhooks().verify(await request.text(), request.headers)).toEqual(EVENT)
  })
})
