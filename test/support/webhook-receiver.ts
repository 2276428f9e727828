/**
 * A real HTTP webhook receiver for tests: listens on a free port, records every request (raw body and headers), and
 * answers 200 unless told otherwise: `fail(path, statuses)` answers those statuses to the next requests on a path,
 * `hang(path, times)` leaves the next requests unanswered (the sender's timeout), `slow(path, ms)` answers every
 * request late. It also notes overlapping requests per path, so tests can check one sender at a time.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Received = {
  path: string;
  eventId: string;
  body: string;
  json: { id: string; type: string; created_at: string; data: { order: { id: number; version: number; restaurant_id: number } } };
  headers: IncomingHttpHeaders;
  /** The status this receiver answered (0: left hanging). */
  answered: number;
  at: number;
};

export type WebhookReceiver = {
  url(path: string): string;
  received: Received[];
  /** Requests acknowledged with a 2xx, in arrival order. */
  acknowledged(path?: string): Received[];
  fail(path: string, statuses: number[]): void;
  hang(path: string, times: number): void;
  slow(path: string, ms: number): void;
  /** The most requests one path had in flight at once. */
  maxInFlight(path: string): number;
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
};

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const failures = new Map<string, number[]>();
  const hangs = new Map<string, number>();
  const delays = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const peak = new Map<string, number>();
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      inFlight.set(path, (inFlight.get(path) ?? 0) + 1);
      peak.set(path, Math.max(peak.get(path) ?? 0, inFlight.get(path)!));
      const entry: Received = {
        path,
        eventId: String(request.headers['quickeats-event-id']),
        body,
        json: JSON.parse(body),
        headers: request.headers,
        answered: 0,
        at: Date.now(),
      };
      received.push(entry);
      const done = () => inFlight.set(path, inFlight.get(path)! - 1);
      const hanging = hangs.get(path) ?? 0;
      if (hanging > 0) {
        hangs.set(path, hanging - 1);
        // Never answered: the sender gives up, and the socket closes with it.
        request.socket.on('close', done);
        return;
      }
      const status = failures.get(path)?.shift() ?? 200;
      setTimeout(() => {
        entry.answered = status;
        done();
        response.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
      }, delays.get(path) ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    acknowledged: (path) => received.filter((entry) => entry.answered >= 200 && entry.answered < 300 && (!path || entry.path === path)),
    fail: (path, statuses) => failures.set(path, [...statuses]),
    hang: (path, times) => hangs.set(path, times),
    slow: (path, ms) => delays.set(path, ms),
    maxInFlight: (path) => peak.get(path) ?? 0,
    async waitFor(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline)
          throw new Error(`webhook receiver: condition not met within ${timeoutMs} ms (${received.length} received)`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
