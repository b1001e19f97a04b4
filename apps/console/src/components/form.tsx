// Form pieces: a labelled field, a group of choices, the buttons under a form, and the busy and
// failed state of its submit.
import { useState, type FormEvent, type ReactNode } from 'react'
import type { ChallengeMethod } from '@countersign/protocol'
import { CHALLENGE_METHODS, methodLabel } from '../format.ts'
import { Failure, Notice } from './ui.tsx'

export interface Submit {
  busy: boolean
  /** The last submit's refusal, or a check's message set with setError. */
  error: unknown
  setError(error: unknown): void
  /** Runs the submit: busy until it ends, its refusal kept in `error`. */
  run(): Promise<void>
  /** A form's onSubmit: no page load, then run. */
  onSubmit(event: FormEvent): void
}

/**
 * A form's submit: busy while `run` runs, and what it threw kept to show. `check` comes first:
 * a message it returns is shown instead, and nothing is sent.
 */
export function useSubmit(run: () => Promise<void>, check?: () => string | undefined): Submit {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const submit = async () => {
    setBusy(true)
    setError(undefined)
    try {
      await run()
    } catch (reason) {
      setError(reason)
    } finally {
      setBusy(false)
    }
  }
  return {
    busy,
    error,
    setError,
    run: submit,
    onSubmit: (event) => {
      event.preventDefault()
      const problem = check?.()
      if (problem !== undefined) setError(new Error(problem))
      else void submit()
    },
  }
}

/** A label, its control (the children, with `id`), and help under it (its id: `${id}-help`). */
export function Field({
  id,
  label,
  help,
  helpError = false,
  wide = false,
  children,
}: {
  id: string
  label: ReactNode
  help?: ReactNode
  /** The help says what is wrong with the value. */
  helpError?: boolean
  /** Across both columns of a form grid. */
  wide?: boolean
  children: ReactNode
}) {
  return (
    <div className={wide ? 'field field-span-2' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children}
      {help ? (
        <p id={`${id}-help`} className={helpError ? 'help text-danger' : 'help'}>
          {help}
        </p>
      ) : null}
    </div>
  )
}

/** After a field's label: the field may be left empty. */
export const Optional = () => <span className="optional">optional</span>

/** Checkboxes or radio buttons under one legend. */
export function Choices({ legend, children }: { legend: string; children: ReactNode }) {
  return (
    <fieldset className="field">
      <legend>{legend}</legend>
      {children}
    </fieldset>
  )
}

/** An <option> for each value, with its label. */
export function Options<V extends string>({ values, labels }: { values: readonly V[]; labels: Record<V, string> }) {
  return values.map((value) => (
    <option key={value} value={value}>
      {labels[value]}
    </option>
  ))
}

/** A checkbox for each method a challenge can use. */
export function MethodCheckboxes({ value, onChange, disabled }: { value: ChallengeMethod[]; onChange(next: ChallengeMethod[]): void; disabled?: boolean }) {
  return (
    <div className="checkbox-row">
      {CHALLENGE_METHODS.map((method) => (
        <label key={method} className="checkbox">
          <input type="checkbox" disabled={disabled} checked={value.includes(method)} onChange={(e) => onChange(e.target.checked ? [...value, method] : value.filter((m) => m !== method))} />
          {methodLabel[method]}
        </label>
      ))}
    </div>
  )
}

/** Under a form in a dialog: its refusal, Cancel, and the submit button. */
export function FormActions({ submit, label, busyLabel = 'Saving…', onCancel }: { submit: Submit; label: string; busyLabel?: string; onCancel?: (() => void) | undefined }) {
  return (
    <>
      <Failure error={submit.error} />
      <div className="form-actions">
        {onCancel ? (
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
        <button type="submit" className="button button-primary" disabled={submit.busy}>
          {submit.busy ? busyLabel : label}
        </button>
      </div>
    </>
  )
}

/** Under a form of saved settings: its refusal or that it saved, Discard changes, and Save. */
export function SaveActions({ submit, label, saved, dirty, onDiscard }: { submit: Submit; label: string; saved: string | null; dirty: boolean; onDiscard(): void }) {
  return (
    <>
      <Failure error={submit.error} />
      {saved ? <Notice tone="success">{saved}</Notice> : null}
      <div className="form-actions">
        <button type="button" className="button" disabled={!dirty || submit.busy} onClick={onDiscard}>
          Discard changes
        </button>
        <button type="submit" className="button button-primary" disabled={!dirty || submit.busy}>
          {submit.busy ? 'Saving…' : label}
        </button>
      </div>
    </>
  )
}
