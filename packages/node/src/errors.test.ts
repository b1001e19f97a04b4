import { describe, expect, it } from 'vitest'
import { CountersignError, isCountersignError } from './errors.ts'

describe('CountersignError', () => {
  it('carries status, code, description and cause', () => {
    const cause = new TypeError('fetch failed')
    const error = new CountersignError({ statusCode: 0, errorCode: 'network_error', errorDescription: 'down', cause })
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('CountersignError')
    expect(error.statusCode).toBe(0)
    expect(error.errorCode).toBe('network_error')
    expect(error.errorDescription).toBe('down')
    expect(error.cause).toBe(cause)
  })

  it('puts code, status and description in the message', () => {
    const error = new CountersignError({ statusCode: 404, errorCode: 'not_found', errorDescription: 'No such user.' })
    expect(error.message).toBe('not_found (HTTP 404): No such user.')
    expect(new CountersignError({ statusCode: 0, errorCode: 'timeout' }).message).toBe('timeout')
  })

  it('carries the server’s details, and has none by default', () => {
    const details = { message: 'Syntax error', position: 4, line: 1, column: 5 }
    const error = new CountersignError({ statusCode: 400, errorCode: 'invalid_rule_condition', details })
    expect(error.details).toEqual(details)
    expect(error.details?.column).toBe(5)
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ errorCode: 'invalid_rule_condition', details })
    expect(new CountersignError({ statusCode: 404, errorCode: 'not_found' }).details).toBeUndefined()
  })

  it('keeps cause and brand out of JSON', () => {
    const error = new CountersignError({ statusCode: 500, errorCode: 'internal_error', cause: new Error('inner') })
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'CountersignError',
      statusCode: 500,
      errorCode: 'internal_error',
    })
  })
})

describe('isCountersignError', () => {
  it('recognises its errors', () => {
    expect(isCountersignError(new CountersignError({ statusCode: 401, errorCode: 'unauthorized' }))).toBe(true)
  })

  it('recognises an error from another copy of the package (no instanceof)', () => {
    const foreign = Object.defineProperty(new Error('x'), Symbol.for('countersign.error'), { value: true })
    expect(isCountersignError(foreign)).toBe(true)
  })

  it.each([
    ['a plain Error', new Error('not_found')],
    ['a look-alike object', { statusCode: 404, errorCode: 'not_found' }],
    ['null', null],
    ['a string', 'not_found'],
    ['undefined', undefined],
  ])('rejects %s', (_, value) => {
    expect(isCountersignError(value)).toBe(false)
  })
})
