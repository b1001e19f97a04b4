// The bank's website. It never sees a secret key: it asks the bank's backend to do things,
// and when Countersign wants the phone's confirmation it gets one with @countersign/client —
// a push request to the phone, or a QR code the phone scans — using only the tenant ID and
// the track token the backend handed over. The token the phone's approval earns goes back to
// the backend, which validates it before it does anything.
import { CountersignClient, MemoryKeyStore, type Approval, type OutOfBandState, type Result } from '@countersign/client'
import { qrPayload, qrSvg } from '@countersign/client/qr'
import { icons } from './icons.ts'
import { api, ApiFailure, describeUserAgent, element, escapeHtml, METHOD_LABELS, Timeline } from './shared.ts'

interface Config {
  tenantId: string
  countersignUrl: string
  phoneUrl: string
  bankUrl: string
}

interface Device {
  userAuthenticatorId?: string
  verificationMethod: string
  deviceName?: string
  createdAt?: string
  lastVerifiedAt?: string
}

interface Account {
  userId: string
  username: string
  balance: string
  payees: Array<{ payeeId: string; name: string; iban: string }>
  payments: Array<{ paymentId: string; payeeName: string; amount: string; completedAt: string; channel: 'web' | 'app'; verificationMethod: string }>
  devices: Device[]
  milestones: Record<'phone' | 'payee' | 'webPayment' | 'appPayment' | 'qrSignIn', boolean>
}

interface Validation {
  isValid: boolean
  state?: string
  verificationMethod?: string
  error?: string
}

interface ActionStart {
  actionId: string
  actionCode: 'addPayee' | 'authorizePayment'
  state: string
  status: 'challenge' | 'completed' | 'needs_phone' | 'blocked' | 'review'
  token?: string
  url?: string
  transaction: Record<string, string>
  steps: string[]
  account?: Account
}

interface Completion {
  status: 'completed' | 'refused'
  actionId: string
  validation: Validation
  steps: string[]
  account?: Account
}

const SESSION_KEY = 'demo-bank-session'
const app = element('#app')
const dialog = element<HTMLDialogElement>('#dialog')
const timeline = new Timeline(element<HTMLOListElement>('#timeline'))

let session = localStorage.getItem(SESSION_KEY)
let account: Account | undefined
/** Stops whatever QR code or push request the page is waiting on. */
let waiting: AbortController | undefined

const config = await api<Config>('GET', '/api/config')
// The page never signs anything (the phone does), so its key store stays empty.
const countersign = new CountersignClient({ tenantId: config.tenantId, baseUrl: config.countersignUrl, keyStore: new MemoryKeyStore() })
const thisBrowser = describeUserAgent(navigator.userAgent)

// ---- Small helpers ----

function toast(text: string, tone: 'good' | 'bad' | 'info' = 'info'): void {
  const box = element('#toast')
  box.className = `toast ${tone}`
  box.textContent = text
  box.hidden = false
  clearTimeout(Number(box.dataset.timer))
  box.dataset.timer = String(setTimeout(() => (box.hidden = true), 6000))
}

function openPhone(link = config.phoneUrl): void {
  // A narrow window, like a phone beside the bank. Browsers that refuse popups open a tab.
  window.open(link, 'demo-phone', 'popup,width=520,height=940')
}

function failureText(error: unknown): string {
  return error instanceof ApiFailure ? error.message : error instanceof Error ? error.message : String(error)
}

/** Tells the bank which code this page shows: the phone's stand-in for a camera asks for it. */
function announceScreen(payload: string | null): void {
  void api('POST', '/api/screen', { body: { payload } }).catch(() => {})
}

function saveSession(value: string | null): void {
  session = value
  if (value) localStorage.setItem(SESSION_KEY, value)
  else localStorage.removeItem(SESSION_KEY)
}

// ---- The guide ----

