// Push: the page asks the user's phone (POST /client/challenge/push) and waits for the
// answer over the event stream, polling where the stream is unavailable (the client SDK's
// waitForResult).
import type { Failure } from '@countersign/client'
import { announce, button, h, icon, replace, spinner } from './dom.ts'
import { endsRequest, type FlowContext } from './flow.ts'
import { explain } from './messages.ts'

/**
 * The push section: it sends the request at once and follows it until the phone answers.
 * An expired or failed request can be sent again from here.
 */
export function pushMethod(context: FlowContext): HTMLElement {
  const status = h('p', { class: 'method__status', id: 'push-status' })
  const extra = h('div', { class: 'method__extra' })
  const section = h(
    'section',
    { class: 'method', 'data-method': 'push', 'aria-labelledby': 'push-title', 'aria-describedby': 'push-status' },
    h('div', { class: 'method__icon' }, icon('phone')),
    h('div', { class: 'method__body' }, h('h2', { class: 'method__title', id: 'push-title' }, 'Approve on your phone'), status, extra),
  )
  const show = (state: string, text: string, options: { busy?: boolean; speak?: boolean } = {}) => {
    section.dataset.state = state
    replace(status, options.busy ? spinner() : null, text)
    if (options.speak !== false) announce(text)
  }

  const fail = (failure: Failure) => {
    if (failure.errorCode === 'aborted' || context.signal.aborted) return
    if (endsRequest(failure.errorCode)) return context.end(failure)
    const explanation = failure.errorCode === 'challenge_expired' ? { title: 'The request to your phone expired.', retryable: true } : explain(failure.errorCode)
    show(failure.errorCode === 'challenge_expired' ? 'expired' : 'error', explanation.title)
    replace(extra, explanation.retryable ? button('Send again', send, 'secondary') : null)
  }

  const send = async () => {
    replace(extra)
    show('sending', 'Sending a request to your phone…', { busy: true, speak: false })
    const started = await context.client.push.challenge({ token: context.token })
    if (context.signal.aborted) return
    if (started.error !== undefined) return fail(started)
    const { challengeId, verificationCode } = started.data
    section.dataset.challengeId = challengeId
    show('unclaimed', 'We sent a request to your phone. Open it there and approve.', { busy: true, speak: false })
    announce(verificationCode ? `We sent a request to your phone. When it asks, enter ${verificationCode}.` : 'We sent a request to your phone.')
    if (verificationCode) {
      replace(extra, h('p', { class: 'code-hint' }, 'When your phone asks, enter this number:'), h('p', { class: 'code' }, verificationCode))
    }
    const result = await context.client.push.waitForResult({
      token: context.token,
      challengeId,
      signal: context.signal,
      onStateChange: (state) => {
        if (state === 'claimed') show('claimed', 'Your phone has the request — approve it there.', { busy: true })
      },
    })
    if (result.data) return context.approve(result.data.token, 'PUSH')
    fail(result)
  }

  void send()
  return section
}
