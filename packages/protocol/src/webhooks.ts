// Webhooks: PROTOCOL.md §5. What a tenant's backend receives.
import { z } from 'zod'

export const WebhookEventType = z.enum([
  'action.created',
  'action.state_changed',
  'authenticator.created',
  'authenticator.deleted',
  'push.created',
  'user.push_blocked',
])
export type WebhookEventType = z.infer<typeof WebhookEventType>

/** An endpoint's subscription: event types, or `*` for every type. */
export const WebhookEventFilter = z.union([WebhookEventType, z.literal('*')])
export type WebhookEventFilter = z.infer<typeof WebhookEventFilter>

/** The body of every delivery. `id` is the event's ID: a retried delivery repeats it. */
export const WebhookEnvelope = z.object({
  version: z.literal(1),
  id: z.string(),
  source: z.string(),
  time: z.string(),
  tenantId: z.string(),
  type: WebhookEventType,
  data: z.record(z.string(), z.unknown()),
})
export type WebhookEnvelope = z.infer<typeof WebhookEnvelope>
