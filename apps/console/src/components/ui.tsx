// Small pieces every page uses: headers, badges, dates, errors, JSON, details, copy buttons.
import { useEffect, useId, useRef, useState, type ReactNode } from 'react'
import type { ActionState, RuleOutcome } from '@countersign/protocol'
import { describeError } from '../api.ts'
import { formatDateTime, outcomeLabel, outcomeTone, stateLabel, stateTone, type Tone } from '../format.ts'

export function PageHeader({ title, description, actions, back }: { title: string; description?: ReactNode; actions?: ReactNode; back?: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Countersign`
  }, [title])
  return (
    <header className="page-header">
      {back ? <div className="page-back">{back}</div> : null}
      <div className="page-header-row">
        <div className="page-header-text">
          <h1 tabIndex={-1}>{title}</h1>
          {description ? <p className="page-description">{description}</p> : null}
        </div>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </div>
    </header>
  )
}

/** A page whose subject has not loaded: its header, and the server's refusal or a spinner. */
export function PagePending({ title, back, error }: { title: string; back: ReactNode; error: unknown }) {
  return (
    <>
      <PageHeader title={title} back={back} />
      {error ? <ErrorBanner message={describeError(error)} /> : <Loading />}
    </>
  )
}

export function Section({ title, description, actions, children }: { title: string; description?: ReactNode; actions?: ReactNode; children: ReactNode }) {
  const id = useId()
  return (
    <section className="card" aria-labelledby={id}>
      <div className="card-header">
        <div>
          <h2 id={id}>{title}</h2>
          {description ? <p className="card-description">{description}</p> : null}
        </div>
        {actions ? <div className="card-actions">{actions}</div> : null}
      </div>
      <div className="card-body">{children}</div>
    </section>
  )
}

export function Badge({ tone = 'neutral', children }: { tone?: Tone; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>
}

/** A badge for each value, with its label, wrapping as a row. */
export function BadgeList<V extends string>({ values, labels }: { values: readonly V[]; labels: Record<V, string> }) {
  return (
    <span className="badge-row">
      {values.map((value) => (
        <Badge key={value}>{labels[value]}</Badge>
      ))}
    </span>
  )
}

export const StateBadge = ({ state }: { state: ActionState }) => <Badge tone={stateTone[state]}>{stateLabel[state]}</Badge>
export const OutcomeBadge = ({ outcome }: { outcome: RuleOutcome }) => <Badge tone={outcomeTone[outcome]}>{outcomeLabel[outcome]}</Badge>

/** Where there is no value. */
export const Dash = () => <span className="muted">—</span>

export function DateTime({ value, seconds = false }: { value: string | undefined; seconds?: boolean }) {
  if (!value) return <Dash />
  return (
    <time dateTime={value} title={value}>
      {formatDateTime(value, seconds)}
    </time>
  )
}

export function ErrorBanner({ message, children }: { message: string; children?: ReactNode }) {
  return (
    <div className="banner banner-error" role="alert">
      <svg viewBox="0 0 20 20" aria-hidden="true" focusable="false" className="banner-icon">
        <circle cx="10" cy="10" r="8" />
        <path d="M10 6v5M10 13.5v.5" />
      </svg>
      <div>
        {message}
        {children}
      </div>
    </div>
  )
}

/** What a failed load or submit says, or nothing while there is no failure. */
export function Failure({ error }: { error: unknown }) {
  return error === undefined ? null : <ErrorBanner message={describeError(error)} />
}

export function Notice({ tone = 'info', children }: { tone?: 'info' | 'success' | 'warning'; children: ReactNode }) {
  return (
    <div className={`banner banner-${tone}`} role="status">
      {children}
    </div>
  )
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  )
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>
}

/** JSON as the API gave it, indented. */
export function JsonView({ value, label }: { value: unknown; label: string }) {
  if (value === undefined) return <p className="muted">None recorded.</p>
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  )
}

/** One term and its value in a `details-grid` list. */
export function Detail({ term, className, children }: { term: string; className?: string; children: ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd className={className}>{children}</dd>
    </div>
  )
}

/** Tables scroll sideways inside this on narrow screens instead of widening the page. */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  )
}

/** The Countersign mark, in the sidebar and on the sign-in page. */
export function BrandMark() {
  return (
    <span className="brand-mark" aria-hidden="true">
      <svg viewBox="0 0 32 32" focusable="false">
        <rect width="32" height="32" rx="7" />
        <path d="M9 16.5l4.5 4.5L23 11.5" />
      </svg>
    </span>
  )
}

async function writeClipboard(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    return false
  }
}

/** Copies a value; when the clipboard is refused, selects the value's field so the operator can copy it. */
export function CopyButton({ value, label = 'Copy', target }: { value: string; label?: string; target?: HTMLInputElement | HTMLTextAreaElement | null }) {
  const [copied, setCopied] = useState<'yes' | 'select' | null>(null)
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  useEffect(() => () => clearTimeout(timer.current), [])
  const copy = async () => {
    const ok = await writeClipboard(value)
    if (!ok && target) {
      target.focus()
      target.select()
    }
    setCopied(ok ? 'yes' : 'select')
    clearTimeout(timer.current)
    timer.current = setTimeout(() => setCopied(null), 2000)
  }
  return (
    <>
      <button type="button" className="button button-small copy-button" onClick={copy} aria-label={label}>
        {copied === 'yes' ? 'Copied' : copied === 'select' ? 'Press Ctrl+C' : 'Copy'}
      </button>
      <span className="visually-hidden" aria-live="polite">
        {copied === 'yes' ? 'Copied to the clipboard' : copied === 'select' ? 'Selected; press Control C to copy' : ''}
      </span>
    </>
  )
}

/** A read-only value with a label and a copy button; a secret wraps, so all of it shows. */
export function CopyField({ label, value, secret = false }: { label: string; value: string; secret?: boolean }) {
  const id = useId()
  const [field, setField] = useState<HTMLInputElement | HTMLTextAreaElement | null>(null)
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="copy-field">
        {secret ? (
          <textarea id={id} ref={setField} className="textarea mono secret-value" value={value} readOnly rows={2} spellCheck={false} onFocus={(e) => e.currentTarget.select()} />
        ) : (
          <input id={id} ref={setField} className="input mono" value={value} readOnly spellCheck={false} onFocus={(e) => e.currentTarget.select()} />
        )}
        <CopyButton value={value} label={`Copy ${label.toLowerCase()}`} target={field} />
      </div>
    </div>
  )
}
