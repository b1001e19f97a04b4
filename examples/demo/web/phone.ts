// The bank's phone app, played by a web page. It holds the device keys — non-extractable
// Web Crypto keys in IndexedDB, through WebCryptoKeyStore — and talks to Countersign's Client
// API with only the tenant ID, and to the bank's app backend with its own session:
//
// * activation: the bank tracks addAuthenticator (scope add:authenticators); the app enrolls
//   an in-app key with that token, then a push key and a QR key, each approved by the in-app
//   key (Countersign asks an enrolled key to approve every further one);
// * a payment made in the app: the bank tracks it, the app signs Countersign's challenge with
//   its in-app key (`inapp.verify`), and the bank validates the token it gets back;
// * push: the app asks every two seconds whether a request waits for it, shows what it is
//   for, and signs the user's answer over those details;
// * QR codes: the app claims a scanned code, shows what it is for, and signs the answer.
import { challengeIdFromQrPayload, CountersignClient, type ClaimedQrChallenge, type PushChallenge, type SignReason } from '@countersign/client'
import { WebCryptoKeyStore } from '@countersign/client/browser'
import { icons } from './icons.ts'
import { api, ApiFailure, describeUserAgent, element, escapeHtml, METHOD_LABELS, sleep, Timeline } from './shared.ts'

interface Config {
  tenantId: string
  countersignUrl: string
  bankUrl: string
}

interface AppSession {
  session: string
  username: string
  userId: string
}

interface Account {
  username: string
  balance: string
  payees: Array<{ payeeId: string; name: string; iban: string }>
  payments: Array<{ paymentId: string; payeeName: string; amount: string; completedAt: string; channel: 'web' | 'app'; verificationMethod: string }>
  devices: Array<{ verificationMethod: string }>
}

interface ActionStart {
  actionId: string
  state: string
  status: 'challenge' | 'completed' | 'needs_phone' | 'blocked' | 'review'
  token?: string
  transaction: Record<string, string>
  steps: string[]
}

interface Completion {
  status: 'completed' | 'refused'
  validation: { isValid: boolean; state?: string; verificationMethod?: string; error?: string }
  steps: string[]
}

type Request = { kind: 'push'; challenge: PushChallenge } | { kind: 'qr'; challenge: ClaimedQrChallenge }

const STORE_KEY = 'demo-bank-app'
const POLL_MS = 2000
const screen = element('#screen')
const sheet = element('#sheet')
const timeline = new Timeline(element<HTMLOListElement>('#timeline'))

let appSession = JSON.parse(localStorage.getItem(STORE_KEY) ?? 'null') as AppSession | null
let account: Account | undefined
/** Which screen shows: polling for push requests runs on `home` only. */
let current = 'start'
/** Push requests the user put off with "Not now": not shown again. */
const dismissed = new Set<string>()
/** While the app enrolls its keys right after the user typed the activation code. */
let enrolling = false
/** What the Face ID sheet says the signature is for. */
let promptText = ''

const config = await api<Config>('GET', '/app-api/config')

const PROMPTS: Record<SignReason, string> = {
  verify: 'Confirm with your in-app key',
  remove_credential: 'Remove this phone’s keys',
  get_challenge: 'Check for requests',
  claim_challenge: 'Claim the scanned code',
  approve_challenge: 'Approve this request',
  deny_challenge: 'Deny this request',
  update_credential: 'Update the push key',
}

const keyStore = new WebCryptoKeyStore({
  confirmUser: async ({ reason }) => {
    // Proving the key to fetch or claim a request decides nothing; the answer is asked for.
    if (reason === 'get_challenge' || reason === 'claim_challenge') return true
    // Right after the user typed the activation code the app makes and registers its keys
    // in one go, as a phone lets Face ID be reused for a few seconds.
    if (enrolling) return true
    return askFaceId(promptText || PROMPTS[reason])
  },
})
const countersign = new CountersignClient({ tenantId: config.tenantId, baseUrl: config.countersignUrl, keyStore })
const deviceName = `Demo phone (${describeUserAgent(navigator.userAgent)})`

// ---- The Face ID sheet ----

