/**
 * An in-memory payment provider that speaks the subset of Stripe's API named in SPEC §8, as a Hono app.
 *
 * It exists so that the service's provider client, the official `stripe` SDK, and tests can all be exercised against
 * the same wire protocol without the network or a Stripe account: form-encoded bodies with bracket keys, Bearer
 * auth, Stripe's error envelope (`{"error": {"type", "code", "message", …}}`) and, above all, Stripe's
 * `Idempotency-Key` semantics, which the guarantees of §8 lean on:
 *
 * - the same key with the same method, path and parameters replays the first response (status and body) with
 *   `Idempotent-Replayed: true`;
 * - the same key with other parameters or another path → 400 `idempotency_error`;
 * - the same key while the first request with it is still being processed → 409 `idempotency_error`;
 * - keys are scoped per API key (Bearer token), as Stripe scopes them per account;
 * - every response an endpoint produced is stored, errors included (a decline, a validation 400, a 404), so a retry
 *   can never turn a refusal into a success; a request turned away before an endpoint ran (401, idempotency
 *   errors, unknown routes, a crash in the simulator) stores nothing.
 *
 * Everything lives in memory for the simulator's lifetime (no 24-hour key expiry). Inspection methods return
 * copies, so a test cannot change the provider's state behind its back.
 */
import { randomInt } from 'node:crypto';
import { type Context, Hono } from 'hono';

export type SimulatedPaymentIntent = {
  id: string;
  object: 'payment_intent';
  amount: number;
  currency: string;
  status: 'succeeded' | 'requires_payment_method';
  metadata: Record<string, string>;
  created: number;
};

export type SimulatedRefund = {
  id: string;
  object: 'refund';
  payment_intent: string;
  amount: number;
  status: 'succeeded';
  created: number;
};

/** One request as the provider saw it. */
export type SimulatedRequest = {
  method: string;
  path: string;
  key: string | null;
  params: Record<string, string>;
  status: number;
};

export type ProviderSimulator = {
  /** Hono app serving the Stripe subset; call app.fetch(request). */
  app: Hono;
  /** Every PaymentIntent ever created, oldest first. */
  paymentIntents(): SimulatedPaymentIntent[];
  /** Every refund ever created, oldest first. */
  refunds(): SimulatedRefund[];
  /** POST requests that came without an Idempotency-Key header. */
  postsWithoutKey(): number;
  /** Requests that reused an Idempotency-Key with other parameters (answered 400 idempotency_error). */
  keyReuses(): { key: string; path: string }[];
  /** Every request seen: method, path, idempotency key (or null), the parsed form params, and the HTTP status answered. */
  requests(): SimulatedRequest[];
};

export type ProviderSimulatorOptions = {
  /** When set, every request must carry `Authorization: Bearer <secretKey>`; otherwise any bearer is accepted. */
  secretKey?: string;
  /**
   * Artificial processing time of a POST, spent after its idempotency key is reserved and before its response is
   * stored: it makes "the first request with this key is still running" (→ 409) observable. A function picks the
   * delay per request. Default 0.
   */
  processingDelayMs?: number | ((request: { method: string; path: string; params: Record<string, string> }) => number);
  /**
   * Where the provider's books live between restarts. Without it they live in memory, and a restart would forget
   * charges that a persistent database still refers to (a refund after a restart would find no PaymentIntent).
   */
  store?: SimulatorStore;
};

/** What the simulator keeps: its PaymentIntents, refunds and the stored answers of its idempotency keys. */
export type SimulatorState = {
  intents: SimulatedPaymentIntent[];
  refunds: SimulatedRefund[];
  idempotency: [string, { fingerprint: string; response: { status: number; body: string } }][];
};
export type SimulatorStore = { load(): SimulatorState | undefined; save(state: SimulatorState): void };

/** Parameters as decoded from a form body or query string; bracket keys (`metadata[order_id]`) stay flat. */
type Params = Record<string, string>;

/** What an endpoint produced, before serialisation. */
type ApiResult = { status: number; body: unknown };

/** A response as stored for idempotent replay: the exact bytes, so a replay is indistinguishable from the first. */
type StoredResponse = { status: number; body: string };

