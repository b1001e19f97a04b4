// Sign in with an operator's email and password, or with a management key (how the first
// operator gets in, before any operator exists).
import { useEffect, useState } from 'react'
import { Navigate, useSearchParams } from 'react-router'
import { describeError, isConsoleApiError } from '../api.ts'
import { Field, useSubmit } from '../components/form.tsx'
import { BrandMark, ErrorBanner, Loading, Notice } from '../components/ui.tsx'
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
  const submit = useSubmit(async () => {
    try {
      await signIn(mode === 'password' ? { email: email.trim(), password, ...(needTenant && tenantId.trim() ? { tenantId: tenantId.trim() } : {}) } : { managementKey: managementKey.trim() })
    } catch (reason) {
      if (isConsoleApiError(reason) && reason.status === 409 && mode === 'password') setNeedTenant(true)
      setPassword('')
      throw reason
    }
  })

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

  const switchMode = () => {
    setMode(mode === 'password' ? 'key' : 'password')
    submit.setError(undefined)
  }

  return (
    <div className="sign-in">
      <main className="sign-in-card" aria-labelledby="sign-in-title">
        <div className="brand brand-large">
          <BrandMark />
          <span className="brand-name">Countersign</span>
        </div>
        <h1 id="sign-in-title">Sign in to the console</h1>
        {state.reason === 'expired' ? <Notice>Your session has ended. Sign in again to continue.</Notice> : null}
        {state.reason === 'signed-out' ? <Notice tone="success">You have signed out.</Notice> : null}
        {state.reason === 'signed-out-elsewhere' ? <Notice>You signed out in another tab. Sign in again to continue.</Notice> : null}
        {state.reason === 'unreachable' ? <ErrorBanner message="The server could not be reached. Check that Countersign is running, then sign in." /> : null}
        <form onSubmit={submit.onSubmit}>
          {mode === 'password' ? (
            <>
              <Field id="sign-in-email" label="Email">
                <input id="sign-in-email" className="input" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
              </Field>
              <Field id="sign-in-password" label="Password">
                <input id="sign-in-password" className="input" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
              </Field>
              {needTenant ? (
                <Field id="sign-in-tenant" label="Tenant ID" help="You are an operator of more than one tenant: say which one to open.">
                  <input id="sign-in-tenant" className="input mono" required spellCheck={false} value={tenantId} onChange={(e) => setTenantId(e.target.value)} aria-describedby="sign-in-tenant-help" />
                </Field>
              ) : null}
            </>
          ) : (
            <Field
              id="sign-in-key"
              label="Management key"
              help={
                <>
                  Created with <code>countersign keys create --tenant &lt;id&gt; --type management</code>. Use it to add the first operator, then sign in with email and password.
                </>
              }
            >
              <input id="sign-in-key" className="input mono" type="password" autoComplete="off" spellCheck={false} required value={managementKey} onChange={(e) => setManagementKey(e.target.value)} autoFocus aria-describedby="sign-in-key-help" />
            </Field>
          )}
          {submit.error !== undefined ? <ErrorBanner message={refusal(submit.error)} /> : null}
          <button type="submit" className="button button-primary button-block" disabled={submit.busy}>
            {submit.busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <button type="button" className="link-button sign-in-switch" onClick={switchMode}>
          {mode === 'password' ? 'Use a management key instead' : 'Sign in with email and password'}
        </button>
      </main>
    </div>
  )
}
