// A CEL condition that does not compile, shown under the editor: the checker's message, the
// line and column, and the line itself with a caret under the column.
import type { ConditionErrorDetails } from '@countersign/protocol'
import { isConsoleApiError } from '../api.ts'

export type { ConditionErrorDetails }

/** The details of a 400 invalid_rule_condition, or null for any other error. */
export function conditionErrorOf(error: unknown): ConditionErrorDetails | null {
  if (!isConsoleApiError(error) || error.errorCode !== 'invalid_rule_condition') return null
  const details = error.details ?? {}
  const number = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) ? value : undefined)
  return {
    message: typeof details.message === 'string' ? details.message : error.description,
    position: number(details.position),
    line: number(details.line),
    column: number(details.column),
  }
}

export function ConditionError({ id, details, condition, onShow }: { id?: string; details: ConditionErrorDetails; condition: string; onShow?: () => void }) {
  const lines = condition.split('\n')
  const line = details.line ?? (lines.length === 1 ? 1 : undefined)
  const source = line !== undefined ? lines[line - 1] : undefined
  const column = details.column
  return (
    <div id={id} className="condition-error" role="alert">
      <p className="condition-error-message">
        {line !== undefined && column !== undefined ? (
          <strong>
            Line {line}, column {column}:{' '}
          </strong>
        ) : null}
        {details.message}
      </p>
      {source !== undefined && column !== undefined ? (
        <pre className="condition-error-source" aria-hidden="true">
          {source}
          {'\n'}
          {' '.repeat(Math.max(0, column - 1))}^
        </pre>
      ) : null}
      {onShow && details.position !== undefined ? (
        <button type="button" className="link-button small" onClick={onShow}>
          Show in the editor
        </button>
      ) : null}
    </div>
  )
}
