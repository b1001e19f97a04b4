// What a QR code carries: the challenge ID alone, or a link of the tenant's own that names it
// (so a phone camera opens the tenant's app). Plain string work, no URL class: React
// Native's is incomplete.

const SCHEME = /^[a-z][a-z0-9+.-]*:/i

/**
 * The text to encode in a QR code for `challengeId`: the ID itself, or `baseUrl` with a
 * `challengeId` query parameter added (a universal link, an app link or a custom scheme).
 *
 * @example
 * qrPayload({ challengeId })                                          // 'c2f1…'
 * qrPayload({ challengeId, baseUrl: 'https://bank.example/approve' }) // 'https://bank.example/approve?challengeId=c2f1…'
 */
export function qrPayload(options: { challengeId: string; baseUrl?: string }): string {
  const { challengeId, baseUrl } = options
  if (typeof challengeId !== 'string' || challengeId === '') throw new TypeError('challengeId is required')
  if (baseUrl === undefined) return challengeId
  if (!SCHEME.test(baseUrl) || baseUrl.includes('#')) throw new TypeError('baseUrl must be an absolute URL without a fragment')
  const separator = !baseUrl.includes('?') ? '?' : baseUrl.endsWith('?') || baseUrl.endsWith('&') ? '' : '&'
  return `${baseUrl}${separator}challengeId=${encodeURIComponent(challengeId)}`
}

/**
 * The challenge ID in a scanned QR code: the `challengeId` query parameter of a link made by
 * {@link qrPayload}, or the text itself when it is a bare ID. Undefined for anything else.
 *
 * @example
 * challengeIdFromQrPayload('https://bank.example/approve?challengeId=c2f1…') // 'c2f1…'
 */
export function challengeIdFromQrPayload(payload: string): string | undefined {
  const text = payload.trim()
  if (!SCHEME.test(text)) return /^[^\s?&#=]{1,512}$/.test(text) ? text : undefined
  const query = text.split('#', 1)[0]?.split('?').slice(1).join('?') ?? ''
  for (const pair of query.split('&')) {
    const equals = pair.indexOf('=')
    const value = pair.slice(equals + 1)
    if (equals === -1 || pair.slice(0, equals) !== 'challengeId' || value === '') continue
    try {
      return decodeURIComponent(value.replace(/\+/g, ' '))
    } catch {
      return undefined
    }
  }
  return undefined
}
