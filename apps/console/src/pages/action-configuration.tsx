// One action code: its settings (its own, or the tenant's where it sets none) and its rules in
// evaluation order.
import { useState, type FormEvent } from 'react'
import { Link, useLocation, useNavigate, useParams, useSearchParams } from 'react-router'
import type { ActionConfiguration, ChallengeMethod, ManagedTenant, Rule, RuleOutcome, UpdateActionConfigurationRequest } from '@countersign/protocol'
import { api, describeError, segment } from '../api.ts'
import { RuleTestPanel } from '../components/rule-test-panel.tsx'
import { ConfirmDialog } from '../components/dialog.tsx'
import { Badge, Empty, ErrorBanner, Loading, Notice, OutcomeBadge, PageHeader, Section, TableScroll } from '../components/ui.tsx'
import { CHALLENGE_METHODS, methodLabel, OUTCOMES, outcomeLabel } from '../format.ts'
import { useResource } from '../use-resource.ts'

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

export function ActionConfigurationPage() {
  const { actionCode = '' } = useParams()
  const location = useLocation()
  const [params] = useSearchParams()
  const navigate = useNavigate()
  const flash = (location.state as { flash?: string } | null)?.flash
  const path = `/action-configurations/${segment(actionCode)}`
  const config = useResource((signal) => api<ActionConfiguration>('GET', path, undefined, { signal }), actionCode)
  const rules = useResource((signal) => api<{ items: Rule[] }>('GET', `${path}/rules`, undefined, { signal }), actionCode)
  const tenant = useResource((signal) => api<ManagedTenant>('GET', '/tenant', undefined, { signal }), 'tenant')
  const [deleting, setDeleting] = useState(false)

  const back = <Link to="/actions">← Actions</Link>
  if (config.error) {
    return (
      <>
        <PageHeader title={actionCode} back={back} />
        <ErrorBanner message={describeError(config.error)} />
      </>
    )
  }
  if (!config.data) {
    return (
      <>
        <PageHeader title={actionCode} back={back} />
        <Loading />
      </>
    )
  }
  const ruleItems = rules.data?.items ?? []
  const testUser = params.get('testUser') ?? undefined
  const testKey = params.get('testKey') ?? undefined

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
        {rules.error ? <ErrorBanner message={describeError(rules.error)} /> : null}
        {rules.loading && !rules.data ? <Loading /> : null}
        {rules.data && ruleItems.length === 0 ? (
          <Empty>
            No rules: every track of <span className="mono">{actionCode}</span> gets the default outcome, {outcomeLabel[config.data.defaultOutcome]}.
          </Empty>
        ) : null}
        {ruleItems.length > 0 ? (
          <TableScroll label="Rules">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col" className="num">
                    Priority
                  </th>
                  <th scope="col">Name</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Condition</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {ruleItems.map((rule) => (
                  <tr key={rule.ruleId} className={rule.isActive ? undefined : 'row-muted'}>
                    <td className="num">{rule.priority}</td>
                    <td>
                      <Link className="strong-link" to={`/actions/${segment(actionCode)}/rules/${rule.ruleId}`}>
                        {rule.name}
                      </Link>
                      {rule.description ? <div className="muted small">{rule.description}</div> : null}
                    </td>
                    <td>
                      <OutcomeBadge outcome={rule.outcome} />
                      {rule.verificationMethods ? <div className="muted small">{rule.verificationMethods.map((m) => methodLabel[m]).join(', ')}</div> : null}
                    </td>
                    <td>
                      <code className="condition-preview">{rule.condition}</code>
                    </td>
                    <td>{rule.isActive ? <Badge tone="success">Active</Badge> : <Badge>Inactive</Badge>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        ) : null}
      </Section>
      <ConfigurationForm
        config={config.data}
        tenant={tenant.data}
        onSaved={(saved) => config.setData(() => saved)}
      />
      <Section title="Test the rules" description="Evaluate this action’s rules, active and inactive, against a past action. Nothing is recorded.">
        <RuleTestPanel actionCode={actionCode} initialUserId={testUser} initialIdempotencyKey={testKey} />
      </Section>
      <Section title="Delete this configuration" description="Removes the settings and every rule of this action code. The next track of the code configures it again with the tenant’s defaults.">
        <button type="button" className="button button-danger" onClick={() => setDeleting(true)}>
          Delete configuration
        </button>
      </Section>
      <ConfirmDialog
        open={deleting}
        title={`Delete ${actionCode}?`}
        confirmLabel="Delete configuration and rules"
        danger
        onClose={() => setDeleting(false)}
        onConfirm={async () => {
          await api<void>('DELETE', path)
          void navigate('/actions')
        }}
      >
        <p>
          The configuration of <span className="mono">{actionCode}</span> and its {ruleItems.length} rule{ruleItems.length === 1 ? '' : 's'} will be deleted. Past actions keep what was recorded.
        </p>
      </ConfirmDialog>
    </>
  )
}

function ConfigurationForm({ config, tenant, onSaved }: { config: ActionConfiguration; tenant: ManagedTenant | undefined; onSaved(config: ActionConfiguration): void }) {
  const initial = formOf(config)
  const [form, setForm] = useState<ConfigForm>(initial)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [saved, setSaved] = useState(false)
  const set = <K extends keyof ConfigForm>(field: K, value: ConfigForm[K]) => {
    setForm((current) => ({ ...current, [field]: value }))
    setSaved(false)
  }
  const change = changeOf(initial, form)
  const dirty = Object.keys(change).length > 0
  const tenantSays = (value: string | undefined) => (value === undefined ? 'the tenant’s setting' : `tenant: ${value}`)
  const yesNo = (value: boolean | undefined) => (value === undefined ? undefined : value ? 'yes' : 'no')

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    if (!form.inheritMethods && form.verificationMethods.length === 0) {
      setError(new Error('Choose at least one verification method, or follow the tenant’s.'))
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      const next = await api<ActionConfiguration>('PATCH', `/action-configurations/${segment(config.actionCode)}`, change)
      setForm(formOf(next))
      setSaved(true)
      onSaved(next)
    } catch (reason) {
      setError(reason)
    } finally {
      setBusy(false)
    }
  }

  return (
    <Section title="Configuration" description="Settings left to the tenant follow the Settings page.">
      <form onSubmit={submit}>
        <div className="form-grid form-grid-2">
          <div className="field">
            <label htmlFor="config-outcome">Default outcome</label>
            <select id="config-outcome" className="select" value={form.defaultOutcome} onChange={(e) => set('defaultOutcome', e.target.value as RuleOutcome | '')} aria-describedby="config-outcome-help">
              <option value="">Follow the tenant ({tenant ? outcomeLabel[tenant.defaultOutcome] : '…'})</option>
              {OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {outcomeLabel[o]}
                </option>
              ))}
            </select>
            <p id="config-outcome-help" className="help">
              When no rule matches. Challenge applies to enrolled users; others are allowed.
            </p>
          </div>
          <fieldset className="field">
            <legend>Verification methods</legend>
            <label className="checkbox">
              <input type="checkbox" checked={form.inheritMethods} onChange={(e) => set('inheritMethods', e.target.checked)} />
              Follow the tenant{tenant ? ` (${tenant.verificationMethods.map((m) => methodLabel[m]).join(', ')})` : ''}
            </label>
            <div className="checkbox-row">
              {CHALLENGE_METHODS.map((method) => (
                <label key={method} className="checkbox">
                  <input
                    type="checkbox"
                    disabled={form.inheritMethods}
                    checked={form.verificationMethods.includes(method)}
                    onChange={(e) => set('verificationMethods', e.target.checked ? [...form.verificationMethods, method] : form.verificationMethods.filter((m) => m !== method))}
                  />
                  {methodLabel[method]}
                </label>
              ))}
            </div>
          </fieldset>
          <div className="field">
            <label htmlFor="config-signed">Require signed decisions</label>
            <select id="config-signed" className="select" value={form.requireSignedDecision} onChange={(e) => set('requireSignedDecision', e.target.value as TriState)}>
              <option value="inherit">Follow the tenant ({tenantSays(yesNo(tenant?.requireSignedDecision))})</option>
              <option value="true">Yes: push and QR answers must be v2 signed decisions</option>
              <option value="false">No</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="config-number-matching">Number matching</label>
            <select id="config-number-matching" className="select" value={form.numberMatching} onChange={(e) => set('numberMatching', e.target.value as TriState)}>
              <option value="inherit">Follow the tenant ({tenantSays(yesNo(tenant?.numberMatching))})</option>
              <option value="true">Yes</option>
              <option value="false">No</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="config-challenge-ttl">Challenge lifetime (seconds)</label>
            <input
              id="config-challenge-ttl"
              className="input"
              type="number"
              inputMode="numeric"
              min={30}
              max={600}
              value={form.challengeTtlSeconds}
              placeholder={tenant ? `Tenant: ${tenant.challengeTtlSeconds}` : 'Tenant’s'}
              onChange={(e) => set('challengeTtlSeconds', e.target.value)}
              aria-describedby="config-challenge-ttl-help"
            />
            <p id="config-challenge-ttl-help" className="help">
              30–600. Empty follows the tenant’s per-method lifetimes.
            </p>
          </div>
          <div className="field">
            <label htmlFor="config-token-ttl">Token lifetime (seconds)</label>
            <input
              id="config-token-ttl"
              className="input"
              type="number"
              inputMode="numeric"
              min={60}
              max={3600}
              value={form.tokenTtlSeconds}
              placeholder={tenant ? `Tenant: ${tenant.tokenTtlSeconds}` : 'Tenant’s'}
              onChange={(e) => set('tokenTtlSeconds', e.target.value)}
              aria-describedby="config-token-ttl-help"
            />
            <p id="config-token-ttl-help" className="help">
              60–3600. Empty follows the tenant.
            </p>
          </div>
          <div className="field field-span-2">
            <label htmlFor="config-webhook">Verification webhook URL</label>
            <input
              id="config-webhook"
              className="input"
              type="url"
              value={form.verificationWebhookUrl}
              placeholder="https://backend.example/countersign/verify"
              onChange={(e) => set('verificationWebhookUrl', e.target.value)}
              aria-describedby="config-webhook-help"
            />
            <p id="config-webhook-help" className="help">
              Optional. Called synchronously before an action becomes Challenge succeeded; it may veto. Empty for none.
            </p>
          </div>
        </div>
        {error !== undefined ? <ErrorBanner message={describeError(error)} /> : null}
        {saved ? <Notice tone="success">Configuration saved.</Notice> : null}
        <div className="form-actions">
          <button type="button" className="button" disabled={!dirty || busy} onClick={() => setForm(initial)}>
            Discard changes
          </button>
          <button type="submit" className="button button-primary" disabled={!dirty || busy}>
            {busy ? 'Saving…' : 'Save configuration'}
          </button>
        </div>
      </form>
    </Section>
  )
}
