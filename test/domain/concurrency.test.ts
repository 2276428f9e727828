/**
 * Concurrent actions through the real service on the real database (SPEC §7): of conflicting actions exactly one
 * succeeds, the others get VersionConflictError (412) or InvalidTransitionError (409), and what is stored is what the
 * winner was told.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { InvalidTransitionError, VersionConflictError } from '../../src/domain/errors.ts';
import type { ActionResult } from '../../src/domain/orders/order.service.ts';
import { commitOrderChange } from '../../src/domain/orders/order-change.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';

// The compare-and-swap statement, wrapped so that a test can hold it back; it runs unchanged otherwise.
vi.mock(import('../../src/domain/orders/order-change.ts'), async (original) => {
  const actual = await original();
  return { ...actual, commitOrderChange: vi.fn(actual.commitOrderChange) };
});

const service = setUpTestService();
afterEach(() => vi.mocked(commitOrderChange).mockReset());

/**
 * Holds the first `parties` compare-and-swap writes until all of them have arrived, so every racer has read the same
 * version before anyone writes: the race is then decided by the database, not by scheduling luck.
 */
function collideAtWrite(parties: number) {
  const commit = vi.mocked(commitOrderChange);
  const original = commit.getMockImplementation()!;
  let arrived = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  // Never hang a test if fewer racers get that far.
  const fallback = setTimeout(open, 5_000);
  commit.mockImplementation(async (...args) => {
    if (arrived < parties) {
      arrived += 1;
      if (arrived === parties) {
        clearTimeout(fallback);
        open();
      }
      await gate;
    }
    return original(...args);
  });
  return { arrived: () => arrived };
}

/** Settles every call and splits the outcomes. */
async function race(calls: (() => Promise<ActionResult>)[]) {
  const settled = await Promise.allSettled(calls.map((call) => call()));
  const wins = settled.flatMap((s, index) => (s.status === 'fulfilled' ? [{ index, result: s.value }] : []));
  const errors = settled.flatMap((s, index) => (s.status === 'rejected' ? [{ index, error: s.reason as unknown }] : []));
  return { wins, errors };
}

async function stored(orderId: number) {
  const prisma = service.container.db.prisma;
  const order = await prisma.order.findUniqueOrThrow({ where: { id: orderId } });
  const events = await prisma.orderEvent.findMany({ where: { orderId }, orderBy: { version: 'asc' } });
  return { order, events };
}

