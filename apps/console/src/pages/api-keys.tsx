// What a developer needs to connect: the tenant ID and API URL, and the secret and management
// keys (a new key is shown once; the server keeps only its hash).
import { useState } from 'react'
import type { ApiKeySummary, ApiKeyType, CreatedApiKey } from '@countersign/protocol'
import { api, segment } from '../api.ts'
import { ConfirmDialog, Dialog, SecretOnceDialog } from '../components/dialog.tsx'
import { Choices, Field, FormActions, useSubmit } from '../components/form.tsx'
import { DataTable, ResourceList, type Column } from '../components/lists.tsx'
import { Badge, CopyField, DateTime, PageHeader, Section } from '../components/ui.tsx'
import { useSession } from '../session.tsx'
import { useApi } from '../use-resource.ts'

const typeLabel: Record<ApiKeyType, string> = { secret: 'Secret', management: 'Management' }
const typeHelp: Record<ApiKeyType, string> = {
  secret: 'For your backend: the Server API (track actions, validate tokens, manage users).',
  management: 'For operators’ scripts: the Management API (rules, keys, webhooks, logs).',
}

export function ApiKeysPage() {
  const session = useSession()
  const keys = useApi<{ items: ApiKeySummary[] }>('/api-keys')
  const [creating, setCreating] = useState(false)
  const [created, setCreated] = useState<CreatedApiKey | null>(null)
  const [revoking, setRevoking] = useState<ApiKeySummary | null>(null)

  const signedInWith = session.actor.startsWith('management_key:') ? session.actor.slice('management_key:'.length) : null
  const columns: Array<Column<ApiKeySummary>> = [
    { header: 'Name', cell: (key) => key.name ?? <span className="muted">Unnamed</span> },
    { header: 'Type', cell: (key) => <Badge tone={key.type === 'secret' ? 'accent' : 'neutral'}>{typeLabel[key.type]}</Badge> },
    { header: 'Key ID', className: 'mono', cell: (key) => key.keyId },
    { header: 'Created', cell: (key) => <DateTime value={key.createdAt} /> },
    {
      header: 'Status',
      cell: (key) => (
        <>
          {key.revokedAt ? (
            <Badge tone="danger">
              Revoked <DateTime value={key.revokedAt} />
            </Badge>
          ) : (
            <Badge tone="success">Active</Badge>
          )}
          {signedInWith === key.keyId ? <span className="muted small"> (this session)</span> : null}
        </>
      ),
    },
    {
      header: 'Actions',
      hideHeader: true,
      className: 'cell-actions',
      cell: (key) =>
        !key.revokedAt ? (
          <button type="button" className="button button-small button-danger-quiet" onClick={() => setRevoking(key)} aria-label={`Revoke ${key.name ?? key.keyId}`}>
            Revoke
          </button>
        ) : null,
    },
  ]

  return (
    <>
      <PageHeader
        title="API keys"
        description="Connect your backend and your apps to Countersign."
        actions={
          <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
            Create key
          </button>
        }
      />
      <Section title="Connection details" description="Your apps need only the tenant ID and the API URL. Keys below are for servers; never ship one in an app.">
        <div className="form-grid form-grid-2">
          <CopyField label="Tenant ID" value={session.tenantId} />
          <CopyField label="API URL" value={session.apiUrl} />
        </div>
      </Section>
      <Section title="Keys" description="Secret keys call the Server API; management keys call the Management API. Revoked keys stop working at once.">
        <ResourceList resource={keys} empty="No keys yet.">
          {(items) => (
            <DataTable
              label="API keys"
              columns={columns}
              rows={[...items.filter((k) => !k.revokedAt), ...items.filter((k) => k.revokedAt)]}
              rowKey={(key) => key.keyId}
              rowProps={(key) => ({ 'data-key-id': key.keyId, className: key.revokedAt ? 'row-muted' : undefined })}
            />
          )}
        </ResourceList>
      </Section>

      <CreateKeyDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(key) => {
          setCreating(false)
          setCreated(key)
          keys.reload()
        }}
      />
      <SecretOnceDialog
        title="Your new key"
        warning={
          <>
            <strong>Copy this key now. You won’t see it again:</strong> Countersign stores only a hash of it.
          </>
        }
        label={created ? `${typeLabel[created.type]} key` : ''}
        value={created?.key}
        savedLabel="I have saved the key"
        onClose={() => setCreated(null)}
      >
        {created ? (
          <p className="help">
            Key ID <span className="mono">{created.keyId}</span>
            {created.name ? ` · ${created.name}` : ''}
          </p>
        ) : null}
      </SecretOnceDialog>
      <ConfirmDialog
        subject={revoking}
        title="Revoke this key?"
        confirmLabel="Revoke key"
        danger
        onClose={() => setRevoking(null)}
        onConfirm={async (key) => {
          await api<void>('DELETE', `/api-keys/${segment(key.keyId)}`)
          keys.reload()
        }}
      >
        {(key) => (
          <>
            <p>
              <strong>{key.name ?? key.keyId}</strong> ({typeLabel[key.type].toLowerCase()} key <span className="mono">{key.keyId}</span>) will stop working immediately. Anything still using it will be refused. This cannot be undone.
            </p>
            {signedInWith === key.keyId ? <p className="text-danger">You signed in with this key: your session will end too.</p> : null}
          </>
        )}
      </ConfirmDialog>
    </>
  )
}

function CreateKeyDialog({ open, onClose, onCreated }: { open: boolean; onClose(): void; onCreated(key: CreatedApiKey): void }) {
  const [type, setType] = useState<ApiKeyType>('secret')
  const [name, setName] = useState('')
  const create = useSubmit(async () => {
    const key = await api<CreatedApiKey>('POST', '/api-keys', { type, ...(name.trim() ? { name: name.trim() } : {}) })
    setName('')
    onCreated(key)
  })

  return (
    <Dialog open={open} title="Create an API key" onClose={onClose}>
      <form onSubmit={create.onSubmit}>
        <Field id="key-name" label="Name">
          <input id="key-name" className="input" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} placeholder="e.g. Payments backend" />
        </Field>
        <Choices legend="Type">
          {(['secret', 'management'] as const).map((option) => (
            <label key={option} className="choice">
              <input type="radio" name="key-type" value={option} checked={type === option} onChange={() => setType(option)} />
              <span>
                <span className="choice-title">{typeLabel[option]} key</span>
                <span className="choice-help">{typeHelp[option]}</span>
              </span>
            </label>
          ))}
        </Choices>
        <FormActions submit={create} label="Create key" busyLabel="Creating…" onCancel={onClose} />
      </form>
    </Dialog>
  )
}
