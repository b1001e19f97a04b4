// QR code: the page shows a code for a challenge of the token's action; the user's phone
// scans it, claims it and signs the user's decision. The client SDK's qr.challenge creates the
// challenge, follows it live and replaces a code before it expires.
import type { Failure, QrCodeChallenge } from '@countersign/client'
import { qrPayload, qrSvg } from '@countersign/client/qr'
import { announce, button, h, icon, replace, spinner } from './dom.ts'
import { endsRequest, type FlowContext } from './flow.ts'
import { explain } from './messages.ts'

/**
 * The QR-code section. The code's payload (the challenge ID, what the phone app reads) is also
 * on the section as `data-qr-payload`, with `data-challenge-id` and `data-state`.
 */
export function qrMethod(context: FlowContext, options: { alternative: boolean }): HTMLElement {
  const code = h('div', { class: 'qr__code' })
  const overlay = h('div', { class: 'qr__overlay' })
  const frame = h('div', { class: 'qr', 'data-empty': true }, code, overlay)
  const status = h('p', { class: 'method__status', id: 'qr-status' })
  const extra = h('div', { class: 'method__extra' })
  const section = h(
    'section',
    { class: 'method method--qr', 'data-method': 'qr', 'aria-labelledby': 'qr-title', 'aria-describedby': 'qr-status' },
    h('div', { class: 'method__icon' }, icon('qr')),
    h(
      'div',
      { class: 'method__body' },
      h('h2', { class: 'method__title', id: 'qr-title' }, options.alternative ? 'Or scan this code with your phone' : 'Scan this code with your phone'),
      h('p', { class: 'method__hint' }, 'Open your app’s scanner and point it at the code.'),
      frame,
      status,
      extra,
    ),
  )
  const show = (state: string, text: string, speak = true) => {
    section.dataset.state = state
    replace(status, text)
    if (speak) announce(text)
  }

  let shown: QrCodeChallenge | undefined
  const draw = (challenge: QrCodeChallenge) => {
    const payload = qrPayload({ challengeId: challenge.challengeId })
    // Our own encoder's SVG: attributes only (no `style`, which the CSP refuses), escaped text.
    code.innerHTML = qrSvg(payload, { title: 'QR code for this request' })
    frame.removeAttribute('data-empty')
    section.dataset.challengeId = challenge.challengeId
    section.dataset.qrPayload = payload
    replace(
      extra,
      challenge.verificationCode
        ? h('p', { class: 'code-hint' }, 'When your phone asks, enter ', h('strong', { class: 'code code--inline' }, challenge.verificationCode))
        : null,
    )
  }

  const fail = (failure: Failure) => {
    if (failure.errorCode === 'aborted' || context.signal.aborted) return
    if (endsRequest(failure.errorCode)) return context.end(failure)
    frame.dataset.faded = ''
    replace(overlay, icon('clock'))
    const expired = failure.errorCode === 'challenge_expired'
    show(expired ? 'expired' : 'error', expired ? 'This code expired.' : explain(failure.errorCode).title)
    replace(extra, button('New code', start, 'secondary'))
  }

  const start = async () => {
    replace(extra)
    replace(overlay, spinner())
    frame.dataset.faded = ''
    show('loading', 'Getting a code…', false)
    const result = await context.client.qr.challenge({
      token: context.token,
      signal: context.signal,
      onStateChange: (state, challenge) => {
        switch (state) {
          case 'unclaimed': {
            const replaced = shown !== undefined && shown.challengeId !== challenge.challengeId
            shown = challenge
            draw(challenge)
            delete frame.dataset.faded
            replace(overlay)
            show('unclaimed', replaced ? 'The last code expired — here is a new one.' : 'Waiting for your phone to scan the code.', replaced)
            break
          }
          case 'claimed':
            frame.dataset.faded = ''
            replace(overlay, icon('check'))
            show('claimed', 'Scanned — waiting for approval on your phone.')
            break
          case 'rejected':
            frame.dataset.faded = ''
            replace(overlay, icon('cross'))
            show('rejected', 'Denied on your phone.')
            break
          case 'approved':
          case 'expired':
            // Approval ends the page through the result; an expired code is replaced at once.
            break
        }
      },
    })
    if (result.data) return context.approve(result.data.token, 'QR_CODE')
    fail(result)
  }

  void start()
  return section
}
