// A web page, as far as @authsignal/browser needs one, for running the real SDK in Node
// (browser-sdk-compat.test.ts). Node 20 has fetch and crypto; the rest is supplied here and
// taken away again by `restore()`, since integration test files share one worker:
//
// * `window.btoa`: the SDK's helpers.ts buildHeaders calls it for the tenant Basic header.
// * `document.cookie` and `document.location`: the Authsignal constructor reads and writes its
//   anonymous-ID cookie and derives the cookie domain and `secure` flag from the location.
// * `WebSocket`: the `ws` package's client (a dependency of @fastify/websocket), which, like a
//   browser, fails the handshake unless the server selects one of the offered subprotocols;
//   it is given the page's Origin header, as a browser sends it.
// * `fetch`: Node's, made to keep the rules a browser applies to a cross-origin call from the
//   page — the Origin header, the CORS preflight for a non-simple request, and no response for
//   the page unless the server's CORS headers allow it — so a server the SDK could not reach
//   from a real page fails here too. Every call is recorded for wire assertions.
import { createRequire } from 'node:module'

export interface RecordedRequest {
  method: string
  url: string
  headers: Record<string, string>
  body: string | null
}

export interface BrowserPage {
  origin: string
  /** Requests the page sent, preflights included, in order. */
  requests: RecordedRequest[]
  /** WebSockets the page opened, with the URL and subprotocols it asked for. */
  sockets: Array<{ socket: WebSocket; url: string; protocols: string[] }>
  /** Node's own fetch, for the phone's side of a test. */
  nodeFetch: typeof fetch
  restore(): void
}

// `ws` ships no types of its own; its client class has the browser WebSocket's shape.
const NodeWebSocket = createRequire(import.meta.url)('ws') as new (
  url: string | URL,
  protocols?: string | string[],
  options?: { origin?: string },
) => WebSocket

/** Headers a page may send cross-origin without a preflight (Fetch standard, CORS-safelisted). */
function safelisted(name: string, value: string): boolean {
  if (['accept', 'accept-language', 'content-language'].includes(name)) return true
  if (name !== 'content-type') return false
  const essence = value.split(';')[0]!.trim().toLowerCase()
  return ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'].includes(essence)
}

function listed(header: string | null): string[] {
  return (header ?? '').split(',').map((item) => item.trim().toLowerCase()).filter(Boolean)
}

/** Installs the page's globals. Call `restore()` when done. */
export function installBrowserPage(origin: string): BrowserPage {
  const nodeFetch = globalThis.fetch
  const requests: RecordedRequest[] = []
  const sockets: BrowserPage['sockets'] = []
  const saved = { window: Reflect.get(globalThis, 'window'), document: Reflect.get(globalThis, 'document'), WebSocket: globalThis.WebSocket }

  const allowsOrigin = (response: globalThis.Response) => {
    const allowed = response.headers.get('access-control-allow-origin')
    return allowed === '*' || allowed === origin
  }

  const pageFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<globalThis.Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
    const method = (init.method ?? 'GET').toUpperCase()
    const headers = new Headers(init.headers)
    const crossOrigin = url.origin !== origin
    if (crossOrigin) {
      const unsafe = [...headers.entries()].filter(([name, value]) => !safelisted(name, value)).map(([name]) => name)
      if (!['GET', 'HEAD', 'POST'].includes(method) || unsafe.length > 0) {
        const preflightHeaders: Record<string, string> = { origin, 'access-control-request-method': method }
        if (unsafe.length > 0) preflightHeaders['access-control-request-headers'] = unsafe.sort().join(',')
        requests.push({ method: 'OPTIONS', url: url.href, headers: preflightHeaders, body: null })
        const preflight = await nodeFetch(url, { method: 'OPTIONS', headers: preflightHeaders })
        const methods = listed(preflight.headers.get('access-control-allow-methods'))
        const allowedHeaders = listed(preflight.headers.get('access-control-allow-headers'))
        // `*` never covers Authorization (Fetch standard, CORS-preflight fetch).
        const headerAllowed = (name: string) => allowedHeaders.includes(name) || (allowedHeaders.includes('*') && name !== 'authorization')
        const passes =
          preflight.ok &&
          allowsOrigin(preflight) &&
          (['GET', 'HEAD', 'POST'].includes(method) || methods.includes(method.toLowerCase()) || methods.includes('*')) &&
          unsafe.every(headerAllowed)
        if (!passes) throw new TypeError(`Failed to fetch: the CORS preflight for ${method} ${url.pathname} was refused`)
      }
      headers.set('origin', origin)
    }
    const body = typeof init.body === 'string' ? init.body : null
    requests.push({ method, url: url.href, headers: Object.fromEntries(headers.entries()), body })
    const response = await nodeFetch(url, { ...init, method, headers })
    if (crossOrigin && !allowsOrigin(response)) throw new TypeError(`Failed to fetch: ${url.pathname} sent no CORS header for ${origin}`)
    return response
  }

  class PageWebSocket extends NodeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { origin })
      sockets.push({ socket: this, url: String(url), protocols: protocols === undefined ? [] : [protocols].flat() })
    }
  }

  const location = new URL(origin)
  Object.assign(globalThis, {
    window: { btoa: globalThis.btoa.bind(globalThis) },
    document: { cookie: '', location: { protocol: location.protocol, hostname: location.hostname } },
    WebSocket: PageWebSocket,
    fetch: pageFetch,
  })

  return {
    origin,
    requests,
    sockets,
    nodeFetch,
    restore() {
      globalThis.fetch = nodeFetch
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) Reflect.deleteProperty(globalThis, name)
        else Reflect.set(globalThis, name, value)
      }
    },
  }
}
