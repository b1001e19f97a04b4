// "Test against a past action": the dry run evaluates an action code's rules (and a draft
// condition) against a recorded action's context and records nothing.
import { useId, useState } from 'react'
import type { ActionLogPage, DryRunRequest, DryRunResponse } from '@countersign/protocol'
import { api, segment } from '../api.ts'
import { formatDateTime, stateLabel } from '../format.ts'
import { useApi } from '../use-resource.ts'
import { ConditionError, conditionErrorOf, type ConditionErrorDetails } from './condition-error.tsx'
import { Choices, Field, useSubmit } from './form.tsx'
import { DataTable, type Column } from './lists.tsx'
import { Badge, Dash, Empty, Failure, JsonView, OutcomeBadge, StateBadge } from './ui.tsx'

type Source = 'recent' | 'manual'

export function RuleTestPanel({
  actionCode,
  draftCondition,
  initialUserId,
  initialIdempotencyKey,
  onDraftError,
}: {
  actionCode: string
  /** The condition being edited, evaluated beside the saved rules. */
  draftCondition?: string
  initialUserId?: string | undefined
  initialIdempotencyKey?: string | undefined
  /** A draft that does not compile: the editor shows it under the condition. */
  onDraftError?: (details: ConditionErrorDetails) => void
}) {
  const id = useId()
  const recent = useApi<ActionLogPage>('/actions', { actionCode, limit: 25 })
  const [source, setSource] = useState<Source>(initialUserId && initialIdempotencyKey ? 'manual' : 'recent')
  /** Index into the recent actions (the list is loaded once). */
  const [picked, setPicked] = useState('0')
  const [userId, setUserId] = useState(initialUserId ?? '')
  const [idempotencyKey, setIdempotencyKey] = useState(initialIdempotencyKey ?? '')
  const [draftError, setDraftError] = useState<ConditionErrorDetails | null>(null)
  const [result, setResult] = useState<DryRunResponse | null>(null)

  const recentItems = recent.data?.items ?? []
  const chosen = source === 'recent' ? (recentItems[Number(picked)] ?? recentItems[0]) : undefined
  const target = source === 'recent' ? (chosen ? { userId: chosen.userId, idempotencyKey: chosen.idempotencyKey } : null) : userId.trim() && idempotencyKey.trim() ? { userId: userId.trim(), idempotencyKey: idempotencyKey.trim() } : null

  const test = useSubmit(async () => {
    if (!target) return
    setDraftError(null)
    const body: DryRunRequest = { ...target, ...(draftCondition?.trim() ? { condition: draftCondition } : {}) }
    try {
      setResult(await api<DryRunResponse>('POST', `/action-configurations/${segment(actionCode)}/rules/dry-run`, body))
    } catch (reason) {
      setResult(null)
      // A draft that does not compile is shown as the editor shows it, not in the banner.
      const details = conditionErrorOf(reason)
      if (!details) throw reason
      setDraftError(details)
      onDraftError?.(details)
    }
  })

  return (
    <div className="test-panel">
      <form onSubmit={test.onSubmit} className="test-form">
        <Choices legend="Past action">
          <div className="segmented">
            <label className="checkbox">
              <input type="radio" name={`${id}-source`} checked={source === 'recent'} onChange={() => setSource('recent')} />
              A recent action
            </label>
            <label className="checkbox">
              <input type="radio" name={`${id}-source`} checked={source === 'manual'} onChange={() => setSource('manual')} />
              By user and idempotency key
            </label>
          </div>
        </Choices>
        {source === 'recent' ? (
          <Field
            id={`${id}-recent`}
            label={
              <>
                Recent {actionCode} actions
              </>
            }
          >
            <Failure error={recent.error} />
            {recent.data && recentItems.length === 0 ? (
              <Empty>No tracked actions of this code yet.</Empty>
            ) : (
              <select id={`${id}-recent`} className="select" value={chosen ? String(recentItems.indexOf(chosen)) : ''} onChange={(e) => setPicked(e.target.value)} disabled={recentItems.length === 0}>
                {recentItems.map((a, index) => (
                  <option key={`${a.userId}\n${a.idempotencyKey}`} value={String(index)}>
                    {formatDateTime(a.createdAt)} · {a.userId} · {stateLabel[a.state]}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : (
          <div className="form-grid form-grid-2">
            <Field id={`${id}-user`} label="User ID">
              <input id={`${id}-user`} className="input mono" value={userId} onChange={(e) => setUserId(e.target.value)} required spellCheck={false} />
            </Field>
            <Field id={`${id}-key`} label="Idempotency key">
              <input id={`${id}-key`} className="input mono" value={idempotencyKey} onChange={(e) => setIdempotencyKey(e.target.value)} required spellCheck={false} />
            </Field>
          </div>
        )}
        <div className="form-actions form-actions-start">
          <button type="submit" className="button" disabled={!target || test.busy}>
            {test.busy ? 'Testing…' : draftCondition !== undefined ? 'Test this condition' : 'Test the rules'}
          </button>
        </div>
      </form>
      <Failure error={test.error} />
      {draftError && !onDraftError ? <ConditionError details={draftError} condition={draftCondition ?? ''} /> : null}
      {result ? <DryRunResult result={result} hasDraft={draftCondition !== undefined && draftCondition.trim() !== ''} /> : null}
    </div>
  )
}

function Inputs({ inputs }: { inputs: Record<string, unknown> }) {
  const entries = Object.entries(inputs)
  if (entries.length === 0) return <Dash />
  return (
    <dl className="inputs">
      {entries.map(([name, value]) => (
        <div key={name}>
          <dt className="mono">{name}</dt>
          <dd className="mono">{JSON.stringify(value)}</dd>
        </div>
      ))}
    </dl>
  )
}

function Matched({ matched, error }: { matched: boolean; error?: string | undefined }) {
  if (error !== undefined) return <Badge tone="danger">Error</Badge>
  return matched ? <Badge tone="accent">Matched</Badge> : <Badge>Not matched</Badge>
}

type RuleResult = DryRunResponse['rules'][number]

function resultColumns(priorityRuleId: string | undefined): Array<Column<RuleResult>> {
  return [
    { header: 'Priority', num: true, cell: (rule) => rule.priority },
    {
      header: 'Rule',
      cell: (rule) => (
        <>
          {rule.name}
          {!rule.isActive ? <span className="muted small"> (inactive)</span> : null}
          {rule.ruleId === priorityRuleId ? (
            <>
              {' '}
              <Badge tone="accent">Decided</Badge>
            </>
          ) : null}
        </>
      ),
    },
    { header: 'Outcome', cell: (rule) => <OutcomeBadge outcome={rule.outcome} /> },
    {
      header: 'Result',
      cell: (rule) => (
        <>
          <Matched matched={rule.matched} error={rule.error} />
          {rule.error ? <div className="text-danger small">{rule.error}</div> : null}
        </>
      ),
    },
    { header: 'Inputs', cell: (rule) => <Inputs inputs={rule.inputs} /> },
  ]
}

function DryRunResult({ result, hasDraft }: { result: DryRunResponse; hasDraft: boolean }) {
  const decider = result.rules.find((r) => r.ruleId === result.priorityRuleId)
  return (
    <div className="dry-run" aria-live="polite">
      <h3>Result</h3>
      <p className="dry-run-summary">
        <OutcomeBadge outcome={result.outcome} /> <StateBadge state={result.state} />{' '}
        {result.decidedBy === 'rule' && decider ? (
          <span>
            decided by <strong>{decider.name}</strong> (priority {decider.priority})
          </span>
        ) : (
          <span>no active rule matched: the default outcome applies</span>
        )}
      </p>
      {hasDraft && result.draft ? (
        <div className="draft-result">
          <p>
            <strong>This condition:</strong> <Matched matched={result.draft.matched} error={result.draft.error} />
            {result.draft.error ? <span className="text-danger"> {result.draft.error}</span> : null}
          </p>
          <Inputs inputs={result.draft.inputs} />
        </div>
      ) : null}
      {result.rules.length > 0 ? (
        <DataTable label="Rule results" columns={resultColumns(result.priorityRuleId)} rows={result.rules} rowKey={(rule) => rule.ruleId} rowProps={(rule) => ({ className: rule.isActive ? undefined : 'row-muted' })} compact />
      ) : (
        <p className="muted">This action code has no saved rules.</p>
      )}
      <details className="disclosure">
        <summary>Context the rules saw</summary>
        <JsonView value={result.context} label="Rule context" />
      </details>
    </div>
  )
}
