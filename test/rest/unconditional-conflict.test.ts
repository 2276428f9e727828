/**
 * An unconditional action (v2 `If-Match: *`, v1) retries its compare-and-swap; when it gives up, its error must not
 * name a version the client never sent (issue 12). The client sent no precondition, so a 412 "If-Match does not name
 * that version" would be false: it is the 409 conflict v1 already answered, with the state the order is in now.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VersionConflictError } from '../../src/domain/errors.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { rest } from '../support/rest-client.ts';

const service = setUpTestService();

/** Makes every compare-and-swap on orders lose, as if another writer always got there first. */
async function loseEveryRace() {
  await service.container.db.prisma.$executeRawUnsafe(
    'CREATE OR REPLACE FUNCTION test_skip_order_update() RETURNS trigger AS $$ BEGIN RETURN NULL; END $$ LANGUAGE plpgsql',
  );
  await service.container.db.prisma.$executeRawUnsafe(
    'CREATE TRIGGER test_skip_order_update BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION test_skip_order_update()',
  );
}

afterEach(async () => {
  await service.container.db.prisma.$executeRawUnsafe('DROP TRIGGER IF EXISTS test_skip_order_update ON orders');
});

describe(`Unconditional actions that give up (${backend})`, () => {
  it('report the current state and no expected version', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    await loseEveryRace();
    const error = await service.container.orders
      .acceptOrder({ actor: DEMO.restaurant1, orderId: order.id, expectedVersion: null })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(error).toMatchObject({ currentVersion: order.version, currentStatus: 'pending_acceptance', expectedVersion: null });
    expect((error as Error).message).not.toContain(`not ${order.version - 1}`);
  });

  it('are a 409 conflict with the current version and status in v2 (If-Match: *) and in v1', async () => {
    const order = await orderIn(service, 'pending_acceptance');
    await loseEveryRace();
    const v2 = await rest(service, DEMO.restaurant1, 'POST', `/api/v2/orders/${order.id}/acceptance`, { headers: { 'If-Match': '*' } });
    expect(v2.status).toBe(409);
    expect(v2.body).toMatchObject({ code: 'VERSION_CONFLICT', current_version: order.version, current_status: 'pending_acceptance' });
    expect(v2.body.detail).not.toMatch(/If-Match/);
    const v1 = await rest(service, DEMO.restaurant1, 'PUT', `/api/v1/orders/${order.id}`, { json: { status: 'preparing' } });
    expect(v1.status).toBe(409);
    expect(v1.body).toMatchObject({ code: 'VERSION_CONFLICT', current_status: 'pending_acceptance' });
  });
});
