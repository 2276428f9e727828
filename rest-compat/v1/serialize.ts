/** v1 JSON: the flat order (the same fields as v2, no ETag, no include) and `{"error": …}` bodies. */
import type { ErrorDescription } from '../errors.ts';
import { orderFields } from '../serialize.ts';

export { orderFields as legacyOrderJson };

/**
 * `{"error": message, "code", …context}`. v1 has no preconditions, so a version conflict (possible only when the
 * service gave up retrying a contended order) is reported as the plain conflict it is: 409 with current_status.
 */
export function legacyError(problem: ErrorDescription, requestId: string | undefined) {
  const versionConflict = problem.code === 'VERSION_CONFLICT';
  return {
    status: versionConflict ? 409 : problem.status,
    body: {
      error: versionConflict ? 'The order changed while this request ran; read it again' : problem.detail,
      code: problem.code,
      ...(problem.currentStatus !== undefined && { current_status: problem.currentStatus }),
      ...(problem.fields !== undefined && { fields: problem.fields }),
      ...(problem.unexpected && { request_id: requestId }),
    },
  };
}
