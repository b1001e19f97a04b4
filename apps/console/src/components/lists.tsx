// Lists from the API: a table of rows described by its columns, and the states around it (the
// refusal, a spinner until the first answer, the empty state, previous and next page).
import type { ReactNode } from 'react'
import type { CursorPages, Resource } from '../use-resource.ts'
import { Empty, Failure, Loading, TableScroll } from './ui.tsx'

export interface Column<T> {
  /** The column's heading; its name to a screen reader too. */
  header: string
  /** The heading is for screen readers only (a column of buttons). */
  hideHeader?: boolean
  /** Right-aligned numbers, heading and cells. */
  num?: boolean
  /** The class of each cell. */
  className?: string
  cell(row: T): ReactNode
}

/** The heading row of a table. */
export function TableHead({ columns }: { columns: ReadonlyArray<Pick<Column<never>, 'header' | 'hideHeader' | 'num'>> }) {
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th key={column.header} scope="col" className={column.num ? 'num' : undefined}>
            {column.hideHeader ? <span className="visually-hidden">{column.header}</span> : column.header}
          </th>
        ))}
      </tr>
    </thead>
  )
}

/** What a row carries besides its cells: a class, data attributes for tests and scripts. */
type RowProps = { className?: string | undefined } & Record<`data-${string}`, string>

/** Rows as a table, a cell per column, scrolling sideways on its own on narrow screens. */
export function DataTable<T>({
  label,
  columns,
  rows,
  rowKey,
  rowProps,
  compact = false,
}: {
  /** The name of the table's scroll region. */
  label: string
  columns: ReadonlyArray<Column<T>>
  rows: readonly T[]
  rowKey(row: T): string
  rowProps?: (row: T) => RowProps
  compact?: boolean
}) {
  return (
    <TableScroll label={label}>
      <table className={compact ? 'table table-compact' : 'table'}>
        <TableHead columns={columns} />
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...rowProps?.(row)}>
              {columns.map((column) => (
                <td key={column.header} className={[column.num && 'num', column.className].filter(Boolean).join(' ') || undefined}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  )
}

function Pager({ pages, nextCursor }: { pages: CursorPages; nextCursor: string | undefined }) {
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="button" onClick={pages.previous} disabled={!pages.hasPrevious}>
        Previous
      </button>
      <span className="pager-page" aria-live="polite">
        Page {pages.pageNumber}
      </span>
      <button type="button" className="button" onClick={() => nextCursor && pages.next(nextCursor)} disabled={!nextCursor}>
        Next page
      </button>
    </nav>
  )
}

/**
 * A list the API answers with: the refusal, a spinner until the first answer, the empty state,
 * else the items as `children` draws them; with `pages`, a pager while there is more than one.
 */
export function ResourceList<T>({
  resource,
  empty,
  pages,
  otherError,
  children,
}: {
  resource: Pick<Resource<{ items: T[]; nextCursor?: string | undefined }>, 'data' | 'error' | 'loading'>
  empty: ReactNode
  pages?: CursorPages
  /** The refusal of something done to the list (a retry), under the list's own. */
  otherError?: unknown
  children(items: T[]): ReactNode
}) {
  const data = resource.data
  const items = data?.items ?? []
  return (
    <>
      <Failure error={resource.error} />
      <Failure error={otherError} />
      {resource.loading && !data ? <Loading /> : null}
      {data && items.length === 0 ? <Empty>{empty}</Empty> : null}
      {items.length > 0 ? children(items) : null}
      {pages && data && (pages.hasPrevious || data.nextCursor) ? <Pager pages={pages} nextCursor={data.nextCursor} /> : null}
    </>
  )
}
