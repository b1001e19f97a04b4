// One webhook endpoint: change it, delete it, and its delivery log with retry.
import { useState } from 'react'
import { Link, useNavigate, useParams } from 'react-router'
import type { WebhookDelivery, WebhookEndpoint } from '@countersign/protocol'
import { api, describeError, segment } from '../api.ts'
import { ConfirmDialog } from '../components/dialog.tsx'
import { Badge, DateTime, Empty, ErrorBanner, Loading, Notice, PageHeader, Section, TableScroll } from '../components/ui.tsx'
import { WebhookForm } from '../components/webhook-form.tsx'
import type { Tone } from '../format.ts'
import { useResource } from '../use-resource.ts'

const deliveryTone: Record<WebhookDelivery['state'], Tone> = { pending: 'warning', delivered: 'success', failed: 'danger' }
const deliveryLabel: Record<WebhookDelivery['state'], string> = { pending: 'Pending', delivered: 'Delivered', failed: 'Failed' }

export function WebhookDetailPage() {
  const { webhookId = '' } = useParams()
  const navigate = useNavigate()
  const path = `/webhooks/${segment(webhookId)}`
  const webhook = useResource((signal) => api<WebhookEndpoint>('GET', path, undefined, { signal }), webhookId)
  const deliveries = useResource((signal) => api<{ items: WebhookDelivery[] }>('GET', `${path}/deliveries`, undefined, { signal }), webhookId)
  const [deleting, setDeleting] = useState(false)
  const [saved, setSaved] = useState(false)
  const [retrying, setRetrying] = useState<string | null>(null)
  const [retryError, setRetryError] = useState<unknown>(undefined)
  const back = <Link to="/webhooks">← Webhooks</Link>

  if (!webhook.data) {
    return (
      <>
        <PageHeader title="Webhook endpoint" back={back} />
        {webhook.error ? <ErrorBanner message={describeError(webhook.error)} /> : <Loading />}
      </>
    )
  }
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
  const items = deliveries.data?.items ?? []

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
        {deliveries.error ? <ErrorBanner message={describeError(deliveries.error)} /> : null}
        {retryError !== undefined ? <ErrorBanner message={describeError(retryError)} /> : null}
        {deliveries.loading && !deliveries.data ? <Loading /> : null}
        {deliveries.data && items.length === 0 ? <Empty>No deliveries yet.</Empty> : null}
        {items.length > 0 ? (
          <TableScroll label="Deliveries">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">State</th>
                  <th scope="col" className="num">
                    Attempts
                  </th>
                  <th scope="col">Last attempt</th>
                  <th scope="col">Next attempt</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((d) => (
                  <tr key={d.eventId}>
                    <td>
                      <div className="mono small strong">{d.type}</div>
                      <div className="muted small mono">{d.eventId}</div>
                      <div className="muted small">
                        <DateTime value={d.createdAt} seconds />
                      </div>
                    </td>
                    <td>
                      <Badge tone={deliveryTone[d.state]}>{deliveryLabel[d.state]}</Badge>
                      {d.deliveredAt ? (
                        <div className="muted small">
                          <DateTime value={d.deliveredAt} seconds />
                        </div>
                      ) : null}
                    </td>
                    <td className="num">{d.attempts}</td>
                    <td>
                      <DateTime value={d.lastAttemptAt} seconds />
                      {d.lastStatus !== undefined ? <div className="muted small">HTTP {d.lastStatus}</div> : null}
                      {d.lastError ? <div className="text-danger small">{d.lastError}</div> : null}
                    </td>
                    <td>{d.state === 'delivered' ? <span className="muted">—</span> : <DateTime value={d.nextAttemptAt} seconds />}</td>
                    <td className="cell-actions">
                      <button type="button" className="button button-small" disabled={retrying === d.eventId} onClick={() => void retry(d.eventId)} aria-label={`${d.state === 'delivered' ? 'Redeliver' : 'Retry'} ${d.type} ${d.eventId}`}>
                        {retrying === d.eventId ? 'Sending…' : d.state === 'delivered' ? 'Redeliver' : 'Retry now'}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        ) : null}
      </Section>
      <Section title="Delete this endpoint" description="Countersign stops sending events to it.">
        <button type="button" className="button button-danger" onClick={() => setDeleting(true)}>
          Delete endpoint
        </button>
      </Section>
      <ConfirmDialog
        open={deleting}
        title="Delete this endpoint?"
        confirmLabel="Delete endpoint"
        danger
        onClose={() => setDeleting(false)}
        onConfirm={async () => {
          await api<void>('DELETE', path)
          void navigate('/webhooks')
        }}
      >
        <p className="break">{endpoint.url} will receive no more events.</p>
      </ConfirmDialog>
    </>
  )
}