function updateSteps(): void {
  const done: Record<string, boolean> = { signIn: account !== undefined, ...(account?.milestones ?? {}) }
  let current = false
  for (const item of document.querySelectorAll<HTMLLIElement>('#steps li')) {
    const isDone = done[item.dataset.step ?? ''] === true
    item.classList.toggle('done', isDone)
    const isCurrent = !isDone && !current
    item.classList.toggle('current', isCurrent)
    if (isCurrent) current = true
  }
}

// ---- Signed out: username, or a QR code the phone scans ----

function renderSignedOut(): void {
  account = undefined
  element('#who').hidden = true
  app.innerHTML = `
    <div class="hero">
      <h1>Welcome to Demo Bank</h1>
      <p>Sign in to see how Countersign has your phone confirm what matters: a new payee, a payment, a sign-in.</p>
    </div>
    <div class="grid two">
      <form class="card" id="sign-in-form">
        <h2>${icons.user(20)} Sign in</h2>
        <label>Username <input name="username" id="username" autocomplete="username" placeholder="e.g. ana" required pattern="[A-Za-z0-9._\\-]{1,32}" /></label>
        <button class="button primary wide" type="submit">Sign in</button>
        <p class="hint">No password in this demo. The bank gives Countersign your username as your user ID.</p>
      </form>
      <section class="card qr-sign-in">
        <h2>${icons.qr(20)} Sign in with your phone</h2>
        <p class="muted">Phone set up already? Scan a code with the app instead of typing anything.</p>
        <div class="qr-box" id="qr-login-box">
          <button class="button secondary" id="qr-login-start" type="button">${icons.qr(18)} Show QR code</button>
        </div>
        <p class="qr-state" id="qr-login-state"></p>
      </section>
    </div>`
  element('#sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const username = element<HTMLInputElement>('#username').value.trim()
    void signIn(username)
  })
  element('#qr-login-start').addEventListener('click', () => void startQrSignIn())
  updateSteps()
}

async function signIn(username: string): Promise<void> {
  try {
    const result = await api<{ session: string; account: Account }>('POST', '/api/session', { body: { username } })
    saveSession(result.session)
    timeline.add('bank', `signed in ${result.account.username} (user ID “${result.account.userId}”)`)
    renderSignedIn(result.account)
  } catch (error) {
    toast(failureText(error), 'bad')
  }
}

function renderQr(box: HTMLElement, challengeId: string, verificationCode?: string): void {
  // The payload is a link to the phone page, so a click (or a real camera) opens the phone on it.
  const payload = qrPayload({ challengeId, baseUrl: `${config.phoneUrl}/` })
  box.innerHTML = `
    <div class="qr">${qrSvg(payload, { size: 196, title: 'Scan with the Demo Bank app' })}</div>
    ${verificationCode ? `<p class="number">Your phone will ask for this number <span class="code" data-testid="verification-code">${escapeHtml(verificationCode)}</span></p>` : ''}
    <details class="payload"><summary>No camera? Copy the code’s text</summary><code data-testid="qr-payload">${escapeHtml(payload)}</code></details>`
  announceScreen(payload)
}

