/** Shared pieces of both versions' apps: validation failures, the unmatched-route answer, errors and their logging. */
import type { Context } from 'hono';
import { basePath } from 'hono/route';
import type { ZodError } from 'zod';
import type { OrderActionName } from '../src/domain/orders/order-state-machine.ts';
import type { Logger } from '../src/infra/logger.ts';
import type { RestEnv } from './env.ts';
import { describeError, type ErrorDescription, HttpProblem, validationErrorFromZod } from './errors.ts';

/** The OpenAPIHono defaultHook: a zod failure on any part of the request becomes a ValidationError (400). */
export function rejectInvalid(result: { success: true } | { success: false; error: ZodError; target: string }): void {
  if (!result.success) throw validationErrorFromZod(result.error, result.target);
}

/**
 * For a path no route of `routes` serves: 405 with Allow when another method serves it, else 404.
 * `routes` are relative to the version app; basePath(c) is where that app is mounted.
 */
export function unmatchedRoute(c: Context, routes: readonly { method: string; path: string }[]): HttpProblem {
  const relative = c.req.path.slice(basePath(c).length) || '/';
  const allowed = routes
    .filter((route) => route.method !== 'ALL' && new RegExp(`^${route.path.replace(/:[^/]+/g, '[^/]+')}$`).test(relative))
    .map((route) => route.method);
  if (allowed.length) {
    const allow = [...new Set(allowed.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method])))].join(', ');
    return new HttpProblem(405, 'METHOD_NOT_ALLOWED', 'Method not allowed', `${c.req.method} is not served here; use ${allow}`, {
      Allow: allow,
    });
  }
  return new HttpProblem(404, 'NOT_FOUND', 'Not found', `No route ${c.req.method} ${c.req.path}`);
}

/** Describes an error and logs the unexpected ones with the request id (their details never reach the client). */
export function describeAndLog(error: unknown, c: Context<RestEnv>, logger: Logger): ErrorDescription {
  const description = describeError(error);
  if (description.unexpected)
    logger.error({ err: error, requestId: c.get('requestId'), method: c.req.method, path: c.req.path }, 'unexpected error in REST request');
  return description;
}

const slug = (code: string) => code.toLowerCase().replaceAll('_', '-');

/**
 * RFC 9457 body; `actionName` spells allowed_actions. `type` is a tag URI (RFC 4151): it identifies the problem without
 * promising a page to fetch. Masked 500s carry the request id so support can find the logged cause.
 */
export function problemJson(problem: ErrorDescription, requestId: string | undefined, actionName: (action: OrderActionName) => string) {
  return {
    type: `tag:quickeats.example,2026:problem:${slug(problem.code)}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    code: problem.code,
    ...(problem.currentVersion !== undefined && { current_version: problem.currentVersion }),
    ...(problem.currentStatus !== undefined && { current_status: problem.currentStatus }),
    ...(problem.allowedActions !== undefined && { allowed_actions: problem.allowedActions.map(actionName) }),
    ...(problem.fields !== undefined && { fields: problem.fields }),
    ...(problem.unexpected && { request_id: requestId }),
  };
}

/**
 * The error handler of an app answering in `application/problem+json`.
 * @example app.onError(problemHandler({ logger, actionName: (action) => V2_ACTION_PATHS[action] }))
 */
export function problemHandler(options: { logger: Logger; actionName?: (action: OrderActionName) => string }) {
  return function renderProblem(error: unknown, c: Context<RestEnv>): Response {
    const problem = describeAndLog(error, c, options.logger);
    const body = problemJson(problem, c.get('requestId'), options.actionName ?? String);
    return c.body(JSON.stringify(body), problem.status as 400, { ...problem.headers, 'Content-Type': 'application/problem+json' });
  };
}
