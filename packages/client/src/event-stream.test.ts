import { describe, expect, it } from 'vitest'
import { EventStreamParser, serverSentEvents, type ServerSentEvent } from './event-stream.ts'

function parse(...chunks: string[]): ServerSentEvent[] {
  const events: ServerSentEvent[] = []
  const parser = new EventStreamParser((event) => events.push(event))
  for (const chunk of chunks) parser.feed(chunk)
  return events
}

/** Every way of cutting `text` in two. */
function everySplit(text: string): Array<[string, string]> {
  return Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)])
}

describe('EventStreamParser (WHATWG HTML §9.2.6)', () => {
  it('reads the server’s state events', () => {
    const stream = 'event: state\ndata: {"state":"unclaimed"}\n\n: keepalive\n\nevent: state\ndata: {"state":"approved","accessToken":"t"}\n\n'
    expect(parse(stream)).toEqual([
      { event: 'state', data: '{"state":"unclaimed"}', id: '' },
      { event: 'state', data: '{"state":"approved","accessToken":"t"}', id: '' },
    ])
  })

  it('gives the same events however the stream is cut into chunks', () => {
    const stream = '\uFEFFevent: state\r\ndata: a\r\ndata: b\r\n\r\nid: 7\rdata:c\r\rdata\n\n'
    const expected = [
      { event: 'state', data: 'a\nb', id: '' },
      { event: 'message', data: 'c', id: '7' },
      { event: 'message', data: '', id: '7' },
    ]
    expect(parse(stream)).toEqual(expected)
    for (const [first, second] of everySplit(stream)) expect(parse(first, second)).toEqual(expected)
    expect(parse(...stream.split(''))).toEqual(expected)
  })

  it('treats CRLF split across chunks as one line end, not two', () => {
    // A second line end would be a blank line and dispatch early.
    expect(parse('data: a\r', '\ndata: b\r', '\n\r', '\n')).toEqual([{ event: 'message', data: 'a\nb', id: '' }])
  })

  it('follows the standard’s examples of field parsing', () => {
    // "data:test" and "data: test" are the same; only one leading space is removed.
    expect(parse('data:test\n\ndata: test\n\ndata:  two spaces\n\n').map((e) => e.data)).toEqual(['test', 'test', ' two spaces'])
    // A field with no colon has an empty value; unknown fields and comments are ignored.
    expect(parse('data\ndata\n\n')).toEqual([{ event: 'message', data: '\n', id: '' }])
    expect(parse('foo: bar\n:comment\nretry: 10\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x', id: '' }])
  })

  it('does not dispatch an event without data, and forgets its type', () => {
    expect(parse('event: state\n\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x', id: '' }])
  })

  it('never dispatches an event the stream did not finish with a blank line', () => {
    expect(parse('data: done\n\ndata: cut off\n')).toEqual([{ event: 'message', data: 'done', id: '' }])
  })

  it('keeps the last event ID, ignoring one that contains NUL', () => {
    expect(parse('id: 1\ndata: a\n\nid: 2\0\ndata: b\n\nid\ndata: c\n\n').map((e) => e.id)).toEqual(['1', '1', ''])
  })

  it('removes a BOM only at the very start', () => {
    expect(parse('\uFEFF', 'data: a\n\n')).toEqual([{ event: 'message', data: 'a', id: '' }])
    expect(parse('data: \uFEFFa\n\n')[0]?.data).toBe('\uFEFFa')
  })
})

function streamOf(chunks: Uint8Array[], onCancel?: () => void): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
    },
    pull() {
      // Stays open after the chunks, like a server waiting for the next change.
    },
    cancel: () => onCancel?.(),
  })
}

describe('serverSentEvents', () => {
  it('decodes UTF-8 split across chunks', async () => {
    const bytes = new TextEncoder().encode('data: 💶 €\n\n')
    const chunks = Array.from(bytes, (byte) => Uint8Array.of(byte))
    let cancelled = false
    const events: string[] = []
    for await (const event of serverSentEvents(streamOf(chunks, () => (cancelled = true)))) {
      events.push(event.data)
      break
    }
    expect(events).toEqual(['💶 €'])
    // Stopping early cancels the body, which closes the connection.
    expect(cancelled).toBe(true)
  })

  it('ends with the stream and yields every finished event', async () => {
    const body = new Response('data: 1\n\ndata: 2\n\ndata: unfinished').body!
    const events: string[] = []
    for await (const event of serverSentEvents(body)) events.push(event.data)
    expect(events).toEqual(['1', '2'])
  })

  it('rejects when the connection breaks', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('data: 1\n\n'))
        controller.error(new TypeError('terminated'))
      },
    })
    const events: string[] = []
    await expect(
      (async () => {
        for await (const event of serverSentEvents(body)) events.push(event.data)
      })(),
    ).rejects.toThrow('terminated')
  })
})
