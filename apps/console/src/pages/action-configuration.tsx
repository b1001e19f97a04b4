// One action code: its settings (its own, or the tenant's where it sets none) and its rules in
// evaluation order.
import { useState } from 'react'
import { Link, useLocation, useParams, useSearchParams } from 'react-router'
import type { ActionConfiguration, ChallengeMethod, ManagedTenant, Rule, RuleOutcome, UpdateActionConfigurationRequest } from '@countersign/protocol'
import { api, segment } from '../api.ts'
import { DeleteSection } from '../components/dialog.tsx'
import { Choices, Field, MethodCheckboxes, Options, SaveActions, useSubmit } from '../components/form.tsx'
import { DataTable, ResourceList, type Column } from '../components/lists.tsx'
import { RuleTestPanel } from '../components/rule-test-panel.tsx'
import { Badge, Notice, OutcomeBadge, PagePending, PageHeader, Section } from '../components/ui.tsx'
import { CHALLENGE_METHODS, methodLabel, OUTCOMES, outcomeLabel } from '../format.ts'
import { useApi } from '../use-resource.ts'

type TriState = 'inherit' | 'true' | 'false'

/** The form: '' and 'inherit' follow the tenant's setting (or, for the webhook, mean none). */
interface ConfigForm {
  defaultOutcome: RuleOutcome | ''
  inheritMethods: boolean
  verificationMethods: ChallengeMethod[]
  requireSignedDecision: TriState
  numberMatching: TriState
  challengeTtlSeconds: string
  tokenTtlSeconds: string
  verificationWebhookUrl: string
}

function formOf(config: ActionConfiguration): ConfigForm {
  const own = (field: string) => config.ownSettings.includes(field)
  const tri = (field: 'requireSignedDecision' | 'numberMatching'): TriState => (own(field) ? (config[field] ? 'true' : 'false') : 'inherit')
  return {
    defaultOutcome: own('defaultOutcome') ? config.defaultOutcome : '',
    inheritMethods: !own('verificationMethods'),
    verificationMethods: config.verificationMethods,
    requireSignedDecision: tri('requireSignedDecision'),
    numberMatching: tri('numberMatching'),
    challengeTtlSeconds: own('challengeTtlSeconds') ? String(config.challengeTtlSeconds) : '',
    tokenTtlSeconds: own('tokenTtlSeconds') ? String(config.tokenTtlSeconds) : '',
    verificationWebhookUrl: config.verificationWebhookUrl ?? '',
  }
}

/** Only what changed; null hands a field back to the tenant. */
function changeOf(before: ConfigForm, after: ConfigForm): UpdateActionConfigurationRequest {
  const change: UpdateActionConfigurationRequest = {}
  if (before.defaultOutcome !== after.defaultOutcome) change.defaultOutcome = after.defaultOutcome || null
  const methodsBefore = before.inheritMethods ? null : [...before.verificationMethods].sort().join()
  const methodsAfter = after.inheritMethods ? null : [...after.verificationMethods].sort().join()
  if (methodsBefore !== methodsAfter) change.verificationMethods = after.inheritMethods ? null : CHALLENGE_METHODS.filter((m) => after.verificationMethods.includes(m))
  const tri = (value: TriState) => (value === 'inherit' ? null : value === 'true')
  if (before.requireSignedDecision !== after.requireSignedDecision) change.requireSignedDecision = tri(after.requireSignedDecision)
  if (before.numberMatching !== after.numberMatching) change.numberMatching = tri(after.numberMatching)
  const seconds = (value: string) => (value.trim() === '' ? null : Number(value))
  if (before.challengeTtlSeconds !== after.challengeTtlSeconds) change.challengeTtlSeconds = seconds(after.challengeTtlSeconds)
  if (before.tokenTtlSeconds !== after.tokenTtlSeconds) change.tokenTtlSeconds = seconds(after.tokenTtlSeconds)
  if (before.verificationWebhookUrl !== after.verificationWebhookUrl) change.verificationWebhookUrl = after.verificationWebhookUrl.trim() || null
  return change
}

/** The lifetimes an action code may set for itself; empty follows the tenant. */
const LIFETIMES = [
  { field: 'challengeTtlSeconds', id: 'config-challenge-ttl', label: 'Challenge lifetime (seconds)', min: 30, max: 600, help: '30–600. Empty follows the tenant’s per-method lifetimes.' },
  { field: 'tokenTtlSeconds', id: 'config-token-ttl', label: 'Token lifetime (seconds)', min: 60, max: 3600, help: '60–3600. Empty follows the tenant.' },
] as const

