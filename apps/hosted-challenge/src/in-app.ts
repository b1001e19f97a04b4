// This device: a non-extractable P-256 key this browser keeps in IndexedDB
// (WebCryptoKeyStore), registered as the user's in-app credential. "Confirm on this device"
// signs an in-app challenge for the token's action; "Use this browser as a device" first
// registers a new key with the token (it needs add:authenticators, or a user's first device).
import { WebCryptoKeyStore } from '@countersign/client/browser'
import { browserDeviceName, IN_APP_NAMESPACE, type Failure } from '@countersign/client'
import { announce, button, h, icon, replace, spinner } from './dom.ts'
import { endsRequest, type FlowContext } from './flow.ts'
import { explain } from './messages.ts'

const DATABASE_PREFIX = 'countersign-hosted'

/**
 * The key store of one tenant's user in this browser: its own IndexedDB database, so a
 * browser shared by two users of a tenant (or two tenants) never offers one's key to another.
 * The user ID is hashed into the name, which other scripts of the origin could list.
 */
export async function keyStoreFor(tenantId: string, userId: string): Promise<{ keyStore: WebCryptoKeyStore; databaseName: string }> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${tenantId}\u0000${userId}`)))
  const hex = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('')
  const databaseName = `${DATABASE_PREFIX}-${hex}`
  return { keyStore: new WebCryptoKeyStore({ databaseName, storeName: 'device-keys' }), databaseName }
}

/**
 * Whether this browser holds an in-app key for that store. Where the browser can list its
 * databases, a user who never enrolled here gets no empty database created by the look.
 */
export async function holdsInAppKey(keyStore: WebCryptoKeyStore, databaseName: string): Promise<boolean> {
  try {
    if (typeof indexedDB === 'undefined') return false
    if (typeof indexedDB.databases === 'function') {
      const databases = await indexedDB.databases()
      if (!databases.some((d) => d.name === databaseName)) return false
    }
    return (await keyStore.getPublicKey(IN_APP_NAMESPACE)) !== undefined
  } catch {
    // Storage blocked (private browsing, site data off): this browser cannot be a device.
    return false
  }
}

/**
 * The this-device section: `verify` when this browser holds the user's key, `enroll` when the
 * user has no in-app credential and the token may add one. Nothing happens until the user
 * presses the button: the press is the user's consent to sign.
 */
export function inAppMethod(context: FlowContext, mode: 'verify' | 'enroll', options: { alternative: boolean }): HTMLElement {
  const status = h('p', { class: 'method__status', id: 'in-app-status' })
  const extra = h('div', { class: 'method__extra' })
  const title = mode === 'verify' ? 'Use this device' : 'Use this browser as a device'
  const hint =
    mode === 'verify'
      ? 'This browser holds a key you registered earlier.'
      : 'Registers a key that stays in this browser, so you can confirm requests here next time.'
  const section = h(
    'section',
    { class: 'method method--in-app', 'data-method': 'in-app', 'data-mode': mode, 'aria-labelledby': 'in-app-title', 'aria-describedby': 'in-app-status' },
    h('div', { class: 'method__icon' }, icon('device')),
    h(
      'div',
      { class: 'method__body' },
      h('h2', { class: 'method__title', id: 'in-app-title' }, options.alternative ? `Or ${title.charAt(0).toLowerCase()}${title.slice(1)}` : title),
      h('p', { class: 'method__hint' }, hint),
      status,
      extra,
    ),
  )
  const show = (state: string, content: Array<Node | string>, speak?: string) => {
    section.dataset.state = state
    replace(status, ...content)
    if (speak) announce(speak)
  }
  const fail = (failure: Failure) => {
    if (failure.errorCode === 'aborted' || context.signal.aborted) return
    if (endsRequest(failure.errorCode)) return context.end(failure)
    const explanation = explain(failure.errorCode)
    show('error', [explanation.title], explanation.title)
    replace(extra, h('p', { class: 'method__hint' }, explanation.detail), explanation.retryable ? action() : null)
  }

  const run = async () => {
    replace(extra)
    if (mode === 'enroll') {
      show('enrolling', [spinner(), 'Registering this browser…'], 'Registering this browser.')
      const added = await context.client.inapp.addCredential({
        token: context.token,
        deviceName: browserDeviceName(navigator.userAgent),
        devicePlatform: 'web',
        userAuthenticationRequired: false,
      })
      if (context.signal.aborted) return
      if (added.error !== undefined) return fail(added)
      section.dataset.userAuthenticatorId = added.data.userAuthenticatorId
      mode = 'verify'
    }
    show('verifying', [spinner(), 'Confirming…'], 'Confirming on this device.')
    const verified = await context.client.inapp.verify()
    if (context.signal.aborted) return
    if (verified.error !== undefined) return fail(verified)
    context.approve(verified.data.token, 'IN_APP')
  }

  const action = () => button(mode === 'verify' ? 'Confirm on this device' : 'Use this browser', run, 'primary', { 'data-action': 'in-app' })
  replace(extra, action())
  return section
}
