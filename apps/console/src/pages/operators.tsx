// People who can sign in to this tenant's console with email and password.
import { useState, type FormEvent } from 'react'
import type { Operator } from '@countersign/protocol'
import { api, describeError, segment } from '../api.ts'
import { ConfirmDialog, Dialog } from '../components/dialog.tsx'
import { Badge, DateTime, Empty, ErrorBanner, Loading, Notice, PageHeader, Section, TableScroll } from '../components/ui.tsx'
import { useSession } from '../session.tsx'
import { useResource } from '../use-resource.ts'

const MIN_PASSWORD = 15

export function OperatorsPage() {
  const session = useSession()
  const operators = useResource((signal) => api<{ items: Operator[] }>('GET', '/operators', undefined, { signal }), 'operators')
  const [adding, setAdding] = useState(false)
  const [removing, setRemoving] = useState<Operator | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const items = operators.data?.items ?? []

  return (
    <>
      <PageHeader
        title="Operators"
        description="People who sign in to this console with email and password."
        actions={
          <button type="button" className="button button-primary" onClick={() => setAdding(true)}>
            Add operator
          </button>
        }
      />
      {notice ? <Notice tone="success">{notice}</Notice> : null}
      <Section title="Operators">
        {operators.error ? <ErrorBanner message={describeError(operators.error)} /> : null}
        {operators.loading && !operators.data ? <Loading /> : null}
        {operators.data && items.length === 0 ? <Empty>No operators yet. Add one so people can sign in without a management key.</Empty> : null}
        {items.length > 0 ? (
          <TableScroll label="Operators">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Added</th>
                  <th scope="col">Last signed in</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((operator) => (
                  <tr key={operator.operatorId}>
                    <td>
                      <span className="strong">{operator.email}</span>
                      {session.operator?.operatorId === operator.operatorId ? (
                        <>
                          {' '}
                          <Badge tone="accent">You</Badge>
                        </>
                      ) : null}
                    </td>
                    <td>
                      <DateTime value={operator.createdAt} />
                    </td>
                    <td>{operator.lastSignedInAt ? <DateTime value={operator.lastSignedInAt} /> : <span className="muted">Never</span>}</td>
                    <td className="cell-actions">
                      <button type="button" className="button button-small button-danger-quiet" onClick={() => setRemoving(operator)} aria-label={`Remove ${operator.email}`}>
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        ) : null}
      </Section>
      <AddOperatorDialog
        open={adding}
        onClose={() => setAdding(false)}
        onAdded={(operator) => {
          setAdding(false)
          setNotice(`${operator.email} can now sign in.`)
          operators.reload()
        }}
      />
      <ConfirmDialog
        open={removing !== null}
        title="Remove this operator?"
        confirmLabel="Remove operator"
        danger
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          if (!removing) return
          await api<void>('DELETE', `/operators/${segment(removing.operatorId)}`)
          setNotice(`${removing.email} was removed.`)
          operators.reload()
        }}
      >
        {removing ? (
          <>
            <p>
              <strong>{removing.email}</strong> will no longer be able to sign in, and their open sessions end.
            </p>
            {session.operator?.operatorId === removing.operatorId ? <p className="text-danger">This is you: you will be signed out.</p> : null}
          </>
        ) : null}
      </ConfirmDialog>
    </>
  )
}

function AddOperatorDialog({ open, onClose, onAdded }: { open: boolean; onClose(): void; onAdded(operator: Operator): void }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const short = password.length > 0 && password.length < MIN_PASSWORD

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    if (password.length < MIN_PASSWORD) {
      setError(new Error(`The password needs at least ${MIN_PASSWORD} characters.`))
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      const operator = await api<Operator>('POST', '/operators', { email: email.trim(), password })
      setEmail('')
      setPassword('')
      onAdded(operator)
    } catch (reason) {
      setError(reason)
    } finally {
      setBusy(false)
    }
  }

  return (
    <Dialog open={open} title="Add an operator" onClose={onClose}>
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="operator-email">Email</label>
          <input id="operator-email" className="input" type="email" required autoComplete="off" maxLength={320} value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="operator-password">Password</label>
          <input
            id="operator-password"
            className="input"
            type="password"
            required
            autoComplete="new-password"
            minLength={MIN_PASSWORD}
            maxLength={256}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-describedby="operator-password-help"
            aria-invalid={short ? true : undefined}
          />
          <p id="operator-password-help" className={short ? 'help text-danger' : 'help'}>
            At least {MIN_PASSWORD} characters{password.length > 0 ? ` (${password.length} so far)` : ''}. A long passphrase is best. Give it to the operator over a channel you trust.
          </p>
        </div>
        {error !== undefined ? <ErrorBanner message={describeError(error)} /> : null}
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add operator'}
          </button>
        </div>
      </form>
    </Dialog>
  )
}
