// The tenant's settings: its name, what an action code that sets nothing itself gets, and
// which web origins may call the Client API.
import { useState } from 'react'
import type { ChallengeMethod, ManagedTenant, RuleOutcome, UpdateTenantRequest } from '@countersign/protocol'
import { api } from '../api.ts'
import { Choices, Field, MethodCheckboxes, Options, SaveActions, useSubmit } from '../components/form.tsx'
import { Failure, Loading, PageHeader, Section } from '../components/ui.tsx'
import { CHALLENGE_METHODS, OUTCOMES, outcomeLabel } from '../format.ts'
import { useSessionState } from '../session.tsx'
import { useApi } from '../use-resource.ts'

const NUMBERS = [
  { field: 'tokenTtlSeconds', label: 'Token lifetime (seconds)', min: 60, max: 3600, help: 'How long a token from track or verify is valid.' },
  { field: 'challengeTtlSeconds', label: 'In-app challenge lifetime (seconds)', min: 30, max: 600, help: 'How long the app has to sign an in-app challenge.' },
  { field: 'pushChallengeTtlSeconds', label: 'Push challenge lifetime (seconds)', min: 30, max: 900, help: 'How long a push request waits for an answer.' },
  { field: 'qrChallengeTtlSeconds', label: 'QR code lifetime (seconds)', min: 60, max: 900, help: 'How long a QR code can be scanned.' },
  { field: 'pushMaxPending', label: 'Open push requests per user', min: 1, max: 20, help: 'More are refused until one is answered or expires.' },
  { field: 'pushMaxPerHour', label: 'Push requests per user per hour', min: 1, max: 1000, help: 'Protects users from push fatigue.' },
] as const satisfies ReadonlyArray<{ field: keyof ManagedTenant & keyof UpdateTenantRequest; label: string; min: number; max: number; help: string }>

type NumberField = (typeof NUMBERS)[number]['field']

interface SettingsForm {
  name: string
  defaultOutcome: RuleOutcome
  verificationMethods: ChallengeMethod[]
  requireSignedDecision: boolean
  numberMatching: boolean
  allowedOrigins: string
  numbers: Record<NumberField, string>
}

function formOf(tenant: ManagedTenant): SettingsForm {
  return {
    name: tenant.name,
    defaultOutcome: tenant.defaultOutcome,
    verificationMethods: tenant.verificationMethods,
    requireSignedDecision: tenant.requireSignedDecision,
    numberMatching: tenant.numberMatching,
    allowedOrigins: tenant.allowedOrigins.join('\n'),
    numbers: Object.fromEntries(NUMBERS.map(({ field }) => [field, String(tenant[field])])) as Record<NumberField, string>,
  }
}

const originsOf = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter(Boolean)

function changeOf(tenant: ManagedTenant, form: SettingsForm): UpdateTenantRequest {
  const change: UpdateTenantRequest = {}
  if (form.name.trim() !== tenant.name) change.name = form.name.trim()
  if (form.defaultOutcome !== tenant.defaultOutcome) change.defaultOutcome = form.defaultOutcome
  const methods = CHALLENGE_METHODS.filter((m) => form.verificationMethods.includes(m))
  if (methods.join() !== CHALLENGE_METHODS.filter((m) => tenant.verificationMethods.includes(m)).join()) change.verificationMethods = methods
  if (form.requireSignedDecision !== tenant.requireSignedDecision) change.requireSignedDecision = form.requireSignedDecision
  if (form.numberMatching !== tenant.numberMatching) change.numberMatching = form.numberMatching
  const origins = originsOf(form.allowedOrigins)
  if (origins.join('\n') !== tenant.allowedOrigins.join('\n')) change.allowedOrigins = origins
  for (const { field } of NUMBERS) {
    const value = Number(form.numbers[field])
    if (form.numbers[field].trim() !== '' && value !== tenant[field]) change[field] = value
  }
  return change
}

export function SettingsPage() {
  const tenant = useApi<ManagedTenant>('/tenant')
  return (
    <>
      <PageHeader title="Settings" description="Tenant-wide settings. An action code’s own configuration overrides the ones it sets." />
      <Failure error={tenant.error} />
      {tenant.data ? <SettingsFormView tenant={tenant.data} onSaved={(next) => tenant.setData(() => next)} /> : tenant.loading ? <Loading /> : null}
    </>
  )
}

