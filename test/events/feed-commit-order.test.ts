/**
 * The feed never steps over an event that commits late. Event ids are taken before commit, so a transaction that
 * took id N can commit after one that took N+1; a poller that had moved its cursor to N+1 would never see N. On
 * real PostgreSQL, with two connections: one holds an event uncommitted while the service commits later ones.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { rest } from '../support/rest-client.ts';

describe.runIf(backend === 'postgres')('the event feed and late commits (postgres)', () => {
  const service = setUpTestService();

  it('shows an event whose transaction committed after a later id’s, to a poller already past that id', async () => {
    const early = await orderIn(service, 'pending_payment');
    const feed = async (after?: string) =>
      (await rest(service, DEMO.admin, 'GET', `/api/v2/events?limit=100${after ? `&after=${after}` : ''}`)).body as {
        results: { id: string; type: string; data: { order: { id: number } } }[];
        next_cursor: string | null;
      };
    const first = await feed();
    expect(first.results).toHaveLength(1);

    // A transaction takes the next event id and holds it, uncommitted.
    const held = new pg.Client({ connectionString: service.config.databaseUrl });
    await held.connect();
    try {
      await held.query('BEGIN');
      const { rows } = await held.query<{ id: string }>(
        `INSERT INTO events (type, order_id, version, data)
         SELECT 'order.cancelled', order_id, 2, data FROM events WHERE order_id = $1 RETURNING id`,
        [early.id],
      );
      const heldId = `evt_${rows[0]!.id}`;

      // Meanwhile later ids commit, and a poller reads past them.
      const later = await orderIn(service, 'pending_payment');
      const second = await feed(first.next_cursor!);
      expect(second.results.map((event) => event.data.order.id)).toEqual([later.id]);
      const sequence = (id: string) => Number(id.slice('evt_'.length));
      expect(sequence(second.results[0]!.id)).toBeGreaterThan(sequence(heldId));

      // The held event commits last: the poller's next page has it.
      await held.query('COMMIT');
      const third = await feed(second.next_cursor!);
      expect(third.results.map((event) => event.id)).toEqual([heldId]);
      expect(await feed(third.next_cursor!)).toEqual({ results: [], next_cursor: heldId });
    } finally {
      await held.end();
    }
  });
});
