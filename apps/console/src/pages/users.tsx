// Find a user by user ID prefix, email, username or phone number.
import { useState, type FormEvent } from 'react'
import { Link, useSearchParams } from 'react-router'
import type { UserPage } from '@countersign/protocol'
import { api, describeError, segment } from '../api.ts'
import { DateTime, Empty, ErrorBanner, Loading, PageHeader, Pager, Section, TableScroll } from '../components/ui.tsx'
import { useCursorPages, useResource } from '../use-resource.ts'

export function UsersPage() {
  const [params, setParams] = useSearchParams()
  const query = params.get('q') ?? ''
  const [draft, setDraft] = useState(query)
  const [draftFor, setDraftFor] = useState(query)
  if (draftFor !== query) {
    setDraftFor(query)
    setDraft(query)
  }
  const pages = useCursorPages(query)
  const users = useResource((signal) => api<UserPage>('GET', '/users', undefined, { signal, query: { query, limit: 50, cursor: pages.cursor } }), `${query}\u0000${pages.cursor ?? ''}`)
  const items = users.data?.items ?? []

  const search = (event: FormEvent) => {
    event.preventDefault()
    setParams(draft.trim() ? { q: draft.trim() } : {})
  }

  return (
    <>
      <PageHeader title="Users" description="Users your backend has tracked actions for, with their enrolled devices." />
      <form className="search-form" role="search" onSubmit={search}>
        <label htmlFor="user-search" className="visually-hidden">
          Search users
        </label>
        <input id="user-search" className="input" type="search" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="User ID prefix, email, username or phone number" maxLength={320} />
        <button type="submit" className="button button-primary">
          Search
        </button>
      </form>
      <Section title={query ? `Users matching “${query}”` : 'All users'}>
        {users.error ? <ErrorBanner message={describeError(users.error)} /> : null}
        {users.loading && !users.data ? <Loading /> : null}
        {users.data && items.length === 0 ? <Empty>{query ? 'No user matches.' : 'No users yet.'}</Empty> : null}
        {items.length > 0 ? (
          <TableScroll label="Users">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">User ID</th>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Phone</th>
                  <th scope="col" className="num">
                    Authenticators
                  </th>
                  <th scope="col">First seen</th>
                </tr>
              </thead>
              <tbody>
                {items.map((user) => (
                  <tr key={user.userId}>
                    <td>
                      <Link className="strong-link mono" to={`/users/${segment(user.userId)}`}>
                        {user.userId}
                      </Link>
                    </td>
                    <td>{user.displayName ?? user.username ?? <span className="muted">—</span>}</td>
                    <td>{user.email ?? <span className="muted">—</span>}</td>
                    <td>{user.phoneNumber ?? <span className="muted">—</span>}</td>
                    <td className="num">{user.authenticatorCount}</td>
                    <td>
                      <DateTime value={user.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        ) : null}
        {users.data && (pages.hasPrevious || users.data.nextCursor) ? (
          <Pager pageNumber={pages.pageNumber} hasPrevious={pages.hasPrevious} nextCursor={users.data.nextCursor} onPrevious={pages.previous} onNext={pages.next} />
        ) : null}
      </Section>
    </>
  )
}
