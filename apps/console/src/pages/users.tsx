// Find a user by user ID prefix, email, username or phone number.
import type { FormEvent } from 'react'
import { Link, useSearchParams } from 'react-router'
import type { ManagedUserSummary, UserPage } from '@countersign/protocol'
import { segment } from '../api.ts'
import { DataTable, ResourceList, type Column } from '../components/lists.tsx'
import { Dash, DateTime, PageHeader, Section } from '../components/ui.tsx'
import { useApi, useCursorPages, useDraft } from '../use-resource.ts'

const columns: Array<Column<ManagedUserSummary>> = [
  {
    header: 'User ID',
    cell: (user) => (
      <Link className="strong-link mono" to={`/users/${segment(user.userId)}`}>
        {user.userId}
      </Link>
    ),
  },
  { header: 'Name', cell: (user) => user.displayName ?? user.username ?? <Dash /> },
  { header: 'Email', cell: (user) => user.email ?? <Dash /> },
  { header: 'Phone', cell: (user) => user.phoneNumber ?? <Dash /> },
  { header: 'Authenticators', num: true, cell: (user) => user.authenticatorCount },
  { header: 'First seen', cell: (user) => <DateTime value={user.createdAt} /> },
]

export function UsersPage() {
  const [params, setParams] = useSearchParams()
  const query = params.get('q') ?? ''
  const [draft, setDraft] = useDraft(query, query)
  const pages = useCursorPages(query)
  const users = useApi<UserPage>('/users', { query, limit: 50, cursor: pages.cursor })

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
        <ResourceList resource={users} empty={query ? 'No user matches.' : 'No users yet.'} pages={pages}>
          {(items) => <DataTable label="Users" columns={columns} rows={items} rowKey={(user) => user.userId} />}
        </ResourceList>
      </Section>
    </>
  )
}
