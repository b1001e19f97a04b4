import { describe, expect, it } from 'vitest'
import { hasStrings, normaliseBaseUrl, tenantBasicAuthorization, Transport, type FetchLike } from './transport.ts'

describe('normaliseBaseUrl', () => {
  it.each([
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080/v1'],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080/v1'],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8080/v1'],
    ['https://auth.example.com/v1/', 'https://auth.example.com/v1'],
    ['https://example.com/countersign', 'https://example.com/countersign/v1'],
    [' https://example.com/countersign/v1// ', 'https://example.com/countersign/v1'],
  ])('%s → %s', (input, expected) => {
    expect(normaliseBaseUrl(input)).toBe(expected)
  })

  it('refuses what is not an http(s) URL', () => {
    expect(() => normaliseBaseUrl('example.com')).toThrow(TypeError)
    expect(() => normaliseBaseUrl('ftp://example.com')).toThrow(TypeError)
  })
})

describe('tenantBasicAuthorization', () => {
  it('is standard base64 of the tenant ID and a colon', () => {
    expect(tenantBasicAuthorization('tenant_123')).toBe(`Basic ${btoa('tenant_123:')}`)
  })

  it('encodes non-ASCII tenant IDs as UTF-8', () => {
    expect(tenantBasicAuthorization('tenänt')).toBe(`Basic ${Buffer.from('tenänt:', 'utf8').toString('base64')}`)
  })
})

describe('Transport.request', () => {
  const answer =
    (status: number, text: string): FetchLike =>
    async () =>
      new Response(text, { status })
  const request = (fetch: FetchLike) =>
    new Transport('t', 'http://localhost', fetch).request({
      method: 'POST',
      path: '/client/challenge',
      auth: { kind: 'tenant' },
      body: {},
      accept: (body): body is { challengeId: string } => hasStrings(body, 'challengeId'),
    })

  it('returns a well-shaped 200 body as data', async () => {
    expect(await request(answer(200, '{"challengeId":"c"}'))).toEqual({ data: { challengeId: 'c' } })
  })

  it('maps an error body to errorDescription and errorCode', async () => {
    const body = { error: 'invalid_token', errorCode: 'invalid_token', errorDescription: 'The token is not valid.' }
    expect(await request(answer(401, JSON.stringify(body)))).toEqual({
      error: 'The token is not valid.',
      errorCode: 'invalid_token',
      status: 401,
    })
  })

  it('falls back to the code when there is no description', async () => {
    expect(await request(answer(400, '{"error":"invalid_request"}'))).toEqual({
      error: 'invalid_request',
      errorCode: 'invalid_request',
      status: 400,
    })
  })

  it('treats a 200 body with an error key as an error, as the browser SDK does', async () => {
    const result = await request(answer(200, '{"error":"conflict","challengeId":"c"}'))
    expect(result.errorCode).toBe('conflict')
  })

  it('maps a body that is not Countersign JSON to api_error with the status', async () => {
    expect(await request(answer(502, '<html>Bad gateway</html>'))).toMatchObject({ errorCode: 'api_error', status: 502 })
    expect(await request(answer(200, 'not json'))).toMatchObject({ errorCode: 'api_error', status: 200 })
    expect(await request(answer(500, ''))).toMatchObject({ errorCode: 'api_error', status: 500 })
  })

  it('maps a fetch rejection to network_error and keeps the cause', async () => {
    const cause = new TypeError('Failed to fetch')
    const result = await request(() => Promise.reject(cause))
    expect(result).toMatchObject({ errorCode: 'network_error', cause })
  })

  it('maps a body that fails to stream to network_error', async () => {
    const broken: FetchLike = async () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.error(new Error('connection reset'))
          },
        }),
      )
    expect((await request(broken)).errorCode).toBe('network_error')
  })
})

describe('Transport.request: signals, headers, PATCH', () => {
  it('maps a rejection after its signal aborted to aborted', async () => {
    const controller = new AbortController()
    const transport = new Transport('t', 'http://localhost', async (_url, init) => {
      controller.abort()
      throw init.signal?.reason
    })
    const result = await transport.request({
      method: 'GET',
      path: '/x',
      auth: { kind: 'tenant' },
      signal: controller.signal,
      accept: (_body): _body is unknown => true,
    })
    expect(result.errorCode).toBe('aborted')
  })

  it('sends extra headers and PATCH bodies', async () => {
    let seen: RequestInit | undefined
    const transport = new Transport('t', 'http://localhost', async (_url, init) => {
      seen = init
      return new Response('{}')
    })
    await transport.request({
      method: 'PATCH',
      path: '/x',
      auth: { kind: 'tenant' },
      headers: { 'X-Authsignal-Signature': 'sig' },
      body: { a: 1 },
      accept: (_body): _body is unknown => true,
    })
    expect(seen?.method).toBe('PATCH')
    expect(seen?.headers).toMatchObject({ 'X-Authsignal-Signature': 'sig', 'Content-Type': 'application/json' })
    expect(seen?.body).toBe('{"a":1}')
  })
})

describe('Transport.openEventStream', () => {
  const open = (fetch: FetchLike) =>
    new Transport('t', 'http://localhost', fetch).openEventStream({ path: '/s', auth: { kind: 'bearer', token: 'b' }, body: { challengeId: 'c' } })

  it('returns the body of a text/event-stream answer', async () => {
    let accept: string | undefined
    const result = await open(async (_url, init) => {
      accept = (init.headers as Record<string, string>).Accept
      return new Response('data: x\n\n', { headers: { 'Content-Type': 'text/event-stream; charset=utf-8' } })
    })
    expect(accept).toBe('text/event-stream')
    expect(result.data).toBeInstanceOf(ReadableStream)
  })

  it.each([
    ['a network failure', () => Promise.reject(new TypeError('fetch failed'))],
    ['a JSON answer', async () => new Response('{"isVerified":false}', { headers: { 'Content-Type': 'application/json' } })],
    ['a bare 404', async () => new Response('Not Found', { status: 404 })],
  ] as Array<[string, FetchLike]>)('means "poll instead" after %s', async (_name, fetch) => {
    expect(await open(fetch)).toEqual({ data: undefined })
  })

  it('returns a coded refusal', async () => {
    const body = { error: 'expired_token', errorCode: 'expired_token', errorDescription: 'The token has expired.' }
    expect(await open(async () => new Response(JSON.stringify(body), { status: 401 }))).toMatchObject({ errorCode: 'expired_token', status: 401 })
  })
})
