// The fields of a webhook endpoint, for adding one and for changing one.
import { useState, type FormEvent } from 'react'
import type { CreateWebhookRequest, WebhookEventFilter } from '@countersign/protocol'
import { describeError } from '../api.ts'
import { WEBHOOK_EVENTS, webhookEventLabel } from '../format.ts'
import { ErrorBanner } from './ui.tsx'

export interface WebhookFields {
  url: string
  events: WebhookEventFilter[]
  enabled: boolean
  description: string
}

export function WebhookForm({ initial, submitLabel, onSubmit, onCancel }: { initial: WebhookFields; submitLabel: string; onSubmit(request: CreateWebhookRequest): Promise<void>; onCancel?: () => void }) {
  const [fields, setFields] = useState<WebhookFields>(initial)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const everything = fields.events.includes('*')

  const toggle = (event: WebhookEventFilter, on: boolean) => {
    setFields((current) => ({ ...current, events: on ? [...current.events.filter((e) => e !== event), event] : current.events.filter((e) => e !== event) }))
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    const events = everything ? (['*'] as WebhookEventFilter[]) : WEBHOOK_EVENTS.filter((e) => fields.events.includes(e))
    if (events.length === 0) {
      setError(new Error('Choose at least one event.'))
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      await onSubmit({ url: fields.url.trim(), events, enabled: fields.enabled, ...(fields.description.trim() ? { description: fields.description.trim() } : {}) })
    } catch (reason) {
      setError(reason)
    } finally {
      setBusy(false)
    }
  }

  return (
    <form onSubmit={submit}>
      <div className="field">
        <label htmlFor="webhook-url">Endpoint URL</label>
        <input id="webhook-url" className="input" type="url" required maxLength={2048} value={fields.url} onChange={(e) => setFields({ ...fields, url: e.target.value })} placeholder="https://backend.example/webhooks/countersign" />
      </div>
      <div className="field">
        <label htmlFor="webhook-description">
          Description <span className="optional">optional</span>
        </label>
        <input id="webhook-description" className="input" maxLength={2000} value={fields.description} onChange={(e) => setFields({ ...fields, description: e.target.value })} />
      </div>
      <fieldset className="field">
        <legend>Events</legend>
        <div className="checkbox-grid">
          {WEBHOOK_EVENTS.map((event) => (
            <label key={event} className="checkbox">
              <input type="checkbox" checked={fields.events.includes(event)} disabled={event !== '*' && everything} onChange={(e) => toggle(event, e.target.checked)} />
              <span className={event === '*' ? undefined : 'mono small'}>{webhookEventLabel[event]}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <div className="field">
        <label className="checkbox">
          <input type="checkbox" checked={fields.enabled} onChange={(e) => setFields({ ...fields, enabled: e.target.checked })} />
          Enabled
        </label>
      </div>
      {error !== undefined ? <ErrorBanner message={describeError(error)} /> : null}
      <div className="form-actions">
        {onCancel ? (
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? 'Saving…' : submitLabel}
        </button>
      </div>
    </form>
  )
}
