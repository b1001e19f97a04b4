// Who changed what, newest first: every Management API change, by operator or key.
import { Fragment, useState } from 'react'
import type { AuditEntry, AuditPage, Operator } from '@countersign/protocol'
import { ResourceList, TableHead } from '../components/lists.tsx'
import { DateTime, JsonView, PageHeader, Section, TableScroll } from '../components/ui.tsx'
import { useApi, useCursorPages } from '../use-resource.ts'

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

const COLUMNS = [{ header: 'When' }, { header: 'Event' }, { header: 'Target' }, { header: 'Who' }, { header: 'Details', hideHeader: true }]

export function AuditLogPage() {
  const pages = useCursorPages('audit')
  const audit = useApi<AuditPage>('/audit-log', { limit: 50, cursor: pages.cursor })
  // Operators by ID, to name them; a removed operator keeps its ID.
  const operators = useApi<{ items: Operator[] }>('/operators')
  const emails = new Map((operators.data?.items ?? []).map((o) => [o.operatorId, o.email]))
  const [open, setOpen] = useState<string | null>(null)

  return (
    <>
      <PageHeader title="Audit log" description="Every change made through the console, the Management API or the command line." />
      <Section title="Changes">
        <ResourceList resource={audit} empty="No changes recorded yet." pages={pages}>
          {(items) => (
            <TableScroll label="Audit log">
              <table className="table">
                <TableHead columns={COLUMNS} />
                <tbody>
                  {items.map((entry) => (
                    <AuditRow key={entry.auditId} entry={entry} emails={emails} open={open === entry.auditId} onToggle={() => setOpen(open === entry.auditId ? null : entry.auditId)} />
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )}
        </ResourceList>
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
          <td colSpan={COLUMNS.length}>
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
