// Deciding an action's outcome from its rules: every active rule is evaluated, the matching
// rule with the lowest priority number decides, and none matching means the default.
import type { ActionState, ChallengeMethod, RuleOutcome } from '@countersign/protocol'
import type { RuleRow } from '../../storage/rules-repo.ts'
import { compileCondition, ConditionError, type CompiledCondition } from './conditions.ts'
import { fieldDecl, type ContextJson, type Signal } from './context.ts'

/** A stored rule as the tenant cache reads it (timestamps as ISO text). */
export type RuleDefinition = Omit<RuleRow, 'createdAt' | 'updatedAt'> & { createdAt: string }

export interface LoadedRule extends RuleDefinition {
  /** Null when a stored condition no longer compiles; the rule then fails every evaluation. */
  compiled: CompiledCondition | null
  compileError: string | null
}

/** Compiles stored rules, lowest priority first (ties: the older rule first). */
export function loadRules(definitions: RuleDefinition[]): LoadedRule[] {
  return definitions
    .map((rule) => {
      try {
        return { ...rule, compiled: compileCondition(rule.condition), compileError: null }
      } catch (error) {
        return { ...rule, compiled: null, compileError: error instanceof ConditionError ? error.message : 'the condition does not compile' }
      }
    })
    .sort((a, b) => a.priority - b.priority || a.createdAt.localeCompare(b.createdAt) || a.ruleId.localeCompare(b.ruleId))
}

/** What the rules of an action need: signals to compute and value lists to read. */
export function needsOf(rules: readonly LoadedRule[]): { signals: Set<Signal>; lists: string[] } {
  const signals = new Set<Signal>()
  const lists = new Set<string>()
  for (const rule of rules) {
    for (const signal of rule.compiled?.signals ?? []) signals.add(signal)
    for (const list of rule.compiled?.lists ?? []) lists.add(list)
  }
  return { signals, lists: [...lists] }
}

export interface RuleResult {
  rule: LoadedRule
  matched: boolean
  error?: string
}

export interface Decision {
  outcome: RuleOutcome
  decidedBy: 'rule' | 'default'
  priorityRule: LoadedRule | null
  results: RuleResult[]
  /** State for a user with an authenticator, and for one without. */
  stateIfEnrolled: ActionState
  stateIfNotEnrolled: ActionState
  /** Methods a challenge may use: the deciding rule's, within the action's. */
  verificationMethods: ChallengeMethod[]
}

const STATE_OF: Record<RuleOutcome, ActionState> = {
  ALLOW: 'ALLOW',
  CHALLENGE: 'CHALLENGE_REQUIRED',
  REVIEW: 'REVIEW_REQUIRED',
  BLOCK: 'BLOCK',
}

/**
 * Evaluates the rules against a context. A rule that fails to evaluate is recorded with its
 * error and counts as not matching. A default CHALLENGE cannot be met by a user without an
 * authenticator, so such a user is allowed (PROTOCOL.md §2); a rule's CHALLENGE stands.
 */
export function decide(
  rules: readonly LoadedRule[],
  config: { defaultOutcome: RuleOutcome; verificationMethods: ChallengeMethod[] },
  context: ContextJson,
  lists: ReadonlyMap<string, readonly (string | number)[]>,
): Decision {
  const results: RuleResult[] = rules.map((rule) => {
    if (!rule.compiled) return { rule, matched: false, error: rule.compileError ?? 'the condition does not compile' }
    const result = rule.compiled.evaluate(context, lists)
    return result.error === undefined ? { rule, matched: result.matched } : { rule, matched: false, error: result.error }
  })
  const priorityRule = results.find((r) => r.matched)?.rule ?? null
  if (!priorityRule) {
    const state = STATE_OF[config.defaultOutcome]
    return {
      outcome: config.defaultOutcome,
      decidedBy: 'default',
      priorityRule: null,
      results,
      stateIfEnrolled: state,
      stateIfNotEnrolled: config.defaultOutcome === 'CHALLENGE' ? 'ALLOW' : state,
      verificationMethods: config.verificationMethods,
    }
  }
  const state = STATE_OF[priorityRule.outcome]
  return {
    outcome: priorityRule.outcome,
    decidedBy: 'rule',
    priorityRule,
    results,
    stateIfEnrolled: state,
    stateIfNotEnrolled: state,
    verificationMethods: priorityRule.verificationMethods
      ? config.verificationMethods.filter((m) => priorityRule.verificationMethods!.includes(m))
      : config.verificationMethods,
  }
}

/** The values a rule read, by path, for showing why it matched. */
export function inputsOf(rule: LoadedRule, context: ContextJson): Record<string, unknown> {
  const inputs: Record<string, unknown> = {}
  for (const path of rule.compiled?.paths ?? []) {
    if (!fieldDecl(path)) continue
    if (path === 'now') inputs.now = context.now
    else {
      const [object, field] = path.split('.') as [string, string]
      inputs[path] = (context[object] as Record<string, unknown> | undefined)?.[field]
    }
  }
  return inputs
}
