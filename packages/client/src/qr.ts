// @countersign/client/qr: draws the QR code a page shows for a QR challenge, as an SVG string.
// A separate entry point so that phone apps, which only scan, never load a QR encoder.
//
// The encoder is `qr` (paulmillr/qr): zero dependencies, ESM with its own types, plain
// JavaScript that runs in browsers, React Native and Node alike, actively released, and by
// the author of @scure/base and @noble/hashes, which the SDK already uses. Its matrix output
// is drawn here rather than with its own SVG output so that the code always has an opaque
// light background and a quiet zone (a dark-mode page would otherwise hide the code), one
// path instead of a rectangle per module, and a size and title of the page's choosing.
import encodeQR from 'qr'

export { challengeIdFromQrPayload, qrPayload } from './qr-payload.ts'

export interface QrSvgOptions {
  /** Width and height attributes (a CSS length or pixels); omitted, the SVG fills its box. */
  size?: number | string
  /** Quiet zone around the code, in modules. ISO/IEC 18004 asks for 4 (the default). */
  margin?: number
  /** Error correction: `low`, `medium` (default), `quartile` or `high`. */
  ecc?: 'low' | 'medium' | 'quartile' | 'high'
  /** Module colour (default `#000`). */
  dark?: string
  /** Background colour (default `#fff`); keep it opaque and lighter than `dark`. */
  light?: string
  /** Accessible name, e.g. "Scan with the Example Bank app". */
  title?: string
}

/**
 * Renders `payload` (from `qrPayload`) as a QR code in an SVG document string, ready for
 * `innerHTML`, an `<img src="data:image/svg+xml,…">` or a server-rendered page.
 *
 * @example
 * import { qrPayload, qrSvg } from '@countersign/client/qr'
 * element.innerHTML = qrSvg(qrPayload({ challengeId }), { size: 240, title: 'Scan to sign in' })
 */
export function qrSvg(payload: string, options: QrSvgOptions = {}): string {
  const margin = options.margin ?? 4
  if (!Number.isInteger(margin) || margin < 0 || margin > 64) throw new RangeError('margin must be a whole number of modules, 0–64')
  const modules = qrModules(payload, options.ecc ?? 'medium')
  const extent = modules.length + 2 * margin
  let path = ''
  modules.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      if (!row[x]) continue
      const start = x
      while (x + 1 < row.length && row[x + 1]) x++
      const run = x - start + 1
      path += `M${start + margin} ${y + margin}h${run}v1h-${run}z`
    }
  })
  const size = options.size === undefined ? '' : ` width="${escapeXml(String(options.size))}" height="${escapeXml(String(options.size))}"`
  const title = options.title === undefined ? '' : `<title>${escapeXml(options.title)}</title>`
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${extent} ${extent}"${size} shape-rendering="crispEdges" role="img">` +
    title +
    `<rect width="${extent}" height="${extent}" fill="${escapeXml(options.light ?? '#fff')}"/>` +
    `<path fill="${escapeXml(options.dark ?? '#000')}" d="${path}"/>` +
    '</svg>'
  )
}

/** The code's modules, row by row (true = dark), without a quiet zone. */
export function qrModules(payload: string, ecc: NonNullable<QrSvgOptions['ecc']> = 'medium'): boolean[][] {
  if (typeof payload !== 'string' || payload === '') throw new TypeError('payload is required')
  // The smallest border the encoder allows is one module; take it off again.
  const bordered = encodeQR(payload, 'raw', { ecc, border: 1 })
  return bordered.slice(1, -1).map((row) => row.slice(1, -1))
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)
}
