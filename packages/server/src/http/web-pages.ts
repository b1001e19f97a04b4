// The server's own web pages: the operator console under /console and the hosted challenge
// page behind track's `url` under /challenge. Both are static builds (Vite, at install time:
// `npm run build:web`), served with a strict Content-Security-Policy: scripts, styles and
// connections from this origin only, no inline code, never framed.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { ApiError } from '../domain/errors.ts'

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const APPS = new URL('../../../../apps/', import.meta.url)

interface WebPage {
  /** URL path the page answers at, and the prefix of its files: `/console`. */
  path: string
  /** The app's Vite output directory. */
  dist: string
  /** Whether paths below `path` are the app's own routes (a single-page app), answered with index.html. */
  spa: boolean
}

export const WEB_PAGES: readonly WebPage[] = [
  { path: '/console', dist: fileURLToPath(new URL('console/dist/', APPS)), spa: true },
  { path: '/challenge', dist: fileURLToPath(new URL('hosted-challenge/dist/', APPS)), spa: false },
]

function pageHeaders(reply: FastifyReply): void {
  void reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
  void reply.header('x-frame-options', 'DENY')
  // The hosted page's URL carries a token: no page it links to may learn it.
  void reply.header('referrer-policy', 'no-referrer')
  void reply.header('cross-origin-opener-policy', 'same-origin-allow-popups')
}

/** One page's routes, in a plugin of its own (each @fastify/static registration decorates its scope). */
function webPage(page: WebPage) {
  return async function routes(app: FastifyInstance): Promise<void> {
    if (!existsSync(`${page.dist}index.html`)) {
      const missing = async () => {
        throw new ApiError('not_found', 'This page is not built; run `npm run build:web` and restart Countersign')
      }
      app.get(page.path, { schema: { hide: true } }, missing)
      app.get(`${page.path}/*`, { schema: { hide: true } }, missing)
      return
    }
    await app.register(fastifyStatic, {
      root: page.dist,
      prefix: `${page.path}/`,
      // One route per built file, made at start: an unknown path is never looked up on disk.
      wildcard: false,
      index: false,
      serveDotFiles: false,
      cacheControl: false,
      setHeaders: (response, path) => {
        // Vite names assets by content hash: they never change under one name.
        response.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
      },
    })
    app.addHook('onSend', async (_request, reply) => pageHeaders(reply))
    const index = async (_request: unknown, reply: FastifyReply) => {
      void reply.header('cache-control', 'no-store')
      return reply.sendFile('index.html', page.dist)
    }
    app.get(page.path, { schema: { hide: true } }, index)
    if (page.spa) app.get(`${page.path}/*`, { schema: { hide: true } }, index)
  }
}

export function webPageRoutes() {
  return async function routes(app: FastifyInstance): Promise<void> {
    for (const page of WEB_PAGES) await app.register(webPage(page))
  }
}
