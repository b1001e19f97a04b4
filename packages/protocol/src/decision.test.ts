import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { signedDecisionMessage, transactionHash, type SignedDecisionInput } from './decision.ts'

// The oracle: node:crypto over canonical text written out by hand, not the code under test.
const sha256Base64Url = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url')

/** A double from its IEEE 754 bit pattern, as RFC 8785 Appendix B lists them. */
function double(hex: string): number {
  const view = new DataView(new ArrayBuffer(8))
  view.setBigUint64(0, BigInt(`0x${hex}`))
  return view.getFloat64(0)
}

const BASE: SignedDecisionInput = {
  tenantId: '3f1c1e0a-9d1b-4e53-a1d5-6f0d2c7b8e11',
  challengeId: 'AWcQm4sAAAAAAAAAAAAAAAAAAAAAAAAAEGF1dGhvcml6ZVBheW1lbnQ',
  action: 'authorizePayment',
  idempotencyKey: '5b6d7c2e-1f0a-4c3b-9e8d-7a6b5c4d3e2f',
  decision: 'approved',
  verificationCode: '42',
  transaction: { amount: 100, currency: 'EUR', payee: 'ACME Ltd' },
}

describe('signedDecisionMessage: known answer', () => {
  // Written by hand: members in UTF-16 code-unit order, no whitespace, transaction likewise.
  const TRANSACTION_JSON = '{"amount":100,"currency":"EUR","payee":"ACME Ltd"}'
  const TRANSACTION_HASH = 'uW_9T-fTjemfZWTAVtdP93daxIR7SNAm0R_6-C8vJKo'
  const MESSAGE =
    '{"action":"authorizePayment",' +
    '"challengeId":"AWcQm4sAAAAAAAAAAAAAAAAAAAAAAAAAEGF1dGhvcml6ZVBheW1lbnQ",' +
    '"decision":"approved",' +
    '"idempotencyKey":"5b6d7c2e-1f0a-4c3b-9e8d-7a6b5c4d3e2f",' +
    '"tenantId":"3f1c1e0a-9d1b-4e53-a1d5-6f0d2c7b8e11",' +
    `"transactionHash":"${TRANSACTION_HASH}",` +
    '"v":2,' +
    '"verificationCode":"42"}'

  it('hashes the canonical transaction with SHA-256, base64url without padding', () => {
    expect(sha256Base64Url(TRANSACTION_JSON)).toBe(TRANSACTION_HASH)
    expect(transactionHash(BASE.transaction)).toBe(TRANSACTION_HASH)
    expect(TRANSACTION_HASH).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('builds the exact canonical message', () => {
    expect(signedDecisionMessage(BASE)).toBe(MESSAGE)
  })

  it('spells absent fields as null, never by leaving them out', () => {
    const message = signedDecisionMessage({ ...BASE, idempotencyKey: null, verificationCode: null, transaction: null })
    expect(message).toBe(
      '{"action":"authorizePayment",' +
        '"challengeId":"AWcQm4sAAAAAAAAAAAAAAAAAAAAAAAAAEGF1dGhvcml6ZVBheW1lbnQ",' +
        '"decision":"approved","idempotencyKey":null,' +
        '"tenantId":"3f1c1e0a-9d1b-4e53-a1d5-6f0d2c7b8e11",' +
        '"transactionHash":null,"v":2,"verificationCode":null}',
    )
  })

  it('treats undefined from a JavaScript caller as null (else the member would vanish)', () => {
    const loose = { ...BASE, idempotencyKey: undefined, verificationCode: undefined, transaction: undefined }
    const strict = { ...BASE, idempotencyKey: null, verificationCode: null, transaction: null }
    expect(signedDecisionMessage(loose as unknown as SignedDecisionInput)).toBe(signedDecisionMessage(strict))
  })
})

describe('transactionHash follows RFC 8785', () => {
  it('is null without a transaction', () => {
    expect(transactionHash(null)).toBeNull()
    expect(transactionHash(undefined)).toBeNull()
  })

  it('hashes an empty transaction (it is not the same as none)', () => {
    expect(transactionHash({})).toBe(sha256Base64Url('{}'))
  })

  it('RFC 8785 §3.2.2: the example object', () => {
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`) as Record<string, unknown>
    const canonical = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`
    // The RFC's hex dump of the same output, so the UTF-8 bytes are pinned too.
    const bytes = Buffer.from(
      '7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333' +
        '333333333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472' +
        '696e67223a22e282ac245c7530303066' +
        '5c6e4127425c225c5c5c5c5c222f227d',
      'hex',
    )
    expect(bytes.toString('utf8')).toBe(canonical)
    expect(transactionHash(input)).toBe(createHash('sha256').update(bytes).digest('base64url'))
  })

  it('RFC 8785 §3.2.3: sorts member names by UTF-16 code units, not code points', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    }
    // U+1F600 (surrogates D83D DE00) sorts before U+FB33: by code point it would come last.
    const canonical =
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
      '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
      '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    expect(transactionHash(input)).toBe(sha256Base64Url(canonical))
  })

  it.each([
    // RFC 8785 Appendix B: IEEE 754 bit pattern → ECMAScript number spelling.
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('RFC 8785 Appendix B: %s is spelled %s', (bits, spelling) => {
    expect(transactionHash({ amount: double(bits) })).toBe(sha256Base64Url(`{"amount":${spelling}}`))
  })

  it.each([
    ['NaN', '7fffffffffffffff'],
    ['Infinity', '7ff0000000000000'],
  ])('RFC 8785 Appendix B: refuses %s', (_name, bits) => {
    expect(() => transactionHash({ amount: double(bits) })).toThrow()
  })

  it('escapes only what JSON requires, with lower-case \\u00xx for other controls', () => {
    const input = { memo: 'tab\there "quoted" back\\slash \u0001 \u001f é 💶 </script>' }
    const canonical = '{"memo":"tab\\there \\"quoted\\" back\\\\slash \\u0001 \\u001f é 💶 </script>"}'
    expect(transactionHash(input)).toBe(sha256Base64Url(canonical))
  })

  it('refuses a lone surrogate (not valid I-JSON; phones and server would encode it differently)', () => {
    expect(() => transactionHash({ payee: 'ACME \ud800' })).toThrow()
    expect(() => transactionHash({ '\udc00': 'x' })).toThrow()
  })

  it('does not depend on member order or number spelling in the source JSON', () => {
    const a = JSON.parse('{"payee":"ACME Ltd","amount":1e2,"currency":"EUR"}') as Record<string, unknown>
    const b = JSON.parse('{"currency":"EUR","amount":100.0,"payee":"ACME Ltd"}') as Record<string, unknown>
    expect(transactionHash(a)).toBe(transactionHash(b))
    expect(transactionHash(a)).toBe(transactionHash(BASE.transaction))
  })

  it('sorts nested objects too and keeps array order', () => {
    const input = { lines: [{ sku: 'b', qty: 2 }, { sku: 'a', qty: 1 }], payee: { name: 'ACME', iban: 'DE00' } }
    const canonical = '{"lines":[{"qty":2,"sku":"b"},{"qty":1,"sku":"a"}],"payee":{"iban":"DE00","name":"ACME"}}'
    expect(transactionHash(input)).toBe(sha256Base64Url(canonical))
  })

  it('agrees with JSON.stringify and sorted member names for any JSON value (property)', () => {
    // Serialised directly, not through a sorted copy of the object: engines list integer-like
    // member names ("0", "10") first whatever the insertion order, which would skew the reference.
    const reference = (value: unknown): string =>
      Array.isArray(value)
        ? `[${value.map(reference).join(',')}]`
        : typeof value === 'object' && value !== null
          ? `{${Object.keys(value)
              .sort()
              .map((key) => `${JSON.stringify(key)}:${reference((value as Record<string, unknown>)[key])}`)
              .join(',')}}`
          : JSON.stringify(value)
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme' }), fc.jsonValue({ stringUnit: 'grapheme' })), (input) => {
        const json = JSON.parse(JSON.stringify(input)) as Record<string, unknown>
        expect(transactionHash(json)).toBe(sha256Base64Url(reference(json)))
      }),
      { numRuns: 500 },
    )
  })
})

