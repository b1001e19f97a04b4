// Endpoints that receive signed event deliveries. A new endpoint's signing secret is shown once.
import { useState } from 'react'
import { Link } from 'react-router'
import type { CreatedWebhook, WebhookEndpoint } from '@countersign/protocol'
import { api, segment } from '../api.ts'
import { Dialog, SecretOnceDialog } from '../components/dialog.tsx'
import { DataTable, ResourceList, type Column } from '../components/lists.tsx'
import { Badge, BadgeList, DateTime, PageHeader, Section } from '../components/ui.tsx'
import { WebhookForm } from '../components/webhook-form.tsx'
import { webhookEventLabel } from '../format.ts'
import { useApi } from '../use-resource.ts'

const columns: Array<Column<WebhookEndpoint>> = [
  {
    header: 'URL',
    cell: (webhook) => (
      <>
        <Link className="strong-link break" to={`/webhooks/${segment(webhook.webhookId)}`}>
          {webhook.url}
        </Link>
        {webhook.description ? <div className="muted small">{webhook.description}</div> : null}
      </>
    ),
  },
  {
    header: 'Events',
    cell: (webhook) => <BadgeList values={webhook.events} labels={webhookEventLabel} />,
  },
  { header: 'Status', cell: (webhook) => (webhook.enabled ? <Badge tone="success">Enabled</Badge> : <Badge>Disabled</Badge>) },
  { header: 'Created', cell: (webhook) => <DateTime value={webhook.createdAt} /> },
]

export function WebhooksPage() {
  const webhooks = useApi<{ items: WebhookEndpoint[] }>('/webhooks')
  const [adding, setAdding] = useState(false)
  const [created, setCreated] = useState<CreatedWebhook | null>(null)

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
        <ResourceList resource={webhooks} empty="No endpoints yet.">
          {(items) => <DataTable label="Webhook endpoints" columns={columns} rows={items} rowKey={(webhook) => webhook.webhookId} />}
        </ResourceList>
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
      <SecretOnceDialog
        title="Endpoint added"
        warning={
          <>
            <strong>Copy the signing secret now. You won’t see it again.</strong> Your endpoint uses it to check that deliveries come from Countersign.
          </>
        }
        label="Signing secret"
        value={created?.secret}
        savedLabel="I have saved the secret"
        onClose={() => setCreated(null)}
      >
        {created ? <p className="help break">{created.url}</p> : null}
      </SecretOnceDialog>
    </>
  )
}
