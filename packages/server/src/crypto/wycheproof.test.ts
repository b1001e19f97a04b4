import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseP256PublicKey, verifyP256Signature } from './p256.ts'
import type { DevicePublicKey, SignatureFormat } from './p256.ts'

// Project Wycheproof vectors for ECDSA P-256/SHA-256, run through the same path device
// signatures take: parseP256PublicKey on the group's SPKI, then verifyP256Signature.
//
// The vectors live in ../shared/vectors/wycheproof beside the repository (in CI too, where
// the clone is elsewhere), so the folder is found from the repository root, not a fixed path.
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
const vectorsDir = path.resolve(repoRoot, '..', 'shared', 'vectors', 'wycheproof')

type Result = 'valid' | 'invalid' | 'acceptable'

interface EcdsaTest {
  tcId: number
  comment: string
  flags?: string[]
  msg: string
  sig: string
  result: Result
}

interface EcdsaGroup {
  type: string
  sha: string
  publicKey: { curve: string; uncompressed: string }
  publicKeyDer: string
  tests: EcdsaTest[]
}

interface EcdsaFile {
  algorithm: string
  numberOfTests: number
  testGroups: EcdsaGroup[]
}

interface JwsTest {
  tcId: number
  comment: string
  jws: unknown
  result: Result
}

interface JwsGroup {
  comment?: string
  public?: { kty?: string; alg?: string; use?: string; crv?: string; x?: string; y?: string; key_ops?: string[] }
  tests: JwsTest[]
}

interface JwsFile {
  testGroups: JwsGroup[]
}

function readVectors<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(vectorsDir, file), 'utf8')) as T
}

const fromHex = (text: string): Uint8Array => {
  if (!/^(?:[0-9a-f]{2})*$/i.test(text)) throw new Error(`not hex: ${text}`)
  return Uint8Array.from(Buffer.from(text, 'hex'))
}

/** Parses a group's key through the real path; a key the parser refuses is a broken premise, so fail loudly. */
function groupKey(spkiHex: string, where: string): DevicePublicKey {
  try {
    return parseP256PublicKey(fromHex(spkiHex))
  } catch (error) {
    throw new Error(`${where}: key is not an uncompressed P-256 SPKI accepted by parseP256PublicKey (${spkiHex})`, {
      cause: error,
    })
  }
}

interface Tally {
  valid: number
  invalid: number
  acceptable: number
}

const countInFile = (tests: { result: Result }[]): Tally => ({
  valid: tests.filter((t) => t.result === 'valid').length,
  invalid: tests.filter((t) => t.result === 'invalid').length,
  acceptable: tests.filter((t) => t.result === 'acceptable').length,
})

/**
 * Checks one case. `valid` must verify and `invalid` must not, without throwing.
 * `acceptable` cases are ones Wycheproof lets an implementation accept or reject (weak
 * parameters, legacy encodings a lenient parser may take); the current P-256 files have none,
 * but should a later revision add some, all we require is a boolean answer, and they are counted.
 */
function checkCase(result: Result, verify: () => boolean, tally: Tally): void {
  let verified: boolean | undefined
  expect(() => {
    verified = verify()
  }).not.toThrow()
  expect(typeof verified).toBe('boolean')
  if (result === 'valid') expect(verified).toBe(true)
  else if (result === 'invalid') expect(verified).toBe(false)
  tally[result] += 1
}

const ECDSA_FILES: { file: string; format: SignatureFormat; type: string }[] = [
  { file: 'ecdsa_secp256r1_sha256_test.json', format: 'der', type: 'EcdsaVerify' },
  { file: 'ecdsa_secp256r1_sha256_p1363_test.json', format: 'p1363', type: 'EcdsaP1363Verify' },
]

