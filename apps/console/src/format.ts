// How the console writes dates, numbers and the protocol's enums for a person.
import type { ActionState, ChallengeMethod, RuleOutcome, VerificationMethod, WebhookEventFilter } from '@countersign/protocol'

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
const number = new Intl.NumberFormat()

export function formatDateTime(iso: string | undefined, seconds = false): string {
  if (!iso) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return (seconds ? dateTimeSeconds : dateTime).format(date)
}

export const formatNumber = (value: number): string => number.format(value)

export function formatPercent(value: number | null): string {
  return value === null ? '—' : `${Math.round(value * 1000) / 10}%`
}

/** Every outcome, in the order the console lists them. */
export const OUTCOMES = ['ALLOW', 'CHALLENGE', 'REVIEW', 'BLOCK'] as const satisfies readonly RuleOutcome[]

export const outcomeLabel: Record<RuleOutcome, string> = {
  ALLOW: 'Allow',
  CHALLENGE: 'Challenge',
  REVIEW: 'Review',
  BLOCK: 'Block',
}

export const ACTION_STATES = [
  'ALLOW',
  'BLOCK',
  'CHALLENGE_REQUIRED',
  'CHALLENGE_SUCCEEDED',
  'CHALLENGE_FAILED',
  'REVIEW_REQUIRED',
  'REVIEW_SUCCEEDED',
  'REVIEW_FAILED',
] as const satisfies readonly ActionState[]

export const stateLabel: Record<ActionState, string> = {
  ALLOW: 'Allowed',
  BLOCK: 'Blocked',
  CHALLENGE_REQUIRED: 'Challenge required',
  CHALLENGE_SUCCEEDED: 'Challenge succeeded',
  CHALLENGE_FAILED: 'Challenge failed',
  REVIEW_REQUIRED: 'Review required',
  REVIEW_SUCCEEDED: 'Review succeeded',
  REVIEW_FAILED: 'Review failed',
}

export type Tone = 'neutral' | 'success' | 'warning' | 'danger' | 'info' | 'accent'

export const stateTone: Record<ActionState, Tone> = {
  ALLOW: 'success',
  BLOCK: 'danger',
  CHALLENGE_REQUIRED: 'warning',
  CHALLENGE_SUCCEEDED: 'success',
  CHALLENGE_FAILED: 'danger',
  REVIEW_REQUIRED: 'info',
  REVIEW_SUCCEEDED: 'success',
  REVIEW_FAILED: 'danger',
}

export const outcomeTone: Record<RuleOutcome, Tone> = {
  ALLOW: 'success',
  CHALLENGE: 'warning',
  REVIEW: 'info',
  BLOCK: 'danger',
}

export const CHALLENGE_METHODS = ['IN_APP', 'PUSH', 'QR_CODE'] as const satisfies readonly ChallengeMethod[]

export const methodLabel: Record<VerificationMethod, string> = {
  IN_APP: 'In-app',
  PUSH: 'Push',
  QR_CODE: 'QR code',
  DEVICE: 'Device',
  PASSKEY: 'Passkey',
}

export const WEBHOOK_EVENTS = [
  '*',
  'action.created',
  'action.state_changed',
  'authenticator.created',
  'authenticator.deleted',
  'push.created',
  'user.push_blocked',
] as const satisfies readonly WebhookEventFilter[]

export const webhookEventLabel: Record<WebhookEventFilter, string> = {
  '*': 'Every event',
  'action.created': 'action.created',
  'action.state_changed': 'action.state_changed',
  'authenticator.created': 'authenticator.created',
  'authenticator.deleted': 'authenticator.deleted',
  'push.created': 'push.created',
  'user.push_blocked': 'user.push_blocked',
}
