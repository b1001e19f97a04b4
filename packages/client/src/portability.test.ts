// Guards the core's promise to run on phones and in browsers (ARCHITECTURE.md): nothing that
// src/index.ts reaches imports node:, uses Buffer, opens IndexedDB, or loads runtime code from
// @countersign/protocol's main entry (which would bring zod to the phone); its zod-free
// `decision` entry is allowed, and checked below for what it imports.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))

/** Every module statically reachable from `entry` within this package, with its source. */
function reachable(entry: string): Map<string, string> {
  const seen = new Map<string, string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    const source = readFileSync(file, 'utf8')
    seen.set(file, source)
    for (const match of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'(\.[^']+)'/gm)) {
      visit(join(dirname(file), match[1] as string))
    }
  }
  visit(join(here, entry))
  return seen
}

/** Import specifiers of non-type imports and re-exports. */
function runtimeImports(source: string): string[] {
  return [...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)].map(
    (match) => (match[1] ?? match[2]) as string,
  )
}

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1')
}

/** Runtime packages each entry point may load: small, dependency-free, and browser-safe. */
const CORE_PACKAGES = ['@scure/base', '@countersign/protocol/decision']

describe.each([
  ['index.ts', CORE_PACKAGES],
  // The QR renderer adds only its encoder; phone apps that import the core never load it.
  ['qr.ts', [...CORE_PACKAGES, 'qr']],
])('the entry point %s and what it imports', (entry, allowed) => {
  const modules = reachable(entry)

  it('reaches the modules it should, and not the platform entry points', () => {
    const names = [...modules.keys()].map((file) => file.slice(here.length + 1)).sort()
    if (entry === 'index.ts') {
      for (const name of ['in-app.ts', 'push.ts', 'qr-code.ts', 'device.ts', 'event-stream.ts', 'decision.ts', 'der.ts']) expect(names).toContain(name)
      expect(names).not.toContain('qr.ts')
    }
    expect(names).not.toContain('node.ts')
    expect(names).not.toContain('browser.ts')
    expect(names.some((name) => name.startsWith('testing/'))).toBe(false)
  })

  it.each([...modules].map(([file, source]) => [file.slice(here.length + 1), source]))('%s imports only portable modules', (_file, source) => {
    for (const specifier of runtimeImports(source)) {
      expect(specifier).not.toMatch(/^node:/)
      expect(specifier).not.toBe('idb-keyval')
      expect(specifier).not.toBe('@countersign/protocol')
      expect(specifier.startsWith('.') || allowed.includes(specifier), specifier).toBe(true)
    }
    const code = withoutComments(source)
    expect(code).not.toMatch(/\bBuffer\b/)
    expect(code).not.toMatch(/\bprocess\./)
  })
})

describe('@countersign/protocol/decision, which the core loads', () => {
  const decision = join(here, '../../protocol/src/decision.ts')
  it.each([decision, join(here, '../../protocol/src/encoding.ts')])('%s imports only portable modules', (file) => {
    const source = readFileSync(file, 'utf8')
    for (const specifier of runtimeImports(source)) {
      expect(specifier.startsWith('./') || ['@scure/base', '@noble/hashes/sha2.js', 'canonicalize'].includes(specifier), specifier).toBe(true)
      expect(specifier).not.toBe('zod')
    }
    expect(withoutComments(source)).not.toMatch(/\bBuffer\b|\bprocess\./)
  })
})
