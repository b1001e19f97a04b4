// People who can sign in to this tenant's console with email and password.
import { useState } from 'react'
import type { Operator } from '@countersign/protocol'
import { api, segment } from '../api.ts'
import { ConfirmDialog, Dialog } from '../components/dialog.tsx'
import { Field, FormActions, useSubmit } from '../components/form.tsx'
import { DataTable, ResourceList, type Column } from '../components/lists.tsx'
import { Badge, DateTime, Notice, PageHeader, Section } from '../components/ui.tsx'
import { useSession } from '../session.tsx'
import { useApi } from '../use-resource.ts'

const MIN_PASSWORD = 15

export function OperatorsPage() {
  const session = useSession()
  const operators = useApi<{ items: Operator[] }>('/operators')
  const [adding, setAdding] = useState(false)
  const [removing, setRemoving] = useState<Operator | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const columns: Array<Column<Operator>> = [
    {
      header: 'Email',
      cell: (operator) => (
        <>
          <span className="strong">{operator.email}</span>
          {session.operator?.operatorId === operator.operatorId ? (
            <>
              {' '}
              <Badge tone="accent">You</Badge>
            </>
          ) : null}
        </>
      ),
    },
    { header: 'Added', cell: (operator) => <DateTime value={operator.createdAt} /> },
    { header: 'Last signed in', cell: (operator) => (operator.lastSignedInAt ? <DateTime value={operator.lastSignedInAt} /> : <span className="muted">Never</span>) },
    {
      header: 'Actions',
      hideHeader: true,
      className: 'cell-actions',
      cell: (operator) => (
        <button type="button" className="button button-small button-danger-quiet" onClick={() => setRemoving(operator)} aria-label={`Remove ${operator.email}`}>
          Remove
        </button>
      ),
    },
  ]

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
        <ResourceList resource={operators} empty="No operators yet. Add one so people can sign in without a management key.">
          {(items) => <DataTable label="Operators" columns={columns} rows={items} rowKey={(operator) => operator.operatorId} />}
        </ResourceList>
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
        subject={removing}
        title="Remove this operator?"
        confirmLabel="Remove operator"
        danger
        onClose={() => setRemoving(null)}
        onConfirm={async (operator) => {
          await api<void>('DELETE', `/operators/${segment(operator.operatorId)}`)
          setNotice(`${operator.email} was removed.`)
          operators.reload()
        }}
      >
        {(operator) => (
          <>
            <p>
              <strong>{operator.email}</strong> will no longer be able to sign in, and their open sessions end.
            </p>
            {session.operator?.operatorId === operator.operatorId ? <p className="text-danger">This is you: you will be signed out.</p> : null}
          </>
        )}
      </ConfirmDialog>
    </>
  )
}

function AddOperatorDialog({ open, onClose, onAdded }: { open: boolean; onClose(): void; onAdded(operator: Operator): void }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const short = password.length > 0 && password.length < MIN_PASSWORD
  const add = useSubmit(
    async () => {
      const operator = await api<Operator>('POST', '/operators', { email: email.trim(), password })
      setEmail('')
      setPassword('')
      onAdded(operator)
    },
    () => (password.length < MIN_PASSWORD ? `The password needs at least ${MIN_PASSWORD} characters.` : undefined),
  )

  return (
    <Dialog open={open} title="Add an operator" onClose={onClose}>
      <form onSubmit={add.onSubmit}>
        <Field id="operator-email" label="Email">
          <input id="operator-email" className="input" type="email" required autoComplete="off" maxLength={320} value={email} onChange={(e) => setEmail(e.target.value)} />
        </Field>
        <Field
          id="operator-password"
          label="Password"
          help={
            <>
              At least {MIN_PASSWORD} characters{password.length > 0 ? ` (${password.length} so far)` : ''}. A long passphrase is best. Give it to the operator over a channel you trust.
            </>
          }
          helpError={short}
        >
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
        </Field>
        <FormActions submit={add} label="Add operator" busyLabel="Adding…" onCancel={onClose} />
      </form>
    </Dialog>
  )
}
