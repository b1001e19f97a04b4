// The fields of a webhook endpoint, for adding one and for changing one.
import { useState } from 'react'
import type { CreateWebhookRequest, WebhookEventFilter } from '@countersign/protocol'
import { WEBHOOK_EVENTS, webhookEventLabel } from '../format.ts'
import { Choices, Field, FormActions, Optional, useSubmit } from './form.tsx'

export interface WebhookFields {
  url: string
  events: WebhookEventFilter[]
  enabled: boolean
  description: string
}

export function WebhookForm({ initial, submitLabel, onSubmit, onCancel }: { initial: WebhookFields; submitLabel: string; onSubmit(request: CreateWebhookRequest): Promise<void>; onCancel?: () => void }) {
  const [fields, setFields] = useState<WebhookFields>(initial)
  const everything = fields.events.includes('*')
  const events = everything ? (['*'] as WebhookEventFilter[]) : WEBHOOK_EVENTS.filter((e) => fields.events.includes(e))
  const save = useSubmit(
    () => onSubmit({ url: fields.url.trim(), events, enabled: fields.enabled, ...(fields.description.trim() ? { description: fields.description.trim() } : {}) }),
    () => (events.length === 0 ? 'Choose at least one event.' : undefined),
  )

  const toggle = (event: WebhookEventFilter, on: boolean) => {
    setFields((current) => ({ ...current, events: on ? [...current.events.filter((e) => e !== event), event] : current.events.filter((e) => e !== event) }))
  }

  return (
    <form onSubmit={save.onSubmit}>
      <Field id="webhook-url" label="Endpoint URL">
        <input id="webhook-url" className="input" type="url" required maxLength={2048} value={fields.url} onChange={(e) => setFields({ ...fields, url: e.target.value })} placeholder="https://backend.example/webhooks/countersign" />
      </Field>
      <Field
        id="webhook-description"
        label={
          <>
            Description <Optional />
          </>
        }
      >
        <input id="webhook-description" className="input" maxLength={2000} value={fields.description} onChange={(e) => setFields({ ...fields, description: e.target.value })} />
      </Field>
      <Choices legend="Events">
        <div className="checkbox-grid">
          {WEBHOOK_EVENTS.map((event) => (
            <label key={event} className="checkbox">
              <input type="checkbox" checked={fields.events.includes(event)} disabled={event !== '*' && everything} onChange={(e) => toggle(event, e.target.checked)} />
              <span className={event === '*' ? undefined : 'mono small'}>{webhookEventLabel[event]}</span>
            </label>
          ))}
        </div>
      </Choices>
      <div className="field">
        <label className="checkbox">
          <input type="checkbox" checked={fields.enabled} onChange={(e) => setFields({ ...fields, enabled: e.target.checked })} />
          Enabled
        </label>
      </div>
      <FormActions submit={save} label={submitLabel} onCancel={onCancel} />
    </form>
  )
}
