/**
 * If-Match → the domain's `expectedVersion` (SPEC §5). The service itself decides 404 → 403 → idempotency → 412 → 409,
 * so REST only has to refuse a missing header (428, before any lookup) and translate the tags it was sent.
 */
import { VersionConflictError } from '../../src/domain/errors.ts';
import { HttpProblem } from '../errors.ts';
import type { Precondition } from '../middleware/if-match.ts';

const OUR_TAG = /^o([0-9]{1,10})-v([0-9]{1,10})$/;

/** Versions start at 1, so this expected version matches no order: the service answers 412 with the current state. */
const MATCHES_NOTHING = 0;

/**
 * The versions of `orderId` that a tag list names. RFC 9110 §13.1.1 uses the strong comparison: a weak tag never
 * matches, nor does a tag of another order (the tag embeds the order id) or one this API never issued.
 */
export function versionsNamed(condition: Extract<Precondition, { kind: 'tags' }>, orderId: number): number[] {
  return condition.tags.flatMap((tag) => {
    const match = tag.weak ? null : OUR_TAG.exec(tag.opaque);
    return match && Number(match[1]) === orderId ? [Number(match[2])] : [];
  });
}

/**
 * Runs an action under If-Match: missing → 428; `*` → `expectedVersion: null` (the service retries its compare-and-swap);
 * a list → the version it names. With several versions named the first guess is the highest; when the service reports
 * a conflict whose current version is also in the list, the action is retried with that one, so a list matches
 * exactly when the current version is in it, without a read of our own. Failed attempts record nothing.
 */
export async function withIfMatch<T>(
  condition: Precondition,
  orderId: number,
  run: (expectedVersion: number | null) => Promise<T>,
): Promise<T> {
  if (condition.kind === 'missing') {
    throw new HttpProblem(
      428,
      'PRECONDITION_REQUIRED',
      'Precondition required',
      'Send If-Match with the ETag of the order version you last read, or * to act on whatever version is current',
    );
  }
  if (condition.kind === 'any') return run(null);
  const candidates = new Set(versionsNamed(condition, orderId));
  let expected = candidates.size ? Math.max(...candidates) : MATCHES_NOTHING;
  for (;;) {
    try {
      return await run(expected);
    } catch (error) {
      candidates.delete(expected);
      if (!(error instanceof VersionConflictError) || !candidates.has(error.currentVersion)) throw error;
      expected = error.currentVersion;
    }
  }
}
