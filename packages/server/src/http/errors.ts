import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import type { Socket } from 'node:net'
import { errorCodes, type ErrorBody, type ErrorCode } from '@countersign/protocol'
import { ApiError } from '../domain/errors.ts'
import { isDatabaseUnavailable } from '../storage/database.ts'

/** How long a client should wait before retrying while the database is unreachable. */
const RETRY_AFTER_SECONDS = 5

// Fastify's own refusals, mapped to our codes. Everything else unexpected is a 500 whose
// cause is logged and never sent.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
  // Refused while routing: a path that is not valid percent-encoded UTF-8, a path parameter
  // longer than maxParamLength. These reach frameworkErrorHandler, not the error handler.
  FST_ERR_BAD_URL: 'invalid_request',
  FST_ERR_MAX_PARAM_LENGTH: 'invalid_request',
}

export function errorBody(code: ErrorCode, description: string, requestId?: string): ErrorBody {
  return { error: code, errorCode: code, errorDescription: description, ...(requestId ? { requestId } : {}) }
}

/** Installs the error and not-found handlers: every refusal is a coded JSON body. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError) {
      if (error.detail || error.status >= 500) request.log.info({ code: error.code, detail: error.detail }, 'request refused')
      if (error.headers) void reply.headers(error.headers)
      return reply.status(error.status).send({ ...errorBody(error.code, error.message), ...(error.publicDetails ? { details: error.publicDetails } : {}) })
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const fields = error.validation.map((issue) => describeIssue(error.validationContext, issue)).slice(0, 5)
      return reply.status(400).send(errorBody('invalid_request', `Invalid request: ${fields.join('; ')}`))
    }
    const mapped = error.code ? FASTIFY_CODES[error.code] : undefined
    if (mapped) {
      // Parser messages may quote the body; send our own description instead.
      return reply.status(errorCodes[mapped].status).send(errorBody(mapped, errorCodes[mapped].description))
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      request.log.info({ code: error.code }, 'client error')
      return reply.status(error.statusCode).send(errorBody('invalid_request', errorCodes.invalid_request.description))
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable')
      return reply
        .status(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send(errorBody('service_unavailable', errorCodes.service_unavailable.description, String(request.id)))
    }
    request.log.error({ err: error }, 'unhandled error')
    return reply
      .status(500)
      .send(errorBody('internal_error', errorCodes.internal_error.description, String(request.id)))
  })

  app.setNotFoundHandler((request, reply) => {
    // The path is not echoed: it may carry something the caller should not see reflected.
    void reply.status(404).send(errorBody('not_found', `No route matches ${request.method} on this path`))
  })
}

/**
 * Fastify's `frameworkErrors` option. Refusals made while routing skip the error handler, and
 * without this Fastify answers them with its own body (no errorCode, 414 for a long segment)
 * that quotes the path back.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  // No route was found, so the app's onSend hook does not run: set what it would have.
  void reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff')
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined
  if (mapped) {
    void reply.status(errorCodes[mapped].status).send(errorBody(mapped, errorCodes[mapped].description))
    return
  }
  request.log.error({ err: error }, 'unhandled framework error')
  void reply.status(500).send(errorBody('internal_error', errorCodes.internal_error.description, String(request.id)))
}

function describeIssue(context: string | undefined, issue: { instancePath?: string; message?: string }): string {
  const where = [context === 'querystring' ? 'query' : context, issue.instancePath?.replace(/^\//, '').replace(/\//g, '.')]
    .filter(Boolean)
    .join('.')
    // The path may name keys the caller chose: reflect a bounded prefix only.
    .slice(0, 80)
  return `${where || 'request'}: ${(issue.message ?? 'invalid').slice(0, 120)}`
}

/**
 * Answers a request Node's HTTP parser refused (oversized or malformed headers) with a coded
 * body like every other refusal; Fastify's default writes its own shape.
 */
export function rejectMalformedRequest(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const code: ErrorCode = error.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'invalid_request'
  const { status } = errorCodes[code]
  const body = JSON.stringify(errorBody(code, errorCodes[code].description))
  const reason = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nx-content-type-options: nosniff\r\n\r\n${body}`,
  )
}