describe('signedDecisionMessage binds every field', () => {
  it('changes when the transaction amount changes (100 vs 1000)', () => {
    const small = signedDecisionMessage(BASE)
    const large = signedDecisionMessage({ ...BASE, transaction: { ...BASE.transaction, amount: 1000 } })
    expect(large).not.toBe(small)
    expect(transactionHash({ ...BASE.transaction, amount: 1000 })).not.toBe(transactionHash(BASE.transaction))
  })

  it('changes when the decision changes: a signed deny is not an approve', () => {
    expect(signedDecisionMessage({ ...BASE, decision: 'denied' })).not.toBe(signedDecisionMessage(BASE))
  })

  it('changes when the verification code changes', () => {
    expect(signedDecisionMessage({ ...BASE, verificationCode: '24' })).not.toBe(signedDecisionMessage(BASE))
    expect(signedDecisionMessage({ ...BASE, verificationCode: null })).not.toBe(signedDecisionMessage(BASE))
  })

  it.each<[string, Partial<SignedDecisionInput>]>([
    ['tenantId', { tenantId: '3f1c1e0a-9d1b-4e53-a1d5-6f0d2c7b8e12' }],
    ['challengeId', { challengeId: `${BASE.challengeId}A` }],
    ['action', { action: 'changeEmail' }],
    ['idempotencyKey', { idempotencyKey: null }],
    ['transaction currency', { transaction: { ...BASE.transaction, currency: 'USD' } }],
    ['transaction payee', { transaction: { ...BASE.transaction, payee: 'ACME Ltd.' } }],
    ['transaction amount type', { transaction: { ...BASE.transaction, amount: '100' } }],
    ['transaction removed', { transaction: null }],
    ['transaction with an extra field', { transaction: { ...BASE.transaction, memo: '' } }],
  ])('changes when %s changes', (_field, change) => {
    expect(signedDecisionMessage({ ...BASE, ...change })).not.toBe(signedDecisionMessage(BASE))
  })

  it('cannot be forged by moving text between fields (JSON quoting keeps them apart)', () => {
    const honest = signedDecisionMessage({ ...BASE, action: 'a', idempotencyKey: 'b' })
    const shifted = signedDecisionMessage({ ...BASE, action: 'a","idempotencyKey":"b', idempotencyKey: null })
    expect(shifted).not.toBe(honest)
  })
})
