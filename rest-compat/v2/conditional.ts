/**
 * If-Match → the domain's `expectedVersion` (SPEC §5). The service itself decides 404 → 403 → idempotency → 412 → 409,
 * so REST only has to refuse a missing header (428, before any lookup) and translate the tags it was sent.
 */
import type { ExpectedVersion } from '../../src/domain/orders/order.service.ts';
import { HttpProblem } from '../errors.ts';
import type { Precondition } from '../middleware/if-match.ts';

const OUR_TAG = /^o([0-9]{1,10})-v([0-9]{1,10})$/;

/**
 * The versions of `orderId` an If-Match condition accepts: missing → 428; `*` → null (whatever is current; the service
 * retries its compare-and-swap); a tag list → the versions it names, of which the service accepts any. RFC 9110
 * §13.1.1 uses the strong comparison: a weak tag never matches, nor does a tag of another order (the tag embeds the
 * order id) or one this API never issued, so a list naming none of the order's versions matches nothing (412).
 */
export function expectedVersionOf(condition: Precondition, orderId: number): ExpectedVersion {
  if (condition.kind === 'missing') {
    throw new HttpProblem(
      428,
      'PRECONDITION_REQUIRED',
      'Precondition required',
      'Send If-Match with the ETag of the order version you last read, or * to act on whatever version is current',
    );
  }
  if (condition.kind === 'any') return null;
  return condition.tags.flatMap((tag) => {
    const match = tag.weak ? null : OUR_TAG.exec(tag.opaque);
    return match && Number(match[1]) === orderId ? [Number(match[2])] : [];
  });
}
