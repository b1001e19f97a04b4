// Modal dialogs on the platform's <dialog>: showModal() makes the rest of the page inert and
// traps focus, Escape closes (the `cancel` event), and focus goes back where it was.
import { useEffect, useId, useRef, useState, type ReactNode } from 'react'
import { useNavigate } from 'react-router'
import { api } from '../api.ts'
import { useSubmit } from './form.tsx'
import { CopyField, Failure, Section } from './ui.tsx'

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

export interface ConfirmProps<T> {
  /** What is to be done (the key to revoke, say); the dialog is open while there is one. */
  subject: T | null
  title: string
  /** What is to be done, said in full. */
  children(subject: T): ReactNode
  confirmLabel: string
  /** A destructive action: the confirm button is red. */
  danger?: boolean
  onConfirm(subject: T): Promise<void>
  onClose(): void
}

/** Asks before doing something; shows the server's refusal in place if it fails. */
export function ConfirmDialog<T>({ subject, title, children, confirmLabel, danger = false, onConfirm, onClose }: ConfirmProps<T>) {
  const open = subject !== null
  const confirm = useSubmit(async () => {
    if (subject === null) return
    await onConfirm(subject)
    onClose()
  })
  const [wasOpen, setWasOpen] = useState(open)
  if (open !== wasOpen) {
    setWasOpen(open)
    if (open) confirm.setError(undefined)
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
          <button type="button" className={danger ? 'button button-danger' : 'button button-primary'} onClick={confirm.run} disabled={confirm.busy}>
            {confirm.busy ? 'Working…' : confirmLabel}
          </button>
        </>
      }
    >
      {subject !== null ? <div className="confirm-text">{children(subject)}</div> : null}
      <Failure error={confirm.error} />
    </Dialog>
  )
}

/** The last card of a detail page: after asking, DELETEs what the page shows and goes back to its list. */
export function DeleteSection({
  title,
  description,
  buttonLabel,
  confirmTitle,
  confirmLabel,
  path,
  backTo,
  children,
}: {
  title: string
  description: string
  buttonLabel: string
  confirmTitle: string
  confirmLabel: string
  /** The Management API path to DELETE. */
  path: string
  /** The console page to go to once it is deleted. */
  backTo: string
  /** What will be deleted, said in full. */
  children: ReactNode
}) {
  const navigate = useNavigate()
  const [open, setOpen] = useState(false)
  return (
    <>
      <Section title={title} description={description}>
        <button type="button" className="button button-danger" onClick={() => setOpen(true)}>
          {buttonLabel}
        </button>
      </Section>
      <ConfirmDialog
        subject={open || null}
        title={confirmTitle}
        confirmLabel={confirmLabel}
        danger
        onClose={() => setOpen(false)}
        onConfirm={async () => {
          await api<void>('DELETE', path)
          void navigate(backTo)
        }}
      >
        {() => children}
      </ConfirmDialog>
    </>
  )
}

/**
 * A secret the server shows once (a new key, a signing secret): a warning, the value with a copy
 * button, and a button to say it is saved. Open while there is a value.
 */
export function SecretOnceDialog({
  title,
  warning,
  label,
  value,
  savedLabel,
  onClose,
  children,
}: {
  title: string
  warning: ReactNode
  label: string
  value: string | undefined
  savedLabel: string
  onClose(): void
  /** More about the secret, under it. */
  children?: ReactNode
}) {
  return (
    <Dialog
      open={value !== undefined}
      title={title}
      onClose={onClose}
      footer={
        <button type="button" className="button button-primary" onClick={onClose}>
          {savedLabel}
        </button>
      }
    >
      {value !== undefined ? (
        <>
          <div className="banner banner-warning" role="note">
            {warning}
          </div>
          <CopyField label={label} value={value} secret />
          {children}
        </>
      ) : null}
    </Dialog>
  )
}