function SettingsFormView({ tenant, onSaved }: { tenant: ManagedTenant; onSaved(tenant: ManagedTenant): void }) {
  const { refresh } = useSessionState()
  const [form, setForm] = useState<SettingsForm>(() => formOf(tenant))
  const [saved, setSaved] = useState(false)
  const change = changeOf(tenant, form)
  const dirty = Object.keys(change).length > 0
  const set = <K extends keyof SettingsForm>(field: K, value: SettingsForm[K]) => {
    setForm((current) => ({ ...current, [field]: value }))
    setSaved(false)
  }
  const save = useSubmit(
    async () => {
      const next = await api<ManagedTenant>('PATCH', '/tenant', change)
      onSaved(next)
      setForm(formOf(next))
      setSaved(true)
      if (change.name !== undefined) await refresh()
    },
    () => (form.verificationMethods.length === 0 ? 'Choose at least one verification method.' : undefined),
  )

  return (
    <form onSubmit={save.onSubmit}>
      <Section title="Tenant">
        <div className="form-grid form-grid-2">
          <Field id="tenant-name" label="Name">
            <input id="tenant-name" className="input" required maxLength={200} value={form.name} onChange={(e) => set('name', e.target.value)} />
          </Field>
          <div className="field">
            <span className="label">Tenant ID</span>
            <p className="mono value-text">{tenant.tenantId}</p>
          </div>
        </div>
      </Section>
      <Section title="Decisions" description="What an action code gets when it sets nothing itself.">
        <div className="form-grid form-grid-2">
          <Field id="tenant-outcome" label="Default outcome" help="When no rule matches. Challenge applies to enrolled users; others are allowed.">
            <select id="tenant-outcome" className="select" value={form.defaultOutcome} onChange={(e) => set('defaultOutcome', e.target.value as RuleOutcome)} aria-describedby="tenant-outcome-help">
              <Options values={OUTCOMES} labels={outcomeLabel} />
            </select>
          </Field>
          <Choices legend="Verification methods">
            <MethodCheckboxes value={form.verificationMethods} onChange={(methods) => set('verificationMethods', methods)} />
          </Choices>
          <div className="field">
            <span className="label">Push and QR answers</span>
            <label className="checkbox">
              <input type="checkbox" checked={form.requireSignedDecision} onChange={(e) => set('requireSignedDecision', e.target.checked)} />
              Require signed decisions (v2)
            </label>
            <label className="checkbox">
              <input type="checkbox" checked={form.numberMatching} onChange={(e) => set('numberMatching', e.target.checked)} />
              Number matching
            </label>
          </div>
        </div>
      </Section>
      <Section title="Lifetimes and limits">
        <div className="form-grid form-grid-3">
          {NUMBERS.map(({ field, label, min, max, help }) => (
            <Field
              key={field}
              id={`tenant-${field}`}
              label={label}
              help={
                <>
                  {help} {min}–{max}.
                </>
              }
            >
              <input
                id={`tenant-${field}`}
                className="input"
                type="number"
                inputMode="numeric"
                required
                min={min}
                max={max}
                value={form.numbers[field]}
                onChange={(e) => set('numbers', { ...form.numbers, [field]: e.target.value })}
                aria-describedby={`tenant-${field}-help`}
              />
            </Field>
          ))}
        </div>
      </Section>
      <Section title="Allowed origins" description="Web pages that may call the Client API from a browser.">
        <Field
          id="tenant-origins"
          label="Origins, one per line"
          help={
            <>
              A scheme and host, like <code>https://bank.example</code>. Empty allows any origin.
            </>
          }
        >
          <textarea
            id="tenant-origins"
            className="textarea mono"
            rows={4}
            value={form.allowedOrigins}
            onChange={(e) => set('allowedOrigins', e.target.value)}
            placeholder="https://bank.example"
            spellCheck={false}
            aria-describedby="tenant-origins-help"
          />
        </Field>
      </Section>
      <div className="page-form-actions">
        <SaveActions submit={save} label="Save settings" saved={saved ? 'Settings saved.' : null} dirty={dirty} onDiscard={() => setForm(formOf(tenant))} />
      </div>
    </form>
  )
}
