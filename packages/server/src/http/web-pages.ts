// The server's own web pages: the operator console under /console and the hosted challenge
// page behind track's `url` under /challenge. Both are static builds (Vite, at install time:
// `npm run build:web`), served with a strict Content-Security-Policy: scripts, styles and
// connections from this origin only, no inline code, never framed — except the hosted page
// in the official browser SDK's popup mode, by the pages its token's tenant names.
import { existsSync } from 'node:fs'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../domain/deps.ts'
import { ApiError } from '../domain/errors.ts'
import { framingOrigins } from '../domain/hosted-challenge.ts'
import { APPS_DIR } from '../paths.ts'

const POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
]

/** The policy of every page and file, with the pages it may be framed by (none, by default). */
export function contentSecurityPolicy(frameAncestors: readonly string[] = []): string {
  return [...POLICY, `frame-ancestors ${frameAncestors.length > 0 ? frameAncestors.join(' ') : "'none'"}`].join('; ')
}

export const CONTENT_SECURITY_POLICY = contentSecurityPolicy()


interface WebPage {
  /** URL path the page answers at, and the prefix of its files: `/console`. */
  path: string
  /** The app's Vite output directory. */
  dist: string
  /** Whether paths below `path` are the app's own routes (a single-page app), answered with index.html. */
  spa: boolean
  /**
   * Whether a tenant's page may open it in a window of its own (the official browser SDK's
   * `window` mode): the page then needs its `window.opener`, so no Cross-Origin-Opener-Policy.
   */
  openedByTenants: boolean
}

export const WEB_PAGES: readonly WebPage[] = [
  { path: '/console', dist: `${APPS_DIR}console/dist/`, spa: true, openedByTenants: false },
  { path: '/challenge', dist: `${APPS_DIR}hosted-challenge/dist/`, spa: false, openedByTenants: true },
]

function pageHeaders(page: WebPage, reply: FastifyReply, frameAncestors: readonly string[] = []): void {
  void reply.header('content-security-policy', contentSecurityPolicy(frameAncestors))
  if (frameAncestors.length === 0) void reply.header('x-frame-options', 'DENY')
  // The hosted page's URL carries a token: no page it links to may learn it.
  void reply.header('referrer-policy', 'no-referrer')
  if (!page.openedByTenants) void reply.header('cross-origin-opener-policy', 'same-origin')
}

/** One page's routes, in a plugin of its own (each @fastify/static registration decorates its scope). */
function webPage(deps: Deps, page: WebPage) {
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
    app.addHook('onSend', async (request, reply) => {
      // Set by the page's own route below, for a framed hosted page.
      if (!reply.hasHeader('content-security-policy')) pageHeaders(page, reply)
    })
    const index = async (request: FastifyRequest, reply: FastifyReply) => {
      void reply.header('cache-control', 'no-store')
      // The official browser SDK's `popup` mode frames the hosted page in the tenant's page.
      const query = request.query as Record<string, unknown>
      if (page.openedByTenants && query.mode === 'popup' && typeof query.token === 'string') {
        pageHeaders(page, reply, await framingOrigins(deps, query.token))
      }
      return reply.sendFile('index.html', page.dist)
    }
    app.get(page.path, { schema: { hide: true } }, index)
    if (page.spa) app.get(`${page.path}/*`, { schema: { hide: true } }, index)
  }
}

export function webPageRoutes(deps: Deps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    for (const page of WEB_PAGES) await app.register(webPage(deps, page))
  }
}
