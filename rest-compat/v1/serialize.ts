/** v1 JSON: the flat order (the same fields as v2, no ETag, no include) and `{"error": …}` bodies. */
import type { ErrorDescription } from '../errors.ts';
import { orderFields } from '../serialize.ts';

export { orderFields as legacyOrderJson };

/**
 * `{"error": message, "code", …context}`. v1 has no preconditions, so its only version conflict is the 409 of a
 * service that gave up retrying a contended order, reported with current_status.
 */
export function legacyError(problem: ErrorDescription, requestId: string | undefined) {
  return {
    status: problem.status,
    body: {
      error: problem.code === 'VERSION_CONFLICT' ? 'The order changed while this request ran; read it again' : problem.detail,
      code: problem.code,
      ...(problem.currentStatus !== undefined && { current_status: problem.currentStatus }),
      ...(problem.fields !== undefined && { fields: problem.fields }),
      ...(problem.unexpected && { request_id: requestId }),
    },
  };
}
