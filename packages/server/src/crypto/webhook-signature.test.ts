import { createHmac } from 'node:crypto'
import { Authsignal, Webhook } from '@authsignal/node'
import { describe, expect, it } from 'vitest'
import { generateWebhookSecret, signWebhook } from './webhook-signature.ts'

const BODY = '{"version":1,"id":"evt_1","type":"action.created"}'
const TS = 1_700_000_000
const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const PLAIN = 'my plain secret ✓'

// The oracle: node:crypto over the spelled-out signing input, not the code under test.
const hmacBase64 = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text, 'utf8').digest('base64')

describe('signWebhook: x-signature-v2 (what @authsignal/node verifies)', () => {
  it.each([
    ['a whsec_ secret (keyed with the string as given, not its decoded bytes)', WHSEC, 'tF60jJNZKYWXpucIQ192wvTh/wHnHOV5KXOMJfyaR9w'],
    ['an arbitrary secret (UTF-8)', PLAIN, 'qhwc7O+fXU/RK20vJGFj8wkizfToNea6UdMMOUn2hUE'],
  ])('known answer for %s', (_name, secret, expected) => {
    expect(hmacBase64(secret, `${TS}.${BODY}`)).toBe(`${expected}=`)
    expect(signWebhook(secret, BODY, { id: 'evt_1', timestamp: TS })['x-signature-v2']).toBe(`t=${TS},v2=${expected}`)
  })

  it.each([
    ['a whsec_ secret', WHSEC],
    ['a generated secret', generateWebhookSecret()],
    ['an arbitrary secret string', PLAIN],
    ['a secret with characters the header format uses', 'sk=a,b=c'],
  ])('is accepted by the official @authsignal/node for %s', (_name, secret) => {
    const now = Math.floor(Date.now() / 1000)
    const body = JSON.stringify({
      version: 1,
      id: 'evt_2',
      source: 'https://cs.example',
      time: new Date().toISOString(),
      tenantId: 't',
      type: 'action.created',
      data: { note: 'é ✓ "=,"' },
    })
    const header = signWebhook(secret, body, { id: 'evt_2', timestamp: now })['x-signature-v2']!

    expect(new Webhook(secret).constructEvent(body, header)).toEqual(JSON.parse(body))
    const authsignal = new Authsignal({ apiSecretKey: secret })
    expect(authsignal.webhook.constructEvent(body, header)).toEqual(JSON.parse(body))
    // …and the acceptance is not vacuous: the same header over another body is refused.
    expect(() => authsignal.webhook.constructEvent(body.replace('evt_2', 'evt_3'), header)).toThrow()
    expect(() => new Webhook(`${secret}x`).constructEvent(body, header)).toThrow()
  })
})

describe('signWebhook: Standard Webhooks headers', () => {
  it('matches the Standard Webhooks specification example', () => {
    const headers = signWebhook(WHSEC, '{"test": 2432232314}', { id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: 1614265330 })
    expect(headers['webhook-id']).toBe('msg_p5jXN8AQM9LWM0D4loKWxJek')
    expect(headers['webhook-timestamp']).toBe('1614265330')
    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')
  })

  it('keys a whsec_ secret with its base64-decoded bytes', () => {
    const key = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64')
    expect(signWebhook(WHSEC, BODY, { id: 'evt_1', timestamp: TS })['webhook-signature']).toBe(
      `v1,${hmacBase64(key, `evt_1.${TS}.${BODY}`)}`,
    )
  })

  it('keys any other secret with its UTF-8 bytes (known answer)', () => {
    expect(hmacBase64(Buffer.from(PLAIN, 'utf8'), `evt_1.${TS}.${BODY}`)).toBe('AtRgKU9/41InlZ9bo7PIKxr2bwY7uIYupLfPlVTcZ6A=')
    expect(signWebhook(PLAIN, BODY, { id: 'evt_1', timestamp: TS })['webhook-signature']).toBe(
      'v1,AtRgKU9/41InlZ9bo7PIKxr2bwY7uIYupLfPlVTcZ6A=',
    )
  })

  it.each([
    ['not base64', 'whsec_not base64!'],
    ['not the canonical spelling (padding missing)', 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['empty after the prefix', 'whsec_'],
  ])('keys a whsec_ secret whose remainder is %s with the UTF-8 bytes of the whole secret', (_name, secret) => {
    expect(signWebhook(secret, BODY, { id: 'evt_1', timestamp: TS })['webhook-signature']).toBe(
      `v1,${hmacBase64(Buffer.from(secret, 'utf8'), `evt_1.${TS}.${BODY}`)}`,
    )
  })

  it('returns exactly the four headers, names in lower case', () => {
    expect(Object.keys(signWebhook(WHSEC, BODY, { id: 'evt_1', timestamp: TS })).sort()).toEqual([
      'webhook-id',
      'webhook-signature',
      'webhook-timestamp',
      'x-signature-v2',
    ])
  })

  it('signs the timestamp and ID: changing either changes the signatures', () => {
    const base = signWebhook(WHSEC, BODY, { id: 'evt_1', timestamp: TS })
    const later = signWebhook(WHSEC, BODY, { id: 'evt_1', timestamp: TS + 1 })
    const other = signWebhook(WHSEC, BODY, { id: 'evt_2', timestamp: TS })
    expect(later['webhook-signature']).not.toBe(base['webhook-signature'])
    expect(later['x-signature-v2']).not.toBe(base['x-signature-v2'])
    expect(other['webhook-signature']).not.toBe(base['webhook-signature'])
  })

  it.each([
    ['an empty secret', '', TS],
    ['a fractional timestamp', WHSEC, TS + 0.5],
    ['a timestamp in milliseconds beyond safe integers', WHSEC, Number.MAX_SAFE_INTEGER + 2],
    ['a negative timestamp', WHSEC, -1],
    ['NaN', WHSEC, Number.NaN],
  ])('refuses %s', (_name, secret, timestamp) => {
    expect(() => signWebhook(secret, BODY, { id: 'evt_1', timestamp })).toThrow(TypeError)
  })
})

describe('generateWebhookSecret', () => {
  it('is whsec_ and the standard base64 of 32 random bytes', () => {
    const secret = generateWebhookSecret()
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32)
  })

  it('is different every time', () => {
    const secrets = new Set(Array.from({ length: 100 }, generateWebhookSecret))
    expect(secrets.size).toBe(100)
  })

  it('signs Standard Webhooks with the decoded 32 bytes', () => {
    const secret = generateWebhookSecret()
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
    expect(signWebhook(secret, BODY, { id: 'evt_1', timestamp: TS })['webhook-signature']).toBe(
      `v1,${hmacBase64(key, `evt_1.${TS}.${BODY}`)}`,
    )
  })
})