function askFaceId(text: string): Promise<boolean> {
  return new Promise((resolve) => {
    sheet.hidden = false
    sheet.innerHTML = `
      <div class="sheet" role="dialog" aria-label="Face ID">
        <div class="faceid">${icons.fingerprint(44)}</div>
        <h3>Face ID</h3>
        <p>${escapeHtml(text)}</p>
        <div class="row">
          <button class="button secondary" id="faceid-cancel" type="button">Cancel</button>
          <button class="button primary" id="faceid-confirm" type="button">Confirm</button>
        </div>
        <p class="fine">A real phone unlocks the key with your face or fingerprint here.</p>
      </div>`
    const close = (answer: boolean) => {
      sheet.hidden = true
      sheet.innerHTML = ''
      timeline.add('phone', answer ? `Face ID: confirmed (${text})` : 'Face ID: cancelled', answer ? 'info' : 'bad')
      resolve(answer)
    }
    element('#faceid-cancel', sheet).addEventListener('click', () => close(false))
    element('#faceid-confirm', sheet).addEventListener('click', () => close(true))
  })
}

// ---- Screens ----

function show(name: string, html: string): void {
  current = name
  screen.dataset.screen = name
  screen.innerHTML = html
  screen.scrollTop = 0
}

function bar(title: string): string {
  return `<header class="app-bar"><button class="back" id="back" type="button" aria-label="Back">‹</button><h1>${escapeHtml(title)}</h1><span></span></header>`
}

function onBack(): void {
  document.querySelector('#back')?.addEventListener('click', () => renderHome())
}

function renderActivate(code = '', notice = ''): void {
  show(
    'activate',
    `<div class="app-screen center">
      <div class="logo-big">${icons.shield(44)}</div>
      <h1>Demo Bank</h1>
      <p class="muted">Activate this app with the code the bank website shows under <strong>Set up your phone</strong>.</p>
      ${notice ? `<p class="notice">${escapeHtml(notice)}</p>` : ''}
      <form id="activate-form" class="stack">
        <input id="activation-code" class="code-input" inputmode="numeric" autocomplete="one-time-code" placeholder="123 456" maxlength="7" value="${escapeHtml(code)}" aria-label="Activation code" />
        <button class="button primary wide" type="submit">Activate</button>
      </form>
      <ol class="progress-list" id="enroll-progress" hidden>
        <li data-k="code">Check the code with the bank</li>
        <li data-k="inapp">Make the in-app key</li>
        <li data-k="push">Make the push key</li>
        <li data-k="qr">Make the QR key</li>
      </ol>
      <p class="error" id="activate-error"></p>
    </div>`,
  )
  element('#activate-form').addEventListener('submit', (event) => {
    event.preventDefault()
    void activate(element<HTMLInputElement>('#activation-code').value)
  })
}

function mark(key: string, state: 'busy' | 'done'): void {
  const item = document.querySelector(`#enroll-progress [data-k="${key}"]`)
  if (item) item.className = state
}

async function activate(code: string): Promise<void> {
  const error = element('#activate-error')
  error.textContent = ''
  element('#enroll-progress').hidden = false
  element<HTMLButtonElement>('#activate-form button').disabled = true
  try {
    mark('code', 'busy')
    const activation = await api<AppSession & { token: string; state: string }>('POST', '/app-api/activate', { body: { code } })
    appSession = { session: activation.session, username: activation.username, userId: activation.userId }
    localStorage.setItem(STORE_KEY, JSON.stringify(appSession))
    timeline.add('app', `the bank accepted the code for ${activation.username}; it tracked addAuthenticator → ${activation.state}`)
    mark('code', 'done')
    enrolling = true
    // Keys from an earlier setup go: the bank has just removed them on its side.
    for (const namespace of [countersign.inapp, countersign.push, countersign.qr]) await namespace.removeCredential()

    mark('inapp', 'busy')
    const added = await countersign.inapp.addCredential({ token: activation.token, userAuthenticationRequired: true, deviceName, devicePlatform: 'web' })
    if (!added.data) throw new Error(`The in-app key was not registered: ${added.error}`)
    timeline.add('phone', 'inapp.addCredential: made a P-256 key; Countersign registered its public key', 'good')
    mark('inapp', 'done')

    for (const kind of ['push', 'qr'] as const) {
      mark(kind, 'busy')
      const next = await api<{ token: string; state: string }>('POST', '/app-api/enrollment-token', { session: appSession.session })
      timeline.add('app', `the bank tracked addAuthenticator again → ${next.state}`)
      let token = next.token
      if (next.state === 'CHALLENGE_REQUIRED') {
        // A further key needs an enrolled key's approval: the in-app key signs the challenge.
        countersign.setToken(token)
        const verified = await countersign.inapp.verify()
        if (!verified.data) throw new Error(`The in-app key could not approve the ${kind} key: ${verified.error}`)
        token = verified.data.token
        timeline.add('phone', `inapp.verify: the in-app key approved adding a ${kind === 'qr' ? 'QR' : 'push'} key`)
      }
      const options = { token, userAuthenticationRequired: true, deviceName, devicePlatform: 'web' }
      const result = kind === 'push' ? await countersign.push.addCredential(options) : await countersign.qr.addCredential(options)
      if (!result.data) throw new Error(`The ${kind} key was not registered: ${result.error}`)
      timeline.add('phone', `${kind}.addCredential: registered the ${kind === 'qr' ? 'QR' : 'push'} key`, 'good')
      mark(kind, 'done')
    }
    history.replaceState(null, '', '/')
    await renderHome()
  } catch (failure) {
    error.textContent = failure instanceof Error ? failure.message : String(failure)
    element<HTMLButtonElement>('#activate-form button').disabled = false
  } finally {
    enrolling = false
    countersign.clearToken()
  }
}