describe(`concurrent actions (${backend})`, () => {
  it('20 concurrent acceptOrder with one expectedVersion: one success, 19 VersionConflictError, version +1, one event', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    const collision = collideAtWrite(20);
    const { wins, errors } = await race(
      Array.from(
        { length: 20 },
        () => () => service.container.orders.acceptOrder({ actor: DEMO.restaurant1, orderId: order.id, expectedVersion: order.version }),
      ),
    );
    expect(collision.arrived()).toBe(20);
    expect(wins).toHaveLength(1);
    expect(errors).toHaveLength(19);
    for (const { error } of errors) {
      expect(error).toBeInstanceOf(VersionConflictError);
      expect(error).toMatchObject({ currentVersion: order.version + 1, currentStatus: 'preparing' });
    }
    expect(wins[0]!.result.order).toMatchObject({ status: 'preparing', version: order.version + 1 });
    const after = await stored(order.id);
    expect(after.order).toMatchObject({ status: 'preparing', version: order.version + 1 });
    expect(after.events).toHaveLength(order.version + 1);
    expect(after.events.filter((event) => event.action === 'accept')).toHaveLength(1);
  });

  it('cancelOrder (customer) racing acceptOrder (restaurant): exactly one wins, every time, and its status is stored', async () => {
    for (let round = 0; round < 10; round++) {
      const order = await orderIn(service, 'pending_acceptance');
      // Half the rounds force both past their reads before either writes; the others race freely.
      vi.restoreAllMocks();
      if (round % 2 === 0) collideAtWrite(2);
      const { wins, errors } = await race([
        () => service.container.orders.cancelOrder({ actor: DEMO.customer1, orderId: order.id, expectedVersion: order.version }),
        () => service.container.orders.acceptOrder({ actor: DEMO.restaurant1, orderId: order.id, expectedVersion: order.version }),
      ]);
      expect(wins, `round ${round}`).toHaveLength(1);
      expect(errors[0]!.error).toBeInstanceOf(VersionConflictError);
      const winner = wins[0]!.result.order;
      const after = await stored(order.id);
      expect(after.order.status).toBe(winner.status);
      expect(after.order.status).toBe(wins[0]!.index === 0 ? 'cancelled' : 'preparing');
      expect(after.order.version).toBe(order.version + 1);
      expect(after.events).toHaveLength(order.version + 1);
      const refunds = await service.container.db.prisma.refund.count({ where: { orderId: order.id } });
      expect(refunds).toBe(after.order.status === 'cancelled' ? 1 : 0);
    }
  });

  it('unconditional (expectedVersion: null) cancel vs accept: one wins, the other is an illegal transition, not a conflict', async () => {
    for (let round = 0; round < 5; round++) {
      const order = await orderIn(service, 'pending_acceptance');
      // Even rounds make the loser lose the compare-and-swap and retry on a fresh read; odd rounds race freely.
      vi.restoreAllMocks();
      if (round % 2 === 0) collideAtWrite(2);
      const { wins, errors } = await race([
        () => service.container.orders.cancelOrder({ actor: DEMO.customer1, orderId: order.id, expectedVersion: null }),
        () => service.container.orders.acceptOrder({ actor: DEMO.restaurant1, orderId: order.id, expectedVersion: null }),
      ]);
      expect(wins, `round ${round}`).toHaveLength(1);
      expect(errors).toHaveLength(1);
      const winnerStatus = wins[0]!.result.order.status;
      expect(errors[0]!.error).toBeInstanceOf(InvalidTransitionError);
      expect(errors[0]!.error).toMatchObject({ currentStatus: winnerStatus });
      const after = await stored(order.id);
      expect(after.order).toMatchObject({ status: winnerStatus, version: order.version + 1 });
      expect(after.events).toHaveLength(order.version + 1);
    }
  });

  it('two compatible unconditional actions racing both apply (the server retries its compare-and-swap)', async () => {
    const order = await orderIn(service, 'preparing');
    // A claim and a preparation-complete do not exclude each other: with If-Match: * both must succeed.
    collideAtWrite(2);
    const { wins, errors } = await race([
      () => service.container.orders.assignRider({ actor: DEMO.rider1, orderId: order.id, expectedVersion: null }),
      () => service.container.orders.completeOrderPreparation({ actor: DEMO.restaurant1, orderId: order.id, expectedVersion: null }),
    ]);
    expect(errors.map((e) => e.error)).toEqual([]);
    expect(wins).toHaveLength(2);
    const after = await stored(order.id);
    expect(after.order).toMatchObject({ status: 'ready_for_pickup', riderId: 1, version: order.version + 2 });
    expect(after.events).toHaveLength(order.version + 2);
  });

  const riders: [string, Actor, Actor][] = [
    ['rider 1 and rider 2', DEMO.rider1, DEMO.rider2],
    ['rider 2 and rider 1', DEMO.rider2, DEMO.rider1],
  ];

  it.each(riders)('%s claiming one order unconditionally: one wins, the other gets InvalidTransitionError', async (_name, a, b) => {
    for (const status of ['preparing', 'ready_for_pickup'] as const) {
      const order = await orderIn(service, status);
      vi.restoreAllMocks();
      collideAtWrite(2);
      const { wins, errors } = await race([
        () => service.container.orders.assignRider({ actor: a, orderId: order.id, expectedVersion: null }),
        () => service.container.orders.assignRider({ actor: b, orderId: order.id, expectedVersion: null }),
      ]);
      expect(wins).toHaveLength(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.error).toBeInstanceOf(InvalidTransitionError);
      expect(errors[0]!.error).toMatchObject({ currentStatus: status, allowedActions: [] });
      const winner = [a, b][wins[0]!.index]!;
      const after = await stored(order.id);
      expect(after.order).toMatchObject({ status, riderId: winner.id, version: order.version + 1 });
    }
  });

  it('two riders claiming one order with the same expectedVersion: one wins, the loser gets 412 then, on re-read, 409', async () => {
    const order = await orderIn(service, 'preparing');
    collideAtWrite(2);
    const { wins, errors } = await race([
      () => service.container.orders.assignRider({ actor: DEMO.rider1, orderId: order.id, expectedVersion: order.version }),
      () => service.container.orders.assignRider({ actor: DEMO.rider2, orderId: order.id, expectedVersion: order.version }),
    ]);
    expect(wins).toHaveLength(1);
    // SPEC §5 precedence: a stale version (412) wins over an illegal transition (409); never 403/404.
    expect(errors[0]!.error).toBeInstanceOf(VersionConflictError);
    const loser = [DEMO.rider1, DEMO.rider2][errors[0]!.index]!;
    const current = (await stored(order.id)).order;
    await expect(
      service.container.orders.assignRider({ actor: loser, orderId: order.id, expectedVersion: current.version }),
    ).rejects.toBeInstanceOf(InvalidTransitionError);
    expect((await stored(order.id)).order).toMatchObject({
      riderId: [DEMO.rider1, DEMO.rider2][wins[0]!.index]!.id,
      version: order.version + 1,
    });
  });

  it('a claim racing preparation-complete with the same expectedVersion: one wins, the other must re-read (412)', async () => {
    const order = await orderIn(service, 'preparing');
    collideAtWrite(2);
    const { wins, errors } = await race([
      () => service.container.orders.assignRider({ actor: DEMO.rider1, orderId: order.id, expectedVersion: order.version }),
      () =>
        service.container.orders.completeOrderPreparation({ actor: DEMO.restaurant1, orderId: order.id, expectedVersion: order.version }),
    ]);
    expect(wins).toHaveLength(1);
    expect(errors[0]!.error).toBeInstanceOf(VersionConflictError);
    expect((await stored(order.id)).order.version).toBe(order.version + 1);
  });
});