/** One idempotency key: what it was first used for and, once the first request finished, its response. */
type IdempotencyEntry = { fingerprint: string; response: StoredResponse | null };

/** Stripe's payment method that always declines (https://docs.stripe.com/testing#declined-payments). */
const DECLINING_PAYMENT_METHOD = 'pm_card_chargeDeclined';
/** Stripe refuses longer keys. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
/** Stripe's default page size for lists and searches, and its maximum. */
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;
/** Stripe's amounts are at most eight digits. */
const MAX_AMOUNT = 99_999_999;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A Stripe-shaped random id such as `pi_3Pq…` (prefix, underscore, `length` alphanumerics). */
function newId(prefix: string, length = 24): string {
  let id = `${prefix}_`;
  for (let i = 0; i < length; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Stripe's error envelope. `extra` carries code, param, payment_intent, … */
function apiError(status: number, type: string, message: string, extra: Record<string, unknown> = {}): ApiResult {
  return { status, body: { error: { type, message, ...extra } } };
}

const invalidRequest = (status: number, message: string, extra: Record<string, unknown> = {}) =>
  apiError(status, 'invalid_request_error', message, extra);

const missingParam = (param: string) => invalidRequest(400, `Missing required param: ${param}.`, { code: 'parameter_missing', param });

/**
 * A positive integer parameter (`amount`, `limit`) or the error to answer. Stripe takes only decimal digits here:
 * `1e3`, `10.0` and `-5` are refused rather than coerced.
 */
function parsePositiveInteger(params: Params, param: string, max: number): number | ApiResult {
  const raw = params[param] ?? '';
  const value = /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value)) return invalidRequest(400, `Invalid integer: ${raw}`, { code: 'parameter_invalid_integer', param });
  if (value < 1 || value > max) {
    return invalidRequest(400, `Invalid ${param}: must be between 1 and ${max}`, { code: 'parameter_invalid_integer', param });
  }
  return value;
}

/** `metadata[KEY]=VALUE` parameters as a metadata object. */
function metadataOf(params: Params): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    const match = /^metadata\[([^\]]+)\]$/.exec(name);
    if (match) metadata[match[1]!] = value;
  }
  return metadata;
}

/**
 * A form body or query string as an ordered list of pairs (for the idempotency fingerprint, where a repeated key
 * must count) and as a record (for the endpoints and the request log; the last value of a repeated key wins).
 */
function decodeForm(encoded: string): { entries: [string, string][]; params: Params } {
  const entries = [...new URLSearchParams(encoded)];
  return { entries, params: Object.fromEntries(entries) };
}

/** What makes two uses of one idempotency key "the same request": method, path and every parameter, order-free. */
function fingerprintOf(method: string, path: string, entries: [string, string][]): string {
  const sorted = entries.map(([name, value]) => JSON.stringify([name, value])).sort();
  return `${method} ${path}\n${sorted.join('\n')}`;
}

/** The Bearer token of a request, or null. */
function bearerOf(c: Context): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('Authorization') ?? '');
  return match ? match[1]! : null;
}

/** An empty header counts as no key: there is nothing to deduplicate on. */
function idempotencyKeyOf(c: Context): string | null {
  const key = c.req.header('Idempotency-Key');
  return key ? key : null;
}

/** A JSON response with the headers Stripe sends on every answer. */
function respond(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { 'Content-Type': 'application/json', 'Request-Id': newId('req', 14), ...headers },
  });
}

const send = (result: ApiResult, headers: Record<string, string> = {}) => respond(result.status, JSON.stringify(result.body), headers);

/**
 * One clause of Stripe's search query language that the simulator understands: `metadata['KEY']:'VALUE'` or
 * `status:'VALUE'` / `currency:'VALUE'`, with single or double quotes. Clauses join with ` AND `.
 */
const METADATA_CLAUSE = /^metadata\[(?:'([^']*)'|"([^"]*)")\]\s*:\s*(?:'([^']*)'|"([^"]*)")$/;
const FIELD_CLAUSE = /^(status|currency)\s*:\s*(?:'([^']*)'|"([^"]*)")$/;

type SearchPredicate = (intent: SimulatedPaymentIntent) => boolean;

