/**
 * The one optimistic-lock write: UPDATE … WHERE id = $1 AND version = $2, raising the version by one,
 * in a single round trip with RETURNING. Never read-then-write without this guard.
 */
import type { Order, Prisma } from '../generated/prisma/client.ts';

/** Applies `data` if the order is still at `expected.version`; returns the new row, or null when it moved on. */
export async function compareAndSwap(
  tx: Prisma.TransactionClient,
  expected: Pick<Order, 'id' | 'version'>,
  data: Omit<Prisma.OrderUncheckedUpdateManyInput, 'version' | 'id'>,
): Promise<Order | null> {
  const [updated] = await tx.order.updateManyAndReturn({
    where: { id: expected.id, version: expected.version },
    data: { ...data, version: { increment: 1 }, updatedAt: new Date() },
  });
  return updated ?? null;
}
