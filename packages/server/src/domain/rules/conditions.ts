// Rule conditions in CEL. @bufbuild/cel parses and evaluates them. It has no type checker yet
// (its internal one stops at the first function call), so conditions are type-checked when
// saved with @marcbachmann/cel-js against the same declarations (context.ts): a typo in a
// field name or `amount > 'x'` is refused with its position instead of failing at every track.
import { isIP, BlockList } from 'node:net'
import { celEnv, celFunc, celMethod, CelScalar, isCelError, listType, mapType, parse, plan, type CelMap } from '@bufbuild/cel'
import { Environment } from '@marcbachmann/cel-js'
import type { ConditionErrorDetails } from '@countersign/protocol'
import { celBindings, CONTEXT_OBJECTS, fieldDecl, type ContextJson, type FieldType, type Signal } from './context.ts'

/** Bounds that keep any saved condition cheap to evaluate (docs/rules.md, "Limits"). */
export const CONDITION_LIMITS = {
  maxLength: 4000,
  maxAstNodes: 300,
  maxDepth: 32,
  maxComprehensions: 4,
  /** Items in a value list; a comprehension over one is the longest loop a condition can run. */
  maxListItems: 10_000,
}

export interface CompiledCondition {
  /** Signals the condition reads; only these are computed for it. */
  signals: ReadonlySet<Signal>
  /** Context fields it reads, `object.field`. */
  paths: readonly string[]
  /** Value lists it names with list('…'). */
  lists: readonly string[]
  evaluate(context: ContextJson, lists: ReadonlyMap<string, readonly (string | number)[]>): { matched: boolean; error?: string }
}

export class ConditionError extends Error {
  override name = 'ConditionError'
  constructor(readonly details: ConditionErrorDetails) {
    super(details.message)
  }
}

const CEL_JS_TYPES: Record<FieldType, string> = {
  string: 'string',
  int: 'int',
  double: 'double',
  bool: 'bool',
  timestamp: 'google.protobuf.Timestamp',
  map: 'map<string, dyn>',
}

/** The save-time checker's environment, built from the declarations. */
const checker = (() => {
  let env = new Environment({
    limits: { maxAstNodes: CONDITION_LIMITS.maxAstNodes, maxDepth: CONDITION_LIMITS.maxDepth, maxListElements: 200, maxMapEntries: 50 },
  })
  for (const [object, fields] of Object.entries(CONTEXT_OBJECTS)) {
    const typeName = object[0]!.toUpperCase() + object.slice(1)
    env = env.registerType(typeName, { fields: Object.fromEntries(Object.entries(fields).map(([f, d]) => [f, CEL_JS_TYPES[d.type]])) })
    env = env.registerVariable(object, typeName)
  }
  const unused = () => {
    throw new Error('the checker never evaluates')
  }
  return env
    .registerVariable('now', CEL_JS_TYPES.timestamp)
    .registerFunction('list(string): list<dyn>', unused)
    .registerFunction('list<dyn>.contains(dyn): bool', unused)
    .registerFunction('Ip.inCidr(string): bool', unused)
})()

// The evaluation environment. Value lists are per tenant and per evaluation; evaluation is
// synchronous, so the lists of the evaluation running now are simply held here meanwhile.
let activeLists: ReadonlyMap<string, readonly (string | number)[]> = new Map()

const evaluator = celEnv({
  variables: {
    ...Object.fromEntries(Object.keys(CONTEXT_OBJECTS).map((object) => [object, mapType(CelScalar.STRING, CelScalar.DYN)])),
    now: CelScalar.DYN,
  },
  funcs: [
    celFunc('list', [CelScalar.STRING], listType(CelScalar.DYN), (alias) => {
      const items = activeLists.get(alias)
      if (!items) throw new Error(`no value list '${alias}'`)
      return items as (string | number)[]
    }),
    celMethod('contains', listType(CelScalar.DYN), [CelScalar.DYN], CelScalar.BOOL, function (wanted) {
      const key = typeof wanted === 'bigint' ? Number(wanted) : wanted
      for (const item of this) if ((typeof item === 'bigint' ? Number(item) : item) === key) return true
      return false
    }),
    celMethod('inCidr', mapType(CelScalar.STRING, CelScalar.DYN), [CelScalar.STRING], CelScalar.BOOL, function (cidr) {
      const address = (this as CelMap).get('address')
      return typeof address === 'string' && address !== '' && cidrBlock(cidr).check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
    }),
  ],
})

const blocks = new Map<string, BlockList>()

/** A CIDR range as a BlockList (IPv4 ranges also match IPv4-mapped IPv6 addresses). */
function cidrBlock(cidr: string): BlockList {
  let block = blocks.get(cidr)
  if (block) return block
  const match = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(cidr)
  const family = match ? isIP(match[1]!) : 0
  const prefix = match ? Number(match[2]) : -1
  if (!match || family === 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`'${cidr.slice(0, 60)}' is not a CIDR range`)
  block = new BlockList()
  block.addSubnet(match[1]!, prefix, family === 4 ? 'ipv4' : 'ipv6')
  if (blocks.size > 10_000) blocks.clear()
  blocks.set(cidr, block)
  return block
}

type Expr = ReturnType<typeof parse>['expr']

// A context is converted for CEL once, however many rules read it (evaluation never changes it).
const bound = new WeakMap<ContextJson, Record<string, unknown>>()