/** A search query as one predicate, or null when it is not in the subset above. */
function parseSearchQuery(query: string): SearchPredicate | null {
  const predicates: SearchPredicate[] = [];
  for (const clause of query.trim().split(/\s+AND\s+/)) {
    const metadata = METADATA_CLAUSE.exec(clause);
    if (metadata) {
      const key = metadata[1] ?? metadata[2]!;
      const value = metadata[3] ?? metadata[4]!;
      predicates.push((intent) => intent.metadata[key] === value);
      continue;
    }
    const field = FIELD_CLAUSE.exec(clause);
    if (field) {
      const name = field[1] as 'status' | 'currency';
      const value = field[2] ?? field[3]!;
      predicates.push((intent) => intent[name] === value);
      continue;
    }
    return null;
  }
  return (intent) => predicates.every((predicate) => predicate(intent));
}

/** Search pages are opaque strings to clients; here they carry the offset of the next page. */
const pageToken = (offset: number) => `sim_page_${offset}`;
const pageOffset = (token: string) => (/^sim_page_(\d+)$/.test(token) ? Number(token.slice('sim_page_'.length)) : null);

export function createProviderSimulator(options: ProviderSimulatorOptions = {}): ProviderSimulator {
  const saved = options.store?.load();
  const intents: SimulatedPaymentIntent[] = saved?.intents ?? [];
  const refunds: SimulatedRefund[] = saved?.refunds ?? [];
  const requestLog: SimulatedRequest[] = [];
  const keyReuses: { key: string; path: string }[] = [];
  /** Keyed by `<bearer>\n<key>`: keys are per API key, as Stripe keeps them per account. */
  const idempotency = new Map<string, IdempotencyEntry>(saved?.idempotency ?? []);
  /** Writes the books after every change (only answered keys: one in progress did not happen yet). */
  const persist = () =>
    options.store?.save({
      intents,
      refunds,
      idempotency: [...idempotency].flatMap(([key, entry]) => (entry.response ? [[key, { ...entry, response: entry.response }]] : [])),
    });
  let postsWithoutKey = 0;

  const delayOf = (method: string, path: string, params: Params): number => {
    const delay = options.processingDelayMs ?? 0;
    return typeof delay === 'function' ? delay({ method, path, params: { ...params } }) : delay;
  };

  const findIntent = (id: string) => intents.find((intent) => intent.id === id);
  const refundedAmount = (intentId: string) =>
    refunds.filter((refund) => refund.payment_intent === intentId).reduce((sum, refund) => sum + refund.amount, 0);

  // --- Endpoints: synchronous, so that a request's state change and its stored response can never be torn apart.

  function createPaymentIntent(params: Params): ApiResult {
    if (params.amount === undefined) return missingParam('amount');
    const amount = parsePositiveInteger(params, 'amount', MAX_AMOUNT);
    if (typeof amount !== 'number') return amount;
    if (params.currency === undefined) return missingParam('currency');
    if (!/^[a-z]{3}$/i.test(params.currency)) {
      return invalidRequest(400, `Invalid currency: ${params.currency}`, { code: 'parameter_invalid_string', param: 'currency' });
    }
    // The simulator models only what §8 sends: a charge confirmed at once with a payment method. An unconfirmed
    // PaymentIntent would be a state the service never creates, so it is refused loudly rather than half-modelled.
    if (params.confirm !== 'true') {
      return invalidRequest(400, 'This simulator only supports confirm=true.', { code: 'parameter_invalid_string', param: 'confirm' });
    }
    if (params.payment_method === undefined) return missingParam('payment_method');

    const declined = params.payment_method === DECLINING_PAYMENT_METHOD;
    const intent: SimulatedPaymentIntent = {
      id: newId('pi'),
      object: 'payment_intent',
      amount,
      currency: params.currency.toLowerCase(),
      status: declined ? 'requires_payment_method' : 'succeeded',
      metadata: metadataOf(params),
      created: nowSeconds(),
    };
    intents.push(intent);
    if (declined) {
      // Stripe answers a declined confirmation with 402 and the PaymentIntent, back in requires_payment_method.
      return apiError(402, 'card_error', 'Your card was declined.', {
        code: 'card_declined',
        decline_code: 'generic_decline',
        payment_intent: intent,
      });
    }
    return { status: 200, body: intent };
  }

  function createRefund(params: Params): ApiResult {
    const intentId = params.payment_intent;
    if (intentId === undefined) return missingParam('payment_intent');
    const intent = findIntent(intentId);
    if (!intent) {
      return invalidRequest(404, `No such payment_intent: '${intentId}'`, { code: 'resource_missing', param: 'payment_intent' });
    }
    if (intent.status !== 'succeeded') {
      return invalidRequest(400, `This PaymentIntent (${intent.id}) does not have a successful charge to refund.`, {
        code: 'payment_intent_unexpected_state',
        param: 'payment_intent',
      });
    }
    const remaining = intent.amount - refundedAmount(intent.id);
    if (remaining === 0) {
      return invalidRequest(400, `Charge for PaymentIntent ${intent.id} has already been refunded.`, { code: 'charge_already_refunded' });
    }
    let amount = remaining;
    if (params.amount !== undefined) {
      const requested = parsePositiveInteger(params, 'amount', MAX_AMOUNT);
      if (typeof requested !== 'number') return requested;
      if (requested > remaining) {
        return invalidRequest(400, `Refund amount (${requested}) is greater than unrefunded amount on charge (${remaining})`, {
          param: 'amount',
        });
      }
      amount = requested;
    }
    const refund: SimulatedRefund = {
      id: newId('re'),
      object: 'refund',
      payment_intent: intent.id,
      amount,
      status: 'succeeded',
      created: nowSeconds(),
    };
    refunds.push(refund);
    return { status: 200, body: refund };
  }

  function retrievePaymentIntent(id: string): ApiResult {
    const intent = findIntent(id);
    return intent
      ? { status: 200, body: intent }
      : invalidRequest(404, `No such payment_intent: '${id}'`, { code: 'resource_missing', param: 'intent' });
  }

  function searchPaymentIntents(params: Params): ApiResult {
    if (params.query === undefined) return missingParam('query');
    const predicate = parseSearchQuery(params.query);
    if (!predicate) {
      return invalidRequest(400, `This simulator cannot parse the search query: ${params.query}`, { param: 'query' });
    }
    const limit = params.limit === undefined ? DEFAULT_LIMIT : parsePositiveInteger(params, 'limit', MAX_LIMIT);
    if (typeof limit !== 'number') return limit;
    const offset = params.page === undefined ? 0 : pageOffset(params.page);
    if (offset === null) return invalidRequest(400, `Invalid page: ${params.page}`, { param: 'page' });

    const matches = intents.filter(predicate).reverse(); // newest first, as Stripe orders search results
    const hasMore = matches.length > offset + limit;
    return {
      status: 200,
      body: {
        object: 'search_result',
        data: matches.slice(offset, offset + limit),
        has_more: hasMore,
        next_page: hasMore ? pageToken(offset + limit) : null,
        url: '/v1/payment_intents/search',
      },
    };
  }

  function listRefunds(params: Params): ApiResult {
    const limit = params.limit === undefined ? DEFAULT_LIMIT : parsePositiveInteger(params, 'limit', MAX_LIMIT);
    if (typeof limit !== 'number') return limit;
    let matches = refunds
      .filter((refund) => params.payment_intent === undefined || refund.payment_intent === params.payment_intent)
      .reverse();
    if (params.starting_after !== undefined) {
      const index = matches.findIndex((refund) => refund.id === params.starting_after);
      if (index < 0) {
        return invalidRequest(404, `No such refund: '${params.starting_after}'`, { code: 'resource_missing', param: 'starting_after' });
      }
      matches = matches.slice(index + 1);
    }
    return {
      status: 200,
      body: { object: 'list', data: matches.slice(0, limit), has_more: matches.length > limit, url: '/v1/refunds' },
    };
  }

  // --- Idempotency around POST endpoints.

  /**
   * Runs a POST endpoint under Stripe's idempotency rules. The key is checked and reserved synchronously (no await
   * between the look-up and the reservation), so two concurrent requests with one key can never both run.
   */
  async function runPost(c: Context, endpoint: (params: Params) => ApiResult): Promise<Response> {
    const path = c.req.path;
    const { entries, params } = decodeForm(await c.req.text());
    const key = idempotencyKeyOf(c);

    const execute = async (): Promise<ApiResult> => {
      const delay = delayOf('POST', path, params);
      if (delay > 0) await sleep(delay);
      return endpoint(params);
    };

    if (key === null) {
      const result = await execute();
      persist();
      return send(result);
    }
    if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      return send(invalidRequest(400, `Idempotency-Key is too long (at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters).`));
    }

    const echo = { 'Idempotency-Key': key };
    const scopedKey = `${bearerOf(c)}\n${key}`;
    const fingerprint = fingerprintOf('POST', path, entries);
    const existing = idempotency.get(scopedKey);
    if (existing) {
      // A key used for something else is a client bug whatever the timing, so it is reported as such even while the
      // first request still runs: waiting and retrying (what a 409 invites) could never make it succeed.
      if (existing.fingerprint !== fingerprint) {
        keyReuses.push({ key, path });
        return send(
          apiError(
            400,
            'idempotency_error',
            `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          ),
          echo,
        );
      }
      if (existing.response === null) {
        return send(
          apiError(
            409,
            'idempotency_error',
            `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
          ),
          echo,
        );
      }
      return respond(existing.response.status, existing.response.body, { ...echo, 'Idempotent-Replayed': 'true' });
    }

    const entry: IdempotencyEntry = { fingerprint, response: null };
    idempotency.set(scopedKey, entry);
    try {
      const result = await execute();
      entry.response = { status: result.status, body: JSON.stringify(result.body) };
      persist();
      return respond(entry.response.status, entry.response.body, echo);
    } catch (error) {
      // The endpoint never produced a response: free the key so that a retry runs afresh instead of meeting a 409
      // for ever.
      idempotency.delete(scopedKey);
      throw error;
    }
  }

  // --- The app.

  const app = new Hono();

  // Logging, counting and authentication come first so that they cover every request, unknown routes included.
  app.use('*', async (c, next) => {
    const method = c.req.method;
    const key = idempotencyKeyOf(c);
    // Hono caches the body, so the endpoint can read it again.
    const params = method === 'POST' ? decodeForm(await c.req.text()).params : c.req.query();
    const entry: SimulatedRequest = { method, path: c.req.path, key, params, status: 0 };
    requestLog.push(entry); // in arrival order, even when responses finish out of order
    if (method === 'POST' && key === null) postsWithoutKey++;

    const bearer = bearerOf(c);
    if (bearer === null || (options.secretKey !== undefined && bearer !== options.secretKey)) {
      entry.status = 401;
      return send(
        invalidRequest(
          401,
          bearer === null
            ? "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
            : `Invalid API Key provided: ${bearer.slice(0, 8)}${'*'.repeat(Math.max(0, bearer.length - 12))}${bearer.slice(-4)}`,
        ),
      );
    }
    await next();
    entry.status = c.res.status;
  });

  app.post('/v1/payment_intents', (c) => runPost(c, createPaymentIntent));
  app.post('/v1/refunds', (c) => runPost(c, createRefund));
  // Registered before /:id, which would otherwise take "search" for an id.
  app.get('/v1/payment_intents/search', (c) => send(searchPaymentIntents(c.req.query())));
  app.get('/v1/payment_intents/:id', (c) => send(retrievePaymentIntent(c.req.param('id'))));
  app.get('/v1/refunds', (c) => send(listRefunds(c.req.query())));

  app.notFound((c) =>
    send(
      invalidRequest(
        404,
        `Unrecognized request URL (${c.req.method}: ${c.req.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      ),
    ),
  );
  app.onError((error) => send(apiError(500, 'api_error', `Simulator failure: ${error instanceof Error ? error.message : String(error)}`)));

  return {
    app,
    paymentIntents: () => intents.map((intent) => structuredClone(intent)),
    refunds: () => refunds.map((refund) => structuredClone(refund)),
    postsWithoutKey: () => postsWithoutKey,
    keyReuses: () => keyReuses.map((reuse) => ({ ...reuse })),
    requests: () => requestLog.map((request) => ({ ...request, params: { ...request.params } })),
  };
}
