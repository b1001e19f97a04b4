// Where the new token goes when the user approves, speaking exactly what
// @authsignal/browser 1.x's `launch(url, { mode })` expects of its hosted page:
//
// * `redirect` (its default): the SDK sets `location.href = url`. The page ends by going to
//   the action's redirectUrl with `token=<new token>` added to its query.
// * `popup`: the SDK shows `url + '&mode=popup'` in an <iframe> inside a dialog on the
//   tenant's page. `window`: it opens `url + '&mode=popup'` with window.open. Both listen for
//   `message` events whose `event.origin` is the hosted page's origin and whose `data` is a
//   JSON *string*:
//     {"event":"AUTHSIGNAL_CLOSE_POPUP","token":"…"}   close; launch() resolves { token }
//     {"event":"AUTHSIGNAL_API_ERROR","errorCode":"…","statusCode":401}   calls onError
//     {"event":"AUTHSIGNAL_READY"}   iframe only: reveal the dialog now (else after 3 s)
//   and, iframe only, raw objects `{ height }` (not JSON) to fit the iframe to the page.
//   A CLOSE_POPUP without a token resolves launch() with `{ token: undefined }` (cancelled).
//
// postMessage's targetOrigin for the token is never '*': the token goes only to the origin
// of the action's redirectUrl (set by the tenant's backend with its secret key at track), or,
// without one, to the origin of the page that launched this one as the browser reports it
// (`location.ancestorOrigins` in an iframe, `document.referrer`'s origin in a window),
// checked once at start. Messages without a secret (ready, size, error codes, a cancel) may go
// to '*' when no origin is known, so the launcher can still close its dialog.

import type { LaunchMode } from './launch.ts'

export const AUTHSIGNAL_CLOSE_POPUP = 'AUTHSIGNAL_CLOSE_POPUP'
export const AUTHSIGNAL_API_ERROR = 'AUTHSIGNAL_API_ERROR'
export const AUTHSIGNAL_READY = 'AUTHSIGNAL_READY'

/** How the page hands over its result, decided once at start. */
export type Delivery =
  | { kind: 'redirect'; redirectUrl: string }
  /** Redirect mode without a redirectUrl: the user goes back to the app by hand. */
  | { kind: 'none' }
  | { kind: 'message'; target: Window; framed: boolean; targetOrigin: string }

export type DeliveryChoice = { delivery: Delivery; error?: undefined } | { delivery?: undefined; error: 'no_return_origin' | 'opener_mismatch' | 'invalid_redirect_url' }

/** The origin of an http(s) URL, or undefined. */
export function httpOrigin(url: string | undefined): string | undefined {
  if (!url) return undefined
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : undefined
  } catch {
    return undefined
  }
}

/**
 * The origin of the page that launched this one, as the browser reports it: the parent's in
 * an iframe (`location.ancestorOrigins`, Chromium and Safari), else the referrer's (its
 * origin is sent by default; a launcher with `Referrer-Policy: no-referrer` hides it).
 */
export function launcherOrigin(win: Window = window): string | undefined {
  const framed = win.parent !== win
  if (framed) {
    const ancestor = win.location.ancestorOrigins?.[0]
    if (ancestor && ancestor !== 'null') return ancestor
  }
  return httpOrigin(win.document.referrer)
}

/**
 * Decides where the result goes. In popup mode with no window to talk to (the URL was opened
 * directly), it falls back to the redirect.
 */
export function chooseDelivery(mode: LaunchMode, redirectUrl: string | undefined, win: Window = window): DeliveryChoice {
  const redirectOrigin = httpOrigin(redirectUrl)
  if (redirectUrl && !redirectOrigin) return { error: 'invalid_redirect_url' }
  const framed = win.parent !== win
  const target = framed ? win.parent : (win.opener as Window | null)
  if (mode === 'popup' && target) {
    const launcher = launcherOrigin(win)
    if (redirectOrigin) {
      // The tenant named where results go; a launcher elsewhere would never get the message.
      if (launcher && launcher !== redirectOrigin) return { error: 'opener_mismatch' }
      return { delivery: { kind: 'message', target, framed, targetOrigin: redirectOrigin } }
    }
    if (!launcher) return { error: 'no_return_origin' }
    return { delivery: { kind: 'message', target, framed, targetOrigin: launcher } }
  }
  if (redirectUrl) return { delivery: { kind: 'redirect', redirectUrl } }
  return { delivery: { kind: 'none' } }
}

/**
 * The redirectUrl with `token` added to its query, before any fragment (as the official
 * hosted page does, so backends read `?token=` as they do from Authsignal).
 *
 * @example withToken('https://app.example/done?next=%2Fpay', 'eyJ…') // 'https://app.example/done?next=%2Fpay&token=eyJ…'
 */
export function withToken(redirectUrl: string, token: string): string {
  const hashAt = redirectUrl.indexOf('#')
  const base = hashAt === -1 ? redirectUrl : redirectUrl.slice(0, hashAt)
  const hash = hashAt === -1 ? '' : redirectUrl.slice(hashAt)
  const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&'
  return `${base}${separator}token=${encodeURIComponent(token)}${hash}`
}

/** Posts to the launcher: the JSON-string events @authsignal/browser parses. */
export class Messenger {
  private readySent = false
  private lastHeight = 0

  /**
   * @param enabled popup mode: someone launched this page and listens. In redirect mode
   *   nothing is posted.
   * @param delivery the chosen message delivery; undefined when none could be chosen (errors
   *   and a cancel then still reach the launcher, which learns nothing secret from them).
   */
  constructor(
    private readonly enabled: boolean,
    private readonly delivery: Extract<Delivery, { kind: 'message' }> | undefined,
  ) {}

  /** Iframe only: the dialog may show the page now. */
  ready(): void {
    if (this.readySent || !isFramed()) return
    this.readySent = true
    this.postPublic(JSON.stringify({ event: AUTHSIGNAL_READY }))
  }

  /** Iframe only: fit the iframe to the content (a raw object, which the SDK reads as is). */
  resize(height: number): void {
    if (!isFramed()) return
    const rounded = Math.ceil(height)
    if (rounded === this.lastHeight || rounded <= 0) return
    this.lastHeight = rounded
    this.postPublic({ height: rounded })
  }

  apiError(errorCode: string, statusCode: number | undefined): void {
    this.postPublic(JSON.stringify({ event: AUTHSIGNAL_API_ERROR, errorCode, ...(statusCode === undefined ? {} : { statusCode }) }))
  }

  /** The user gave up: launch() resolves with no token. */
  cancel(): void {
    this.postPublic(JSON.stringify({ event: AUTHSIGNAL_CLOSE_POPUP }))
  }

  /** The approval: the token goes only to the chosen origin, never '*'. */
  complete(token: string): void {
    if (!this.enabled || !this.delivery) return
    this.delivery.target.postMessage(JSON.stringify({ event: AUTHSIGNAL_CLOSE_POPUP, token }), this.delivery.targetOrigin)
  }

  private postPublic(message: unknown): void {
    if (!this.enabled) return
    const target = this.delivery?.target ?? fallbackTarget()
    if (!target) return
    target.postMessage(message, this.delivery?.targetOrigin ?? '*')
  }
}

function isFramed(): boolean {
  return window.parent !== window
}

/** Who to tell about errors when no delivery could be chosen (no secret is ever sent here). */
function fallbackTarget(): Window | undefined {
  if (window.parent !== window) return window.parent
  return (window.opener as Window | null) ?? undefined
}
