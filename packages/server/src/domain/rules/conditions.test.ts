import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileCondition, CONDITION_LIMITS, ConditionError } from './conditions.ts'
import { completeContext, CONTEXT_OBJECTS, NOW_FIELD, type ContextJson } from './context.ts'
import { decide, loadRules, type RuleDefinition } from './engine.ts'

const DOCS = readFileSync(fileURLToPath(new URL('../../../../../docs/rules.md', import.meta.url)), 'utf8')

function context(partial: ContextJson = {}): ContextJson {
  const result = completeContext(partial)
  if ('problems' in result) throw new Error(result.problems.join('; '))
  return result.context
}

const noLists = new Map<string, string[]>()

function errorOf(condition: string): ConditionError {
  try {
    compileCondition(condition)
  } catch (error) {
    if (error instanceof ConditionError) return error
    throw error
  }
  throw new Error(`expected ${condition} to be refused`)
}

describe('the documented context', () => {
  const fields = Object.entries(CONTEXT_OBJECTS).flatMap(([object, decls]) =>
    Object.entries(decls).map(([field, decl]) => [`${object}.${field}`, decl] as const),
  )

  it('documents every field in docs/rules.md, with the example the declaration gives', () => {
    for (const [path, decl] of [...fields, ['now', NOW_FIELD] as const]) {
      const row = DOCS.split('\n').find((line) => line.startsWith(`| \`${path}\` |`))
      expect(row, `docs/rules.md has no row for ${path}`).toBeDefined()
      expect(row).toContain(`\`${decl.example}\``)
    }
  })

  it('every example in the docs compiles', () => {
    const examples = [...DOCS.matchAll(/^\|[^|]+\|[^|]+\|[^|]+\| `([^`]+)` \|$/gm)].map((m) => m[1]!)
    expect(examples.length).toBeGreaterThan(25)
    for (const example of examples) expect(() => compileCondition(example), example).not.toThrow()
  })
})

describe('compileCondition', () => {
  it('names the signals, paths and lists a condition reads', () => {
    const compiled = compileCondition("velocity.actions1h > 3 && ip.inCidr('10.0.0.0/8') && list('vip').contains(user.id)")
    expect([...compiled.signals].sort()).toEqual(['request', 'velocity'])
    expect(compiled.paths).toEqual(['ip.address', 'user.id', 'velocity.actions1h'])
    expect(compiled.lists).toEqual(['vip'])
  })

  it('refuses what would not type-check, with line and column', () => {
    expect(errorOf('device.isNew == 1').details).toMatchObject({ line: 1 })
    expect(errorOf('user.id +\n 1 > 0').details).toMatchObject({ line: 1, column: 1 })
    expect(errorOf('travel.fast').details).toMatchObject({ line: 1, position: expect.any(Number) })
    expect(errorOf("user.inCidr('10.0.0.0/8')").details.message).toBeTruthy()
  })

  it('keeps conditions bounded: length, nesting of macros, number of macros', () => {
    expect(() => compileCondition(`${'true && '.repeat(600)}true`)).toThrow(ConditionError)
    expect(() => compileCondition('[1, 2].exists(x, [3].all(y, y > x))')).toThrow(ConditionError)
    const five = Array.from({ length: CONDITION_LIMITS.maxComprehensions + 1 }, (_, i) => `[${i}].exists(x, x > 0)`).join(' || ')
    expect(() => compileCondition(five)).toThrow(ConditionError)
    const four = Array.from({ length: CONDITION_LIMITS.maxComprehensions }, (_, i) => `[${i}].exists(x, x > 0)`).join(' || ')
    expect(() => compileCondition(four)).not.toThrow()
  })

  it('matches CIDR ranges for IPv4 and IPv6 and fails on a bad range', () => {
    const v4 = compileCondition("ip.inCidr('192.168.0.0/16')")
    expect(v4.evaluate(context({ ip: { address: '192.168.4.5' } }), noLists)).toEqual({ matched: true })
    expect(v4.evaluate(context({ ip: { address: '192.169.0.1' } }), noLists)).toEqual({ matched: false })
    expect(v4.evaluate(context(), noLists)).toEqual({ matched: false })
    const v6 = compileCondition("ip.inCidr('2001:db8::/32')")
    expect(v6.evaluate(context({ ip: { address: '2001:db8:1::7' } }), noLists)).toEqual({ matched: true })
    const bad = compileCondition("ip.inCidr('10.0.0.0/40')").evaluate(context({ ip: { address: '10.0.0.1' } }), noLists)
    expect(bad.matched).toBe(false)
    expect(bad.error).toBeTruthy()
  })

  it('compares list items across CEL’s int and JSON’s double', () => {
    const compiled = compileCondition("list('limits').contains(velocity.actions1h)")
    const lists = new Map([['limits', [3, 5]]])
    expect(compiled.evaluate(context({ velocity: { actions1h: 5 } }), lists)).toEqual({ matched: true })
    expect(compiled.evaluate(context({ velocity: { actions1h: 4 } }), lists)).toEqual({ matched: false })
    // The list is gone: the condition fails (and so does not match) rather than throwing.
    expect(compiled.evaluate(context(), noLists)).toMatchObject({ matched: false, error: expect.any(String) })
  })
})

describe('decide', () => {
  const rule = (ruleId: string, priority: number, outcome: RuleDefinition['outcome'], condition: string): RuleDefinition => ({
    ruleId,
    actionCode: 'pay',
    name: ruleId,
    description: null,
    isActive: true,
    priority,
    outcome,
    verificationMethods: null,
    condition,
    createdAt: '2026-01-01T00:00:00.000Z',
  })
  const config = { defaultOutcome: 'CHALLENGE' as const, verificationMethods: ['IN_APP' as const, 'PUSH' as const] }

  it('lets the lowest priority number among matches decide, whatever the order they were given in', () => {
    const rules = loadRules([
      rule('c', 30, 'ALLOW', 'true'),
      rule('a', 10, 'BLOCK', 'action.custom.amount > 5.0'),
      rule('b', 20, 'REVIEW', 'true'),
    ])
    const big = decide(rules, config, context({ action: { custom: { amount: 9 } } }), noLists)
    expect(big).toMatchObject({ outcome: 'BLOCK', decidedBy: 'rule', stateIfEnrolled: 'BLOCK', stateIfNotEnrolled: 'BLOCK' })
    expect(big.priorityRule?.ruleId).toBe('a')
    expect(big.results.filter((r) => r.matched).map((r) => r.rule.ruleId)).toEqual(['a', 'b', 'c'])
    const small = decide(rules, config, context({ action: { custom: { amount: 1 } } }), noLists)
    expect(small.priorityRule?.ruleId).toBe('b')
  })

  it('falls back to the default, which challenges only the enrolled', () => {
    const none = decide([], config, context(), noLists)
    expect(none).toMatchObject({
      outcome: 'CHALLENGE',
      decidedBy: 'default',
      stateIfEnrolled: 'CHALLENGE_REQUIRED',
      stateIfNotEnrolled: 'ALLOW',
    })
  })

  it('counts a rule whose evaluation fails as not matching, with its error', () => {
    const rules = loadRules([rule('a', 1, 'BLOCK', 'action.custom.amount > 5.0'), rule('b', 2, 'REVIEW', 'true')])
    const decision = decide(rules, config, context(), noLists)
    expect(decision.priorityRule?.ruleId).toBe('b')
    expect(decision.results[0]).toMatchObject({ matched: false })
    expect(decision.results[0]!.error).toBeTruthy()
  })

  it('treats a stored condition that no longer compiles as failing, not as a crash', () => {
    const rules = loadRules([rule('broken', 1, 'BLOCK', 'this is not CEL'), rule('b', 2, 'ALLOW', 'true')])
    const decision = decide(rules, config, context(), noLists)
    expect(decision.outcome).toBe('ALLOW')
    expect(decision.results[0]!.error).toBeTruthy()
  })
})

describe('any text as a condition', () => {
  const tokens = fc.constantFrom(
    'action',
    'user',
    'ip',
    'velocity',
    'travel',
    'device',
    'now',
    '.',
    'custom',
    'amount',
    'code',
    'isNew',
    'actions1h',
    '(',
    ')',
    '[',
    ']',
    '{',
    '}',
    ',',
    ':',
    '?',
    '!',
    '-',
    '+',
    '*',
    '/',
    '%',
    '==',
    '!=',
    '<',
    '>=',
    '&&',
    '||',
    ' in ',
    '1',
    '1.5',
    '-0',
    '9223372036854775807',
    '"x"',
    "'y'",
    'true',
    'null',
    'b"z"',
    'size',
    'has',
    'exists',
    'all',
    'map',
    'filter',
    'list',
    "list('a')",
    'inCidr',
    'contains',
    'matches',
    "'[a-'",
    'timestamp',
    'duration',
    "'1h'",
    'x',
    ' ',
    '\n',
    '\\',
    '`',
    '\u0000',
  )

  it('either compiles or is refused with a ConditionError, and a compiled one never throws when evaluated', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.array(tokens, { maxLength: 25 }).map((t) => t.join('')),
        ),
        (text) => {
          let compiled
          try {
            compiled = compileCondition(text)
          } catch (error) {
            expect(error).toBeInstanceOf(ConditionError)
            return
          }
          const result = compiled.evaluate(context({ action: { custom: { amount: 3 } } }), new Map([['a', ['x']]]))
          expect(typeof result.matched).toBe('boolean')
        },
      ),
      { numRuns: 3000 },
    )
  })
})
