// What the page was opened with: `/challenge?token=<track token>[&mode=popup]`.

/** `redirect` (the default): a full-page visit that ends by going to the action's redirectUrl. `popup`: opened by @authsignal/browser's launch() in an iframe overlay or a window, ending with a message to it. */
export type LaunchMode = 'redirect' | 'popup'

export interface Launch {
  /** The track token, or null when the address had none. */
  token: string | null
  mode: LaunchMode
}

/**
 * Reads the token and mode, then takes the token out of the address bar at once with
 * `history.replaceState`: a token is a bearer credential, and left in the URL it would stay in
 * the session history, be copied with the address, and reach screenshots and screen shares.
 * (The server's `Referrer-Policy: no-referrer` already keeps it out of Referer headers.)
 *
 * @example readLaunch(window.location, window.history) // { token: 'eyJ…', mode: 'redirect' }
 */
export function readLaunch(location: Location, history: History): Launch {
  const params = new URLSearchParams(location.search)
  const token = params.get('token')
  const mode: LaunchMode = params.get('mode') === 'popup' ? 'popup' : 'redirect'
  if (params.has('token')) {
    params.delete('token')
    const query = params.toString()
    history.replaceState(history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`)
  }
  return { token: token === null || token.trim() === '' ? null : token.trim(), mode }
}

/**
 * The tenant ID in a token's `other` claim, read without verifying (as the official SDKs do):
 * the Client API calls carry it in `X-Authsignal-Tenant-ID`, and the server checks the token
 * itself. Undefined when the token cannot be read.
 */
export function tenantIdOf(token: string): string | undefined {
  const payload = token.split('.')[1]
  if (!payload) return undefined
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/')
    const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')), (c) => c.charCodeAt(0))
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { other?: { tenantId?: unknown } }
    const tenantId = claims.other?.tenantId
    return typeof tenantId === 'string' && tenantId !== '' ? tenantId : undefined
  } catch {
    return undefined
  }
}
