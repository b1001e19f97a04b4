// Action codes the tenant tracks, each with its configuration and rules. Tracking a new code
// configures it with the tenant's defaults; an operator can also configure one ahead of time.
import { useState } from 'react'
import { Link, useNavigate } from 'react-router'
import type { ActionConfiguration, RuleOutcome } from '@countersign/protocol'
import { api, segment } from '../api.ts'
import { Dialog } from '../components/dialog.tsx'
import { Field, FormActions, Options, useSubmit } from '../components/form.tsx'
import { DataTable, ResourceList, type Column } from '../components/lists.tsx'
import { BadgeList, DateTime, OutcomeBadge, PageHeader, Section } from '../components/ui.tsx'
import { methodLabel, OUTCOMES, outcomeLabel } from '../format.ts'
import { useApi } from '../use-resource.ts'

const columns: Array<Column<ActionConfiguration>> = [
  {
    header: 'Action code',
    cell: (config) => (
      <Link className="strong-link mono" to={`/actions/${segment(config.actionCode)}`}>
        {config.actionCode}
      </Link>
    ),
  },
  {
    header: 'Default outcome',
    cell: (config) => (
      <>
        <OutcomeBadge outcome={config.defaultOutcome} />
        {!config.ownSettings.includes('defaultOutcome') ? <span className="muted small"> tenant default</span> : null}
      </>
    ),
  },
  {
    header: 'Verification methods',
    cell: (config) => <BadgeList values={config.verificationMethods} labels={methodLabel} />,
  },
  { header: 'Rules', num: true, cell: (config) => config.ruleCount },
  { header: 'Updated', cell: (config) => <DateTime value={config.updatedAt} /> },
]

export function ActionsPage() {
  const configurations = useApi<{ items: ActionConfiguration[] }>('/action-configurations')
  const [creating, setCreating] = useState(false)

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
        <ResourceList resource={configurations} empty="No actions yet. Track one from your backend, or configure one here.">
          {(items) => <DataTable label="Action configurations" columns={columns} rows={items} rowKey={(config) => config.actionCode} />}
        </ResourceList>
      </Section>
      <CreateConfigurationDialog open={creating} onClose={() => setCreating(false)} />
    </>
  )
}

function CreateConfigurationDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const navigate = useNavigate()
  const [actionCode, setActionCode] = useState('')
  const [defaultOutcome, setDefaultOutcome] = useState<RuleOutcome | ''>('')
  const create = useSubmit(async () => {
    const created = await api<ActionConfiguration>('POST', '/action-configurations', { actionCode: actionCode.trim(), ...(defaultOutcome ? { defaultOutcome } : {}) })
    onClose()
    void navigate(`/actions/${segment(created.actionCode)}`)
  })

  return (
    <Dialog open={open} title="Configure an action" onClose={onClose}>
      <form onSubmit={create.onSubmit}>
        <Field
          id="new-action-code"
          label="Action code"
          help={
            <>
              Letters, digits, <code>_</code> and <code>-</code>; the code your backend passes to track.
            </>
          }
        >
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
        </Field>
        <Field id="new-action-outcome" label="Default outcome">
          <select id="new-action-outcome" className="select" value={defaultOutcome} onChange={(e) => setDefaultOutcome(e.target.value as RuleOutcome | '')}>
            <option value="">The tenant’s default</option>
            <Options values={OUTCOMES} labels={outcomeLabel} />
          </select>
        </Field>
        <FormActions submit={create} label="Configure" onCancel={onClose} />
      </form>
    </Dialog>
  )
}
