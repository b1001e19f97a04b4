// A `fetch` double for the SDK's unit tests: records each request and plays back canned
// answers in order, so a test sees exactly what would go on the wire.
import { expect } from 'vitest'
import { isCountersignError, type CountersignError } from '../../src/errors.ts'

export type Answer = Response | Error | ((init: RequestInit | undefined) => Response | Promise<Response>)

export interface SentRequest {
  method: string
  url: string
  headers: Headers
  body: unknown
  signal: AbortSignal | undefined
}

/** A fake `fetch` that records each request and plays back canned answers in order. */
export function fakeFetch(answers: Answer[]) {
  const requests: SentRequest[] = []
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    requests.push({
      method: init?.method ?? 'GET',
      url: String(input),
      headers: new Headers(init?.headers),
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : init?.body,
      signal: init?.signal ?? undefined,
    })
    const answer = answers.shift()
    if (answer === undefined) throw new Error('fake fetch: no answer left for this request')
    if (answer instanceof Error) throw answer
    return typeof answer === 'function' ? answer(init) : answer
  }
  return { fetch: fetch as typeof globalThis.fetch, requests }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
}

export function errorBody(code: string, description: string) {
  return { error: code, errorCode: code, errorDescription: description }
}

/** The CountersignError `promise` rejects with; fails the test when it resolves or throws something else. */
export async function rejection(promise: Promise<unknown>): Promise<CountersignError> {
  try {
    await promise
  } catch (e) {
    expect(isCountersignError(e)).toBe(true)
    return e as CountersignError
  }
  throw new Error('expected the call to reject')
}

/** A fetch that never answers but, like the real one, rejects when its signal aborts. */
export const hangUntilAborted = (init: RequestInit | undefined) =>
  new Promise<Response>((_, reject) => {
    init?.signal?.addEventListener('abort', () => reject(init.signal?.reason))
  })
