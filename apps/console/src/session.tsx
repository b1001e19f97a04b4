// Who is signed in. The session itself is an HttpOnly cookie the page never sees; the console
// only knows what GET /v1/management/session answers, and forgets it on any 401.
//
// It also forgets it before the browser drops the cookie: when the session's time is up, or
// when another tab of the console signs out (which clears the cookie for every tab). A call
// without the cookie would be answered as a management-key call, whose 401 asks the browser
// for HTTP Basic credentials; the console must not make one.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import type { ConsoleSession, SignInRequest } from '@countersign/protocol'
import { api, isConsoleApiError, setUnauthorizedHandler } from './api.ts'

export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-out'; reason?: 'expired' | 'signed-out' | 'signed-out-elsewhere' | 'unreachable' }
  | { status: 'signed-in'; session: ConsoleSession }

interface SessionContextValue {
  state: SessionState
  signIn(request: SignInRequest): Promise<ConsoleSession>
  signOut(): Promise<void>
  /** Read the session again (after the tenant's name changed). */
  refresh(): Promise<void>
}

const SessionContext = createContext<SessionContextValue | null>(null)

/** How the console's tabs tell each other about sign-in and sign-out. */
const CHANNEL = 'countersign-console-session'
type TabMessage = { type: 'signed-in' } | { type: 'signed-out' }

/** Ends the session this long before it expires, in case the browser's clock runs a little ahead of the server's. */
const EXPIRY_MARGIN_MS = 60_000
/** setTimeout's longest delay; a later expiry is waited for in steps. */
const LONGEST_TIMEOUT_MS = 2 ** 31 - 1

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' })

  useEffect(() => {
    setUnauthorizedHandler(() => setState((current) => (current.status === 'signed-in' ? { status: 'signed-out', reason: 'expired' } : current)))
    const controller = new AbortController()
    api<ConsoleSession>('GET', '/session', undefined, { signal: controller.signal, expectUnauthorized: true }).then(
      (session) => setState({ status: 'signed-in', session }),
      (error: unknown) => {
        if (controller.signal.aborted) return
        // 401 is the ordinary answer before sign-in; anything else is for the sign-in page to explain.
        setState(isConsoleApiError(error) && error.status === 401 ? { status: 'signed-out' } : { status: 'signed-out', reason: 'unreachable' })
      },
    )
    return () => controller.abort()
  }, [])

  // Other tabs: a sign-out there cleared the cookie here too; a sign-in there set a new one.
  const channel = useRef<BroadcastChannel | null>(null)
  useEffect(() => {
    if (typeof BroadcastChannel === 'undefined') return
    const tabs = new BroadcastChannel(CHANNEL)
    channel.current = tabs
    tabs.onmessage = (event: MessageEvent<TabMessage>) => {
      if (event.data?.type === 'signed-out') setState({ status: 'signed-out', reason: 'signed-out-elsewhere' })
      else if (event.data?.type === 'signed-in') {
        api<ConsoleSession>('GET', '/session', undefined, { expectUnauthorized: true }).then(
          (session) => setState({ status: 'signed-in', session }),
          () => {},
        )
      }
    }
    return () => {
      channel.current = null
      tabs.close()
    }
  }, [])

  // The session's end: sign-in again before the browser drops the cookie.
  const expiresAt = state.status === 'signed-in' ? Date.parse(state.session.expiresAt) : NaN
  useEffect(() => {
    if (Number.isNaN(expiresAt)) return
    let timer: ReturnType<typeof setTimeout>
    const wait = () => {
      const left = expiresAt - EXPIRY_MARGIN_MS - Date.now()
      if (left <= 0) setState({ status: 'signed-out', reason: 'expired' })
      else timer = setTimeout(wait, Math.min(left, LONGEST_TIMEOUT_MS))
    }
    wait()
    return () => clearTimeout(timer)
  }, [expiresAt])

  const signIn = useCallback(async (request: SignInRequest) => {
    const session = await api<ConsoleSession>('POST', '/session', request, { expectUnauthorized: true })
    setState({ status: 'signed-in', session })
    channel.current?.postMessage({ type: 'signed-in' } satisfies TabMessage)
    return session
  }, [])

  const signOut = useCallback(async () => {
    try {
      await api<void>('DELETE', '/session', undefined, { expectUnauthorized: true })
    } finally {
      setState({ status: 'signed-out', reason: 'signed-out' })
      channel.current?.postMessage({ type: 'signed-out' } satisfies TabMessage)
    }
  }, [])

  const refresh = useCallback(async () => {
    const session = await api<ConsoleSession>('GET', '/session')
    setState({ status: 'signed-in', session })
  }, [])

  const value = useMemo(() => ({ state, signIn, signOut, refresh }), [state, signIn, signOut, refresh])
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}

export function useSessionState(): SessionContextValue {
  const value = useContext(SessionContext)
  if (!value) throw new Error('useSessionState outside SessionProvider')
  return value
}

/** The signed-in session; only for pages under the signed-in layout. */
export function useSession(): ConsoleSession {
  const { state } = useSessionState()
  if (state.status !== 'signed-in') throw new Error('useSession without a session')
  return state.session
}
