// The page: read the launch, learn the action, offer the ways to confirm it that the action
// allows and the user has, and hand the new token back when one of them succeeds.
import { CountersignClient, type Failure } from '@countersign/client'
import type { ChallengeMethod } from '@countersign/protocol'
import { chooseDelivery, Messenger, withToken, type Delivery } from './delivery.ts'
import { announce, button, byId, h, icon, replace } from './dom.ts'
import type { FlowContext } from './flow.ts'
import { fetchHostedChallenge, type HostedChallenge } from './hosted-challenge.ts'
import { holdsInAppKey, inAppMethod, keyStoreFor } from './in-app.ts'
import { tenantIdOf, type Launch } from './launch.ts'
import { explain } from './messages.ts'
import { pushMethod } from './push.ts'
import { qrMethod } from './qr.ts'

const card = () => byId('content').closest('.card') as HTMLElement

/** Starts the page for what it was launched with. */
export async function startPage(launch: Launch): Promise<void> {
  document.documentElement.dataset.mode = launch.mode
  const framed = window.parent !== window
  if (framed) document.documentElement.dataset.framed = ''
  // Until the action's redirectUrl is known, a popup's launcher can still hear errors.
  let messenger = new Messenger(launch.mode === 'popup', undefined)
  fitFrame(() => messenger)

  if (!launch.token) return endPage({ errorCode: 'missing_token' }, messenger, launch)
  const info = await fetchHostedChallenge(launch.token)
  if (info.error !== undefined) return endPage(info, messenger, launch)
  const chosen = chooseDelivery(launch.mode, info.data.redirectUrl)
  if (chosen.error !== undefined) return endPage({ errorCode: chosen.error }, messenger, launch)
  const delivery = chosen.delivery
  messenger = new Messenger(launch.mode === 'popup', delivery.kind === 'message' ? delivery : undefined)

  const finished = settledState(info.data.state)
  if (finished) return endPage({ errorCode: finished }, messenger, launch)

  const tenantId = tenantIdOf(launch.token)
  if (!tenantId) return endPage({ errorCode: 'invalid_token' }, messenger, launch)
  await offerMethods(launch, info.data, tenantId, delivery, messenger)
}

/** The action's state when it no longer needs a challenge, as an error code to explain. */
function settledState(state: HostedChallenge['state']): string | undefined {
  switch (state) {
    case 'CHALLENGE_REQUIRED':
    case 'ALLOW':
      return undefined
    case 'CHALLENGE_SUCCEEDED':
      return 'already_confirmed'
    case 'CHALLENGE_FAILED':
      return 'action_failed'
    case 'BLOCK':
      return 'action_blocked'
    case 'REVIEW_REQUIRED':
    case 'REVIEW_SUCCEEDED':
    case 'REVIEW_FAILED':
      return 'action_in_review'
    default:
      return 'invalid_action_state'
  }
}

async function offerMethods(launch: Launch, info: HostedChallenge, tenantId: string, delivery: Delivery, messenger: Messenger): Promise<void> {
  const token = launch.token as string
  const controller = new AbortController()
  const { keyStore, databaseName } = await keyStoreFor(tenantId, info.userId)
  const client = new CountersignClient({ tenantId, baseUrl: window.location.origin, keyStore })
  client.setToken(token)

  let done = false
  const expiry = window.setTimeout(() => end({ errorCode: 'expired_token' }), Math.max(0, Date.parse(info.expiresAt) - Date.now()))
  const finish = () => {
    done = true
    window.clearTimeout(expiry)
    controller.abort()
  }
  const end = (failure: Pick<Failure, 'errorCode' | 'status'>) => {
    if (done) return
    finish()
    endPage(failure, messenger, launch)
  }
  const context: FlowContext = {
    client,
    token,
    signal: controller.signal,
    approve: (newToken, method) => {
      if (done) return
      finish()
      completePage(newToken, method, delivery, messenger)
    },
    end,
  }

  // The quickest way first: one press on this device, then the phone's push (sent at once),
  // then the QR code. Enrolling this browser comes last, unless the user has no device we
  // know of (the tenant asked for add:authenticators to set one up).
  const allowed = (method: ChallengeMethod) => info.verificationMethods.includes(method)
  const holdsKey = allowed('IN_APP') && (await holdsInAppKey(keyStore, databaseName))
  const inAppMode = !allowed('IN_APP') ? undefined : holdsKey && info.credentials.inApp ? 'verify' : !info.credentials.inApp && info.canEnroll ? 'enroll' : undefined
  const enrollFirst = inAppMode === 'enroll' && !info.credentials.push
  const order: Array<'in-app' | 'push' | 'qr'> = [
    ...(inAppMode === 'verify' || enrollFirst ? (['in-app'] as const) : []),
    ...(allowed('PUSH') && info.credentials.push ? (['push'] as const) : []),
    ...(allowed('QR_CODE') ? (['qr'] as const) : []),
    ...(inAppMode === 'enroll' && !enrollFirst ? (['in-app'] as const) : []),
  ]
  if (order.length === 0) return end({ errorCode: 'no_method' })
  const sections = order.map((method, index) => {
    const alternative = index > 0
    switch (method) {
      case 'in-app':
        return inAppMethod(context, inAppMode!, { alternative })
      case 'push':
        return pushMethod(context)
      case 'qr':
        return qrMethod(context, { alternative })
    }
  })

  setHeading('Confirm it’s you', ['Approve this request to continue:', h('span', { class: 'action', 'data-action-code': info.actionCode }, describeAction(info.actionCode))])
  const content = byId('content')
  replace(content)
  sections.forEach((section, index) => {
    if (index > 0) content.append(h('div', { class: 'divider', role: 'separator' }, h('span', {}, 'or')))
    content.append(section)
  })
  renderFooter(info, delivery, launch, messenger, () => {
    finish()
  })
  card().removeAttribute('aria-busy')
  messenger.ready()
}