async function startQrSignIn(): Promise<void> {
  waiting?.abort()
  const controller = new AbortController()
  waiting = controller
  const box = element('#qr-login-box')
  const state = element('#qr-login-state')
  timeline.add('page', 'qr.challenge (action signIn, no user yet): asking Countersign for a code')
  const result = await countersign.qr.challenge({
    action: 'signIn',
    custom: { site: 'Demo Bank website', browser: thisBrowser },
    signal: controller.signal,
    onStateChange: (next, challenge) => {
      state.dataset.state = next
      if (next === 'unclaimed') {
        renderQr(box, challenge.challengeId)
        state.innerHTML = `<span class="spinner"></span> On the phone: <strong>Scan QR code</strong>`
        timeline.add('countersign', 'QR code ready; waiting for a phone to scan it')
      } else if (next === 'claimed') {
        box.innerHTML = `<div class="qr-done">${icons.phone(48)}<strong>Scanned</strong><span>Approve the sign-in on your phone</span></div>`
        state.innerHTML = `<span class="spinner"></span> Waiting for your approval…`
        timeline.add('phone', 'scanned and claimed the code (signed with its QR key)')
        announceScreen(null)
      } else {
        timeline.add('countersign', `QR code ${next}`, next === 'approved' ? 'good' : 'bad')
      }
    },
  })
  if (controller.signal.aborted) return
  announceScreen(null)
  if (!result.data) {
    const denied = result.errorCode === 'challenge_rejected'
    box.innerHTML = `<button class="button secondary" id="qr-login-start" type="button">${icons.qr(18)} Show a new QR code</button>`
    element('#qr-login-start').addEventListener('click', () => void startQrSignIn())
    state.textContent = denied ? 'You denied the sign-in on your phone.' : `No sign-in: ${result.error}`
    timeline.add('page', `qr.challenge → ${result.errorCode}`, 'bad')
    return
  }
  timeline.add('page', 'qr.challenge → token; sending it to the bank backend')
  try {
    const signedIn = await api<{ session: string; account: Account; steps: string[] }>('POST', '/api/qr-sign-in', { body: { token: result.data.token } })
    timeline.addSteps(signedIn.steps)
    timeline.add('bank', `signed in ${signedIn.account.username} (the validated token named the user)`, 'good')
    saveSession(signedIn.session)
    renderSignedIn(signedIn.account)
    toast(`Signed in as ${signedIn.account.username} with your phone`, 'good')
  } catch (error) {
    state.textContent = failureText(error)
  }
}

// ---- Signed in ----

function renderSignedIn(next: Account): void {
  waiting?.abort()
  app.innerHTML = `
    <div class="hero">
      <h1>Hello, <span id="hello-name"></span></h1>
      <p>Current account · NL00 DEMO 0123 4567 89</p>
    </div>
    <section class="card balance">
      <div><span class="label">Available balance</span><strong id="balance"></strong></div>
      <div class="balance-note">${icons.shield(18)} Payments and new payees are confirmed on your phone.</div>
    </section>
    <section class="card phone-card" id="phone-card"></section>
    <div class="grid two">
      <form class="card" id="payment-form">
        <h2>${icons.send(20)} Send a payment</h2>
        <label>To <select name="payeeId" id="payee-select" required></select></label>
        <label>Amount (EUR) <input name="amount" id="amount" type="number" min="0.01" step="0.01" value="120.00" required /></label>
        <button class="button primary wide" type="submit">Send payment</button>
      </form>
      <form class="card" id="payee-form">
        <h2>${icons.plus(20)} Add a payee</h2>
        <label>Name <input name="name" id="payee-name" value="ACME Ltd" required maxlength="40" /></label>
        <label>IBAN <input name="iban" id="payee-iban" value="DE89 3704 0044 0532 0130 00" required /></label>
        <button class="button primary wide" type="submit">Add payee</button>
      </form>
    </div>
    <div class="grid two">
      <section class="card"><h2>Payees</h2><ul class="list" id="payees"></ul></section>
      <section class="card"><h2>Recent payments</h2><ul class="list" id="payments"></ul></section>
    </div>`
  element('#payment-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    void startAction('/api/payments', { payeeId: form.get('payeeId'), amount: form.get('amount') })
  })
  element('#payee-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    void startAction('/api/payees', { name: form.get('name'), iban: form.get('iban') })
  })
  account = undefined
  updateAccount(next)
}

