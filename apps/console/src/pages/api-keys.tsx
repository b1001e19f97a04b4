// What a developer needs to connect: the tenant ID and API URL, and the secret and management
// keys (a new key is shown once; the server keeps only its hash).
import { useState, type FormEvent } from 'react'
import type { ApiKeySummary, ApiKeyType, CreatedApiKey } from '@countersign/protocol'
import { api, describeError, segment } from '../api.ts'
import { ConfirmDialog, Dialog } from '../components/dialog.tsx'
import { Badge, CopyField, DateTime, Empty, ErrorBanner, Loading, PageHeader, Section, TableScroll } from '../components/ui.tsx'
import { useSession } from '../session.tsx'
import { useResource } from '../use-resource.ts'

const typeLabel: Record<ApiKeyType, string> = { secret: 'Secret', management: 'Management' }
const typeHelp: Record<ApiKeyType, string> = {
  secret: 'For your backend: the Server API (track actions, validate tokens, manage users).',
  management: 'For operators’ scripts: the Management API (rules, keys, webhooks, logs).',
}

export function ApiKeysPage() {
  const session = useSession()
  const keys = useResource((signal) => api<{ items: ApiKeySummary[] }>('GET', '/api-keys', undefined, { signal }), 'keys')
  const [creating, setCreating] = useState(false)
  const [created, setCreated] = useState<CreatedApiKey | null>(null)
  const [revoking, setRevoking] = useState<ApiKeySummary | null>(null)

  const signedInWith = session.actor.startsWith('management_key:') ? session.actor.slice('management_key:'.length) : null
  const items = keys.data?.items ?? []
  const active = items.filter((k) => !k.revokedAt)
  const revoked = items.filter((k) => k.revokedAt)

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
        {keys.error ? <ErrorBanner message={describeError(keys.error)} /> : null}
        {keys.loading && !keys.data ? <Loading /> : null}
        {keys.data && items.length === 0 ? <Empty>No keys yet.</Empty> : null}
        {items.length > 0 ? (
          <TableScroll label="API keys">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col">Key ID</th>
                  <th scope="col">Created</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {[...active, ...revoked].map((key) => (
                  <tr key={key.keyId} data-key-id={key.keyId} className={key.revokedAt ? 'row-muted' : undefined}>
                    <td>{key.name ?? <span className="muted">Unnamed</span>}</td>
                    <td>
                      <Badge tone={key.type === 'secret' ? 'accent' : 'neutral'}>{typeLabel[key.type]}</Badge>
                    </td>
                    <td className="mono">{key.keyId}</td>
                    <td>
                      <DateTime value={key.createdAt} />
                    </td>
                    <td>
                      {key.revokedAt ? (
                        <Badge tone="danger">
                          Revoked <DateTime value={key.revokedAt} />
                        </Badge>
                      ) : (
                        <Badge tone="success">Active</Badge>
                      )}
                      {signedInWith === key.keyId ? <span className="muted small"> (this session)</span> : null}
                    </td>
                    <td className="cell-actions">
                      {!key.revokedAt ? (
                        <button type="button" className="button button-small button-danger-quiet" onClick={() => setRevoking(key)} aria-label={`Revoke ${key.name ?? key.keyId}`}>
                          Revoke
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        ) : null}
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
      <Dialog
        open={created !== null}
        title="Your new key"
        onClose={() => setCreated(null)}
        footer={
          <button type="button" className="button button-primary" onClick={() => setCreated(null)}>
            I have saved the key
          </button>
        }
      >
        {created ? (
          <>
            <div className="banner banner-warning" role="note">
              <strong>Copy this key now. You won’t see it again:</strong> Countersign stores only a hash of it.
            </div>
            <CopyField label={`${typeLabel[created.type]} key`} value={created.key} secret />
            <p className="help">
              Key ID <span className="mono">{created.keyId}</span>
              {created.name ? ` · ${created.name}` : ''}
            </p>
          </>
        ) : null}
      </Dialog>
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this key?"
        confirmLabel="Revoke key"
        danger
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return
          await api<void>('DELETE', `/api-keys/${segment(revoking.keyId)}`)
          keys.reload()
        }}
      >
        {revoking ? (
          <>
            <p>
              <strong>{revoking.name ?? revoking.keyId}</strong> ({typeLabel[revoking.type].toLowerCase()} key <span className="mono">{revoking.keyId}</span>) will stop working immediately. Anything still using it will be refused. This cannot be undone.
            </p>
            {signedInWith === revoking.keyId ? <p className="text-danger">You signed in with this key: your session will end too.</p> : null}
          </>
        ) : null}
      </ConfirmDialog>
    </>
  )
}

function CreateKeyDialog({ open, onClose, onCreated }: { open: boolean; onClose(): void; onCreated(key: CreatedApiKey): void }) {
  const [type, setType] = useState<ApiKeyType>('secret')
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const key = await api<CreatedApiKey>('POST', '/api-keys', { type, ...(name.trim() ? { name: name.trim() } : {}) })
      setName('')
      onCreated(key)
    } catch (reason) {
      setError(reason)
    } finally {
      setBusy(false)
    }
  }

  return (
    <Dialog open={open} title="Create an API key" onClose={onClose}>
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="key-name">Name</label>
          <input id="key-name" className="input" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} placeholder="e.g. Payments backend" />
        </div>
        <fieldset className="field">
          <legend>Type</legend>
          {(['secret', 'management'] as const).map((option) => (
            <label key={option} className="choice">
              <input type="radio" name="key-type" value={option} checked={type === option} onChange={() => setType(option)} />
              <span>
                <span className="choice-title">{typeLabel[option]} key</span>
                <span className="choice-help">{typeHelp[option]}</span>
              </span>
            </label>
          ))}
        </fieldset>
        {error !== undefined ? <ErrorBanner message={describeError(error)} /> : null}
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create key'}
          </button>
        </div>
      </form>
    </Dialog>
  )
}
