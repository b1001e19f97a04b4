// Management API (management key, HTTP Basic): what an operator and the console do. Each route
// authenticates, calls one domain function and returns its result; the domain decides.
import cookie from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  ActionCodeParams,
  ActionConfiguration,
  ActionConfigurationList,
  ActionLogPage,
  ActionLogQuery,
  ApiKeyList,
  ClearPushBlockResponse,
  ConsoleSession,
  CreateOperatorRequest,
  AuditPage,
  AuditQuery,
  CreateActionConfigurationRequest,
  CreateApiKeyRequest,
  CreatedApiKey,
  CreatedWebhook,
  CreateRuleRequest,
  CreateValueListRequest,
  CreateWebhookRequest,
  DeliveryParams,
  DryRunRequest,
  DryRunResponse,
  ErrorBody,
  KeyParams,
  ListParams,
  ManagedAuthenticatorParams,
  ManagedTenant,
  ManagedUser,
  ManagedUserParams,
  Operator,
  OperatorList,
  OperatorParams,
  SESSION_COOKIE,
  SignInRequest,
  StatsQuery,
  StatsResponse,
  Rule,
  RuleList,
  RuleParams,
  UpdateActionConfigurationRequest,
  UpdateRuleRequest,
  UpdateTenantRequest,
  UpdateValueListRequest,
  UpdateWebhookRequest,
  UserPage,
  UsersQuery,
  ValueList,
  ValueListList,
  WebhookDeliveryList,
  WebhookEndpoint,
  WebhookEndpointList,
  WebhookParams,
} from '@countersign/protocol'
import * as configurations from '../domain/action-configurations.ts'
import { listAuditLog } from '../domain/audit.ts'
import type { Deps } from '../domain/deps.ts'
import * as management from '../domain/management.ts'
import * as valueLists from '../domain/value-lists.ts'
import * as sessions from '../domain/console-sessions.ts'
import { ApiError } from '../domain/errors.ts'
import { authenticateOperator, consoleOnly } from './auth.ts'

const security = [{ managementKey: [] }]
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 500: ErrorBody }
const Empty = z.null().describe('No content')
const PREFIX = '/v1/management'

/** What every Management API route's schema starts with. */
function doc(tag: string, summary: string) {
  return { summary, tags: [`Management API: ${tag}`], security }
}

const noContent = (reply: FastifyReply) => reply.status(204).send(null)

