// A page's state: one thing loaded from the API (the answer, the refusal, a way to load again),
// the pages of a cursor-paginated list, and a form's draft of what the address says.
import { useCallback, useEffect, useRef, useState, type Dispatch, type SetStateAction } from 'react'
import { api, managementUrl, type Query } from './api.ts'

export interface Resource<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload(): void
  /** Replace the loaded value after a change the page made itself. */
  setData(update: (current: T | undefined) => T | undefined): void
}

/**
 * Runs `load` when the page mounts and whenever `key` changes; a load still running when the
 * key changes is aborted, so an old answer never replaces a newer one.
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, key: string): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [loading, setLoading] = useState(true)
  const [generation, setGeneration] = useState(0)
  const loadRef = useRef(load)
  loadRef.current = load

  useEffect(() => {
    const controller = new AbortController()
    setLoading(true)
    setError(undefined)
    loadRef.current(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return
        setData(value)
        setLoading(false)
      },
      (reason: unknown) => {
        if (controller.signal.aborted) return
        setError(reason)
        setLoading(false)
      },
    )
    return () => controller.abort()
  }, [key, generation])

  const reload = useCallback(() => setGeneration((n) => n + 1), [])
  return { data, error, loading, reload, setData }
}

/** GETs a Management API path, again whenever the path or the query changes. */
export function useApi<T>(path: string, query?: Query): Resource<T> {
  return useResource((signal) => api<T>('GET', path, undefined, { signal, query }), managementUrl(path, query))
}

export interface CursorPages {
  /** The cursor of the page shown; undefined on the first. */
  cursor: string | undefined
  pageNumber: number
  hasPrevious: boolean
  next(cursor: string): void
  previous(): void
}

/**
 * Previous/next through a cursor-paginated list. The pages seen are a stack of cursors; a new
 * filter (`key`) starts again from the first page.
 */
export function useCursorPages(key: string): CursorPages {
  const [state, setState] = useState<{ key: string; cursors: string[] }>({ key, cursors: [] })
  const cursors = state.key === key ? state.cursors : []
  return {
    cursor: cursors.at(-1),
    pageNumber: cursors.length + 1,
    hasPrevious: cursors.length > 0,
    next: (cursor: string) => setState({ key, cursors: [...cursors, cursor] }),
    previous: () => setState({ key, cursors: cursors.slice(0, -1) }),
  }
}

/**
 * A form's draft of a value the address holds (a search, a filter): the operator edits the
 * draft, and it starts again from the value when the address changes (the back button, a link).
 */
export function useDraft<T>(value: T, key: string): [T, Dispatch<SetStateAction<T>>] {
  const [draft, setDraft] = useState(value)
  const [draftKey, setDraftKey] = useState(key)
  if (draftKey !== key) {
    setDraftKey(key)
    setDraft(value)
  }
  return [draft, setDraft]
}
