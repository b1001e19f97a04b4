import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { errorCodes, type ErrorBody, type ErrorCode } from '@countersign/protocol'
import { ApiError } from '../domain/errors.ts'

// Fastify's own refusals, mapped to our codes. Everything else unexpected is a 500 whose
// cause is logged and never sent.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
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
      return reply.status(error.status).send(errorBody(error.code, error.message))
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

function describeIssue(context: string | undefined, issue: { instancePath?: string; message?: string }): string {
  const where = [context === 'querystring' ? 'query' : context, issue.instancePath?.replace(/^\//, '').replace(/\//g, '.')]
    .filter(Boolean)
    .join('.')
  return `${where || 'request'}: ${(issue.message ?? 'invalid').slice(0, 120)}`
}
