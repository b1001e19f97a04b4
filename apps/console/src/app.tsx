// Routes. Everything but the sign-in page needs a session; without one the console goes to
// sign in and comes back to the page it was on.
import type { ReactNode } from 'react'
import { BrowserRouter, Link, Navigate, Route, Routes, useLocation } from 'react-router'
import { Layout } from './components/layout.tsx'
import { Loading, PageHeader } from './components/ui.tsx'
import { ActionConfigurationPage } from './pages/action-configuration.tsx'
import { ActionDetailPage } from './pages/action-detail.tsx'
import { ActionLogPage } from './pages/action-log.tsx'
import { ActionsPage } from './pages/actions.tsx'
import { ApiKeysPage } from './pages/api-keys.tsx'
import { AuditLogPage } from './pages/audit-log.tsx'
import { OperatorsPage } from './pages/operators.tsx'
import { OverviewPage } from './pages/overview.tsx'
import { RuleEditorPage } from './pages/rule-editor.tsx'
import { SettingsPage } from './pages/settings.tsx'
import { SignInPage } from './pages/sign-in.tsx'
import { UserDetailPage } from './pages/user-detail.tsx'
import { UsersPage } from './pages/users.tsx'
import { WebhookDetailPage } from './pages/webhook-detail.tsx'
import { WebhooksPage } from './pages/webhooks.tsx'
import { SessionProvider, useSessionState } from './session.tsx'

export function App() {
  return (
    <BrowserRouter basename="/console">
      <SessionProvider>
        <Routes>
          <Route path="sign-in" element={<SignInPage />} />
          <Route
            element={
              <RequireSession>
                <Layout />
              </RequireSession>
            }
          >
            <Route index element={<OverviewPage />} />
            <Route path="api-keys" element={<ApiKeysPage />} />
            <Route path="actions" element={<ActionsPage />} />
            <Route path="actions/:actionCode" element={<ActionConfigurationPage />} />
            <Route path="actions/:actionCode/rules/new" element={<RuleEditorPage />} />
            <Route path="actions/:actionCode/rules/:ruleId" element={<RuleEditorPage />} />
            <Route path="action-log" element={<ActionLogPage />} />
            <Route path="action-log/:userId/:actionCode/:idempotencyKey" element={<ActionDetailPage />} />
            <Route path="users" element={<UsersPage />} />
            <Route path="users/:userId" element={<UserDetailPage />} />
            <Route path="webhooks" element={<WebhooksPage />} />
            <Route path="webhooks/:webhookId" element={<WebhookDetailPage />} />
            <Route path="audit-log" element={<AuditLogPage />} />
            <Route path="operators" element={<OperatorsPage />} />
            <Route path="settings" element={<SettingsPage />} />
            <Route path="*" element={<NotFound />} />
          </Route>
        </Routes>
      </SessionProvider>
    </BrowserRouter>
  )
}

function RequireSession({ children }: { children: ReactNode }) {
  const { state } = useSessionState()
  const location = useLocation()
  if (state.status === 'loading') {
    return (
      <div className="splash">
        <Loading />
      </div>
    )
  }
  if (state.status === 'signed-out') {
    const next = `${location.pathname}${location.search}`
    // After signing out on purpose the next sign-in starts afresh; after an expired session it comes back here.
    return <Navigate to={next === '/' || state.reason === 'signed-out' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`} replace />
  }
  return children
}

function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <p>
        There is no console page at this address. <Link to="/">Go to the overview</Link>.
      </p>
    </>
  )
}
