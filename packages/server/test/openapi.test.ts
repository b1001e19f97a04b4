import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './support/harness.ts'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

describe('OpenAPI document and docs page', () => {
  it('describes every Server, Client and Management API path, generated from the route schemas', async () => {
    const response = await h.inject({ method: 'GET', url: '/openapi.json' })
    expect(response.statusCode).toBe(200)
    const document = response.json()
    expect(document.openapi).toBe('3.1.0')
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        '/healthz',
        '/readyz',
        '/v1/client/challenge',
        '/v1/client/user-authenticators/{namespace}',
        '/v1/client/user-authenticators/{namespace}/remove',
        '/v1/client/verify/in-app',
        '/v1/client/challenge/push',
        '/v1/client/challenge/qr-code',
        '/v1/client/verify/push',
        '/v1/client/verify/push/stream',
        '/v1/client/verify/qr-code',
        '/v1/client/verify/qr-code/stream',
        '/v1/client/user-authenticators/{namespace}/challenge',
        '/v1/client/user-authenticators/{namespace}/challenge/claim',
        '/v1/client/user-authenticators/{namespace}/challenge/sign',
        '/v1/client/user-authenticators/{namespace}/sign',
        '/v1/users',
        '/v1/users/{userId}',
        '/v1/users/{userId}/actions',
        '/v1/users/{userId}/actions/{action}',
        '/v1/users/{userId}/actions/{action}/{idempotencyKey}',
        '/v1/users/{userId}/authenticators',
        '/v1/users/{userId}/authenticators/{userAuthenticatorId}',
        '/v1/validate',
        '/v1/management/action-configurations',
        '/v1/management/action-configurations/{actionCode}',
        '/v1/management/action-configurations/{actionCode}/rules',
        '/v1/management/action-configurations/{actionCode}/rules/dry-run',
        '/v1/management/action-configurations/{actionCode}/rules/{ruleId}',
        '/v1/management/actions',
        '/v1/management/api-keys',
        '/v1/management/api-keys/{keyId}',
        '/v1/management/audit-log',
        '/v1/management/stats',
        '/v1/management/session',
        '/v1/management/operators',
        '/v1/management/operators/{operatorId}',
        '/v1/client/hosted-challenge',
        '/v1/management/tenant',
        '/v1/management/users',
        '/v1/management/users/{userId}',
        '/v1/management/users/{userId}/authenticators/{userAuthenticatorId}',
        '/v1/management/users/{userId}/authenticators/{userAuthenticatorId}/unlock',
        '/v1/management/users/{userId}/push-block/clear',
        '/v1/management/value-lists',
        '/v1/management/value-lists/{alias}',
        '/v1/management/webhooks',
        '/v1/management/webhooks/{webhookId}',
        '/v1/management/webhooks/{webhookId}/deliveries',
        '/v1/management/webhooks/{webhookId}/deliveries/{eventId}/retry',
      ].sort(),
    )
    const rule = document.paths['/v1/management/action-configurations/{actionCode}/rules'].post
    expect(rule.security).toEqual([{ managementKey: [] }])
    expect(rule.responses['400'].content['application/json'].schema.properties).toHaveProperty('details')
    const track = document.paths['/v1/users/{userId}/actions/{action}'].post
    expect(track.security).toEqual([{ secretKey: [] }])
    expect(Object.keys(track.requestBody.content['application/json'].schema.properties)).toEqual(
      expect.arrayContaining(['idempotencyKey', 'redirectUrl', 'ipAddress', 'userAgent', 'deviceId', 'scope', 'custom']),
    )
    expect(track.responses['200'].content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['idempotencyKey', 'state', 'url', 'token', 'isEnrolled']),
    )
  })

  it('serves the docs page with its assets from this server', async () => {
    const page = await h.inject({ method: 'GET', url: '/docs/' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toContain('text/html')
    expect(page.body).not.toMatch(/https?:\/\/(cdn|unpkg|jsdelivr)/)
  })

  it('answers liveness and readiness', async () => {
    expect((await h.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' })
    const ready = await h.inject({ method: 'GET', url: '/readyz' })
    expect(ready.json()).toEqual({ status: 'ready', database: h.database.kind })
  })
})