function updateAccount(next: Account): void {
  const first = account === undefined
  account = next
  element('#who').hidden = false
  element('#who-name').textContent = next.username
  element('#who-avatar').textContent = next.username.slice(0, 1).toUpperCase()
  element('#hello-name').textContent = next.username
  element('#balance').textContent = next.balance

  const select = element<HTMLSelectElement>('#payee-select')
  const chosen = select.value
  select.innerHTML = next.payees.map((p) => `<option value="${escapeHtml(p.payeeId)}">${escapeHtml(p.name)} · ${escapeHtml(p.iban)}</option>`).join('')
  if (chosen && next.payees.some((p) => p.payeeId === chosen)) select.value = chosen
  else if (first || !chosen) select.value = next.payees[next.payees.length - 1]?.payeeId ?? ''

  element('#payees').innerHTML = next.payees
    .map((p) => `<li><span class="avatar small">${escapeHtml(p.name.slice(0, 1))}</span><div><strong>${escapeHtml(p.name)}</strong><span>${escapeHtml(p.iban)}</span></div></li>`)
    .join('')
  element('#payments').innerHTML =
    next.payments.length === 0
      ? '<li class="empty">No payments yet.</li>'
      : next.payments
          .slice(0, 8)
          .map(
            (p) => `<li data-payment="${escapeHtml(p.paymentId)}">
              <div><strong>${escapeHtml(p.payeeName)}</strong><span>${new Date(p.completedAt).toLocaleString()} · from the ${p.channel === 'app' ? 'phone app' : 'website'}</span></div>
              <div class="right"><strong class="amount">−${escapeHtml(p.amount)}</strong><span class="badge">${escapeHtml(METHOD_LABELS[p.verificationMethod] ?? p.verificationMethod)}</span></div>
            </li>`,
          )
          .join('')
  renderPhoneCard(next)
  updateSteps()
}

function renderPhoneCard(next: Account): void {
  const card = element('#phone-card')
  const signature = JSON.stringify(next.devices)
  if (card.dataset.signature === signature) return
  card.dataset.signature = signature
  if (next.devices.length === 0) {
    card.classList.remove('ready')
    card.innerHTML = `
      <div class="phone-status">${icons.phone(36)}<div><h2>Your phone</h2><p>Not set up yet. Set it up to confirm new payees and payments.</p></div></div>
      <button class="button primary" id="setup-phone" type="button">Set up your phone</button>`
  } else {
    card.classList.add('ready')
    const keys = next.devices
      .map((d) => {
        const used = d.lastVerifiedAt ? `used ${new Date(d.lastVerifiedAt).toLocaleTimeString()}` : 'not used yet'
        return `<li>${icons.key(16)}<strong>${escapeHtml(METHOD_LABELS[d.verificationMethod] ?? d.verificationMethod)}</strong><span>${escapeHtml(used)}</span></li>`
      })
      .join('')
    card.innerHTML = `
      <div class="phone-status">${icons.phone(36)}<div><h2>Your phone <span class="pill good">${icons.check(14)} set up</span></h2>
      <p>${escapeHtml(next.devices[0]?.deviceName ?? 'Phone')} holds ${next.devices.length} keys Countersign knows:</p>
      <ul class="keys">${keys}</ul></div></div>
      <button class="button secondary" id="setup-phone" type="button">Set up again</button>`
  }
  element('#setup-phone').addEventListener('click', () => void openActivation())
}

async function refreshAccount(): Promise<void> {
  if (!session || document.hidden) return
  try {
    const { account: next } = await api<{ account: Account }>('GET', '/api/account', { session })
    if (account) updateAccount(next)
    else renderSignedIn(next)
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) {
      saveSession(null)
      renderSignedOut()
    }
  }
}

// ---- Set up the phone: an activation code the app types ----

