// One webhook endpoint: change it, delete it, and its delivery log with retry.
import { useState } from 'react'
import { Link, useParams } from 'react-router'
import type { WebhookDelivery, WebhookEndpoint } from '@countersign/protocol'
import { api, segment } from '../api.ts'
import { DeleteSection } from '../components/dialog.tsx'
import { DataTable, ResourceList, type Column } from '../components/lists.tsx'
import { Badge, Dash, DateTime, Notice, PagePending, PageHeader, Section } from '../components/ui.tsx'
import { WebhookForm } from '../components/webhook-form.tsx'
import type { Tone } from '../format.ts'
import { useApi } from '../use-resource.ts'

const deliveryTone: Record<WebhookDelivery['state'], Tone> = { pending: 'warning', delivered: 'success', failed: 'danger' }
const deliveryLabel: Record<WebhookDelivery['state'], string> = { pending: 'Pending', delivered: 'Delivered', failed: 'Failed' }

export function WebhookDetailPage() {
  const { webhookId = '' } = useParams()
  const path = `/webhooks/${segment(webhookId)}`
  const webhook = useApi<WebhookEndpoint>(path)
  const deliveries = useApi<{ items: WebhookDelivery[] }>(`${path}/deliveries`)
  const [saved, setSaved] = useState(false)
  const [retrying, setRetrying] = useState<string | null>(null)
  const [retryError, setRetryError] = useState<unknown>(undefined)
  const back = <Link to="/webhooks">← Webhooks</Link>

  if (!webhook.data) return <PagePending title="Webhook endpoint" back={back} error={webhook.error} />
  const endpoint = webhook.data
  const retry = async (eventId: string) => {
    setRetrying(eventId)
    setRetryError(undefined)
    try {
      await api<void>('POST', `${path}/deliveries/${segment(eventId)}/retry`)
      deliveries.reload()
    } catch (reason) {
      setRetryError(reason)
    } finally {
      setRetrying(null)
    }
  }
  const columns: Array<Column<WebhookDelivery>> = [
    {
      header: 'Event',
      cell: (d) => (
        <>
          <div className="mono small strong">{d.type}</div>
          <div className="muted small mono">{d.eventId}</div>
          <div className="muted small">
            <DateTime value={d.createdAt} seconds />
          </div>
        </>
      ),
    },
    {
      header: 'State',
      cell: (d) => (
        <>
          <Badge tone={deliveryTone[d.state]}>{deliveryLabel[d.state]}</Badge>
          {d.deliveredAt ? (
            <div className="muted small">
              <DateTime value={d.deliveredAt} seconds />
            </div>
          ) : null}
        </>
      ),
    },
    { header: 'Attempts', num: true, cell: (d) => d.attempts },
    {
      header: 'Last attempt',
      cell: (d) => (
        <>
          <DateTime value={d.lastAttemptAt} seconds />
          {d.lastStatus !== undefined ? <div className="muted small">HTTP {d.lastStatus}</div> : null}
          {d.lastError ? <div className="text-danger small">{d.lastError}</div> : null}
        </>
      ),
    },
    { header: 'Next attempt', cell: (d) => (d.state === 'delivered' ? <Dash /> : <DateTime value={d.nextAttemptAt} seconds />) },
    {
      header: 'Actions',
      hideHeader: true,
      className: 'cell-actions',
      cell: (d) => (
        <button type="button" className="button button-small" disabled={retrying === d.eventId} onClick={() => void retry(d.eventId)} aria-label={`${d.state === 'delivered' ? 'Redeliver' : 'Retry'} ${d.type} ${d.eventId}`}>
          {retrying === d.eventId ? 'Sending…' : d.state === 'delivered' ? 'Redeliver' : 'Retry now'}
        </button>
      ),
    },
  ]

  return (
    <>
      <PageHeader title="Webhook endpoint" back={back} description={<span className="break">{endpoint.url}</span>} />
      <Section title="Endpoint">
        {saved ? <Notice tone="success">Endpoint saved.</Notice> : null}
        <WebhookForm
          key={`${endpoint.url}\n${endpoint.events.join()}\n${endpoint.enabled}\n${endpoint.description ?? ''}`}
          initial={{ url: endpoint.url, events: endpoint.events, enabled: endpoint.enabled, description: endpoint.description ?? '' }}
          submitLabel="Save endpoint"
          onSubmit={async (request) => {
            const next = await api<WebhookEndpoint>('PATCH', path, request)
            webhook.setData(() => next)
            setSaved(true)
          }}
        />
      </Section>
      <Section
        title="Deliveries"
        description="Newest first. Failed deliveries are retried with backoff; retry one now once the endpoint is fixed."
        actions={
          <button type="button" className="button button-small" onClick={deliveries.reload}>
            Refresh
          </button>
        }
      >
        <ResourceList resource={deliveries} empty="No deliveries yet." otherError={retryError}>
          {(items) => <DataTable label="Deliveries" columns={columns} rows={items} rowKey={(d) => d.eventId} />}
        </ResourceList>
      </Section>
      <DeleteSection
        title="Delete this endpoint"
        description="Countersign stops sending events to it."
        buttonLabel="Delete endpoint"
        confirmTitle="Delete this endpoint?"
        confirmLabel="Delete endpoint"
        path={path}
        backTo="/webhooks"
      >
        <p className="break">{endpoint.url} will receive no more events.</p>
      </DeleteSection>
    </>
  )
}
