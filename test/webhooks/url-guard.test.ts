/**
 * The production guard against server-side request forgery (SPEC §9): https only, and no loopback, private,
 * link-local or metadata address, both when an endpoint is registered and on the connection a delivery makes (so a
 * name that resolved to a public address at registration and to 127.0.0.1 later reaches nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventJson } from '../../rest-compat/v2/serialize.ts';
import { checkEndpointUrl } from '../../src/domain/webhooks/endpoint-url.ts';
import { Webhooks } from '../../src/domain/webhooks/webhooks.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';
import { placeOrder } from '../support/orders.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const refusal = (url: string) =>
  checkEndpointUrl(url, true).then(
    () => 'accepted',
    (error: { fields?: { path: string[]; message: string }[] }) => `${error.fields?.[0]?.path.join('.')}: ${error.fields?.[0]?.message}`,
  );

describe('endpoint URLs in production', () => {
  it('refuses http, and loopback, private, link-local and metadata addresses, by literal or by name', async () => {
    for (const url of ['http://127.0.0.1/', 'http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data/', 'http://example.com/']) {
      expect(await refusal(url), url).toBe('url: must be https');
    }
    for (const url of [
      'https://127.0.0.1/',
      'https://10.0.0.1/',
      'https://172.16.5.4/',
      'https://192.168.1.1/',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::1]/',
      'https://[fd00:ec2::254]/',
      'https://[::ffff:127.0.0.1]/',
      'https://0.0.0.0/',
      'https://100.64.0.1/',
      // A host name is resolved: localhost is loopback.
      'https://localhost/',
    ]) {
      expect(await refusal(url), url).toMatch(/^url: must be a public address: .* resolves to a \w+ address/);
    }
  });

  it('accepts a public https address, and anything http(s) outside production', async () => {
    expect(await refusal('https://93.184.216.34/hooks')).toBe('accepted');
    await expect(checkEndpointUrl('http://127.0.0.1:9999/hooks', false)).resolves.toBeInstanceOf(URL);
    await expect(checkEndpointUrl('http://10.0.0.1/hooks', false)).resolves.toBeInstanceOf(URL);
  });
});

describe(`the connection a production delivery makes (${backend})`, () => {
  const service = setUpTestService({ WEBHOOK_TIMEOUT_MS: '1000' });
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(() => receiver.close());

  it('refuses a name that resolves to loopback at delivery time, though registration let it through', async () => {
    const options = { ...service.config.webhooks, render: eventJson, retryBaseMs: 60_000 };
    // Registered while it looked fine (outside production here, standing in for DNS that changed since) ...
    const registrar = new Webhooks(service.container.db.prisma, { ...options, production: false });
    const { endpoint } = await registrar.create(DEMO.admin, {
      url: receiver.url('/rebound').replace('127.0.0.1', 'localhost'),
      events: ['*'],
    });
    // ... and delivered by the production sender, whose connections are checked (the service's own worker is
    // stopped so that it does not deliver first).
    await service.container.jobs.stop();
    await placeOrder(service);
    const production = new Webhooks(service.container.db.prisma, { ...options, production: true });
    try {
      await production.deliverDue(endpoint.id);
    } finally {
      production.close();
    }
    expect(receiver.received).toHaveLength(0);
    const { attempts } = await production.attempts(DEMO.admin, endpoint.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ statusCode: null, error: expect.stringMatching(/is not allowed/) });
    expect(attempts[0]!.nextRetryAt).not.toBeNull();

    // The same sender outside production reaches the receiver: the refusal above was the guard's.
    await service.container.db.prisma.webhookDelivery.updateMany({ data: { nextAttemptAt: new Date() } });
    await registrar.deliverDue(endpoint.id);
    registrar.close();
    expect(receiver.received).toHaveLength(1);
  });
});
