// A device's name for people, from its browser's user agent: what a credential is called in the
// user's device list ("Chrome on Linux"), or what a phone shows about the browser that asked.

const BROWSERS: Array<[RegExp, string]> = [
  [/Edg\//, 'Edge'],
  [/Firefox\//, 'Firefox'],
  [/Chrom(e|ium)\//, 'Chrome'],
  [/Safari\//, 'Safari'],
]
const SYSTEMS: Array<[RegExp, string]> = [
  [/Android/, 'Android'],
  [/iPhone|iPad/, 'iOS'],
  [/Mac OS X/, 'macOS'],
  [/Windows/, 'Windows'],
  [/Linux|X11/, 'Linux'],
]

/**
 * "Chrome on Linux", "Safari on iOS", or just "Browser" when nothing is recognised. Order
 * matters: Edge's user agent also names Chrome, Chrome's also names Safari, Android's Linux.
 * @example browserDeviceName(navigator.userAgent)
 */
export function browserDeviceName(userAgent: string): string {
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1] ?? 'Browser'
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1]
  return system ? `${browser} on ${system}` : browser
}