export function ActionConfigurationPage() {
  const { actionCode = '' } = useParams()
  const location = useLocation()
  const [params] = useSearchParams()
  const flash = (location.state as { flash?: string } | null)?.flash
  const path = `/action-configurations/${segment(actionCode)}`
  const config = useApi<ActionConfiguration>(path)
  const rules = useApi<{ items: Rule[] }>(`${path}/rules`)
  const tenant = useApi<ManagedTenant>('/tenant')

  const back = <Link to="/actions">← Actions</Link>
  if (config.error || !config.data) return <PagePending title={actionCode} back={back} error={config.error} />
  const defaultOutcome = config.data.defaultOutcome
  const ruleCount = rules.data?.items.length ?? 0
  const testUser = params.get('testUser') ?? undefined
  const testKey = params.get('testKey') ?? undefined
  const columns: Array<Column<Rule>> = [
    { header: 'Priority', num: true, cell: (rule) => rule.priority },
    {
      header: 'Name',
      cell: (rule) => (
        <>
          <Link className="strong-link" to={`/actions/${segment(actionCode)}/rules/${rule.ruleId}`}>
            {rule.name}
          </Link>
          {rule.description ? <div className="muted small">{rule.description}</div> : null}
        </>
      ),
    },
    {
      header: 'Outcome',
      cell: (rule) => (
        <>
          <OutcomeBadge outcome={rule.outcome} />
          {rule.verificationMethods ? <div className="muted small">{rule.verificationMethods.map((m) => methodLabel[m]).join(', ')}</div> : null}
        </>
      ),
    },
    { header: 'Condition', cell: (rule) => <code className="condition-preview">{rule.condition}</code> },
    { header: 'Status', cell: (rule) => (rule.isActive ? <Badge tone="success">Active</Badge> : <Badge>Inactive</Badge>) },
  ]

  return (
    <>
      <PageHeader
        title={actionCode}
        back={back}
        description="Rules are evaluated on every track of this action code. The matching rule with the lowest priority number decides; when none matches, the default outcome applies."
        actions={
          <>
            <Link className="button" to={`/action-log?actionCode=${encodeURIComponent(actionCode)}`}>
              View in action log
            </Link>
            <Link className="button button-primary" to={`/actions/${segment(actionCode)}/rules/new`}>
              Add rule
            </Link>
          </>
        }
      />
      {flash ? <Notice tone="success">{flash}</Notice> : null}
      <Section title="Rules" description="In evaluation order.">
        <ResourceList
          resource={rules}
          empty={
            <>
              No rules: every track of <span className="mono">{actionCode}</span> gets the default outcome, {outcomeLabel[defaultOutcome]}.
            </>
          }
        >
          {(items) => <DataTable label="Rules" columns={columns} rows={items} rowKey={(rule) => rule.ruleId} rowProps={(rule) => ({ className: rule.isActive ? undefined : 'row-muted' })} />}
        </ResourceList>
      </Section>
      <ConfigurationForm config={config.data} tenant={tenant.data} onSaved={(saved) => config.setData(() => saved)} />
      <Section title="Test the rules" description="Evaluate this action’s rules, active and inactive, against a past action. Nothing is recorded.">
        <RuleTestPanel actionCode={actionCode} initialUserId={testUser} initialIdempotencyKey={testKey} />
      </Section>
      <DeleteSection
        title="Delete this configuration"
        description="Removes the settings and every rule of this action code. The next track of the code configures it again with the tenant’s defaults."
        buttonLabel="Delete configuration"
        confirmTitle={`Delete ${actionCode}?`}
        confirmLabel="Delete configuration and rules"
        path={path}
        backTo="/actions"
      >
        <p>
          The configuration of <span className="mono">{actionCode}</span> and its {ruleCount} rule{ruleCount === 1 ? '' : 's'} will be deleted. Past actions keep what was recorded.
        </p>
      </DeleteSection>
    </>
  )
}

