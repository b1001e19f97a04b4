import { PassThrough } from 'node:stream'
import type http from 'node:http'
import { describe, expect, it } from 'vitest'
import { EventStream } from './http.ts'

/** A response body we write to by hand, as the socket would deliver it. */
function fakeResponse(): { body: PassThrough; stream: EventStream } {
  const body = new PassThrough()
  return { body, stream: new EventStream(body as unknown as http.IncomingMessage) }
}

describe('EventStream', () => {
  it('reads events split across chunks and skips keep-alive comments', async () => {
    const { body, stream } = fakeResponse()
    body.write('event: state\ndata: {"state":"uncl')
    body.write('aimed"}\n\n: keepalive\n\nevent: state\ndata: {"state":"approved","accessToken":"t"}\n\n')
    const first = await stream.next(1000)
    const second = await stream.next(1000)
    expect(first).toMatchObject({ event: 'state', data: { state: 'unclaimed' } })
    expect(second.data).toEqual({ state: 'approved', accessToken: 't' })
    expect(second.receivedAt).toBeGreaterThanOrEqual(first.receivedAt)
  })

  it('hands an event to a reader already waiting for it', async () => {
    const { body, stream } = fakeResponse()
    const waiting = stream.next(1000)
    body.write('event: state\ndata: {"state":"claimed"}\n\n')
    await expect(waiting).resolves.toMatchObject({ data: { state: 'claimed' } })
  })

  it('rejects when nothing arrives in time, or the stream ends first', async () => {
    const { body, stream } = fakeResponse()
    await expect(stream.next(10)).rejects.toMatchObject({ code: 'EVENT_TIMEOUT' })
    const pending = stream.next(1000)
    body.end()
    await expect(pending).rejects.toMatchObject({ name: 'NetworkError' })
  })
})
