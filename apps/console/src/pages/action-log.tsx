// Every tracked action, newest first, filtered by user, action code, state and time. The
// filter lives in the address, so a filtered log can be bookmarked or shared.
import { useState, type FormEvent } from 'react'
import { Link, useSearchParams } from 'react-router'
import type { ActionLogEntry, ActionLogPage as ActionLogPageBody } from '@countersign/protocol'
import { api, describeError, segment } from '../api.ts'
import { DateTime, Empty, ErrorBanner, Loading, PageHeader, Pager, Section, StateBadge, TableScroll } from '../components/ui.tsx'
import { ACTION_STATES, methodLabel, stateLabel } from '../format.ts'
import { useCursorPages, useResource } from '../use-resource.ts'

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
  const log = useResource(
    (signal) =>
      api<ActionLogPageBody>('GET', '/actions', undefined, {
        signal,
        query: { userId: filter.userId, actionCode: filter.actionCode, state: filter.state, from: instantOf(filter.from), to: instantOf(filter.to), limit: 50, cursor: pages.cursor },
      }),
    `${filterKey}\u0000${pages.cursor ?? ''}`,
  )
  const [draft, setDraft] = useState<Filter>(filter)
  const [draftKey, setDraftKey] = useState(filterKey)
  if (draftKey !== filterKey) {
    // The address changed (back button, a link): the form follows it.
    setDraftKey(filterKey)
    setDraft(filter)
  }
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
  const items = log.data?.items ?? []

  return (
    <>
      <PageHeader title="Action log" description="Every action your backend tracked, with the rules that decided it." />
      <Section title="Filter">
        <form className="filter-form" onSubmit={apply}>
          <div className="field">
            <label htmlFor="log-user">User ID</label>
            <input id="log-user" className="input mono" value={draft.userId} onChange={(e) => set('userId', e.target.value)} spellCheck={false} />
          </div>
          <div className="field">
            <label htmlFor="log-action">Action code</label>
            <input id="log-action" className="input mono" value={draft.actionCode} onChange={(e) => set('actionCode', e.target.value)} spellCheck={false} />
          </div>
          <div className="field">
            <label htmlFor="log-state">State</label>
            <select id="log-state" className="select" value={draft.state} onChange={(e) => set('state', e.target.value)}>
              <option value="">Any state</option>
              {ACTION_STATES.map((state) => (
                <option key={state} value={state}>
                  {stateLabel[state]}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="log-from">From</label>
            <input id="log-from" className="input" type="datetime-local" value={draft.from} onChange={(e) => set('from', e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="log-to">To</label>
            <input id="log-to" className="input" type="datetime-local" value={draft.to} onChange={(e) => set('to', e.target.value)} />
          </div>
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
        {log.error ? <ErrorBanner message={describeError(log.error)} /> : null}
        {log.loading && !log.data ? <Loading /> : null}
        {log.data && items.length === 0 ? <Empty>{active ? 'No actions match this filter.' : 'No actions tracked yet.'}</Empty> : null}
        {items.length > 0 ? <ActionTable items={items} label="Action log" /> : null}
        {log.data && (pages.hasPrevious || log.data.nextCursor) ? (
          <Pager pageNumber={pages.pageNumber} hasPrevious={pages.hasPrevious} nextCursor={log.data.nextCursor} onPrevious={pages.previous} onNext={pages.next} />
        ) : null}
      </Section>
    </>
  )
}

/** Actions as rows; the user and action code link to their pages, the time to the action. */
export function ActionTable({ items, label, showUser = true }: { items: ActionLogEntry[]; label: string; showUser?: boolean }) {
  return (
    <TableScroll label={label}>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Tracked</th>
            {showUser ? <th scope="col">User</th> : null}
            <th scope="col">Action code</th>
            <th scope="col">State</th>
            <th scope="col">Method</th>
            <th scope="col">Matched rules</th>
          </tr>
        </thead>
        <tbody>
          {items.map((entry) => (
            <tr key={`${entry.userId}\n${entry.actionCode}\n${entry.idempotencyKey}`}>
              <td>
                <Link className="strong-link" to={actionPath(entry)} state={{ entry }} aria-label={`Action ${entry.actionCode} of ${entry.userId} at ${entry.createdAt}`}>
                  <DateTime value={entry.createdAt} seconds />
                </Link>
              </td>
              {showUser ? (
                <td>
                  <Link className="mono" to={`/users/${segment(entry.userId)}`}>
                    {entry.userId}
                  </Link>
                </td>
              ) : null}
              <td className="mono">{entry.actionCode}</td>
              <td>
                <StateBadge state={entry.state} />
              </td>
              <td>{entry.verificationMethod ? methodLabel[entry.verificationMethod] : <span className="muted">—</span>}</td>
              <td>{entry.rules.length > 0 ? entry.rules.map((r) => r.name).join(', ') : <span className="muted">None</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  )
}
