// Byte/text encodings shared by the server and the SDKs. No Buffer: this file runs in
// browsers and React Native too. @scure/base decodes strictly (no skipped characters, no
// non-zero padding bits), which is what a verifier of signatures needs.
import { base64, base64nopad, base64url, base64urlnopad } from '@scure/base'

const textEncoder = new TextEncoder()

export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text)
}

/** Standard base64 with padding: how devices send keys and signatures. */
export function toBase64(bytes: Uint8Array): string {
  return base64.encode(bytes)
}

/** base64url without padding (RFC 4648 §5). */
export function toBase64Url(bytes: Uint8Array): string {
  return base64urlnopad.encode(bytes)
}

/**
 * Decodes standard base64 or base64url, padded or not — every form existing SDKs send.
 * Returns null for anything else, so callers answer with a coded 400 instead of guessing.
 */
export function fromBase64(text: string): Uint8Array | null {
  const urlAlphabet = /[-_]/.test(text)
  const padded = text.endsWith('=')
  const codec = urlAlphabet ? (padded ? base64url : base64urlnopad) : padded ? base64 : base64nopad
  try {
    return codec.decode(text)
  } catch {
    return null
  }
}