async function loadAccount(): Promise<Account | undefined> {
  if (!appSession) return undefined
  try {
    account = (await api<{ account: Account }>('GET', '/app-api/account', { session: appSession.session })).account
    return account
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) signOut('The bank ended this app’s session. Activate it again.')
    return undefined
  }
}

function paymentsHtml(payments: Account['payments']): string {
  if (payments.length === 0) return '<li class="empty">Nothing yet.</li>'
  return payments
    .slice(0, 5)
    .map(
      (p) => `<li><div><strong>${escapeHtml(p.payeeName)}</strong><span>${new Date(p.completedAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })} · ${escapeHtml(METHOD_LABELS[p.verificationMethod] ?? p.verificationMethod)}</span></div><strong class="amount">−${escapeHtml(p.amount)}</strong></li>`,
    )
    .join('')
}

async function renderHome(): Promise<void> {
  if (!appSession) return renderActivate()
  const loaded = account ?? (await loadAccount())
  if (!appSession) return
  const username = appSession.username
  show(
    'home',
    `<div class="app-screen">
      <header class="app-header"><div><span class="muted">Good day,</span><h1>${escapeHtml(username)}</h1></div><span class="avatar">${escapeHtml(username.slice(0, 1).toUpperCase())}</span></header>
      <section class="balance-card"><span>Available balance</span><strong id="app-balance">${escapeHtml(loaded?.balance ?? '…')}</strong><span class="iban">NL00 DEMO 0123 4567 89</span></section>
      <div class="tiles">
        <button class="tile" id="go-send" type="button">${icons.send(26)}<span>Send money</span></button>
        <button class="tile" id="go-scan" type="button">${icons.scan(26)}<span>Scan QR code</span></button>
      </div>
      <section class="panel"><h2>Recent payments</h2><ul class="list" id="app-payments">${paymentsHtml(loaded?.payments ?? [])}</ul></section>
      <section class="panel security">
        <h2>${icons.shield(18)} Security</h2>
        <p id="key-summary">${loaded ? escapeHtml(keySummary(loaded)) : ''}</p>
        <p class="listening"><span class="dot"></span> Listening for requests</p>
        <button class="link" id="reset" type="button">Reset this phone</button>
      </section>
    </div>`,
  )
  element('#go-send').addEventListener('click', () => renderSend())
  element('#go-scan').addEventListener('click', () => renderScan())
  element('#reset').addEventListener('click', () => void reset())
  // What was shown came from the last visit; the website may have paid since.
  void loadAccount().then((next) => next && refreshHome(next))
}

function keySummary(next: Account): string {
  return `${next.devices.length} keys on this phone: ${next.devices.map((d) => METHOD_LABELS[d.verificationMethod] ?? d.verificationMethod).join(', ')}`
}

function refreshHome(next: Account): void {
  if (current !== 'home') return
  element('#app-balance').textContent = next.balance
  element('#app-payments').innerHTML = paymentsHtml(next.payments)
  element('#key-summary').textContent = keySummary(next)
}

