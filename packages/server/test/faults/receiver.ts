// The tenant backend's side of the server's outgoing calls, on loopback: the webhook endpoint
// (it keeps the ID of every event delivered, duplicates included) and the action.verify
// webhook, which can hold its answers so that verify requests stay in flight inside the server.
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export const HOOK_PATH = '/hook'
export const VERIFY_PATH = '/verify'

export class Receiver {
  /** Event ID → how many times it was delivered. */
  readonly delivered = new Map<string, number>()
  deliveries = 0
  #holding = false
  readonly #held: ServerResponse[] = []

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly port: number,
  ) {}

  static async start(): Promise<Receiver> {
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const receiver = new Receiver(server, (server.address() as AddressInfo).port)
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => receiver.#answer(request.url ?? '', Buffer.concat(chunks).toString('utf8'), response))
    })
    return receiver
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`
  }

  /** From now on action.verify calls get no answer until release(). */
  hold(): void {
    this.#holding = true
  }

  /** action.verify calls waiting for their answer. */
  get held(): number {
    return this.#held.length
  }

  /** Answers every held action.verify call with 204 (approval allowed) and stops holding. */
  release(): void {
    this.#holding = false
    for (const response of this.#held.splice(0)) response.writeHead(204).end()
  }

  async close(): Promise<void> {
    this.release()
    this.server.closeAllConnections()
    this.server.close()
    await once(this.server, 'close')
  }

  #answer(path: string, body: string, response: ServerResponse): void {
    if (path === VERIFY_PATH) {
      if (this.#holding) this.#held.push(response)
      else response.writeHead(204).end()
      return
    }
    if (path === HOOK_PATH) {
      this.deliveries++
      try {
        const { id } = JSON.parse(body) as { id?: unknown }
        if (typeof id === 'string') this.delivered.set(id, (this.delivered.get(id) ?? 0) + 1)
      } catch {
        // Counted as a delivery; an envelope without an ID fails the outbox check.
      }
      response.writeHead(204).end()
      return
    }
    response.writeHead(404).end()
  }
}
