// Sign in with an operator's email and password, or with a management key (how the first
// operator gets in, before any operator exists).
import { useEffect, useState, type FormEvent } from 'react'
import { Navigate, useSearchParams } from 'react-router'
import { describeError, isConsoleApiError } from '../api.ts'
import { ErrorBanner, Loading, Notice } from '../components/ui.tsx'
import { useSessionState } from '../session.tsx'

/** Only a path inside the console: `next` comes from the address bar. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/'
}

function refusal(error: unknown): string {
  if (isConsoleApiError(error) && error.status === 429) {
    return error.retryAfter !== undefined
      ? `Too many attempts. Try again in ${error.retryAfter} second${error.retryAfter === 1 ? '' : 's'}.`
      : 'Too many attempts. Try again in a little while.'
  }
  return describeError(error)
}

export function SignInPage() {
  const { state, signIn } = useSessionState()
  const [params] = useSearchParams()
  const [mode, setMode] = useState<'password' | 'key'>('password')
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [managementKey, setManagementKey] = useState('')
  // Asked for only when one email and password open several tenants (409 conflict).
  const [needTenant, setNeedTenant] = useState(false)
  const [tenantId, setTenantId] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>(undefined)

  useEffect(() => {
    document.title = 'Sign in · Countersign'
  }, [])

  if (state.status === 'loading') {
    return (
      <div className="splash">
        <Loading />
      </div>
    )
  }
  if (state.status === 'signed-in') return <Navigate to={safeNext(params.get('next'))} replace />

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await signIn(mode === 'password' ? { email: email.trim(), password, ...(needTenant && tenantId.trim() ? { tenantId: tenantId.trim() } : {}) } : { managementKey: managementKey.trim() })
    } catch (reason) {
      if (isConsoleApiError(reason) && reason.status === 409 && mode === 'password') setNeedTenant(true)
      setError(refusal(reason))
      setPassword('')
    } finally {
      setBusy(false)
    }
  }

  const switchMode = () => {
    setMode(mode === 'password' ? 'key' : 'password')
    setError(undefined)
  }

  return (
    <div className="sign-in">
      <main className="sign-in-card" aria-labelledby="sign-in-title">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            <svg viewBox="0 0 32 32" focusable="false">
              <rect width="32" height="32" rx="7" />
              <path d="M9 16.5l4.5 4.5L23 11.5" />
            </svg>
          </span>
          <span className="brand-name">Countersign</span>
        </div>
        <h1 id="sign-in-title">Sign in to the console</h1>
        {state.reason === 'expired' ? <Notice>Your session has ended. Sign in again to continue.</Notice> : null}
        {state.reason === 'signed-out' ? <Notice tone="success">You have signed out.</Notice> : null}
        {state.reason === 'signed-out-elsewhere' ? <Notice>You signed out in another tab. Sign in again to continue.</Notice> : null}
        {state.reason === 'unreachable' ? <ErrorBanner message="The server could not be reached. Check that Countersign is running, then sign in." /> : null}
        <form onSubmit={submit}>
          {mode === 'password' ? (
            <>
              <div className="field">
                <label htmlFor="sign-in-email">Email</label>
                <input id="sign-in-email" className="input" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
              </div>
              <div className="field">
                <label htmlFor="sign-in-password">Password</label>
                <input id="sign-in-password" className="input" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
              </div>
              {needTenant ? (
                <div className="field">
                  <label htmlFor="sign-in-tenant">Tenant ID</label>
                  <input id="sign-in-tenant" className="input mono" required spellCheck={false} value={tenantId} onChange={(e) => setTenantId(e.target.value)} aria-describedby="sign-in-tenant-help" />
                  <p id="sign-in-tenant-help" className="help">
                    You are an operator of more than one tenant: say which one to open.
                  </p>
                </div>
              ) : null}
            </>
          ) : (
            <div className="field">
              <label htmlFor="sign-in-key">Management key</label>
              <input id="sign-in-key" className="input mono" type="password" autoComplete="off" spellCheck={false} required value={managementKey} onChange={(e) => setManagementKey(e.target.value)} autoFocus aria-describedby="sign-in-key-help" />
              <p id="sign-in-key-help" className="help">
                Created with <code>countersign keys create --tenant &lt;id&gt; --type management</code>. Use it to add the first operator, then sign in with email and password.
              </p>
            </div>
          )}
          {error ? <ErrorBanner message={error} /> : null}
          <button type="submit" className="button button-primary button-block" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <button type="button" className="link-button sign-in-switch" onClick={switchMode}>
          {mode === 'password' ? 'Use a management key instead' : 'Sign in with email and password'}
        </button>
      </main>
    </div>
  )
}