export function managementApiRoutes(deps: Deps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    // Parses the console's session cookie; only Management API routes read it.
    await app.register(cookie)
    const api = app.withTypeProvider<ZodTypeProvider>()
    const operator = (request: FastifyRequest) => authenticateOperator(deps, request)
    const tenantOf = async (request: FastifyRequest) => (await operator(request)).tenant

    // ── Tenant ──
    api.get(
      `${PREFIX}/tenant`,
      { schema: { ...doc('tenant', 'Get the tenant and its settings'), response: { 200: ManagedTenant, ...errors } } },
      async (request) => management.getTenant(deps, await tenantOf(request)),
    )
    api.patch(
      `${PREFIX}/tenant`,
      {
        schema: {
          ...doc('tenant', 'Change the tenant’s name or settings'),
          body: UpdateTenantRequest,
          response: { 200: ManagedTenant, ...errors },
        },
      },
      async (request) => {
        const { tenant, actor } = await operator(request)
        return management.updateTenant(deps, tenant, actor, request.body)
      },
    )

    // ── API keys ──
    api.get(
      `${PREFIX}/api-keys`,
      { schema: { ...doc('API keys', 'List API keys (never the keys themselves)'), response: { 200: ApiKeyList, ...errors } } },
      async (request) => ({
        items: await management.listApiKeys(deps, await tenantOf(request)),
      }),
    )
    api.post(
      `${PREFIX}/api-keys`,
      {
        schema: {
          ...doc('API keys', 'Create a secret or management key; the key is shown once'),
          body: CreateApiKeyRequest,
          response: { 201: CreatedApiKey, ...errors },
        },
      },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        return reply.status(201).send(await management.createApiKey(deps, tenant.tenantId, actor, request.body))
      },
    )
    api.delete(
      `${PREFIX}/api-keys/:keyId`,
      { schema: { ...doc('API keys', 'Revoke a key'), params: KeyParams, response: { 204: Empty, ...errors } } },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        await management.revokeApiKey(deps, tenant.tenantId, actor, request.params.keyId)
        return noContent(reply)
      },
    )

    // ── Action configurations ──
    const configs = `${PREFIX}/action-configurations`
    api.get(
      configs,
      { schema: { ...doc('actions', 'List action configurations'), response: { 200: ActionConfigurationList, ...errors } } },
      async (request) => ({
        items: await configurations.listActionConfigurations(deps, await tenantOf(request)),
      }),
    )
    api.post(
      configs,
      {
        schema: {
          ...doc('actions', 'Configure an action code'),
          body: CreateActionConfigurationRequest,
          response: { 201: ActionConfiguration, ...errors },
        },
      },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        return reply.status(201).send(await configurations.createActionConfiguration(deps, tenant, actor, request.body))
      },
    )
    api.get(
      `${configs}/:actionCode`,
      {
        schema: {
          ...doc('actions', 'Get an action configuration'),
          params: ActionCodeParams,
          response: { 200: ActionConfiguration, ...errors },
        },
      },
      async (request) => configurations.getActionConfiguration(deps, await tenantOf(request), request.params.actionCode),
    )
    api.patch(
      `${configs}/:actionCode`,
      {
        schema: {
          ...doc('actions', 'Change an action configuration (null returns a field to the tenant’s setting)'),
          params: ActionCodeParams,
          body: UpdateActionConfigurationRequest,
          response: { 200: ActionConfiguration, ...errors },
        },
      },
      async (request) => {
        const { tenant, actor } = await operator(request)
        return configurations.updateActionConfiguration(deps, tenant, actor, request.params.actionCode, request.body)
      },
    )
    api.delete(
      `${configs}/:actionCode`,
      {
        schema: {
          ...doc('actions', 'Delete an action configuration and its rules'),
          params: ActionCodeParams,
          response: { 204: Empty, ...errors },
        },
      },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        await configurations.deleteActionConfiguration(deps, tenant, actor, request.params.actionCode)
        return noContent(reply)
      },
    )

    // ── Rules ──
    const rules = `${configs}/:actionCode/rules`
    api.get(
      rules,
      {
        schema: {
          ...doc('rules', 'List an action’s rules in evaluation order'),
          params: ActionCodeParams,
          response: { 200: RuleList, ...errors },
        },
      },
      async (request) => ({
        items: await configurations.listRules(deps, await tenantOf(request), request.params.actionCode),
      }),
    )
    api.post(
      rules,
      {
        schema: {
          ...doc('rules', 'Add a rule; an invalid condition is 400 invalid_rule_condition with its position'),
          params: ActionCodeParams,
          body: CreateRuleRequest,
          response: { 201: Rule, ...errors },
        },
      },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        return reply.status(201).send(await configurations.createRule(deps, tenant, actor, request.params.actionCode, request.body))
      },
    )
    api.post(
      `${rules}/dry-run`,
      {
        schema: {
          ...doc('rules', 'Evaluate the rules against a context or a past action, recording nothing'),
          params: ActionCodeParams,
          body: DryRunRequest,
          response: { 200: DryRunResponse, ...errors },
        },
      },
      async (request) => configurations.dryRun(deps, await tenantOf(request), request.params.actionCode, request.body),
    )
    api.get(
      `${rules}/:ruleId`,
      { schema: { ...doc('rules', 'Get a rule'), params: RuleParams, response: { 200: Rule, ...errors } } },
      async (request) => configurations.getRule(deps, await tenantOf(request), request.params.actionCode, request.params.ruleId),
    )
    api.patch(
      `${rules}/:ruleId`,
      { schema: { ...doc('rules', 'Change a rule'), params: RuleParams, body: UpdateRuleRequest, response: { 200: Rule, ...errors } } },
      async (request) => {
        const { tenant, actor } = await operator(request)
        return configurations.updateRule(deps, tenant, actor, request.params.actionCode, request.params.ruleId, request.body)
      },
    )
    api.delete(
      `${rules}/:ruleId`,
      { schema: { ...doc('rules', 'Delete a rule'), params: RuleParams, response: { 204: Empty, ...errors } } },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        await configurations.deleteRule(deps, tenant, actor, request.params.actionCode, request.params.ruleId)
        return noContent(reply)
      },
    )

    // ── Value lists ──
    const lists = `${PREFIX}/value-lists`
    api.get(
      lists,
      { schema: { ...doc('value lists', 'List value lists (without their items)'), response: { 200: ValueListList, ...errors } } },
      async (request) => ({
        items: await valueLists.listValueLists(deps, await tenantOf(request)),
      }),
    )
    api.post(
      lists,
      { schema: { ...doc('value lists', 'Create a value list'), body: CreateValueListRequest, response: { 201: ValueList, ...errors } } },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        return reply.status(201).send(await valueLists.createValueList(deps, tenant, actor, request.body))
      },
    )
    api.get(
      `${lists}/:alias`,
      { schema: { ...doc('value lists', 'Get a value list with its items'), params: ListParams, response: { 200: ValueList, ...errors } } },
      async (request) => valueLists.getValueList(deps, await tenantOf(request), request.params.alias),
    )
    api.patch(
      `${lists}/:alias`,
      {
        schema: {
          ...doc('value lists', 'Rename a value list or replace its items'),
          params: ListParams,
          body: UpdateValueListRequest,
          response: { 200: ValueList, ...errors },
        },
      },
      async (request) => {
        const { tenant, actor } = await operator(request)
        return valueLists.updateValueList(deps, tenant, actor, request.params.alias, request.body)
      },
    )
    api.delete(
      `${lists}/:alias`,
      {
        schema: {
          ...doc('value lists', 'Delete a value list no active rule uses'),
          params: ListParams,
          response: { 204: Empty, ...errors },
        },
      },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        await valueLists.deleteValueList(deps, tenant, actor, request.params.alias)
        return noContent(reply)
      },
    )

    // ── Webhooks ──
    const webhooks = `${PREFIX}/webhooks`
    api.get(
      webhooks,
      { schema: { ...doc('webhooks', 'List webhook endpoints'), response: { 200: WebhookEndpointList, ...errors } } },
      async (request) => ({
        items: await management.listWebhooks(deps, await tenantOf(request)),
      }),
    )
    api.post(
      webhooks,
      {
        schema: {
          ...doc('webhooks', 'Add a webhook endpoint; its signing secret is shown once'),
          body: CreateWebhookRequest,
          response: { 201: CreatedWebhook, ...errors },
        },
      },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        return reply.status(201).send(await management.createWebhook(deps, tenant, actor, request.body))
      },
    )
    api.get(
      `${webhooks}/:webhookId`,
      { schema: { ...doc('webhooks', 'Get a webhook endpoint'), params: WebhookParams, response: { 200: WebhookEndpoint, ...errors } } },
      async (request) => management.getWebhook(deps, await tenantOf(request), request.params.webhookId),
    )
    api.patch(
      `${webhooks}/:webhookId`,
      {
        schema: {
          ...doc('webhooks', 'Change a webhook endpoint'),
          params: WebhookParams,
          body: UpdateWebhookRequest,
          response: { 200: WebhookEndpoint, ...errors },
        },
      },
      async (request) => {
        const { tenant, actor } = await operator(request)
        return management.updateWebhook(deps, tenant, actor, request.params.webhookId, request.body)
      },
    )
    api.delete(
      `${webhooks}/:webhookId`,
      { schema: { ...doc('webhooks', 'Delete a webhook endpoint'), params: WebhookParams, response: { 204: Empty, ...errors } } },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        await management.deleteWebhook(deps, tenant, actor, request.params.webhookId)
        return noContent(reply)
      },
    )
    api.get(
      `${webhooks}/:webhookId/deliveries`,
      {
        schema: {
          ...doc('webhooks', 'An endpoint’s delivery log, newest first'),
          params: WebhookParams,
          response: { 200: WebhookDeliveryList, ...errors },
        },
      },
      async (request) => ({ items: await management.listWebhookDeliveries(deps, await tenantOf(request), request.params.webhookId) }),
    )
    api.post(
      `${webhooks}/:webhookId/deliveries/:eventId/retry`,
      { schema: { ...doc('webhooks', 'Deliver an event again, now'), params: DeliveryParams, response: { 204: Empty, ...errors } } },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        await management.retryWebhookDelivery(deps, tenant, actor, request.params.webhookId, request.params.eventId)
        return noContent(reply)
      },
    )

    // ── Users and authenticators ──
    const users = `${PREFIX}/users`
    api.get(
      users,
      {
        schema: {
          ...doc('users', 'Find users by user ID prefix, email, username or phone number'),
          querystring: UsersQuery,
          response: { 200: UserPage, ...errors },
        },
      },
      async (request) => management.searchUsers(deps, await tenantOf(request), request.query),
    )
    api.get(
      `${users}/:userId`,
      {
        schema: {
          ...doc('users', 'A user with their authenticators and recent actions'),
          params: ManagedUserParams,
          response: { 200: ManagedUser, ...errors },
        },
      },
      async (request) => management.getManagedUser(deps, await tenantOf(request), request.params.userId),
    )
    api.delete(
      `${users}/:userId`,
      {
        schema: {
          ...doc('users', 'Delete a user, their authenticators and history'),
          params: ManagedUserParams,
          response: { 204: Empty, ...errors },
        },
      },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        await management.deleteManagedUser(deps, tenant, actor, request.params.userId)
        return noContent(reply)
      },
    )
    api.delete(
      `${users}/:userId/authenticators/:userAuthenticatorId`,
      { schema: { ...doc('users', 'Revoke an authenticator'), params: ManagedAuthenticatorParams, response: { 204: Empty, ...errors } } },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        await management.revokeAuthenticator(deps, tenant, actor, request.params.userId, request.params.userAuthenticatorId)
        return noContent(reply)
      },
    )
    api.post(
      `${users}/:userId/authenticators/:userAuthenticatorId/unlock`,
      {
        schema: {
          ...doc('users', 'Unlock an authenticator locked by failed signatures'),
          params: ManagedAuthenticatorParams,
          response: { 204: Empty, ...errors },
        },
      },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        await management.unlockAuthenticator(deps, tenant, actor, request.params.userId, request.params.userAuthenticatorId)
        return noContent(reply)
      },
    )
    api.post(
      `${users}/:userId/push-block/clear`,
      {
        schema: {
          ...doc('users', 'Let push requests reach a user who reported one as not theirs'),
          params: ManagedUserParams,
          response: { 200: ClearPushBlockResponse, ...errors },
        },
      },
      async (request) => {
        const { tenant, actor } = await operator(request)
        return management.clearUserPushBlock(deps, tenant, actor, request.params.userId)
      },
    )

    // ── Action log and audit log ──
    api.get(
      `${PREFIX}/actions`,
      {
        schema: {
          ...doc('logs', 'The action log, newest first, filtered'),
          querystring: ActionLogQuery,
          response: { 200: ActionLogPage, ...errors },
        },
      },
      async (request) => management.queryActionLog(deps, await tenantOf(request), request.query),
    )
    api.get(
      `${PREFIX}/audit-log`,
      { schema: { ...doc('logs', 'Who changed what, newest first'), querystring: AuditQuery, response: { 200: AuditPage, ...errors } } },
      async (request) => listAuditLog(deps, (await tenantOf(request)).tenantId, request.query),
    )

    // ── Overview ──
    api.get(
      `${PREFIX}/stats`,
      {
        schema: {
          ...doc('logs', 'Actions per outcome and challenge results, per hour or day'),
          querystring: StatsQuery,
          response: { 200: StatsResponse, ...errors },
        },
      },
      async (request) => management.actionStats(deps, await tenantOf(request), request.query),
    )

    // ── Console sessions and operators ──
    const secure = deps.config.COUNTERSIGN_PUBLIC_URL.startsWith('https:')
    const cookieOptions = { path: PREFIX, httpOnly: true, sameSite: 'strict', secure } as const
    api.post(
      `${PREFIX}/session`,
      {
        schema: {
          summary: 'Sign in to the console',
          description: `An operator's email and password, or a management key. Sets the session cookie (HttpOnly, SameSite=Strict); send \`X-Countersign-Console: 1\` with this and every call made with the cookie.`,
          tags: ['Management API: console'],
          security: [],
          body: SignInRequest,
          response: { 200: ConsoleSession, ...errors },
        },
      },
      async (request, reply) => {
        consoleOnly(request)
        const { cookie, session } = await sessions.signIn(deps, request.body, request.ip)
        void reply.setCookie(SESSION_COOKIE, cookie, { ...cookieOptions, maxAge: deps.config.CONSOLE_SESSION_HOURS * 3600 })
        return session
      },
    )
    api.get(
      `${PREFIX}/session`,
      {
        schema: {
          summary: 'The console session',
          tags: ['Management API: console'],
          security: [],
          response: { 200: ConsoleSession, ...errors },
        },
      },
      async (request) => {
        const cookie = request.cookies[SESSION_COOKIE]
        if (cookie === undefined) throw new ApiError('unauthorized', 'Sign in to the console')
        consoleOnly(request)
        return (await sessions.authenticateSession(deps, cookie)).session
      },
    )
    api.delete(
      `${PREFIX}/session`,
      {
        schema: {
          summary: 'Sign out of the console',
          tags: ['Management API: console'],
          security: [],
          response: { 204: Empty, ...errors },
        },
      },
      async (request, reply) => {
        const cookie = request.cookies[SESSION_COOKIE]
        if (cookie === undefined) throw new ApiError('unauthorized', 'No console session to sign out of')
        consoleOnly(request)
        await sessions.signOut(deps, cookie)
        void reply.clearCookie(SESSION_COOKIE, cookieOptions)
        return noContent(reply)
      },
    )
    api.get(
      `${PREFIX}/operators`,
      { schema: { ...doc('console', 'List console operators'), response: { 200: OperatorList, ...errors } } },
      async (request) => ({ items: await sessions.listOperators(deps, (await tenantOf(request)).tenantId) }),
    )
    api.post(
      `${PREFIX}/operators`,
      {
        schema: {
          ...doc('console', 'Add a console operator (email and a password of at least 15 characters)'),
          body: CreateOperatorRequest,
          response: { 201: Operator, ...errors },
        },
      },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        return reply.status(201).send(await sessions.createOperator(deps, tenant.tenantId, actor, request.body))
      },
    )
    api.delete(
      `${PREFIX}/operators/:operatorId`,
      {
        schema: {
          ...doc('console', 'Remove an operator and end their sessions'),
          params: OperatorParams,
          response: { 204: Empty, ...errors },
        },
      },
      async (request, reply) => {
        const { tenant, actor } = await operator(request)
        await sessions.deleteOperator(deps, tenant.tenantId, actor, request.params.operatorId)
        return noContent(reply)
      },
    )
  }
}