function signOut(notice: string): void {
  appSession = null
  account = undefined
  localStorage.removeItem(STORE_KEY)
  renderActivate('', notice)
}

async function reset(): Promise<void> {
  timeline.add('phone', 'removeCredential for each key (signed with the key itself)')
  for (const namespace of [countersign.inapp, countersign.push, countersign.qr]) await namespace.removeCredential()
  if (appSession) await api('DELETE', '/app-api/session', { session: appSession.session }).catch(() => {})
  signOut('This phone was reset: its keys are gone, here and at Countersign.')
}

// ---- Paying in the app: in-app verification ----

function renderSend(): void {
  const payees = account?.payees ?? []
  show(
    'send',
    `<div class="app-screen">
      ${bar('Send money')}
      <form id="send-form" class="stack">
        <label>To <select id="send-payee">${payees.map((p) => `<option value="${escapeHtml(p.payeeId)}">${escapeHtml(p.name)}</option>`).join('')}</select></label>
        <label>Amount (EUR) <input id="send-amount" type="number" step="0.01" min="0.01" value="25.00" required /></label>
        <button class="button primary wide" type="submit">Continue</button>
      </form>
      <p class="note">${icons.key(16)} The bank asks Countersign, and this phone’s in-app key signs the challenge. No second screen, no code to type.</p>
      <p class="error" id="send-error"></p>
    </div>`,
  )
  onBack()
  element('#send-form').addEventListener('submit', (event) => {
    event.preventDefault()
    void pay(element<HTMLSelectElement>('#send-payee').value, element<HTMLInputElement>('#send-amount').value)
  })
}

async function pay(payeeId: string, amount: string): Promise<void> {
  const error = element('#send-error')
  element<HTMLButtonElement>('#send-form button').disabled = true
  try {
    const start = await api<ActionStart>('POST', '/app-api/payments', { body: { payeeId, amount }, session: appSession?.session })
    timeline.addSteps(start.steps)
    if (start.status !== 'challenge') {
      if (start.status === 'completed') return renderResult(true, 'Payment sent', 'No confirmation was needed.')
      throw new Error(start.status === 'needs_phone' ? 'Set up this phone first.' : `The bank said: ${start.status}`)
    }
    const t = start.transaction
    promptText = `Pay €${Number(t.amount).toFixed(2)} to ${t.payee}`
    countersign.setToken(start.token!)
    timeline.add('phone', 'inapp.verify: sign Countersign’s challenge with the in-app key')
    const verified = await countersign.inapp.verify()
    countersign.clearToken()
    if (!verified.data) {
      if (verified.errorCode === 'user_cancelled') return renderResult(false, 'Cancelled', 'You cancelled Face ID, so nothing was signed and nothing was paid.')
      throw new Error(verified.error)
    }
    timeline.add('app', 'sending the new token to the bank')
    const done = await api<Completion>('POST', `/app-api/actions/${start.actionId}/complete`, { body: { token: verified.data.token }, session: appSession?.session })
    timeline.addSteps(done.steps)
    const v = done.validation
    if (done.status === 'completed') {
      await loadAccount()
      renderResult(true, 'Payment sent', `€${Number(t.amount).toFixed(2)} to ${t.payee}. The bank validated the token first: ${v.state} via ${v.verificationMethod}.`)
    } else {
      renderResult(false, 'Not sent', `The bank refused the token (${v.error ?? v.state}).`)
    }
  } catch (failure) {
    if (current !== 'send') return
    error.textContent = failure instanceof Error ? failure.message : String(failure)
    element<HTMLButtonElement>('#send-form button').disabled = false
  } finally {
    promptText = ''
  }
}

// ---- Scanning a QR code ----

function renderScan(note = ''): void {
  show(
    'scan',
    `<div class="app-screen camera">
      ${bar('Scan QR code')}
      <div class="viewfinder"><i class="tl"></i><i class="tr"></i><i class="bl"></i><i class="br"></i>${icons.qr(64)}<span>Point the camera at the code on the bank’s page</span></div>
      <button class="button primary wide" id="scan-bank" type="button">${icons.scan(18)} Scan the code on the bank page</button>
      <details class="paste"><summary>or paste the code’s text</summary>
        <form id="paste-form" class="row"><input id="paste" placeholder="http://…/?challengeId=…" aria-label="QR code text" /><button class="button secondary" type="submit">Use</button></form>
      </details>
      <p class="note">This demo has no camera: the button asks the bank which QR code its page shows right now.</p>
      <p class="error" id="scan-error">${escapeHtml(note)}</p>
    </div>`,
  )
  onBack()
  element('#scan-bank').addEventListener('click', () => void scanBankPage())
  element('#paste-form').addEventListener('submit', (event) => {
    event.preventDefault()
    void scan(element<HTMLInputElement>('#paste').value)
  })
}

