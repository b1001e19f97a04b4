// Who changed what, newest first: every Management API change, by operator or key.
import { Fragment, useState } from 'react'
import type { AuditEntry, AuditPage, Operator } from '@countersign/protocol'
import { api, describeError } from '../api.ts'
import { DateTime, Empty, ErrorBanner, JsonView, Loading, PageHeader, Pager, Section } from '../components/ui.tsx'
import { useCursorPages, useResource } from '../use-resource.ts'

/** `operator:<id>`, `management_key:<keyId>` or `cli`, for a person. */
function Actor({ actor, emails }: { actor: string; emails: ReadonlyMap<string, string> }) {
  if (actor === 'cli') return <>Command line</>
  const colon = actor.indexOf(':')
  const kind = actor.slice(0, colon)
  const id = actor.slice(colon + 1)
  const label = kind === 'operator' ? 'Operator' : kind === 'management_key' ? 'Management key' : null
  if (colon < 0 || label === null) return <span className="mono">{actor}</span>
  const email = kind === 'operator' ? emails.get(id) : undefined
  if (email) return <>{email}</>
  return (
    <>
      {label}
      <div className="muted mono">{id}</div>
    </>
  )
}

export function AuditLogPage() {
  const pages = useCursorPages('audit')
  const audit = useResource((signal) => api<AuditPage>('GET', '/audit-log', undefined, { signal, query: { limit: 50, cursor: pages.cursor } }), pages.cursor ?? '')
  // Operators by ID, to name them; a removed operator keeps its ID.
  const operators = useResource((signal) => api<{ items: Operator[] }>('GET', '/operators', undefined, { signal }), 'operators')
  const emails = new Map((operators.data?.items ?? []).map((o) => [o.operatorId, o.email]))
  const [open, setOpen] = useState<string | null>(null)
  const items = audit.data?.items ?? []

  return (
    <>
      <PageHeader title="Audit log" description="Every change made through the console, the Management API or the command line." />
      <Section title="Changes">
        {audit.error ? <ErrorBanner message={describeError(audit.error)} /> : null}
        {audit.loading && !audit.data ? <Loading /> : null}
        {audit.data && items.length === 0 ? <Empty>No changes recorded yet.</Empty> : null}
        {items.length > 0 ? (
          <div className="table-scroll" role="region" aria-label="Audit log" tabIndex={0}>
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Event</th>
                  <th scope="col">Target</th>
                  <th scope="col">Who</th>
                  <th scope="col">
                    <span className="visually-hidden">Details</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((entry) => (
                  <AuditRow key={entry.auditId} entry={entry} emails={emails} open={open === entry.auditId} onToggle={() => setOpen(open === entry.auditId ? null : entry.auditId)} />
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {audit.data && (pages.hasPrevious || audit.data.nextCursor) ? (
          <Pager pageNumber={pages.pageNumber} hasPrevious={pages.hasPrevious} nextCursor={audit.data.nextCursor} onPrevious={pages.previous} onNext={pages.next} />
        ) : null}
      </Section>
    </>
  )
}

function AuditRow({ entry, emails, open, onToggle }: { entry: AuditEntry; emails: ReadonlyMap<string, string>; open: boolean; onToggle(): void }) {
  const hasDetails = entry.before !== undefined || entry.after !== undefined
  const detailsId = `audit-${entry.auditId}`
  return (
    <Fragment>
      <tr>
        <td>
          <DateTime value={entry.at} seconds />
        </td>
        <td className="mono small strong">{entry.event}</td>
        <td className="mono small break">{entry.target}</td>
        <td className="small">
          <Actor actor={entry.actor} emails={emails} />
        </td>
        <td className="cell-actions">
          {hasDetails ? (
            <button type="button" className="button button-small" aria-expanded={open} aria-controls={detailsId} onClick={onToggle}>
              {open ? 'Hide' : 'Details'}
            </button>
          ) : null}
        </td>
      </tr>
      {hasDetails && open ? (
        <tr id={detailsId} className="row-details">
          <td colSpan={5}>
            <div className="before-after">
              <div>
                <h3>Before</h3>
                <JsonView value={entry.before} label="Before" />
              </div>
              <div>
                <h3>After</h3>
                <JsonView value={entry.after} label="After" />
              </div>
            </div>
          </td>
        </tr>
      ) : null}
    </Fragment>
  )
}
