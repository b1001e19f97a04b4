// A text/event-stream (Server-Sent Events) reader over fetch's ReadableStream, following the
// parsing rules of the WHATWG HTML standard, §9.2.6 "Interpreting an event stream".
//
// Written here rather than taken from a library: the rules fit in one small class, the SDK
// core stays at its few dependencies, and the maintained parser (eventsource-parser) now
// requires Node 22 while Countersign supports Node 20.

/** One dispatched event. */
export interface ServerSentEvent {
  /** The `event:` field; `message` when the event named none. */
  event: string
  /** The `data:` lines, joined with `\n`. */
  data: string
  /** The last event ID seen on the stream (the `id:` field), or ''. */
  id: string
}

/**
 * Parses a stream of text, fed in chunks of any size, into events. Lines end at CRLF, LF or
 * CR (also a CR at the end of one chunk and an LF at the start of the next); a leading BOM is
 * dropped; comment lines (`:` first) and unknown fields are ignored; a blank line dispatches
 * the event, unless it has no data. An event not ended by a blank line is never dispatched.
 *
 * @example
 * const parser = new EventStreamParser((event) => console.log(event.event, event.data))
 * parser.feed('event: state\ndata: {"state":"claimed"}\n\n')
 */
export class EventStreamParser {
  private pending = ''
  private atStart = true
  private skipLineFeed = false
  private data: string[] = []
  private eventType = ''
  private lastEventId = ''

  constructor(private readonly onEvent: (event: ServerSentEvent) => void) {}

  feed(chunk: string): void {
    let text = chunk
    if (this.atStart && text.length > 0) {
      this.atStart = false
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    let start = 0
    for (let i = 0; i < text.length; i++) {
      const char = text[i]
      if (this.skipLineFeed) {
        this.skipLineFeed = false
        // The LF of a CRLF whose CR ended the line already.
        if (char === '\n') {
          start = i + 1
          continue
        }
      }
      if (char === '\r' || char === '\n') {
        const line = this.pending + text.slice(start, i)
        this.pending = ''
        start = i + 1
        this.skipLineFeed = char === '\r'
        this.processLine(line)
      }
    }
    this.pending += text.slice(start)
  }

  private processLine(line: string): void {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'event':
        this.eventType = value
        break
      case 'data':
        this.data.push(value)
        break
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value
        break
      default:
        // `retry` only matters to a reconnecting EventSource; other fields are ignored by rule.
        break
    }
  }

  private dispatch(): void {
    const data = this.data
    const event = this.eventType
    this.data = []
    this.eventType = ''
    if (data.length === 0) return
    this.onEvent({ event: event || 'message', data: data.join('\n'), id: this.lastEventId })
  }
}

/**
 * The events of a `text/event-stream` body, in order. Stopping early (break, return, throw
 * in the loop) cancels the body, which closes the connection.
 *
 * @example
 * for await (const event of serverSentEvents(response.body)) if (event.event === 'state') …
 */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent, void, undefined> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const queue: ServerSentEvent[] = []
  const parser = new EventStreamParser((event) => queue.push(event))
  let finished = false
  try {
    for (;;) {
      const { done, value } = await reader.read()
      parser.feed(done ? decoder.decode() : decoder.decode(value, { stream: true }))
      while (queue.length > 0) yield queue.shift() as ServerSentEvent
      if (done) break
    }
    finished = true
  } finally {
    if (!finished) void reader.cancel().catch(() => undefined)
  }
}
