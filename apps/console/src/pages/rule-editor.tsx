// Write or change one rule. The server checks the condition when it is saved; a condition that
// does not compile comes back as invalid_rule_condition with where, shown under the editor.
import { useRef, useState, type ReactNode } from 'react'
import { Link, useNavigate, useParams } from 'react-router'
import type { ChallengeMethod, CreateRuleRequest, Rule, RuleOutcome, UpdateRuleRequest } from '@countersign/protocol'
import { api, segment } from '../api.ts'
import { ConditionError, conditionErrorOf, type ConditionErrorDetails } from '../components/condition-error.tsx'
import { ConfirmDialog } from '../components/dialog.tsx'
import { Choices, Field, MethodCheckboxes, Optional, Options, useSubmit } from '../components/form.tsx'
import { RuleTestPanel } from '../components/rule-test-panel.tsx'
import { Failure, PagePending, PageHeader, Section } from '../components/ui.tsx'
import { CHALLENGE_METHODS, OUTCOMES, outcomeLabel } from '../format.ts'
import { useResource } from '../use-resource.ts'

interface RuleForm {
  name: string
  description: string
  condition: string
  outcome: RuleOutcome
  priority: string
  isActive: boolean
  /** Empty: the action's own methods. */
  verificationMethods: ChallengeMethod[]
}

const EMPTY: RuleForm = { name: '', description: '', condition: '', outcome: 'CHALLENGE', priority: '100', isActive: true, verificationMethods: [] }

function formOf(rule: Rule): RuleForm {
  return {
    name: rule.name,
    description: rule.description ?? '',
    condition: rule.condition,
    outcome: rule.outcome,
    priority: String(rule.priority),
    isActive: rule.isActive,
    verificationMethods: rule.verificationMethods ?? [],
  }
}

const EXAMPLES = [
  'action.custom.amount > 1000.0',
  'device.isNew && user.ageDays < 7.0',
  "ip.country in ['KP', 'IR']",
  'velocity.sameAction1h >= 5',
  "list('blocked_payees').contains(action.transaction.payee)",
]

export function RuleEditorPage() {
  const { actionCode = '', ruleId } = useParams()
  const rule = useResource((signal) => (ruleId ? api<Rule>('GET', `/action-configurations/${segment(actionCode)}/rules/${segment(ruleId)}`, undefined, { signal }) : Promise.resolve(undefined)), `${actionCode}/${ruleId ?? 'new'}`)
  const back = <Link to={`/actions/${segment(actionCode)}`}>← {actionCode}</Link>
  const title = ruleId ? 'Edit rule' : 'New rule'
  if (rule.error || rule.loading) return <PagePending title={title} back={back} error={rule.error} />
  return <RuleEditor key={ruleId ?? 'new'} actionCode={actionCode} rule={rule.data} back={back} title={title} />
}