async function scanBankPage(): Promise<void> {
  const { payload } = await api<{ payload: string | null }>('GET', '/app-api/screen')
  if (!payload) return renderScan('No QR code on the bank page right now. Show one there first.')
  await scan(payload)
}

async function scan(payload: string): Promise<void> {
  const challengeId = challengeIdFromQrPayload(payload)
  if (!challengeId) return renderScan('That is not a Demo Bank code.')
  timeline.add('phone', 'qr.claimChallenge: claim the code (signed with the QR key); the bank page hides it')
  const claimed = await countersign.qr.claimChallenge({ challengeId })
  if (!claimed.data) return renderScan(`Could not use this code: ${claimed.error}`)
  renderRequest({ kind: 'qr', challenge: claimed.data })
}

// ---- A request to approve (push or scanned code) ----

function describeRequest(request: Request): { title: string; subject: string; amount?: string; rows: Array<[string, string]> } {
  const { challenge } = request
  const t = (challenge.transaction ?? {}) as Record<string, unknown>
  const custom = (challenge.custom ?? {}) as Record<string, unknown>
  switch (challenge.actionCode) {
    case 'authorizePayment': {
      const amount = `€${Number(t.amount).toFixed(2)}`
      return { title: 'Approve this payment?', subject: `the payment of ${amount} to ${String(t.payee)}`, amount, rows: [['To', String(t.payee)], ['IBAN', String(t.iban)]] }
    }
    case 'addPayee':
      return { title: 'Add this payee?', subject: `the new payee ${String(t.payee)}`, rows: [['Name', String(t.payee)], ['IBAN', String(t.iban)]] }
    case 'signIn':
      return {
        title: 'Sign in on the web?',
        subject: 'the sign-in on the web',
        rows: [['Site', String(custom.site ?? 'Demo Bank')], ['Browser', String(custom.browser ?? describeUserAgent(challenge.userAgent))]],
      }
    default:
      return { title: `Approve ${challenge.actionCode}?`, subject: challenge.actionCode, rows: Object.entries(t).map(([k, v]) => [k, String(v)]) }
  }
}