/** The footer: when the request expires, where the user returns, and Cancel in a popup. */
function renderFooter(info: HostedChallenge, delivery: Delivery, launch: Launch, messenger: Messenger, stop: () => void): void {
  const footer = byId('footer')
  const expires = new Date(info.expiresAt)
  const time = h('time', { datetime: expires.toISOString() }, expires.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' }))
  const returning = delivery.kind === 'redirect' ? hostOf(delivery.redirectUrl) : undefined
  replace(
    footer,
    h('p', { class: 'footer__note' }, 'This request expires at ', time, returning ? ` · You’ll return to ${returning}` : null, '.'),
    launch.mode === 'popup'
      ? button(
          'Cancel',
          () => {
            stop()
            messenger.cancel()
          },
          'quiet',
          { 'data-action': 'cancel' },
        )
      : null,
  )
}

/** Hands the new token over: a redirect with `token=`, or the message @authsignal/browser waits for. */
function completePage(token: string, method: ChallengeMethod, delivery: Delivery, messenger: Messenger): void {
  document.documentElement.dataset.result = 'approved'
  const how = method === 'PUSH' ? 'on your phone' : method === 'QR_CODE' ? 'with your phone' : 'on this device'
  switch (delivery.kind) {
    case 'redirect': {
      const host = hostOf(delivery.redirectUrl)
      showOutcome('check', 'Confirmed', `You approved this request ${how}. Taking you back to ${host}…`)
      window.location.replace(withToken(delivery.redirectUrl, token))
      return
    }
    case 'message':
      showOutcome('check', 'Confirmed', `You approved this request ${how}. You can close this window.`)
      messenger.complete(token)
      // The SDK closes its window or dialog itself; a window it opened may also close itself.
      if (!delivery.framed) window.setTimeout(() => window.close(), 500)
      return
    case 'none':
      showOutcome('check', 'Confirmed', `You approved this request ${how}. Return to the app to continue.`)
      return
  }
}

/** Shows why the page cannot go on, tells a popup's launcher, and offers the way back. */
function endPage(failure: Pick<Failure, 'errorCode' | 'status'>, messenger: Messenger, launch: Launch): void {
  const explanation = outcomeOf(failure.errorCode)
  document.documentElement.dataset.result = failure.errorCode === 'challenge_rejected' ? 'denied' : 'failed'
  document.documentElement.dataset.errorCode = failure.errorCode
  showOutcome(failure.errorCode === 'challenge_rejected' ? 'cross' : failure.errorCode === 'expired_token' ? 'clock' : 'alert', explanation.title, explanation.detail, 'assertive')
  messenger.apiError(failure.errorCode, failure.status)
  const footer = byId('footer')
  if (launch.mode === 'popup' && window.parent !== window) {
    replace(footer, button('Close', () => messenger.cancel(), 'secondary', { 'data-action': 'close' }))
  } else if (launch.mode === 'popup' && window.opener) {
    replace(
      footer,
      button(
        'Close',
        () => {
          messenger.cancel()
          window.close()
        },
        'secondary',
        { 'data-action': 'close' },
      ),
    )
  } else if (window.history.length > 1) {
    replace(footer, button('Go back', () => window.history.back(), 'secondary', { 'data-action': 'back' }))
  } else {
    replace(footer)
  }
  card().removeAttribute('aria-busy')
  messenger.ready()
}

function outcomeOf(errorCode: string): { title: string; detail: string } {
  switch (errorCode) {
    case 'already_confirmed':
      return { title: 'Already confirmed', detail: 'This request was confirmed already. Go back to continue.' }
    case 'action_failed':
      return { title: 'This request failed', detail: 'It was denied or could not be confirmed. Go back and try again.' }
    case 'action_blocked':
      return { title: 'This request was blocked', detail: 'It cannot be confirmed. Contact support if you think this is wrong.' }
    case 'action_in_review':
      return { title: 'This request is being reviewed', detail: 'There is nothing to confirm here for now.' }
    case 'no_method':
      return {
        title: 'Confirm on your device',
        detail: 'This request can only be confirmed on a device you set up earlier, and this browser is not one. Go back and try again there.',
      }
    default:
      return explain(errorCode)
  }
}

function showOutcome(name: 'check' | 'cross' | 'clock' | 'alert', title: string, detail: string, politeness: 'polite' | 'assertive' = 'polite'): void {
  setHeading(title, [detail])
  // The outcome's icon takes the brand's place above the heading.
  replace(byId('badge'), h('div', { class: `outcome outcome--${name}` }, icon(name)))
  replace(byId('content'))
  replace(byId('footer'))
  announce(`${title}. ${detail}`, politeness)
  // Move focus to the new heading, so keyboard and screen-reader users start from the result.
  byId('title').focus({ preventScroll: true })
}

function setHeading(title: string, subtitle: Array<Node | string>): void {
  byId('title').textContent = title
  document.title = title
  replace(byId('subtitle'), ...subtitle)
}

/** `authorizePayment` → "Authorize payment"; codes are identifiers, this is only for reading. */
export function describeAction(actionCode: string): string {
  const words = actionCode
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .trim()
    .toLowerCase()
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : actionCode
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'the app'
  }
}

/** In @authsignal/browser's popup iframe: keep its height fitted to the page. */
function fitFrame(messenger: () => Messenger): void {
  if (window.parent === window || typeof ResizeObserver === 'undefined') return
  const shell = document.querySelector('main') as HTMLElement
  new ResizeObserver(() => messenger().resize(shell.getBoundingClientRect().height)).observe(shell)
}
