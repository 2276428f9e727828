/**
 * The receiver example in docs/ works against real deliveries: it accepts what the service signs, prints each event
 * once (a redelivery is acknowledged and ignored), and refuses a body that was not signed with its secret.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signatureHeader } from '../../src/domain/webhooks/signature.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';
import { rest } from '../support/rest-client.ts';
import { freePort } from '../support/server-process.ts';

const service = setUpTestService();
let receiver: ChildProcessWithoutNullStreams | undefined;
afterEach(() => {
  receiver?.kill();
});

describe(`docs/webhook-receiver.mjs (${backend})`, () => {
  it('verifies, dedupes by event id and prints each event once', async () => {
    const port = await freePort();
    const registered = await rest(service, DEMO.restaurant1, 'POST', '/api/v2/webhook-endpoints', {
      json: { url: `http://127.0.0.1:${port}/quickeats`, events: ['*'] },
    });
    expect(registered.status).toBe(201);
    receiver = spawn(process.execPath, [path.resolve('docs/webhook-receiver.mjs')], {
      env: { ...process.env, WEBHOOK_SECRET: registered.body.secret, PORT: String(port) },
    });
    let output = '';
    receiver.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await once(receiver.stdout, 'data');

    const order = await orderIn(service, 'preparing');
    const deadline = Date.now() + 15_000;
    while (output.split('\n').filter((line) => line.startsWith('evt_')).length < 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lines = output.split('\n').filter((line) => line.startsWith('evt_'));
    expect(lines.map((line) => line.split(' ').slice(1).join(' '))).toEqual([
      `order.created order ${order.id} v1`,
      `order.paid order ${order.id} v2`,
      `order.accepted order ${order.id} v3`,
    ]);

    // A redelivery (same event, signed again) is acknowledged and not handled twice; a forged one is refused.
    const event = (await rest(service, DEMO.restaurant1, 'GET', '/api/v2/events?limit=1')).body.results[0];
    const body = JSON.stringify(event);
    const send = (signature: string) =>
      fetch(`http://127.0.0.1:${port}/quickeats`, { method: 'POST', body, headers: { 'QuickEats-Signature': signature } });
    expect((await send(signatureHeader(registered.body.secret, body))).status).toBe(200);
    expect((await send(signatureHeader('whsec_forged', body))).status).toBe(400);
    expect((await send(signatureHeader(registered.body.secret, body, Math.floor(Date.now() / 1000) - 3600))).status).toBe(400);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(output.split('\n').filter((line) => line.startsWith('evt_'))).toHaveLength(3);
  });
});
