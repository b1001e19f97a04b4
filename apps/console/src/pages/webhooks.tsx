// Endpoints that receive signed event deliveries. A new endpoint's signing secret is shown once.
import { useState } from 'react'
import { Link } from 'react-router'
import type { CreatedWebhook, WebhookEndpoint } from '@countersign/protocol'
import { api, describeError, segment } from '../api.ts'
import { Dialog } from '../components/dialog.tsx'
import { Badge, CopyField, DateTime, Empty, ErrorBanner, Loading, PageHeader, Section, TableScroll } from '../components/ui.tsx'
import { WebhookForm } from '../components/webhook-form.tsx'
import { webhookEventLabel } from '../format.ts'
import { useResource } from '../use-resource.ts'

export function WebhooksPage() {
  const webhooks = useResource((signal) => api<{ items: WebhookEndpoint[] }>('GET', '/webhooks', undefined, { signal }), 'webhooks')
  const [adding, setAdding] = useState(false)
  const [created, setCreated] = useState<CreatedWebhook | null>(null)
  const items = webhooks.data?.items ?? []

  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Countersign posts signed events to these endpoints and retries failed deliveries."
        actions={
          <button type="button" className="button button-primary" onClick={() => setAdding(true)}>
            Add endpoint
          </button>
        }
      />
      <Section title="Endpoints">
        {webhooks.error ? <ErrorBanner message={describeError(webhooks.error)} /> : null}
        {webhooks.loading && !webhooks.data ? <Loading /> : null}
        {webhooks.data && items.length === 0 ? <Empty>No endpoints yet.</Empty> : null}
        {items.length > 0 ? (
          <TableScroll label="Webhook endpoints">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Events</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {items.map((webhook) => (
                  <tr key={webhook.webhookId}>
                    <td>
                      <Link className="strong-link break" to={`/webhooks/${segment(webhook.webhookId)}`}>
                        {webhook.url}
                      </Link>
                      {webhook.description ? <div className="muted small">{webhook.description}</div> : null}
                    </td>
                    <td>
                      <span className="badge-row">
                        {webhook.events.map((e) => (
                          <Badge key={e}>{webhookEventLabel[e]}</Badge>
                        ))}
                      </span>
                    </td>
                    <td>{webhook.enabled ? <Badge tone="success">Enabled</Badge> : <Badge>Disabled</Badge>}</td>
                    <td>
                      <DateTime value={webhook.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        ) : null}
      </Section>
      <Dialog open={adding} title="Add a webhook endpoint" onClose={() => setAdding(false)}>
        <WebhookForm
          initial={{ url: '', events: ['*'], enabled: true, description: '' }}
          submitLabel="Add endpoint"
          onCancel={() => setAdding(false)}
          onSubmit={async (request) => {
            const webhook = await api<CreatedWebhook>('POST', '/webhooks', request)
            setAdding(false)
            setCreated(webhook)
            webhooks.reload()
          }}
        />
      </Dialog>
      <Dialog
        open={created !== null}
        title="Endpoint added"
        onClose={() => setCreated(null)}
        footer={
          <button type="button" className="button button-primary" onClick={() => setCreated(null)}>
            I have saved the secret
          </button>
        }
      >
        {created ? (
          <>
            <div className="banner banner-warning" role="note">
              <strong>Copy the signing secret now. You won’t see it again.</strong> Your endpoint uses it to check that deliveries come from Countersign.
            </div>
            <CopyField label="Signing secret" value={created.secret} secret />
            <p className="help break">{created.url}</p>
          </>
        ) : null}
      </Dialog>
    </>
  )
}
