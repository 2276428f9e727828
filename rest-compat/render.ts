/** Shared pieces of both versions' apps: validation failures, the unmatched-route answer, and error logging. */
import type { Context } from 'hono';
import { basePath } from 'hono/route';
import type { ZodError } from 'zod';
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