for (const { file, format, type } of ECDSA_FILES) {
  describe(`Wycheproof ${file} (${format})`, () => {
    const vectors = readVectors<EcdsaFile>(file)
    const allTests = vectors.testGroups.flatMap((group) => group.tests)
    const expected = countInFile(allTests)
    const processed: Tally = { valid: 0, invalid: 0, acceptable: 0 }

    it('is a P-256/SHA-256 ECDSA file of the expected type', () => {
      expect(vectors.algorithm).toBe('ECDSA')
      expect(vectors.testGroups.length).toBeGreaterThan(0)
      for (const group of vectors.testGroups) {
        expect(group.type).toBe(type)
        expect(group.sha).toBe('SHA-256')
        expect(group.publicKey.curve).toBe('secp256r1')
      }
    })

    vectors.testGroups.forEach((group, index) => {
      describe(`group ${index} (tcId ${group.tests[0]?.tcId ?? '-'}…)`, () => {
        const key = () => groupKey(group.publicKeyDer, `${file} group ${index}`)

        it('the SPKI key carries the group’s uncompressed point', () => {
          expect(Buffer.from(key().spki).toString('hex')).toBe(group.publicKeyDer.toLowerCase())
          expect(group.publicKeyDer.toLowerCase().endsWith(group.publicKey.uncompressed.toLowerCase())).toBe(true)
        })

        it.each(group.tests)('tcId $tcId ($result): $comment', (test) => {
          const publicKey = key()
          const message = fromHex(test.msg)
          const signature = fromHex(test.sig)
          checkCase(test.result, () => verifyP256Signature(publicKey, message, signature, format), processed)
        })
      })
    })

    // Runs after the cases above (tests in a file run in order): proves they ran, all of them.
    it('processed every case in the file', () => {
      expect(expected.valid).toBeGreaterThan(0)
      expect(expected.invalid).toBeGreaterThan(0)
      expect(expected.valid + expected.invalid + expected.acceptable).toBe(vectors.numberOfTests)
      expect(processed).toEqual(expected)
    })
  })
}

// json_web_signature_test.json mixes many algorithms. Its ES256 groups (a P-256 JWK, `use`
// `sig`) exercise exactly our P1363 path: a compact JWS signature is base64url r‖s over the
// ASCII `header.payload`. The test supplies the JWS framing: compact form, alg pinned to
// ES256 (as the token verifier pins HS256), strict base64url. Groups whose keys are marked for
// encryption are left out: they are invalid because of JWK `use`/`key_ops`, which this
// service never reads.
describe('Wycheproof json_web_signature_test.json (ES256 groups, p1363)', () => {
  const vectors = readVectors<JwsFile>('json_web_signature_test.json')
  const groups = vectors.testGroups.filter(
    (group) => group.public?.kty === 'EC' && group.public.alg === 'ES256' && group.public.use === 'sig' && group.public.crv === 'P-256',
  )
  const expected = countInFile(groups.flatMap((group) => group.tests))
  const processed: Tally = { valid: 0, invalid: 0, acceptable: 0 }

  const P256_SPKI_PREFIX_HEX = '3059301306072a8648ce3d020106082a8648ce3d03010703420004'
  const base64url = (text: string): Uint8Array | null =>
    /^[A-Za-z0-9_-]*$/.test(text) && text.length % 4 !== 1 ? Uint8Array.from(Buffer.from(text, 'base64url')) : null

  function verifyCompactEs256(key: DevicePublicKey, jws: unknown): boolean {
    if (typeof jws !== 'string') return false // JSON serialization: not a form we take
    const parts = jws.split('.')
    if (parts.length !== 3) return false
    const [header, payload, signature] = parts as [string, string, string]
    const headerBytes = base64url(header)
    const signatureBytes = base64url(signature)
    if (!headerBytes || base64url(payload) === null || !signatureBytes) return false
    let alg: unknown
    try {
      alg = (JSON.parse(Buffer.from(headerBytes).toString('utf8')) as { alg?: unknown }).alg
    } catch {
      return false
    }
    if (alg !== 'ES256') return false
    return verifyP256Signature(key, new TextEncoder().encode(`${header}.${payload}`), signatureBytes, 'p1363')
  }

  it('has ES256 groups', () => {
    expect(groups.length).toBeGreaterThan(0)
  })

  groups.forEach((group, index) => {
    describe(`ES256 group ${group.comment ?? index}`, () => {
      const key = () => {
        const { x, y } = group.public ?? {}
        if (!x || !y) throw new Error(`JWS group ${group.comment ?? index}: no x/y in the public JWK`)
        const point = Buffer.concat([Buffer.from(x, 'base64url'), Buffer.from(y, 'base64url')]).toString('hex')
        return groupKey(P256_SPKI_PREFIX_HEX + point, `JWS group ${group.comment ?? index}`)
      }

      it.each(group.tests)('tcId $tcId ($result): $comment', (test) => {
        const publicKey = key()
        checkCase(test.result, () => verifyCompactEs256(publicKey, test.jws), processed)
      })
    })
  })

  it('processed every ES256 case', () => {
    expect(expected.valid).toBeGreaterThan(0)
    expect(expected.invalid).toBeGreaterThan(0)
    expect(processed).toEqual(expected)
  })
})
