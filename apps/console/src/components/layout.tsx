// The signed-in frame: a sidebar on wide screens, a collapsible top menu on phones, the
// tenant's name, who is signed in, and sign out.
import { useEffect, useRef, useState } from 'react'
import { NavLink, Outlet, useLocation } from 'react-router'
import { useSession, useSessionState } from '../session.tsx'
import { BrandMark } from './ui.tsx'

const NAV = [
  { to: '/', label: 'Overview', end: true },
  { to: '/actions', label: 'Actions' },
  { to: '/action-log', label: 'Action log' },
  { to: '/users', label: 'Users' },
  { to: '/api-keys', label: 'API keys' },
  { to: '/webhooks', label: 'Webhooks' },
  { to: '/audit-log', label: 'Audit log' },
  { to: '/operators', label: 'Operators' },
  { to: '/settings', label: 'Settings' },
] as const

export function Layout() {
  const session = useSession()
  const { signOut } = useSessionState()
  const [menuOpen, setMenuOpen] = useState(false)
  const location = useLocation()
  const main = useRef<HTMLElement>(null)
  const firstRender = useRef(true)

  // A new page: close the phone menu and move focus to its heading, as a page load would.
  useEffect(() => {
    setMenuOpen(false)
    if (firstRender.current) {
      firstRender.current = false
      return
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus({ preventScroll: false })
  }, [location.pathname])

  const who = session.operator?.email ?? 'Management key'
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="sidebar-inner">
          <div className="sidebar-top">
            <div className="brand">
              <BrandMark />
              <span className="brand-text">
                <span className="brand-name">Countersign</span>
                <span className="brand-tenant" title={session.tenantId}>
                  {session.tenantName}
                </span>
              </span>
            </div>
            <button type="button" className="menu-button" aria-expanded={menuOpen} aria-controls="primary-nav" onClick={() => setMenuOpen((open) => !open)}>
              <svg viewBox="0 0 20 20" aria-hidden="true" focusable="false">
                {menuOpen ? <path d="M5 5l10 10M15 5L5 15" /> : <path d="M3 6h14M3 10h14M3 14h14" />}
              </svg>
              <span>Menu</span>
            </button>
          </div>
          <div id="primary-nav" className={menuOpen ? 'sidebar-menu open' : 'sidebar-menu'}>
            <nav aria-label="Console">
              <ul className="nav-list">
                {NAV.map((item) => (
                  <li key={item.to}>
                    <NavLink to={item.to} end={'end' in item ? item.end : false} className={({ isActive }) => (isActive ? 'nav-link active' : 'nav-link')}>
                      {item.label}
                    </NavLink>
                  </li>
                ))}
              </ul>
            </nav>
            <div className="sidebar-footer">
              <p className="signed-in-as">
                <span className="muted">Signed in as</span>
                <span className="signed-in-name" title={session.actor}>
                  {who}
                </span>
              </p>
              <button type="button" className="button button-small button-block" onClick={() => void signOut()}>
                Sign out
              </button>
            </div>
          </div>
        </div>
      </aside>
      <main id="main" ref={main} className="main" tabIndex={-1}>
        <div className="content">
          <Outlet />
        </div>
      </main>
    </div>
  )
}