function ConfigurationForm({ config, tenant, onSaved }: { config: ActionConfiguration; tenant: ManagedTenant | undefined; onSaved(config: ActionConfiguration): void }) {
  const initial = formOf(config)
  const [form, setForm] = useState<ConfigForm>(initial)
  const [saved, setSaved] = useState(false)
  const set = <K extends keyof ConfigForm>(field: K, value: ConfigForm[K]) => {
    setForm((current) => ({ ...current, [field]: value }))
    setSaved(false)
  }
  const change = changeOf(initial, form)
  const dirty = Object.keys(change).length > 0
  const tenantSays = (value: string | undefined) => (value === undefined ? 'the tenant’s setting' : `tenant: ${value}`)
  const yesNo = (value: boolean | undefined) => (value === undefined ? undefined : value ? 'yes' : 'no')
  const save = useSubmit(
    async () => {
      const next = await api<ActionConfiguration>('PATCH', `/action-configurations/${segment(config.actionCode)}`, change)
      setForm(formOf(next))
      setSaved(true)
      onSaved(next)
    },
    () => (!form.inheritMethods && form.verificationMethods.length === 0 ? 'Choose at least one verification method, or follow the tenant’s.' : undefined),
  )

  return (
    <Section title="Configuration" description="Settings left to the tenant follow the Settings page.">
      <form onSubmit={save.onSubmit}>
        <div className="form-grid form-grid-2">
          <Field id="config-outcome" label="Default outcome" help="When no rule matches. Challenge applies to enrolled users; others are allowed.">
            <select id="config-outcome" className="select" value={form.defaultOutcome} onChange={(e) => set('defaultOutcome', e.target.value as RuleOutcome | '')} aria-describedby="config-outcome-help">
              <option value="">Follow the tenant ({tenant ? outcomeLabel[tenant.defaultOutcome] : '…'})</option>
              <Options values={OUTCOMES} labels={outcomeLabel} />
            </select>
          </Field>
          <Choices legend="Verification methods">
            <label className="checkbox">
              <input type="checkbox" checked={form.inheritMethods} onChange={(e) => set('inheritMethods', e.target.checked)} />
              Follow the tenant{tenant ? ` (${tenant.verificationMethods.map((m) => methodLabel[m]).join(', ')})` : ''}
            </label>
            <MethodCheckboxes value={form.verificationMethods} onChange={(methods) => set('verificationMethods', methods)} disabled={form.inheritMethods} />
          </Choices>
          <Field id="config-signed" label="Require signed decisions">
            <select id="config-signed" className="select" value={form.requireSignedDecision} onChange={(e) => set('requireSignedDecision', e.target.value as TriState)}>
              <option value="inherit">Follow the tenant ({tenantSays(yesNo(tenant?.requireSignedDecision))})</option>
              <option value="true">Yes: push and QR answers must be v2 signed decisions</option>
              <option value="false">No</option>
            </select>
          </Field>
          <Field id="config-number-matching" label="Number matching">
            <select id="config-number-matching" className="select" value={form.numberMatching} onChange={(e) => set('numberMatching', e.target.value as TriState)}>
              <option value="inherit">Follow the tenant ({tenantSays(yesNo(tenant?.numberMatching))})</option>
              <option value="true">Yes</option>
              <option value="false">No</option>
            </select>
          </Field>
          {LIFETIMES.map(({ field, id, label, min, max, help }) => (
            <Field key={field} id={id} label={label} help={help}>
              <input
                id={id}
                className="input"
                type="number"
                inputMode="numeric"
                min={min}
                max={max}
                value={form[field]}
                placeholder={tenant ? `Tenant: ${tenant[field]}` : 'Tenant’s'}
                onChange={(e) => set(field, e.target.value)}
                aria-describedby={`${id}-help`}
              />
            </Field>
          ))}
          <Field id="config-webhook" label="Verification webhook URL" help="Optional. Called synchronously before an action becomes Challenge succeeded; it may veto. Empty for none." wide>
            <input
              id="config-webhook"
              className="input"
              type="url"
              value={form.verificationWebhookUrl}
              placeholder="https://backend.example/countersign/verify"
              onChange={(e) => set('verificationWebhookUrl', e.target.value)}
              aria-describedby="config-webhook-help"
            />
          </Field>
        </div>
        <SaveActions submit={save} label="Save configuration" saved={saved ? 'Configuration saved.' : null} dirty={dirty} onDiscard={() => setForm(initial)} />
      </form>
    </Section>
  )
}
