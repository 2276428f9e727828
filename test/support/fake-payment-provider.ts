/**
 * The provider simulator (src/domain/payments/provider-simulator.ts) served over real HTTP on a loopback port,
 * with the faults SPEC §8 says a provider may have, on demand: 5xx answers, lost responses (before or after the
 * charge happened), slowness, and refused connections.
 *
 * Real sockets matter here: what a client sees when a connection is reset, refused or times out (and what the
 * `stripe` SDK does about it, e.g. retrying a reset connection once) only shows up over TCP.
 *
 * Faults that answer or drop a request before it reaches the simulator (`status`, `drop-before-processing`, and a
 * refused connection) leave no trace in the simulator's counters, exactly as a request lost on the way to a real
 * provider would.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  createProviderSimulator,
  type ProviderSimulator,
  type ProviderSimulatorOptions,
  type SimulatedPaymentIntent,
  type SimulatedRefund,
} from '../../src/domain/payments/provider-simulator.ts';

export type Fault =
  /** Answer this status (e.g. 503) with a Stripe-style api_error body, without processing. */
  | { kind: 'status'; status: number }
  /** Process the request (the charge or refund happens), then destroy the socket without answering. */
  | { kind: 'drop-after-processing' }
  /** Destroy the socket without processing. */
  | { kind: 'drop-before-processing' }
  /** Wait ms, then process and answer normally. */
  | { kind: 'delay'; ms: number };

export type FaultMatch = { method?: string; pathPrefix?: string; times?: number };

export type FakePaymentProvider = {
  /** http://127.0.0.1:<port> */
  url: string;
  secretKey: string;
  simulator: ProviderSimulator;
  /** The next `times` (default 1) requests matching (method, path prefix) get this fault; returns a function that removes it. */
  inject(fault: Fault, match?: FaultMatch): () => void;
  /** Stop accepting connections (connection refused) until up(); up() listens on the same port again. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Succeeded PaymentIntents whose metadata[order_id] is this id. */
  succeededCharges(orderId: number | string): SimulatedPaymentIntent[];
  refundsFor(paymentIntentId: string): SimulatedRefund[];
  close(): Promise<void>;
};

/** An injected fault and how many more requests it applies to. */
type FaultRule = { fault: Fault; method: string | null; pathPrefix: string; remaining: number };

/** Hop-by-hop headers describe the node connection, not the request; `Request` recomputes content-length itself. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
  'content-length',
]);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The node request as a fetch `Request` for the Hono app. */
function toRequest(req: IncomingMessage, origin: string, body: Buffer): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (!NOT_FORWARDED.has(name.toLowerCase())) headers.append(name, req.rawHeaders[i + 1]!);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  return new Request(new URL(req.url ?? '/', origin), { method, headers, body: hasBody ? new Uint8Array(body) : null });
}

/** Streams a fetch `Response` back on the node response. */
async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  // The client may have gone away meanwhile (its own timeout, or down()): there is nobody left to answer.
  if (res.destroyed) return;
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) {
        await reader.cancel();
        return;
      }
      res.write(value);
    }
  }
  res.end();
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export async function startFakePaymentProvider(
  options: { port?: number; processingDelayMs?: ProviderSimulatorOptions['processingDelayMs'] } = {},
): Promise<FakePaymentProvider> {
  const secretKey = `sk_test_${randomBytes(18).toString('hex')}`;
  const simulator = createProviderSimulator({ secretKey, processingDelayMs: options.processingDelayMs });
  const rules: FaultRule[] = [];
  // Every open socket, so that down() can cut keep-alive connections too (the SDK's agent keeps them open):
  // otherwise a client would go on talking to a provider that is supposed to be unreachable.
  const sockets = new Set<Socket>();
  let origin = '';

  /** The fault for this request, if any, consuming one of its `times`. */
  function takeFault(method: string, path: string): Fault | null {
    const index = rules.findIndex((rule) => (rule.method === null || rule.method === method) && path.startsWith(rule.pathPrefix));
    if (index < 0) return null;
    const rule = rules[index]!;
    rule.remaining--;
    if (rule.remaining <= 0) rules.splice(index, 1);
    return rule.fault;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The body is read first in every case, so that even a dropped request was fully sent: the client then sees
    // the connection reset while waiting for the answer, as when a provider dies mid-request.
    const body = await readBody(req);
    const method = req.method ?? 'GET';
    const fault = takeFault(method, new URL(req.url ?? '/', origin).pathname);

    if (fault?.kind === 'drop-before-processing') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      const error = { error: { type: 'api_error', message: `Simulated provider fault: HTTP ${fault.status}.` } };
      await writeResponse(res, Response.json(error, { status: fault.status }));
      return;
    }
    if (fault?.kind === 'delay') await sleep(fault.ms);

    const response = await simulator.app.fetch(toRequest(req, origin, body));
    if (fault?.kind === 'drop-after-processing') {
      await response.arrayBuffer(); // the simulator has finished: the charge or refund exists
      req.socket.destroy();
      return;
    }
    await writeResponse(res, response);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in the fake itself: answer like a failing provider rather than leaving the client hanging.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: `Fake provider failure: ${String(error)}` } }));
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await listen(server, options.port ?? 0);
  // Kept for up(): the port is only ours while we listen, but an ephemeral port is very unlikely to be taken by
  // someone else during the short outages tests simulate.
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  async function down(): Promise<void> {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    for (const socket of sockets) socket.destroy();
    await closed;
  }

  async function up(): Promise<void> {
    if (server.listening) return;
    await listen(server, port);
  }

  return {
    url: origin,
    secretKey,
    simulator,
    inject(fault, match = {}) {
      const times = match.times ?? 1;
      if (!(times >= 1)) throw new Error(`inject: times must be at least 1, got ${times}`);
      const rule: FaultRule = { fault, method: match.method?.toUpperCase() ?? null, pathPrefix: match.pathPrefix ?? '/', remaining: times };
      rules.push(rule);
      return () => {
        const index = rules.indexOf(rule);
        if (index >= 0) rules.splice(index, 1);
      };
    },
    down,
    up,
    succeededCharges: (orderId) =>
      simulator.paymentIntents().filter((intent) => intent.status === 'succeeded' && intent.metadata.order_id === String(orderId)),
    refundsFor: (paymentIntentId) => simulator.refunds().filter((refund) => refund.payment_intent === paymentIntentId),
    async close() {
      rules.length = 0;
      await down();
    },
  };
}
