// Refusals that happen before a route runs, over a real socket: each is a coded error body.
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './support/harness.ts'

let h: Harness
let port: number
beforeAll(async () => {
  h = await createHarness()
  const url = new URL(await h.app.listen({ host: '127.0.0.1', port: 0 }))
  port = Number(url.port)
})
afterAll(() => h.close())

/** Sends raw bytes and returns the raw answer. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request))
    let answer = ''
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')))
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
  })
}

function bodyOf(answer: string): Record<string, unknown> {
  return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>
}

describe('requests refused before routing', () => {
  it('oversized headers: 431 headers_too_large (regression: Fastify’s own body shape)', async () => {
    const answer = await raw(`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`)
    expect(answer).toMatch(/^HTTP\/1\.1 431 /)
    expect(bodyOf(answer)).toMatchObject({ error: 'headers_too_large', errorCode: 'headers_too_large' })
  })

  it('a malformed header line: 400 invalid_request', async () => {
    const answer = await raw('GET /healthz HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n')
    expect(answer).toMatch(/^HTTP\/1\.1 400 /)
    expect(bodyOf(answer)).toMatchObject({ errorCode: 'invalid_request' })
  })

  it('the WebSocket path without an Upgrade: 400 invalid_request (regression: an empty 404)', async () => {
    const response = await h.inject({ method: 'GET', url: '/ws-v1-challenge' })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ errorCode: 'invalid_request' })
  })
})