async function openActivation(): Promise<void> {
  let activation: { code: string; expiresAt: string; link: string }
  try {
    activation = await api('POST', '/api/phone/activation', { session })
  } catch (error) {
    return toast(failureText(error), 'bad')
  }
  timeline.add('bank', 'issued a one-time activation code for the phone app (valid 10 minutes)')
  const before = new Set((account?.devices ?? []).map((d) => d.createdAt))
  dialog.innerHTML = `
    <div class="dialog-body">
      <header><h2 id="dialog-title">Set up your phone</h2><button class="close" type="button" aria-label="Close">${icons.cross(20)}</button></header>
      <ol class="howto">
        <li><strong>Open the phone</strong><span>It plays the Demo Bank app; keep it beside this window.</span>
          <button class="button secondary" id="open-phone-code" type="button">${icons.external(16)} Open the phone</button></li>
        <li><strong>Type this activation code in the app</strong>
          <span class="activation-code" data-testid="activation-code">${escapeHtml(activation.code.slice(0, 3))} ${escapeHtml(activation.code.slice(3))}</span></li>
        <li><strong>The phone makes its keys</strong><span>An in-app key, a push key and a QR key: private keys that never leave the phone. Countersign gets the public halves.</span></li>
      </ol>
      <p class="status" id="activation-status"><span class="spinner"></span> Waiting for the phone…</p>
    </div>`
  dialog.showModal()
  element('.close', dialog).addEventListener('click', () => dialog.close())
  element('#open-phone-code', dialog).addEventListener('click', () => openPhone(activation.link))
  const status = element('#activation-status', dialog)
  while (dialog.open) {
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await refreshAccount()
    const fresh = (account?.devices ?? []).filter((d) => !before.has(d.createdAt))
    if (fresh.length >= 3) {
      status.className = 'status good'
      status.innerHTML = `${icons.check(18)} Your phone is set up: ${fresh.map((d) => METHOD_LABELS[d.verificationMethod] ?? d.verificationMethod).join(', ')}.`
      timeline.add('countersign', `the phone enrolled ${fresh.length} keys`, 'good')
      const done = document.createElement('button')
      done.className = 'button primary'
      done.type = 'button'
      done.textContent = 'Done'
      done.addEventListener('click', () => dialog.close())
      status.after(done)
      break
    }
  }
}

// ---- A payee or a payment: track, then the phone confirms, then validate ----

async function startAction(path: string, body: Record<string, unknown>): Promise<void> {
  let start: ActionStart
  try {
    start = await api<ActionStart>('POST', path, { body, session })
  } catch (error) {
    return toast(failureText(error), 'bad')
  }
  timeline.addSteps(start.steps)
  switch (start.status) {
    case 'challenge':
      return openChallenge(start)
    case 'completed':
      if (start.account) updateAccount(start.account)
      return toast('Done: no confirmation was needed', 'good')
    case 'needs_phone':
      return toast('Set up your phone first (step 2): this bank confirms payees and payments on it.', 'bad')
    case 'blocked':
      return toast('The bank’s rules block this.', 'bad')
    case 'review':
      return toast('Held for review by the bank.', 'info')
  }
}

function summaryOf(start: ActionStart): string {
  const t = start.transaction
  return start.actionCode === 'addPayee'
    ? `<span class="kind">New payee</span><strong>${escapeHtml(t.payee)}</strong><span>${escapeHtml(t.iban)}</span>`
    : `<span class="kind">Payment</span><strong>€${escapeHtml(Number(t.amount).toFixed(2))}</strong><span>to ${escapeHtml(t.payee)} · ${escapeHtml(t.iban)}</span>`
}

function openChallenge(start: ActionStart): void {
  waiting?.abort()
  dialog.innerHTML = `
    <div class="dialog-body">
      <header><h2 id="dialog-title">Confirm on your phone</h2><button class="close" type="button" aria-label="Close">${icons.cross(20)}</button></header>
      <div class="summary">${summaryOf(start)}</div>
      <p class="explain">Countersign answered <code>${escapeHtml(start.state)}</code>: the bank goes ahead only once your phone has confirmed this.</p>
      <div class="choices" id="choices">
        <button type="button" class="choice" id="choose-push">${icons.push(28)}<strong>Send to my phone</strong><span>The phone shows a request to approve</span></button>
        <button type="button" class="choice" id="choose-qr">${icons.qr(28)}<strong>Show a QR code</strong><span>Scan it with the phone’s app</span></button>
      </div>
      ${start.url ? `<p class="hosted">Or <a href="${escapeHtml(start.url)}">confirm on Countersign’s hosted page</a> ${icons.external(14)}</p>` : ''}
      <div class="progress" id="progress" hidden></div>
    </div>`
  dialog.showModal()
  const controller = new AbortController()
  waiting = controller
  dialog.addEventListener(
    'close',
    () => {
      controller.abort()
      announceScreen(null)
    },
    { once: true },
  )
  element('.close', dialog).addEventListener('click', () => dialog.close())
  element('#choose-push', dialog).addEventListener('click', () => void confirmByPush(start, controller.signal))
  element('#choose-qr', dialog).addEventListener('click', () => void confirmByQr(start, controller.signal))
}

