// One tracked action: how it was decided (the rules that matched, the one that decided, the
// output and the context) and where it went after.
import { Link, useLocation, useParams } from 'react-router'
import type { ActionLogEntry, ActionLogPage } from '@countersign/protocol'
import { api, describeError, segment } from '../api.ts'
import { DataTable } from '../components/lists.tsx'
import { Badge, Dash, DateTime, Detail, ErrorBanner, JsonView, Loading, OutcomeBadge, PageHeader, Section, StateBadge } from '../components/ui.tsx'
import { methodLabel, OUTCOMES, stateLabel } from '../format.ts'
import { useResource } from '../use-resource.ts'

/** One action of the log, by its idempotency key (null when there is none for this user and code). */
async function findAction(userId: string, actionCode: string, idempotencyKey: string, signal: AbortSignal): Promise<ActionLogEntry | null> {
  const result = await api<ActionLogPage>('GET', '/actions', undefined, { signal, query: { idempotencyKey, limit: 1 } })
  return result.items.find((item) => item.userId === userId && item.actionCode === actionCode) ?? null
}

interface Output {
  outcome?: unknown
  decidedBy?: unknown
  verificationMethods?: unknown
  errors?: Array<{ ruleId?: string; error?: string }>
}

export function ActionDetailPage() {
  const { userId = '', actionCode = '', idempotencyKey = '' } = useParams()
  const passed = (useLocation().state as { entry?: ActionLogEntry } | null)?.entry
  const fromState = passed && passed.userId === userId && passed.actionCode === actionCode && passed.idempotencyKey === idempotencyKey ? passed : undefined
  // Always read it again: the state may have moved on since the log was loaded.
  const action = useResource((signal) => findAction(userId, actionCode, idempotencyKey, signal), `${userId}\n${actionCode}\n${idempotencyKey}`)
  const entry = action.data ?? fromState
  const back = <Link to="/action-log">← Action log</Link>

  if (!entry) {
    return (
      <>
        <PageHeader title="Action" back={back} />
        {action.error ? <ErrorBanner message={describeError(action.error)} /> : null}
        {action.loading ? <Loading /> : null}
        {action.data === null ? <ErrorBanner message="No such action in the log." /> : null}
      </>
    )
  }

  const output = (typeof entry.output === 'object' && entry.output !== null ? entry.output : {}) as Output
  const decidedOutcome = OUTCOMES.find((o) => o === output.outcome)
  const errors = Array.isArray(output.errors) ? output.errors : []
  const testLink = `/actions/${segment(entry.actionCode)}?testUser=${encodeURIComponent(entry.userId)}&testKey=${encodeURIComponent(entry.idempotencyKey)}`

  return (
    <>
      <PageHeader
        title={`${entry.actionCode}`}
        back={back}
        description={
          <>
            Tracked for <Link to={`/users/${segment(entry.userId)}`} className="mono">{entry.userId}</Link> · <DateTime value={entry.createdAt} seconds />
          </>
        }
        actions={
          <Link className="button" to={testLink}>
            Test the rules on this action
          </Link>
        }
      />
      <Section title="Summary">
        <dl className="details-grid">
          <Detail term="State">
            <StateBadge state={entry.state} />
          </Detail>
          <Detail term="Decision at track">
            {decidedOutcome ? <OutcomeBadge outcome={decidedOutcome} /> : <Dash />}
            {output.decidedBy === 'rule' ? <span className="muted small"> by a rule</span> : output.decidedBy === 'default' ? <span className="muted small"> by the default outcome</span> : null}
          </Detail>
          <Detail term="User" className="mono">
            {entry.userId}
          </Detail>
          <Detail term="Action code" className="mono">
            <Link to={`/actions/${segment(entry.actionCode)}`}>{entry.actionCode}</Link>
          </Detail>
          <Detail term="Idempotency key" className="mono break">
            {entry.idempotencyKey}
          </Detail>
          <Detail term="Verification method">{entry.verificationMethod ? methodLabel[entry.verificationMethod] : <Dash />}</Detail>
          <Detail term="IP address" className="mono">
            {entry.ipAddress ?? <Dash />}
          </Detail>
        </dl>
      </Section>
      <Section title="State history" description="Every state the action has been in, oldest first.">
        <ol className="timeline">
          {entry.stateHistory.map((step, index) => {
            const current = index === entry.stateHistory.length - 1
            return (
              <li key={`${index}-${step.at}`}>
                <span className={current ? 'timeline-dot timeline-dot-current' : 'timeline-dot'} aria-hidden="true" />
                <div>
                  <p className="timeline-title">
                    {index === 0 ? 'Tracked' : 'Changed to'}: <StateBadge state={step.state} />
                    {step.verificationMethod ? <span className="muted small"> via {methodLabel[step.verificationMethod]}</span> : null}
                    {index === 0 && decidedOutcome ? (
                      <>
                        {' '}
                        · decided <OutcomeBadge outcome={decidedOutcome} />
                      </>
                    ) : null}
                  </p>
                  <p className="muted small">
                    <DateTime value={step.at} seconds /> · {stateLabel[step.state]}
                    {current ? ' · now' : ''}
                  </p>
                </div>
              </li>
            )
          })}
        </ol>
      </Section>
      <Section title="Rules that matched" description="Every matching rule is recorded; the one with the lowest priority number decided.">
        {entry.rules.length === 0 && entry.ruleIds.length === 0 ? (
          <p className="muted">No rule matched{output.decidedBy === 'default' ? ': the default outcome decided.' : '.'}</p>
        ) : (
          <DataTable
            label="Matched rules"
            columns={[
              {
                header: 'Rule',
                cell: (rule) => (
                  <>
                    <Link className="strong-link" to={`/actions/${segment(entry.actionCode)}/rules/${segment(rule.ruleId)}`}>
                      {rule.name}
                    </Link>
                    {rule.description ? <div className="muted small">{rule.description}</div> : null}
                  </>
                ),
              },
              { header: 'Rule ID', className: 'mono small', cell: (rule) => rule.ruleId },
              { header: 'Role', cell: (rule) => (rule.ruleId === entry.priorityRuleId ? <Badge tone="accent">Decided</Badge> : <Badge>Matched</Badge>) },
            ]}
            rows={entry.rules.length > 0 ? entry.rules : entry.ruleIds.map((ruleId) => ({ ruleId, name: ruleId, description: undefined }))}
            rowKey={(rule) => rule.ruleId}
          />
        )}
        {errors.length > 0 ? (
          <div className="rule-errors">
            <h3>Rules that failed to evaluate</h3>
            <ul>
              {errors.map((e, i) => (
                <li key={i}>
                  <span className="mono small">{e.ruleId}</span>: <span className="text-danger">{e.error}</span>
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </Section>
      <Section title="Output">
        <JsonView value={entry.output} label="Action output" />
      </Section>
      <Section title="Context" description="The values the rules were evaluated on.">
        {entry.context ? (
          <details className="disclosure">
            <summary>Show the context</summary>
            <JsonView value={entry.context} label="Rule context" />
          </details>
        ) : (
          <p className="muted">No rules were evaluated, so no context was recorded.</p>
        )}
      </Section>
    </>
  )
}
