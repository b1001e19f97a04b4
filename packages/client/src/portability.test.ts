// Guards the core's promise to run on phones and in browsers (ARCHITECTURE.md): nothing that
// src/index.ts reaches imports node:, uses Buffer, opens IndexedDB, or loads runtime code from
// @countersign/protocol (which would bring zod to the phone).
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

describe('the core (src/index.ts and what it imports)', () => {
  const core = reachable('index.ts')

  it('reaches the modules it should, and not the platform entry points', () => {
    const names = [...core.keys()].map((file) => file.slice(here.length + 1)).sort()
    expect(names).toContain('in-app.ts')
    expect(names).toContain('der.ts')
    expect(names).not.toContain('node.ts')
    expect(names).not.toContain('browser.ts')
  })

  it.each([...reachable('index.ts')].map(([file, source]) => [file.slice(here.length + 1), source]))(
    '%s imports only portable modules',
    (_file, source) => {
      for (const specifier of runtimeImports(source)) {
        expect(specifier).not.toMatch(/^node:/)
        expect(specifier).not.toBe('idb-keyval')
        expect(specifier).not.toBe('@countersign/protocol')
        expect(specifier.startsWith('.') || specifier === '@scure/base').toBe(true)
      }
      const code = withoutComments(source)
      expect(code).not.toMatch(/\bBuffer\b/)
      expect(code).not.toMatch(/\bprocess\./)
    },
  )
})
