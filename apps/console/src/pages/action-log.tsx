// Every tracked action, newest first, filtered by user, action code, state and time. The
// filter lives in the address, so a filtered log can be bookmarked or shared.
import type { FormEvent } from 'react'
import { Link, useSearchParams } from 'react-router'
import type { ActionLogEntry, ActionLogPage as ActionLogPageBody } from '@countersign/protocol'
import { segment } from '../api.ts'
import { Field, Options } from '../components/form.tsx'
import { DataTable, ResourceList, type Column } from '../components/lists.tsx'
import { Dash, DateTime, PageHeader, Section, StateBadge } from '../components/ui.tsx'
import { ACTION_STATES, methodLabel, stateLabel } from '../format.ts'
import { useApi, useCursorPages, useDraft } from '../use-resource.ts'

const FILTERS = ['userId', 'actionCode', 'state', 'from', 'to'] as const
type Filter = Record<(typeof FILTERS)[number], string>

/** A datetime-local value (local time, no zone) as an ISO instant; '' stays ''. */
function instantOf(local: string): string {
  if (!local) return ''
  const date = new Date(local)
  return Number.isNaN(date.getTime()) ? '' : date.toISOString()
}

/** The path of an action's detail page. */
export function actionPath(entry: Pick<ActionLogEntry, 'userId' | 'actionCode' | 'idempotencyKey'>): string {
  return `/action-log/${segment(entry.userId)}/${segment(entry.actionCode)}/${segment(entry.idempotencyKey)}`
}

export function ActionLogPage() {
  const [params, setParams] = useSearchParams()
  const filter: Filter = { userId: params.get('userId') ?? '', actionCode: params.get('actionCode') ?? '', state: params.get('state') ?? '', from: params.get('from') ?? '', to: params.get('to') ?? '' }
  const filterKey = FILTERS.map((name) => filter[name]).join('\u0000')
  const pages = useCursorPages(filterKey)
  const log = useApi<ActionLogPageBody>('/actions', { userId: filter.userId, actionCode: filter.actionCode, state: filter.state, from: instantOf(filter.from), to: instantOf(filter.to), limit: 50, cursor: pages.cursor })
  const [draft, setDraft] = useDraft(filter, filterKey)
  const active = FILTERS.some((name) => filter[name] !== '')

  const apply = (event: FormEvent) => {
    event.preventDefault()
    const next = new URLSearchParams()
    for (const name of FILTERS) if (draft[name].trim()) next.set(name, draft[name].trim())
    setParams(next)
  }
  const clear = () => {
    setDraft({ userId: '', actionCode: '', state: '', from: '', to: '' })
    setParams(new URLSearchParams())
  }
  const set = (name: keyof Filter, value: string) => setDraft((current) => ({ ...current, [name]: value }))

  return (
    <>
      <PageHeader title="Action log" description="Every action your backend tracked, with the rules that decided it." />
      <Section title="Filter">
        <form className="filter-form" onSubmit={apply}>
          <Field id="log-user" label="User ID">
            <input id="log-user" className="input mono" value={draft.userId} onChange={(e) => set('userId', e.target.value)} spellCheck={false} />
          </Field>
          <Field id="log-action" label="Action code">
            <input id="log-action" className="input mono" value={draft.actionCode} onChange={(e) => set('actionCode', e.target.value)} spellCheck={false} />
          </Field>
          <Field id="log-state" label="State">
            <select id="log-state" className="select" value={draft.state} onChange={(e) => set('state', e.target.value)}>
              <option value="">Any state</option>
              <Options values={ACTION_STATES} labels={stateLabel} />
            </select>
          </Field>
          <Field id="log-from" label="From">
            <input id="log-from" className="input" type="datetime-local" value={draft.from} onChange={(e) => set('from', e.target.value)} />
          </Field>
          <Field id="log-to" label="To">
            <input id="log-to" className="input" type="datetime-local" value={draft.to} onChange={(e) => set('to', e.target.value)} />
          </Field>
          <div className="filter-actions">
            <button type="submit" className="button button-primary">
              Apply
            </button>
            {active ? (
              <button type="button" className="button" onClick={clear}>
                Clear
              </button>
            ) : null}
          </div>
        </form>
      </Section>
      <Section title="Actions" description={active ? 'Filtered.' : 'Newest first.'}>
        <ResourceList resource={log} empty={active ? 'No actions match this filter.' : 'No actions tracked yet.'} pages={pages}>
          {(items) => <ActionTable items={items} label="Action log" />}
        </ResourceList>
      </Section>
    </>
  )
}

const actionColumns: Array<Column<ActionLogEntry>> = [
  {
    header: 'Tracked',
    cell: (entry) => (
      <Link className="strong-link" to={actionPath(entry)} state={{ entry }} aria-label={`Action ${entry.actionCode} of ${entry.userId} at ${entry.createdAt}`}>
        <DateTime value={entry.createdAt} seconds />
      </Link>
    ),
  },
  {
    header: 'User',
    cell: (entry) => (
      <Link className="mono" to={`/users/${segment(entry.userId)}`}>
        {entry.userId}
      </Link>
    ),
  },
  { header: 'Action code', className: 'mono', cell: (entry) => entry.actionCode },
  { header: 'State', cell: (entry) => <StateBadge state={entry.state} /> },
  { header: 'Method', cell: (entry) => (entry.verificationMethod ? methodLabel[entry.verificationMethod] : <Dash />) },
  { header: 'Matched rules', cell: (entry) => (entry.rules.length > 0 ? entry.rules.map((r) => r.name).join(', ') : <span className="muted">None</span>) },
]

/** Actions as rows; the user and action code link to their pages, the time to the action. */
export function ActionTable({ items, label, showUser = true }: { items: ActionLogEntry[]; label: string; showUser?: boolean }) {
  return (
    <DataTable
      label={label}
      columns={showUser ? actionColumns : actionColumns.filter((column) => column.header !== 'User')}
      rows={items}
      rowKey={(entry) => `${entry.userId}\n${entry.actionCode}\n${entry.idempotencyKey}`}
    />
  )
}
