/**
 * The one error mapper of the REST façade: any thrown value → an HTTP status, a stable `code` (GraphQL's codes for
 * domain errors) and the context fields SPEC §5 lists. Each version only renders the description (v2: problem+json,
 * v1: `{"error": …}`), so both agree on which failure is which.
 */
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import {
  DomainError,
  type FieldError,
  ForbiddenError,
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  InvalidTransitionError,
  NotFoundError,
  PaymentProviderUnavailableError,
  UnauthenticatedError,
  ValidationError,
  VersionConflictError,
} from '../src/domain/errors.ts';
import type { OrderActionName, OrderStatusName } from '../src/domain/orders/order-state-machine.ts';

/** A failure decided by HTTP itself rather than by the domain: 428, 413, 415, 404/405 for unknown routes. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

export type ErrorDescription = {
  status: number;
  code: string;
  title: string;
  detail: string;
  currentVersion?: number;
  currentStatus?: OrderStatusName;
  /** What the actor may do now, as domain action names (each version spells them its own way). */
  allowedActions?: OrderActionName[];
  /** Invalid inputs, with paths in REST spelling (snake_case body fields, header names). */
  fields?: FieldError[];
  headers: Record<string, string>;
  /** True for errors nobody anticipated: logged, and masked for the client. */
  unexpected?: boolean;
};

/**
 * A validation failure of the request itself (zod on the body, query or headers): its paths are already spelled as
 * the client sent them, so they are reported as they are.
 */
export class RequestValidationError extends ValidationError {}

/**
 * Domain paths are camelCase command fields; REST names them as the client sent them. A Map, not an object literal:
 * a path segment can be any key a client put in its JSON (`__proto__`, `constructor`), and an object lookup would
 * find Object.prototype's members for those.
 */
const REST_FIELD_NAMES: ReadonlyMap<string, string> = new Map([
  ['idempotencyKey', 'Idempotency-Key'],
  ['expectedVersion', 'If-Match'],
]);
const restSegment = (segment: string) =>
  REST_FIELD_NAMES.get(segment) ??
  (/^[a-z][a-zA-Z0-9]*$/.test(segment) ? segment.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`) : segment);

/** Turns a zod failure on one part of the request into a ValidationError naming each field as the client spelled it. */
export function validationErrorFromZod(error: z.ZodError, target: string): ValidationError {
  const fields: FieldError[] = error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: `is not a known ${target === 'query' ? 'query parameter' : 'field'}`,
      }));
    }
    return [{ path: path.length ? path : [target], message: issue.message }];
  });
  return new RequestValidationError(fields);
}

const PLAIN: Record<string, Pick<ErrorDescription, 'status' | 'title'>> = {
  UNAUTHENTICATED: { status: 401, title: 'Unauthenticated' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency key reused' },
};

/** Classifies any thrown value. */
export function describeError(error: unknown): ErrorDescription {
  if (error instanceof VersionConflictError) {
    // Without a precondition (If-Match: *, v1) nothing failed but the service's retries against concurrent changes:
    // a conflict with the order's current state (409), not a 412 about a version the client never named.
    const unconditional = error.expectedVersion === null;
    return {
      status: unconditional ? 409 : 412,
      code: error.code,
      title: unconditional ? 'Conflict' : 'Precondition failed',
      detail: unconditional
        ? error.message
        : `The order is at version ${error.currentVersion} (${error.currentStatus}); If-Match does not name that version. Re-read the order and retry with its ETag.`,
      currentVersion: error.currentVersion,
      currentStatus: error.currentStatus,
      headers: {},
    };
  }
  if (error instanceof InvalidTransitionError) {
    return {
      status: 409,
      code: error.code,
      title: 'Invalid transition',
      detail: error.message,
      currentStatus: error.currentStatus,
      allowedActions: error.allowedActions,
      headers: {},
    };
  }
  if (error instanceof ValidationError) {
    const fields =
      error instanceof RequestValidationError
        ? error.fields
        : error.fields.map((field) => ({ path: field.path.map(restSegment), message: field.message }));
    const detail = fields.map((field) => (field.path.length ? `${field.path.join('.')}: ${field.message}` : field.message)).join('; ');
    return { status: 400, code: error.code, title: 'Invalid request', detail, fields, headers: {} };
  }
  if (error instanceof IdempotencyKeyInProgressError) {
    return { status: 409, code: error.code, title: 'Idempotency key in use', detail: error.message, headers: { 'Retry-After': '1' } };
  }
  if (error instanceof PaymentProviderUnavailableError) {
    return {
      status: 503,
      code: error.code,
      title: 'Payment provider unavailable',
      detail: error.message,
      headers: { 'Retry-After': String(error.retryAfterSeconds) },
    };
  }
  if (error instanceof UnauthenticatedError) {
    return {
      ...PLAIN.UNAUTHENTICATED!,
      code: error.code,
      detail: error.message,
      headers: { 'WWW-Authenticate': 'Bearer realm="quickeats"' },
    };
  }
  if (error instanceof NotFoundError || error instanceof ForbiddenError || error instanceof IdempotencyKeyReusedError) {
    return { ...PLAIN[error.code]!, code: error.code, detail: error.message, headers: {} };
  }
  if (error instanceof HttpProblem) {
    return { status: error.status, code: error.code, title: error.title, detail: error.message, headers: error.headers };
  }
  if (error instanceof HTTPException && error.status < 500) {
    // Raised by Hono's validators: malformed JSON (400) and a body in a media type the route does not take (415).
    if (error.status === 400) {
      return {
        status: 400,
        code: 'VALIDATION_FAILED',
        title: 'Invalid request',
        detail: error.message,
        fields: [{ path: ['body'], message: error.message }],
        headers: {},
      };
    }
    if (error.status === 415) {
      return {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        title: 'Unsupported media type',
        detail: 'Send the body as application/json',
        headers: {},
      };
    }
    return { status: error.status, code: 'BAD_REQUEST', title: 'Bad request', detail: error.message, headers: {} };
  }
  if (error instanceof DomainError) {
    return { status: 400, code: error.code, title: 'Bad request', detail: error.message, headers: {} };
  }
  return {
    status: 500,
    code: 'INTERNAL_SERVER_ERROR',
    title: 'Internal server error',
    detail: 'Something went wrong on our side; the request id identifies it in our logs',
    headers: {},
    unexpected: true,
  };
}