function RuleEditor({ actionCode, rule, back, title }: { actionCode: string; rule: Rule | undefined; back: ReactNode; title: string }) {
  const navigate = useNavigate()
  const [form, setForm] = useState<RuleForm>(rule ? formOf(rule) : EMPTY)
  const [conditionError, setConditionError] = useState<ConditionErrorDetails | null>(null)
  const [deleting, setDeleting] = useState(false)
  const conditionRef = useRef<HTMLTextAreaElement>(null)
  const set = <K extends keyof RuleForm>(field: K, value: RuleForm[K]) => setForm((current) => ({ ...current, [field]: value }))
  const rulesPath = `/action-configurations/${segment(actionCode)}/rules`

  const showError = (details: ConditionErrorDetails) => {
    setConditionError(details)
    const textarea = conditionRef.current
    if (textarea && details.position !== undefined) {
      textarea.focus()
      textarea.setSelectionRange(details.position, Math.min(details.position + 1, textarea.value.length))
    }
  }

  const save = useSubmit(async () => {
    setConditionError(null)
    const priority = Number(form.priority)
    const methods = CHALLENGE_METHODS.filter((m) => form.verificationMethods.includes(m))
    try {
      let saved: Rule
      if (rule) {
        const change: UpdateRuleRequest = {
          name: form.name.trim(),
          description: form.description.trim() || null,
          condition: form.condition,
          outcome: form.outcome,
          priority,
          isActive: form.isActive,
          verificationMethods: methods.length > 0 ? methods : null,
        }
        saved = await api<Rule>('PATCH', `${rulesPath}/${segment(rule.ruleId)}`, change)
      } else {
        const created: CreateRuleRequest = {
          name: form.name.trim(),
          ...(form.description.trim() ? { description: form.description.trim() } : {}),
          condition: form.condition,
          outcome: form.outcome,
          priority,
          isActive: form.isActive,
          ...(methods.length > 0 ? { verificationMethods: methods } : {}),
        }
        saved = await api<Rule>('POST', rulesPath, created)
      }
      void navigate(`/actions/${segment(actionCode)}`, { state: { flash: `Rule “${saved.name}” saved.` } })
    } catch (reason) {
      // A condition that does not compile is shown under it, not in the banner.
      const details = conditionErrorOf(reason)
      if (!details) throw reason
      showError(details)
    }
  })

  const describedBy = ['rule-condition-help', conditionError ? 'rule-condition-error' : ''].filter(Boolean).join(' ')
  return (
    <>
      <PageHeader title={title} back={back} description={<>A rule of <span className="mono">{actionCode}</span>. When its condition is true and no matching rule has a lower priority number, its outcome decides.</>} />
      <Section title="Rule">
        <form onSubmit={save.onSubmit} className="rule-form">
          <div className="form-grid form-grid-2">
            <Field id="rule-name" label="Name">
              <input id="rule-name" className="input" required maxLength={200} value={form.name} onChange={(e) => set('name', e.target.value)} placeholder="Large payment" />
            </Field>
            <Field
              id="rule-description"
              label={
                <>
                  Description <Optional />
                </>
              }
            >
              <input id="rule-description" className="input" maxLength={2000} value={form.description} onChange={(e) => set('description', e.target.value)} />
            </Field>
            {/* Its help goes between the error and the examples, so it is written out here. */}
            <Field id="rule-condition" label="Condition" wide>
              <textarea
                id="rule-condition"
                ref={conditionRef}
                className={conditionError ? 'textarea code-editor invalid' : 'textarea code-editor'}
                required
                maxLength={4000}
                rows={5}
                spellCheck={false}
                autoCapitalize="off"
                autoCorrect="off"
                value={form.condition}
                onChange={(e) => {
                  set('condition', e.target.value)
                  setConditionError(null)
                }}
                placeholder="action.custom.amount > 1000.0"
                aria-invalid={conditionError ? true : undefined}
                aria-describedby={describedBy}
              />
              {conditionError ? (
                <ConditionError
                  id="rule-condition-error"
                  details={conditionError}
                  condition={form.condition}
                  onShow={() => showError(conditionError)}
                />
              ) : null}
              <p id="rule-condition-help" className="help">
                CEL over the rule context: <code>action</code>, <code>user</code>, <code>ip</code>, <code>device</code>, <code>userAgent</code>, <code>velocity</code>, <code>travel</code>, <code>now</code> and <code>list(alias)</code>. Guard optional custom fields with <code>has()</code>.
              </p>
              <details className="disclosure">
                <summary>Examples</summary>
                <ul className="examples">
                  {EXAMPLES.map((example) => (
                    <li key={example}>
                      <code>{example}</code>{' '}
                      <button type="button" className="link-button small" onClick={() => set('condition', example)} aria-label={`Use the example ${example}`}>
                        Use
                      </button>
                    </li>
                  ))}
                </ul>
              </details>
            </Field>
            <Field id="rule-outcome" label="Outcome">
              <select id="rule-outcome" className="select" value={form.outcome} onChange={(e) => set('outcome', e.target.value as RuleOutcome)}>
                <Options values={OUTCOMES} labels={outcomeLabel} />
              </select>
            </Field>
            <Field id="rule-priority" label="Priority" help="Lower numbers win when several rules match.">
              <input id="rule-priority" className="input" type="number" inputMode="numeric" min={0} max={1000000} step={1} required value={form.priority} onChange={(e) => set('priority', e.target.value)} aria-describedby="rule-priority-help" />
            </Field>
            <Choices legend="Verification methods">
              <MethodCheckboxes value={form.verificationMethods} onChange={(methods) => set('verificationMethods', methods)} />
              <p className="help">None checked: the action’s methods. When this rule decides, a challenge may use only the checked ones.</p>
            </Choices>
            <div className="field">
              <span className="label">Status</span>
              <label className="checkbox">
                <input type="checkbox" checked={form.isActive} onChange={(e) => set('isActive', e.target.checked)} />
                Active
              </label>
              <p className="help">An inactive rule is not evaluated on track, only in tests.</p>
            </div>
          </div>
          <Failure error={save.error} />
          <div className="form-actions">
            {rule ? (
              <button type="button" className="button button-danger-quiet push-left" onClick={() => setDeleting(true)}>
                Delete rule
              </button>
            ) : null}
            <Link className="button" to={`/actions/${segment(actionCode)}`}>
              Cancel
            </Link>
            <button type="submit" className="button button-primary" disabled={save.busy}>
              {save.busy ? 'Saving…' : rule ? 'Save rule' : 'Create rule'}
            </button>
          </div>
        </form>
      </Section>
      <Section title="Test against a past action" description="Evaluates this condition, as written above, beside the saved rules against a recorded action. Nothing is saved or recorded.">
        <RuleTestPanel actionCode={actionCode} draftCondition={form.condition} onDraftError={showError} />
      </Section>
      {rule ? (
        <ConfirmDialog
          subject={deleting ? rule : null}
          title="Delete this rule?"
          confirmLabel="Delete rule"
          danger
          onClose={() => setDeleting(false)}
          onConfirm={async (rule) => {
            await api<void>('DELETE', `${rulesPath}/${segment(rule.ruleId)}`)
            void navigate(`/actions/${segment(actionCode)}`, { state: { flash: `Rule “${rule.name}” deleted.` } })
          }}
        >
          {(rule) => (
            <p>
              <strong>{rule.name}</strong> will no longer be evaluated. Past actions keep the record that it matched.
            </p>
          )}
        </ConfirmDialog>
      ) : null}
    </>
  )
}
