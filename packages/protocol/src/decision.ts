// The [ext] v2 signed decision (PROTOCOL.md §4): what a device signs to approve or deny a
// challenge when the action carries transaction details. The device builds it from what it
// showed the user, the server rebuilds it from its own records; one byte of difference and
// the signature fails, so both sides must build it here.
//
// Synchronous and platform-free (no `node:`, no Buffer, no WebCrypto): it runs on phones
// inside a signing callback. canonicalize is pinned to 4.x: 5.x calls
// String.prototype.isWellFormed (ES2024), which not every React Native engine has, and
// gives the same output for every input 4.x accepts.
import { sha256 } from '@noble/hashes/sha2.js'
import canonicalize from 'canonicalize'
import { toBase64Url, utf8 } from './encoding.ts'

/** How a device encodes an ECDSA P-256 signature: ASN.1 DER, or raw IEEE P1363 `r‖s` (64 bytes). */
export type SignatureFormat = 'der' | 'p1363'

/** The answer a device signs for; a signed deny can never verify as an approve. */
export type Decision = 'approved' | 'denied'

/** Display fields the backend tracked with the action (e.g. amount, currency, payee). */
export type Transaction = Record<string, unknown>

export interface SignedDecisionInput {
  tenantId: string
  challengeId: string
  /** The action code the challenge was issued for. */
  action: string
  idempotencyKey: string | null
  decision: Decision
  /** The number-matching code the user entered, or null when the challenge has none. */
  verificationCode: string | null
  transaction: Transaction | null
}

/**
 * base64url (no padding) SHA-256 of the RFC 8785 canonical JSON of `transaction`, or null
 * when there is none. Key order and number spelling do not change it; any value does.
 *
 * @throws Error when `transaction` holds something JSON cannot carry exactly (NaN,
 * Infinity, a lone surrogate, a cycle).
 * @example
 * transactionHash({ amount: 100, currency: 'EUR', payee: 'ACME Ltd' }) // 'uW_9T-fTjemfZWTAVtdP93daxIR7SNAm0R_6-C8vJKo'
 * transactionHash(null) // null
 */
export function transactionHash(transaction: Transaction | null | undefined): string | null {
  if (transaction === null || transaction === undefined) return null
  return toBase64Url(sha256(utf8(canonicalJson(transaction))))
}

/**
 * The exact text a device signs (as UTF-8) for a v2 decision: the RFC 8785 canonical JSON of
 * `{v: 2, tenantId, challengeId, action, idempotencyKey, decision, verificationCode,
 * transactionHash}`.
 *
 * @example
 * const message = signedDecisionMessage({
 *   tenantId, challengeId, action: 'authorizePayment', idempotencyKey,
 *   decision: 'approved', verificationCode: null,
 *   transaction: { amount: 100, currency: 'EUR', payee: 'ACME Ltd' },
 * })
 * const signature = await keyStore.sign(keyId, utf8(message))
 */
export function signedDecisionMessage(input: SignedDecisionInput): string {
  return canonicalJson({
    v: 2,
    tenantId: input.tenantId,
    challengeId: input.challengeId,
    action: input.action,
    // `?? null`: canonical JSON drops an undefined member, so a JavaScript caller passing
    // undefined would sign a message with the field missing, which the server never builds.
    idempotencyKey: input.idempotencyKey ?? null,
    decision: input.decision,
    verificationCode: input.verificationCode ?? null,
    transactionHash: transactionHash(input.transaction),
  })
}

function canonicalJson(value: Record<string, unknown>): string {
  const json = canonicalize(value)
  // Only undefined (or a toJSON returning it) has no JSON form; never an object we build.
  if (json === undefined) throw new TypeError('Value has no JSON representation')
  return json
}
