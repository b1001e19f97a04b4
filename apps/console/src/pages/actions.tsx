// Action codes the tenant tracks, each with its configuration and rules. Tracking a new code
// configures it with the tenant's defaults; an operator can also configure one ahead of time.
import { useState, type FormEvent } from 'react'
import { Link, useNavigate } from 'react-router'
import type { ActionConfiguration, RuleOutcome } from '@countersign/protocol'
import { api, describeError, segment } from '../api.ts'
import { Dialog } from '../components/dialog.tsx'
import { Badge, DateTime, Empty, ErrorBanner, Loading, OutcomeBadge, PageHeader, Section, TableScroll } from '../components/ui.tsx'
import { methodLabel, OUTCOMES, outcomeLabel } from '../format.ts'
import { useResource } from '../use-resource.ts'

export function ActionsPage() {
  const configurations = useResource((signal) => api<{ items: ActionConfiguration[] }>('GET', '/action-configurations', undefined, { signal }), 'configs')
  const [creating, setCreating] = useState(false)
  const items = configurations.data?.items ?? []

  return (
    <>
      <PageHeader
        title="Actions"
        description="Each action code your backend tracks has a default outcome and rules that decide when to challenge, review or block."
        actions={
          <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
            Configure an action
          </button>
        }
      />
      <Section title="Action configurations">
        {configurations.error ? <ErrorBanner message={describeError(configurations.error)} /> : null}
        {configurations.loading && !configurations.data ? <Loading /> : null}
        {configurations.data && items.length === 0 ? <Empty>No actions yet. Track one from your backend, or configure one here.</Empty> : null}
        {items.length > 0 ? (
          <TableScroll label="Action configurations">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Action code</th>
                  <th scope="col">Default outcome</th>
                  <th scope="col">Verification methods</th>
                  <th scope="col" className="num">
                    Rules
                  </th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {items.map((config) => (
                  <tr key={config.actionCode}>
                    <td>
                      <Link className="strong-link mono" to={`/actions/${segment(config.actionCode)}`}>
                        {config.actionCode}
                      </Link>
                    </td>
                    <td>
                      <OutcomeBadge outcome={config.defaultOutcome} />
                      {!config.ownSettings.includes('defaultOutcome') ? <span className="muted small"> tenant default</span> : null}
                    </td>
                    <td>
                      <span className="badge-row">
                        {config.verificationMethods.map((m) => (
                          <Badge key={m}>{methodLabel[m]}</Badge>
                        ))}
                      </span>
                    </td>
                    <td className="num">{config.ruleCount}</td>
                    <td>
                      <DateTime value={config.updatedAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        ) : null}
      </Section>
      <CreateConfigurationDialog open={creating} onClose={() => setCreating(false)} />
    </>
  )
}

function CreateConfigurationDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const navigate = useNavigate()
  const [actionCode, setActionCode] = useState('')
  const [defaultOutcome, setDefaultOutcome] = useState<RuleOutcome | ''>('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const created = await api<ActionConfiguration>('POST', '/action-configurations', { actionCode: actionCode.trim(), ...(defaultOutcome ? { defaultOutcome } : {}) })
      onClose()
      void navigate(`/actions/${segment(created.actionCode)}`)
    } catch (reason) {
      setError(reason)
    } finally {
      setBusy(false)
    }
  }

  return (
    <Dialog open={open} title="Configure an action" onClose={onClose}>
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="new-action-code">Action code</label>
          <input
            id="new-action-code"
            className="input mono"
            required
            pattern="[A-Za-z0-9_\-]{1,64}"
            maxLength={64}
            value={actionCode}
            onChange={(e) => setActionCode(e.target.value)}
            placeholder="authorizePayment"
            aria-describedby="new-action-code-help"
          />
          <p id="new-action-code-help" className="help">
            Letters, digits, <code>_</code> and <code>-</code>; the code your backend passes to track.
          </p>
        </div>
        <div className="field">
          <label htmlFor="new-action-outcome">Default outcome</label>
          <select id="new-action-outcome" className="select" value={defaultOutcome} onChange={(e) => setDefaultOutcome(e.target.value as RuleOutcome | '')}>
            <option value="">The tenant’s default</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {outcomeLabel[o]}
              </option>
            ))}
          </select>
        </div>
        {error !== undefined ? <ErrorBanner message={describeError(error)} /> : null}
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Configure'}
          </button>
        </div>
      </form>
    </Dialog>
  )
}