function showProgress(html: string): HTMLElement {
  element('#choices', dialog).hidden = true
  dialog.querySelector<HTMLElement>('.hosted')?.setAttribute('hidden', '')
  const progress = element('#progress', dialog)
  progress.hidden = false
  progress.innerHTML = html
  return progress
}

const STATE_TEXT: Record<OutOfBandState, string> = {
  unclaimed: 'Waiting for your phone…',
  claimed: 'Your phone has it: approve there…',
  approved: 'Approved on your phone',
  rejected: 'Denied on your phone',
  expired: 'The request expired',
}

async function confirmByPush(start: ActionStart, signal: AbortSignal): Promise<void> {
  const token = start.token!
  timeline.add('page', 'push.challenge with the track token: send the request to the phone')
  const started = await countersign.push.challenge({ token })
  if (!started.data) {
    showProgress(`<p class="status bad">${icons.cross(18)} Could not reach your phone: ${escapeHtml(started.error)}</p>`)
    return
  }
  const code = started.data.verificationCode
  timeline.add('countersign', `push request created${code ? `; the phone must enter ${code}` : ''}`)
  showProgress(`
    <div class="waiting">${icons.push(40)}
      <div><strong>Request sent to your phone</strong>
      ${code ? `<p class="number">Enter this number on your phone <span class="code" data-testid="verification-code">${escapeHtml(code)}</span></p>` : ''}
      <p class="status" id="push-state"><span class="spinner"></span> ${STATE_TEXT.unclaimed}</p></div>
    </div>`)
  const result = await countersign.push.waitForResult({
    token,
    challengeId: started.data.challengeId,
    signal,
    onStateChange: (state) => {
      const line = dialog.querySelector('#push-state')
      if (line) line.innerHTML = `${state === 'unclaimed' || state === 'claimed' ? '<span class="spinner"></span> ' : ''}${STATE_TEXT[state]}`
      if (state !== 'unclaimed') timeline.add('countersign', `push request ${state}`, state === 'approved' ? 'good' : state === 'claimed' ? 'info' : 'bad')
    },
  })
  await finish(start, result, signal)
}

async function confirmByQr(start: ActionStart, signal: AbortSignal): Promise<void> {
  timeline.add('page', 'qr.challenge with the track token: show a code for this request')
  const progress = showProgress(`<div class="qr-box" id="qr-action-box"><span class="spinner"></span></div><p class="status" id="qr-action-state"></p>`)
  const box = element('#qr-action-box', progress)
  const state = element('#qr-action-state', progress)
  const result = await countersign.qr.challenge({
    token: start.token!,
    custom: { site: 'Demo Bank website', browser: thisBrowser },
    signal,
    onStateChange: (next, challenge) => {
      if (next === 'unclaimed') {
        renderQr(box, challenge.challengeId, challenge.verificationCode)
        state.innerHTML = `<span class="spinner"></span> On the phone: <strong>Scan QR code</strong>`
        timeline.add('countersign', `QR code ready${challenge.verificationCode ? `; the phone must enter ${challenge.verificationCode}` : ''}`)
      } else if (next === 'claimed') {
        const code = challenge.verificationCode
        box.innerHTML = `<div class="qr-done">${icons.phone(48)}<strong>Scanned</strong>${code ? `<p class="number">Enter this number on your phone <span class="code" data-testid="verification-code">${escapeHtml(code)}</span></p>` : '<span>Approve on your phone</span>'}</div>`
        state.innerHTML = `<span class="spinner"></span> ${STATE_TEXT.claimed}`
        timeline.add('phone', 'scanned and claimed the code')
        announceScreen(null)
      } else {
        timeline.add('countersign', `QR code ${next}`, next === 'approved' ? 'good' : 'bad')
      }
    },
  })
  announceScreen(null)
  await finish(start, result, signal)
}