function bindingsOf(context: ContextJson): Record<string, unknown> {
  let bindings = bound.get(context)
  if (!bindings) {
    bindings = celBindings(context)
    bound.set(context, bindings)
  }
  return bindings
}

const compiled = new Map<string, CompiledCondition>()

/**
 * Parses, type-checks and plans a condition; throws ConditionError with the position of the
 * first problem. Results are cached by text, so a rule set reloaded every second is planned once.
 */
export function compileCondition(text: string): CompiledCondition {
  const hit = compiled.get(text)
  if (hit) return hit
  if (text.length > CONDITION_LIMITS.maxLength)
    throw conditionError(text, `a condition has at most ${CONDITION_LIMITS.maxLength} characters`)
  let checked: ReturnType<typeof checker.check>
  try {
    checked = checker.check(text)
  } catch (error) {
    // The checker reports problems in its result; should it throw instead, that is still the condition's fault.
    throw conditionError(text, firstLine(error instanceof Error ? error.message : String(error)))
  }
  if (!checked.valid) {
    const error = checked.error as (Error & { node?: { pos?: number } }) | undefined
    throw conditionError(text, firstLine(error?.message ?? 'invalid condition'), error?.node?.pos)
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn')
    throw conditionError(text, `a condition must be true or false, not ${checked.type}`)

  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(text)
  } catch (error) {
    throw conditionError(text, firstLine(error instanceof Error ? error.message : String(error)))
  }
  const facts = inspect(parsed.expr, text, parsed.sourceInfo?.positions ?? {})
  const run = planned(text, parsed)
  const condition: CompiledCondition = {
    ...facts,
    evaluate(context, lists) {
      activeLists = lists
      try {
        const result = run(bindingsOf(context) as never)
        if (isCelError(result)) return { matched: false, error: firstLine(result.message) }
        if (typeof result !== 'boolean') return { matched: false, error: 'the condition did not produce true or false' }
        return { matched: result }
      } catch (error) {
        return { matched: false, error: firstLine(error instanceof Error ? error.message : String(error)) }
      } finally {
        activeLists = new Map()
      }
    },
  }
  if (compiled.size > 5000) compiled.clear()
  compiled.set(text, condition)
  return condition
}

/** The evaluation plan; planning a condition that cannot run is the condition's fault. */
function planned(text: string, parsed: ReturnType<typeof parse>) {
  try {
    return plan(evaluator, parsed)
  } catch (error) {
    throw conditionError(text, firstLine(error instanceof Error ? error.message : String(error)))
  }
}

/** Walks the syntax tree: what the condition reads, which lists it names, and its loop shape. */
function inspect(root: Expr, text: string, positions: { [id: string]: number }) {
  const paths = new Set<string>()
  const lists = new Set<string>()
  let comprehensions = 0
  const visit = (expr: Expr | undefined, inLoop: boolean): void => {
    if (!expr) return
    const kind = expr.exprKind
    switch (kind.case) {
      case 'selectExpr': {
        const operand = kind.value.operand
        if (operand?.exprKind.case === 'identExpr') paths.add(`${operand.exprKind.value.name}.${kind.value.field}`)
        visit(operand, inLoop)
        return
      }
      case 'identExpr':
        if (kind.value.name === 'now') paths.add('now')
        return
      case 'callExpr': {
        if (kind.value.function === 'list') {
          const arg = kind.value.args[0]
          if (arg?.exprKind.case !== 'constExpr' || arg.exprKind.value.constantKind.case !== 'stringValue') {
            throw conditionError(text, "list() takes a list's alias as a quoted string", positions[String(expr.id)])
          }
          lists.add(arg.exprKind.value.constantKind.value)
        }
        // ip.inCidr(…) reads the address.
        if (kind.value.function === 'inCidr') paths.add('ip.address')
        visit(kind.value.target, inLoop)
        for (const arg of kind.value.args) visit(arg, inLoop)
        return
      }
      case 'listExpr':
        for (const element of kind.value.elements) visit(element, inLoop)
        return
      case 'structExpr':
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === 'mapKey') visit(entry.keyKind.value, inLoop)
          visit(entry.value, inLoop)
        }
        return
      case 'comprehensionExpr': {
        if (inLoop)
          throw conditionError(text, 'a macro (all, exists, map, filter) cannot run inside another one', positions[String(expr.id)])
        comprehensions++
        const c = kind.value
        visit(c.iterRange, false)
        visit(c.accuInit, false)
        visit(c.loopCondition, true)
        visit(c.loopStep, true)
        visit(c.result, false)
        return
      }
      default:
        return
    }
  }
  visit(root, false)
  if (comprehensions > CONDITION_LIMITS.maxComprehensions) {
    throw conditionError(text, `a condition may use at most ${CONDITION_LIMITS.maxComprehensions} macros (all, exists, map, filter)`)
  }
  const signals = new Set<Signal>()
  for (const path of paths) {
    const decl = fieldDecl(path)
    if (decl) signals.add(decl.signal)
  }
  return { signals, paths: [...paths].sort(), lists: [...lists].sort() }
}

function conditionError(text: string, message: string, position?: number): ConditionError {
  if (position === undefined || position < 0) return new ConditionError({ message })
  const before = text.slice(0, position).split('\n')
  return new ConditionError({ message, position, line: before.length, column: before.at(-1)!.length + 1 })
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim().slice(0, 300)
}
