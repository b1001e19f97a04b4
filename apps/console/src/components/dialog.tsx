// Modal dialogs on the platform's <dialog>: showModal() makes the rest of the page inert and
// traps focus, Escape closes (the `cancel` event), and focus goes back where it was.
import { useEffect, useId, useRef, useState, type ReactNode } from 'react'
import { describeError } from '../api.ts'
import { ErrorBanner } from './ui.tsx'

export interface DialogProps {
  open: boolean
  title: string
  onClose(): void
  children: ReactNode
  /** Buttons at the bottom, right-aligned. */
  footer?: ReactNode
  /** Wider for forms with tables. */
  size?: 'normal' | 'wide'
}

export function Dialog({ open, title, onClose, children, footer, size = 'normal' }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null)
  const opener = useRef<Element | null>(null)
  const titleId = useId()
  const onCloseRef = useRef(onClose)
  onCloseRef.current = onClose

  useEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    if (open && !dialog.open) {
      opener.current = document.activeElement
      dialog.showModal()
      // The first field or the element marked autofocus; the close button otherwise.
      const target =
        dialog.querySelector<HTMLElement>('[data-autofocus]') ??
        dialog.querySelector<HTMLElement>('.dialog-body :is(input:not([type=hidden]):not([disabled]), textarea, select)') ??
        dialog.querySelector<HTMLElement>('button')
      target?.focus()
    } else if (!open && dialog.open) {
      dialog.close()
    }
  }, [open])

  useEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    const onCancel = (event: Event) => {
      event.preventDefault()
      onCloseRef.current()
    }
    const onNativeClose = () => {
      const previous = opener.current
      // The opener may be gone (the row of a revoked key): then the page's heading, not <body>.
      if (previous instanceof HTMLElement && previous.isConnected) previous.focus()
      else document.querySelector<HTMLElement>('main h1')?.focus()
    }
    dialog.addEventListener('cancel', onCancel)
    dialog.addEventListener('close', onNativeClose)
    return () => {
      dialog.removeEventListener('cancel', onCancel)
      dialog.removeEventListener('close', onNativeClose)
      if (dialog.open) dialog.close()
    }
  }, [])

  return (
    <dialog ref={ref} className={`dialog dialog-${size}`} aria-labelledby={titleId}>
      <div className="dialog-header">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
          <svg viewBox="0 0 20 20" aria-hidden="true" focusable="false">
            <path d="M5 5l10 10M15 5L5 15" />
          </svg>
        </button>
      </div>
      {open ? <div className="dialog-body">{children}</div> : null}
      {open && footer ? <div className="dialog-footer">{footer}</div> : null}
    </dialog>
  )
}

export interface ConfirmProps {
  open: boolean
  title: string
  children: ReactNode
  confirmLabel: string
  /** A destructive action: the confirm button is red. */
  danger?: boolean
  onConfirm(): Promise<void>
  onClose(): void
}

/** Asks before doing something; shows the server's refusal in place if it fails. */
export function ConfirmDialog({ open, title, children, confirmLabel, danger = false, onConfirm, onClose }: ConfirmProps) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [wasOpen, setWasOpen] = useState(open)
  if (open !== wasOpen) {
    setWasOpen(open)
    if (open) setError(undefined)
  }
  const confirm = async () => {
    setBusy(true)
    setError(undefined)
    try {
      await onConfirm()
      onClose()
    } catch (reason) {
      setError(reason)
    } finally {
      setBusy(false)
    }
  }
  return (
    <Dialog
      open={open}
      title={title}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} data-autofocus>
            Cancel
          </button>
          <button type="button" className={danger ? 'button button-danger' : 'button button-primary'} onClick={confirm} disabled={busy}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </>
      }
    >
      <div className="confirm-text">{children}</div>
      {error !== undefined ? <ErrorBanner message={describeError(error)} /> : null}
    </Dialog>
  )
}