/** The phone answered (or not): hand the token to the backend, which validates it. */
async function finish(start: ActionStart, result: Result<Approval>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  const done = start.actionCode === 'addPayee' ? 'Payee added' : 'Payment sent'
  if (!result.data) {
    timeline.add('page', `no token: ${result.errorCode}`, 'bad')
    let state = ''
    try {
      state = (await api<{ state: string }>('GET', `/api/actions/${start.actionId}`, { session })).state
    } catch {
      // The state is extra information; the answer below stands without it.
    }
    const why = result.errorCode === 'challenge_rejected' ? 'You denied it on your phone.' : result.errorCode === 'challenge_expired' ? 'Your phone did not answer in time.' : result.error
    showProgress(`
      <div class="outcome bad" data-testid="outcome">${icons.cross(40)}<div><strong>Not done</strong><p>${escapeHtml(why)}</p>
      ${state ? `<p class="detail">Countersign records the action as <code>${escapeHtml(state)}</code>.</p>` : ''}</div></div>
      <button class="button secondary" type="button" id="outcome-close">Close</button>`)
    element('#outcome-close', dialog).addEventListener('click', () => dialog.close())
    return
  }
  timeline.add('page', 'got the token the phone’s approval earned; sending it to the bank backend')
  let completion: Completion
  try {
    completion = await api<Completion>('POST', `/api/actions/${start.actionId}/complete`, { body: { token: result.data.token }, session })
  } catch (error) {
    showProgress(`<p class="status bad">${icons.cross(18)} ${escapeHtml(failureText(error))}</p>`)
    return
  }
  timeline.addSteps(completion.steps)
  const v = completion.validation
  if (completion.status !== 'completed') {
    showProgress(`<div class="outcome bad" data-testid="outcome">${icons.cross(40)}<div><strong>The bank refused the token</strong><p>${escapeHtml(v.error ?? v.state)}</p></div></div>`)
    return
  }
  if (completion.account) updateAccount(completion.account)
  showProgress(`
    <div class="outcome good" data-testid="outcome">${icons.check(40)}<div><strong>${done}</strong>
      <p>The bank checked the phone’s token with Countersign before doing it:</p>
      <p class="detail"><code>isValid: ${v.isValid}</code> <code>${escapeHtml(v.state)}</code> <code>via ${escapeHtml(v.verificationMethod)}</code></p></div></div>
    <button class="button primary" type="button" id="outcome-close">Done</button>`)
  element('#outcome-close', dialog).addEventListener('click', () => dialog.close())
}

// ---- Start ----

element('#sign-out').addEventListener('click', () => {
  void api('DELETE', '/api/session', { session }).catch(() => {})
  timeline.add('bank', `signed out ${account?.username ?? ''}`)
  saveSession(null)
  renderSignedOut()
})
element('#open-phone').addEventListener('click', () => openPhone())

const hosted = new URLSearchParams(location.search).get('hosted')
if (hosted) {
  history.replaceState(null, '', '/')
  if (hosted === 'completed') toast('Confirmed on Countersign’s hosted page; the bank validated the token.', 'good')
  else toast(`The hosted page did not confirm it (${hosted}).`, 'bad')
}

if (session) await refreshAccount()
if (!account) renderSignedOut()
setInterval(() => void refreshAccount(), 3000)
