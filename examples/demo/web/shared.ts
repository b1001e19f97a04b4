// What both pages share: calling the bank's API, escaping text for HTML, and the timeline
// that says who did what (the bank's backend, the page, Countersign, the phone).

import { browserDeviceName } from '@countersign/client'

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** A JSON call to the bank's backend (same origin), with the session as a bearer token. */
export async function api<T>(method: string, path: string, options: { body?: unknown; session?: string | null } = {}): Promise<T> {
  const headers: Record<string, string> = {}
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (options.session) headers.authorization = `Bearer ${options.session}`
  let response: Response
  try {
    response = await fetch(path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) })
  } catch {
    throw new ApiFailure(0, 'network_error', 'The bank cannot be reached. Is `npm run demo` still running?')
  }
  const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string }
  if (!response.ok) throw new ApiFailure(response.status, body.error ?? 'error', body.message ?? `The bank answered ${response.status}`)
  return body as T
}

export function escapeHtml(text: unknown): string {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

export function element<T extends HTMLElement = HTMLElement>(selector: string, root: ParentNode = document): T {
  const found = root.querySelector<T>(selector)
  if (!found) throw new Error(`missing ${selector}`)
  return found
}

/** "Chrome on Linux" from a user agent string, for what the phone shows about a request. */
export function describeUserAgent(userAgent: string | undefined): string {
  return userAgent ? browserDeviceName(userAgent) : 'an unknown browser'
}

export type Actor = 'bank' | 'page' | 'countersign' | 'phone' | 'app'

const ACTOR_LABELS: Record<Actor, string> = {
  bank: 'Bank backend',
  page: 'Bank page',
  countersign: 'Countersign',
  phone: 'Phone',
  app: 'Phone app',
}

/** A list of what happened, newest first, in an <ol>. */
export class Timeline {
  constructor(
    private readonly list: HTMLOListElement,
    private readonly limit = 40,
  ) {}

  add(actor: Actor, text: string, tone: 'info' | 'good' | 'bad' = 'info'): void {
    const item = document.createElement('li')
    item.className = `event ${tone}`
    const time = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    item.innerHTML = `<span class="actor actor-${actor}">${ACTOR_LABELS[actor]}</span><span class="text">${escapeHtml(text)}</span><time>${time}</time>`
    this.list.prepend(item)
    while (this.list.children.length > this.limit) this.list.lastElementChild?.remove()
    this.list.closest('.timeline')?.classList.add('has-events')
  }

  /** Lines the bank's backend reported ("Bank backend → Countersign: …"). */
  addSteps(steps: string[] | undefined): void {
    for (const step of steps ?? []) {
      const tone = /refused|isValid false/.test(step) ? 'bad' : step.startsWith('Bank: ') ? 'good' : 'info'
      this.add('bank', step.replace(/^Bank backend → Countersign: |^Bank: /, ''), tone)
    }
  }
}

export const METHOD_LABELS: Record<string, string> = {
  IN_APP: 'In-app key',
  PUSH: 'Push',
  QR_CODE: 'QR code',
  DEVICE: 'Device key',
  NONE: 'No challenge',
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