function renderRequest(request: Request): void {
  const { challenge } = request
  const what = describeRequest(request)
  const expires = challenge.challengeExpiresAt ? new Date(challenge.challengeExpiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : ''
  const needsCode = challenge.verificationCodeRequired === true
  timeline.add('phone', `${request.kind === 'push' ? 'push.getChallenge' : 'qr.claimChallenge'} → ${challenge.actionCode}${needsCode ? ' (number matching)' : ''}`)
  show(
    'request',
    `<div class="app-screen request">
      <div class="request-head">
        <span class="eyebrow">${request.kind === 'push' ? `${icons.push(16)} Request from Demo Bank` : `${icons.qr(16)} Scanned code`}</span>
        <h1>${escapeHtml(what.title)}</h1>
        ${what.amount ? `<strong class="big-amount" data-testid="request-amount">${escapeHtml(what.amount)}</strong>` : ''}
      </div>
      <dl class="details">${what.rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
      <p class="origin">From ${escapeHtml(describeUserAgent(challenge.userAgent))}${challenge.ipAddress ? ` · ${escapeHtml(challenge.ipAddress)}` : ''}${expires ? ` · until ${escapeHtml(expires)}` : ''}</p>
      ${
        needsCode
          ? `<label class="number-input">Enter the number the bank page shows
              <input id="verification-code" inputmode="numeric" maxlength="6" autocomplete="off" placeholder="––" /></label>`
          : ''
      }
      <p class="note">${icons.key(16)} Your answer is signed together with these details, so it cannot be used for anything else.</p>
      <div class="row answer">
        <button class="button danger" id="deny" type="button">Deny</button>
        <button class="button primary" id="approve" type="button">Approve</button>
      </div>
      ${request.kind === 'push' ? '<button class="link" id="later" type="button">Not now</button>' : ''}
      <p class="error" id="request-error"></p>
    </div>`,
  )
  document.querySelector('#later')?.addEventListener('click', () => {
    dismissed.add(challenge.challengeId)
    void renderHome()
  })
  element('#approve').addEventListener('click', () => void answer(request, true))
  element('#deny').addEventListener('click', () => void answer(request, false))
}

async function answer(request: Request, approved: boolean): Promise<void> {
  const input = document.querySelector<HTMLInputElement>('#verification-code')
  const verificationCode = input?.value.trim() || undefined
  if (approved && input && !verificationCode) {
    element('#request-error').textContent = 'Type the number the bank page shows.'
    return input.focus()
  }
  const what = describeRequest(request)
  promptText = `${approved ? 'Approve' : 'Deny'} ${what.subject}`
  for (const button of document.querySelectorAll<HTMLButtonElement>('.answer button')) button.disabled = true
  const options = { challenge: request.challenge, approved, verificationCode }
  const result = request.kind === 'push' ? await countersign.push.updateChallenge(options) : await countersign.qr.updateChallenge(options)
  promptText = ''
  if (!result.data) {
    if (result.errorCode === 'user_cancelled') {
      for (const button of document.querySelectorAll<HTMLButtonElement>('.answer button')) button.disabled = false
      return
    }
    timeline.add('phone', `${request.kind}.updateChallenge → ${result.errorCode}`, 'bad')
    const text = result.errorCode === 'invalid_verification_code' ? 'That number did not match the bank page, so the request failed. Start again on the bank page.' : result.error
    return renderResult(false, 'Not confirmed', text)
  }
  timeline.add('phone', `${request.kind}.updateChallenge(${approved ? 'approved' : 'denied'}) → isVerified ${result.data.isVerified} (a signed decision over the details)`, approved ? 'good' : 'bad')
  if (approved) renderResult(true, 'Approved', 'The bank page carries on by itself.')
  else renderResult(false, 'Denied', 'Nothing happens. The bank page shows it was denied.')
}

function renderResult(good: boolean, title: string, text: string): void {
  show(
    'result',
    `<div class="app-screen center result ${good ? 'good' : 'bad'}" data-testid="phone-result">
      <div class="result-icon">${good ? icons.check(48) : icons.cross(48)}</div>
      <h1>${escapeHtml(title)}</h1>
      <p>${escapeHtml(text)}</p>
      <button class="button primary wide" id="result-done" type="button">Done</button>
    </div>`,
  )
  element('#result-done').addEventListener('click', () => void renderHome())
}

// ---- Background: push requests and the account ----

async function pollForever(): Promise<void> {
  let tick = 0
  for (;;) {
    await sleep(POLL_MS)
    if (current !== 'home' || !appSession || document.hidden) continue
    tick += 1
    const pending = await countersign.push.getChallenge()
    if (current !== 'home') continue
    if (pending.data && !dismissed.has(pending.data.challengeId)) {
      renderRequest({ kind: 'push', challenge: pending.data })
      continue
    }
    if (pending.errorCode === 'credential_not_found' || pending.errorCode === 'invalid_credential') {
      signOut('This phone is no longer set up. Activate it again.')
      continue
    }
    if (tick % 2 === 0) {
      const next = await loadAccount()
      if (next) refreshHome(next)
    }
  }
}

function tickClock(): void {
  element('#clock').textContent = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false })
}

// ---- Start ----

async function route(): Promise<void> {
  const hash = new URLSearchParams(location.hash.slice(1))
  const code = hash.get('activate')
  const scanned = new URLSearchParams(location.search).get('challengeId')
  if (code) return renderActivate(code)
  if (!appSession) return renderActivate()
  // Still enrolled? A phone set up again elsewhere (or reset) has lost its keys at Countersign.
  const credential = await countersign.inapp.getCredential()
  if (!credential.data) return signOut(credential.error === undefined ? 'This phone is no longer set up. Activate it again.' : `Countersign cannot be reached: ${credential.error}`)
  await renderHome()
  if (scanned) {
    history.replaceState(null, '', '/')
    await scan(scanned)
  }
}

window.addEventListener('hashchange', () => void route())
tickClock()
setInterval(tickClock, 30_000)
await route()
void pollForever()
