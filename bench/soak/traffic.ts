/**
 * The soak's traffic: closed-loop workers, each with one request in flight, mixing
 * - reads: GraphQL order lists (with restaurant, rider, items) and single orders, REST v2 lists with `include`
 *   and single orders with If-None-Match, and another customer's order (404);
 * - life cycles: an order created and driven to an end (delivered, payment_failed, cancelled before or after paying,
 *   rejected), each step on a transport picked at random, tracking the order's version as it goes;
 * - replays: a step sent again with the same idempotency key and body (expects `replayed` / `Idempotent-Replayed`);
 * - conflicts: a step sent with the previous version first (expects 412 / VersionConflictError), and the restaurant
 *   accepting an order it already accepted (409 / InvalidTransitionError);
 * - races: a worker at a contested step offers the order on a board; another worker takes it and both act at once
 *   with the same version (accept vs cancel, preparation-complete vs claim, rider 1 vs rider 2 claiming). Exactly
 *   one must win; the loser gets 412.
 */
import { randomUUID } from 'node:crypto';
import type { Actor } from '../../src/domain/auth.ts';
import { DEMO_ACTORS } from '../../src/infra/seed.ts';
import type { Api, Expect, GraphQLReply, RestReply } from './api.ts';
import type { Recorder } from './stats.ts';

/** How often each kind of traffic happens. */
const MIX = {
  /** A free worker takes a waiting race offer with this probability… */
  takeRace: 0.5,
  /** …otherwise it drives an order through its life with this one, else sends a burst of reads. */
  lifecycle: 0.55,
  readsPerBurst: 4,
  /** Per step of a life cycle: */
  readBetweenSteps: 0.3,
  staleFirst: 0.1,
  replay: 0.15,
  illegalProbe: 0.04,
  offerRace: 0.35,
  /** The key is required for pay; the other actions send one this often (so they can be replayed too). */
  optionalKey: 0.5,
} as const;

const RACE_WAIT_MS = 250;
const MAX_STEPS = 24;
const RECENT_KEPT = 256;

const CUSTOMERS = [1, 2] as const;
const RESTAURANT_MENUS: Record<number, readonly number[]> = { 1: [1, 2, 3], 2: [5, 6, 7] };
const ADMIN: Actor = { role: 'admin', id: 1 };
const PAYMENT_METHODS = ['card', 'bank_transfer', 'wallet'] as const;

type Transport = 'gql' | 'rest';
type Kind = 'action' | 'replay' | 'stale' | 'illegal' | 'race';
type Plan = 'deliver' | 'decline' | 'cancel_unpaid' | 'cancel_paid' | 'reject';
type ActionName = 'pay' | 'decline' | 'cancel' | 'accept' | 'reject' | 'complete' | 'claim' | 'pickup' | 'deliver';

const PLANS: [Plan, number][] = [
  ['deliver', 70],
  ['decline', 7],
  ['cancel_unpaid', 7],
  ['cancel_paid', 8],
  ['reject', 8],
];

/** What a worker knows about an order (REST spelling of statuses). */
export type OrderView = {
  id: number;
  version: number;
  status: string;
  riderId: number | null;
  total: number;
  customerId: number;
  restaurantId: number;
};

type Owners = Pick<OrderView, 'customerId' | 'restaurantId'>;

/** Each action's GraphQL mutation, REST v2 path segment, and the status it leads to. */
const ACTIONS: Record<ActionName, { mutation: string; path: string; to: (from: string) => string }> = {
  pay: { mutation: 'payOrder', path: 'payment', to: () => 'pending_acceptance' },
  decline: { mutation: 'payOrder', path: 'payment', to: () => 'payment_failed' },
  cancel: { mutation: 'cancelOrder', path: 'cancellation', to: () => 'cancelled' },
  accept: { mutation: 'acceptOrder', path: 'acceptance', to: () => 'preparing' },
  reject: { mutation: 'rejectOrder', path: 'rejection', to: () => 'rejected' },
  complete: { mutation: 'completeOrderPreparation', path: 'preparation-complete', to: () => 'ready_for_pickup' },
  claim: { mutation: 'assignRider', path: 'rider-assignment', to: (from) => from },
  pickup: { mutation: 'pickUpOrder', path: 'pickup', to: () => 'in_transit' },
  deliver: { mutation: 'deliverOrder', path: 'delivery', to: () => 'delivered' },
};

/** One concrete action request; sending the same object twice is a faithful replay (same key, same body). */
type ActionRequest = {
  action: ActionName;
  actor: Actor;
  transport: Transport;
  orderId: number;
  /** GraphQL answers do not repeat these, so the request carries them for reading the answer. */
  owners: Owners;
  expectedVersion: number;
  key: string | undefined;
  paymentMethod?: string;
  amount?: number;
  reason?: string;
};

type ActionReply = { status: number; order: OrderView | null; replayed: boolean; etag: string | undefined; currentVersion: number | null };

/** Counters of the scenario-level checks, reported beside the per-response verdicts. */
export type ScenarioCounters = {
  ordersCreated: number;
  ordersFinished: Record<string, number>;
  replaysSent: number;
  racesOffered: number;
  racesRun: number;
  raceWins: { offerer: number; taker: number };
  raceViolations: number;
};

const random = Math.random;
const chance = (p: number) => random() < p;
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
const weighted = <T>(choices: [T, number][]): T => {
  let roll = random() * choices.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [choice, weight] of choices) {
    roll -= weight;
    if (roll < 0) return choice;
  }
  return choices[0]![0];
};

/** The ETag REST gives a version of an order (SPEC §5: it depends only on id and version). */
const tagOf = (order: Pick<OrderView, 'id' | 'version'>) => `"o${order.id}-v${order.version}"`;
const customer = (order: OrderView): Actor => ({ role: 'customer', id: order.customerId });
const restaurant = (order: OrderView): Actor => ({ role: 'restaurant', id: order.restaurantId });
const rider = (id: number): Actor => ({ role: 'rider', id });
const otherRider = (id: number) => (id === 1 ? 2 : 1);
const TERMINAL = new Set(['payment_failed', 'rejected', 'cancelled', 'delivered']);

const GQL_ORDER_FIELDS = 'databaseId status version totalAmount rider { databaseId }';
const GQL_ORDERS = `query SoakOrders($first: Int!) {
  result: orders(first: $first) {
    edges { node { databaseId status version totalAmount restaurant { databaseId name } rider { databaseId name } items { name quantity unitPrice lineTotal } } }
  }
}`;
const GQL_ORDER = `query SoakOrder($id: ID!) {
  result: order(id: $id) { ${GQL_ORDER_FIELDS} availableActions history { version action toStatus } }
}`;
const GQL_CREATE = `mutation SoakCreate($input: CreateOrderInput!) {
  result: createOrder(input: $input) {
    __typename
    ... on CreateOrderSuccess { replayed order { ${GQL_ORDER_FIELDS} } }
    ... on Error { code message }
  }
}`;

const mutationFor = (mutation: string) => {
  const type = mutation[0]!.toUpperCase() + mutation.slice(1);
  return `mutation Soak${type}($orderId: ID!, $expectedVersion: Int!, $input: ${type}Input!) {
  result: ${mutation}(orderId: $orderId, expectedVersion: $expectedVersion, input: $input) {
    __typename
    ... on ${type}Success { replayed order { ${GQL_ORDER_FIELDS} } }
    ... on VersionConflictError { currentVersion currentStatus }
    ... on InvalidTransitionError { currentStatus }
    ... on Error { code message }
  }
}`;
};
const GQL_MUTATIONS = new Map(Object.values(ACTIONS).map(({ mutation }) => [mutation, mutationFor(mutation)]));

/** An order view from a REST order body, or null when the body is not one. */
function fromRest(json: any): OrderView | null {
  if (typeof json?.id !== 'number' || typeof json.version !== 'number') return null;
  return {
    id: json.id,
    version: json.version,
    status: json.status,
    riderId: json.rider_id ?? null,
    total: json.total_amount,
    customerId: json.customer_id,
    restaurantId: json.restaurant_id,
  };
}

/** An order view from a GraphQL Order selection (GQL_ORDER_FIELDS); customer and restaurant come from `owners`. */
function fromGraphQL(order: any, owners: Owners): OrderView | null {
  if (typeof order?.databaseId !== 'number') return null;
  return {
    id: order.databaseId,
    version: order.version,
    status: String(order.status).toLowerCase(),
    riderId: order.rider?.databaseId ?? null,
    total: order.totalAmount,
    customerId: owners.customerId,
    restaurantId: owners.restaurantId,
  };
}

/** A race on offer: the taker sends `takerRequest` and hands its pending reply over through `join`. */
type RaceOffer = { takerRequest: ActionRequest; join(takerReply: { pending: Promise<ActionReply | null> }): void };

/** Where a worker at a contested step waits briefly for a second worker to act on the same order at once. */
class RaceBoard {
  private readonly offers: RaceOffer[] = [];

  get waiting(): number {
    return this.offers.length;
  }

  /** Resolves with the taker's pending reply once another worker takes the offer, or null after `waitMs`. */
  offer(takerRequest: ActionRequest, waitMs: number): Promise<{ pending: Promise<ActionReply | null> } | null> {
    return new Promise((resolve) => {
      const offer: RaceOffer = {
        takerRequest,
        join: (takerReply) => {
          clearTimeout(timer);
          resolve(takerReply);
        },
      };
      const timer = setTimeout(() => {
        this.offers.splice(this.offers.indexOf(offer), 1);
        resolve(null);
      }, waitMs);
      this.offers.push(offer);
    });
  }

  take(): RaceOffer | undefined {
    return this.offers.shift();
  }
}

/** The traffic of one soak run: `run()` starts the workers and resolves when all have stopped. */
export class Traffic {
  readonly counters: ScenarioCounters = {
    ordersCreated: 0,
    ordersFinished: {},
    replaysSent: 0,
    racesOffered: 0,
    racesRun: 0,
    raceWins: { offerer: 0, taker: 0 },
    raceViolations: 0,
  };
  private readonly board = new RaceBoard();
  private readonly recent: OrderView[] = [];
  private stopped = false;

  constructor(
    private readonly api: Api,
    private readonly recorder: Recorder,
  ) {}

  /** Runs `workers` closed-loop workers until `stop()` (each finishes the request it has in flight). */
  async run(workers: number): Promise<void> {
    await Promise.all(Array.from({ length: workers }, () => this.worker()));
  }

  stop(): void {
    this.stopped = true;
  }

  private async worker(): Promise<void> {
    while (!this.stopped) {
      if (this.board.waiting > 0 && chance(MIX.takeRace)) await this.takeRace();
      else if (chance(MIX.lifecycle)) await this.lifecycle();
      else for (let i = 0; i < MIX.readsPerBurst && !this.stopped; i++) await this.randomRead();
    }
  }

  // ── life cycle ────────────────────────────────────────────────────────────────────────────────────────────────

  private async lifecycle(): Promise<void> {
    const plan = weighted(PLANS);
    let order = await this.create();
    if (!order) return;
    const chosenRider = pick([1, 2]);
    for (let steps = 0; !this.stopped && steps < MAX_STEPS; steps++) {
      const request = this.nextRequest(order, plan, chosenRider);
      if (!request) break;
      order = (await this.step(order, request)) ?? (await this.resync(order));
      if (!order) return;
      this.remember(order);
      if (chance(MIX.readBetweenSteps)) await this.readKnown(order);
      if (order.status !== 'pending_acceptance' && chance(MIX.illegalProbe)) await this.illegalAccept(order);
    }
    if (TERMINAL.has(order.status)) this.counters.ordersFinished[order.status] = (this.counters.ordersFinished[order.status] ?? 0) + 1;
  }

  /** The next action of `plan` from the order's status, or null at the end of its life. */
  private nextRequest(order: OrderView, plan: Plan, chosenRider: number): ActionRequest | null {
    const make = (action: ActionName, actor: Actor, extra: Partial<ActionRequest> = {}): ActionRequest => ({
      action,
      actor,
      transport: pick(['gql', 'rest'] as const),
      orderId: order.id,
      owners: order,
      expectedVersion: order.version,
      key: chance(MIX.optionalKey) ? randomUUID() : undefined,
      ...extra,
    });
    switch (order.status) {
      case 'pending_payment':
        if (plan === 'cancel_unpaid') return make('cancel', customer(order), { reason: 'changed my mind' });
        return plan === 'decline'
          ? make('decline', customer(order), { key: randomUUID(), paymentMethod: 'test_decline', amount: order.total })
          : make('pay', customer(order), { key: randomUUID(), paymentMethod: pick(PAYMENT_METHODS), amount: order.total });
      case 'pending_acceptance':
        if (plan === 'cancel_paid') return make('cancel', customer(order), { reason: 'taking too long' });
        if (plan === 'reject') return make('reject', restaurant(order), { reason: 'out of ingredients' });
        return make('accept', restaurant(order));
      case 'preparing':
        return order.riderId === null && chance(0.5) ? make('claim', rider(chosenRider)) : make('complete', restaurant(order));
      case 'ready_for_pickup':
        return order.riderId === null ? make('claim', rider(chosenRider)) : make('pickup', rider(order.riderId));
      case 'in_transit':
        return make('deliver', rider(order.riderId ?? chosenRider));
      default:
        return null;
    }
  }

  /**
   * Runs one step: maybe a stale attempt first (412), then the step itself — raced against another worker when it
   * is contested — and maybe a replay. Returns the order after the step, or null when it must be re-read.
   */
  private async step(order: OrderView, request: ActionRequest): Promise<OrderView | null> {
    if (order.version > 1 && chance(MIX.staleFirst)) await this.staleAttempt(order, request);
    const rival = this.rivalFor(order, request);
    if (rival && chance(MIX.offerRace)) return this.race(order, request, rival);
    const reply = await this.act('action', request, [200], (r) => this.checkAdvanced(order, request, r));
    if (reply?.status !== 200 || !reply.order) return null;
    if (request.key && chance(MIX.replay)) await this.replay(request, reply);
    return reply.order;
  }

  /** The competing request another actor could send at this step, if the step is contested. */
  private rivalFor(order: OrderView, request: ActionRequest): ActionRequest | null {
    const base = {
      orderId: order.id,
      owners: order,
      expectedVersion: order.version,
      transport: pick(['gql', 'rest'] as const),
      key: undefined,
    };
    if (request.action === 'accept') return { ...base, action: 'cancel', actor: customer(order), reason: 'race' };
    if (request.action === 'complete' && order.riderId === null) return { ...base, action: 'claim', actor: rider(pick([1, 2])) };
    if (request.action === 'claim') return { ...base, action: 'claim', actor: rider(otherRider(request.actor.id)) };
    return null;
  }

  private async staleAttempt(order: OrderView, request: ActionRequest): Promise<void> {
    const stale = { ...request, expectedVersion: order.version - 1, key: request.key ? randomUUID() : undefined };
    await this.act('stale', stale, [412], (reply) =>
      reply.currentVersion === order.version
        ? undefined
        : `conflict reports version ${reply.currentVersion}, the order is at ${order.version}`,
    );
  }

  private async replay(request: ActionRequest, first: ActionReply): Promise<void> {
    this.counters.replaysSent += 1;
    await this.act('replay', request, [200], (reply) => {
      if (!reply.replayed) return 'a repeat with the same key and body was not marked as replayed';
      if (reply.order?.version !== first.order?.version)
        return `replay shows version ${reply.order?.version}, first answer ${first.order?.version}`;
      if (request.transport === 'rest' && reply.etag !== first.etag) return `replay ETag ${reply.etag}, first ${first.etag}`;
      return undefined;
    });
  }

  /** Offers the step to another worker; if one joins, both act at once and exactly one must win. */
  private async race(order: OrderView, request: ActionRequest, rival: ActionRequest): Promise<OrderView | null> {
    this.counters.racesOffered += 1;
    const joined = await this.board.offer(rival, RACE_WAIT_MS);
    if (!joined) {
      const reply = await this.act('action', request, [200], (r) => this.checkAdvanced(order, request, r));
      return reply?.status === 200 ? reply.order : null;
    }
    this.counters.racesRun += 1;
    const [mine, theirs] = await Promise.all([this.act('race', request, [200, 412]), joined.pending]);
    if (mine && theirs) {
      const winners = [mine, theirs].filter((reply) => reply.status === 200).length;
      if (mine.status === 200) this.counters.raceWins.offerer += 1;
      if (theirs.status === 200) this.counters.raceWins.taker += 1;
      if (winners !== 1) {
        this.counters.raceViolations += 1;
        this.recorder.note(
          'unexpected',
          `race:${request.action}-vs-${rival.action}`,
          `${winners} of 2 concurrent actions on order ${order.id} v${order.version} succeeded (exactly 1 must)`,
          `offerer ${request.action} as ${request.actor.role} ${request.actor.id} → ${mine.status}; taker ${rival.action} as ${rival.actor.role} ${rival.actor.id} → ${theirs.status}`,
        );
      }
    }
    return null; // the winner's state is re-read, as a client that lost a race would
  }

  private async takeRace(): Promise<void> {
    const offer = this.board.take();
    if (!offer) return;
    // The offerer sends from a microtask after `join`; yielding to the event loop first lets it lead half the time.
    const leads = chance(0.5);
    const pending = (leads ? Promise.resolve() : new Promise((resolve) => setImmediate(resolve))).then(() =>
      this.act('race', offer.takerRequest, [200, 412]),
    );
    offer.join({ pending });
    await pending;
  }

  private async illegalAccept(order: OrderView): Promise<void> {
    const request: ActionRequest = {
      action: 'accept',
      actor: restaurant(order),
      transport: pick(['gql', 'rest'] as const),
      orderId: order.id,
      owners: order,
      expectedVersion: order.version,
      key: undefined,
    };
    await this.act('illegal', request, [409]);
  }

  /** Checks that a step moved the order exactly one version on, to the status and rider the action implies. */
  private checkAdvanced(before: OrderView, request: ActionRequest, reply: ActionReply): string | undefined {
    const after = reply.order;
    if (!after) return 'no order in the success answer';
    if (after.version !== before.version + 1) return `version ${before.version} → ${after.version}, expected +1`;
    const status = ACTIONS[request.action].to(before.status);
    if (after.status !== status) return `status ${after.status}, expected ${status}`;
    if (request.action === 'claim' && after.riderId !== request.actor.id) return `rider ${after.riderId}, expected ${request.actor.id}`;
    if (reply.replayed) return 'a first request was answered as a replay';
    if (request.transport === 'rest' && reply.etag !== tagOf(after)) return `ETag ${reply.etag}, expected ${tagOf(after)}`;
    return undefined;
  }

  // ── sending actions ───────────────────────────────────────────────────────────────────────────────────────────

  private async create(): Promise<OrderView | null> {
    const customerId = pick(CUSTOMERS);
    const restaurantId = pick([1, 2]);
    const lines = [...RESTAURANT_MENUS[restaurantId]!].sort(() => random() - 0.5).slice(0, between(1, 3));
    const items = lines.map((menuItem) => ({ menuItem, quantity: between(1, 3) }));
    const address = `${between(1, 999)} Soak-ro, Seoul`;
    const key = randomUUID();
    const actor: Actor = { role: 'customer', id: customerId };
    const owners = { customerId, restaurantId };
    const replayOnce = chance(MIX.replay);
    let order: OrderView | null = null;
    if (chance(0.5)) {
      const send = (kind: Kind, check: (reply: GraphQLReply) => string | undefined) =>
        this.api.graphql({
          op: `${kind}:gql:create`,
          actor,
          query: GQL_CREATE,
          variables: {
            input: {
              idempotencyKey: key,
              restaurantId: String(restaurantId),
              items: items.map((item) => ({ menuItemId: String(item.menuItem), quantity: item.quantity })),
              deliveryAddress: address,
            },
          },
          field: 'result',
          expect: [200],
          check,
        });
      const first = await send('action', (reply) => (reply.result.replayed ? 'a first create was answered as a replay' : undefined));
      order = fromGraphQL(first?.result?.order, owners);
      if (order && replayOnce) {
        this.counters.replaysSent += 1;
        const id = order.id;
        await send('replay', (reply) =>
          reply.result.replayed && reply.result.order?.databaseId === id ? undefined : 'create repeat not replayed',
        );
      }
    } else {
      const send = (kind: Kind, check: (reply: RestReply) => string | undefined) =>
        this.api.rest({
          op: `${kind}:rest:create`,
          actor,
          method: 'POST',
          path: '/api/v2/orders',
          headers: { 'idempotency-key': key },
          body: {
            restaurant_id: restaurantId,
            items: items.map((item) => ({ menu_item_id: item.menuItem, quantity: item.quantity })),
            delivery_address: address,
          },
          expect: [201],
          check,
        });
      const first = await send('action', (reply) => {
        const view = fromRest(reply.json);
        if (!view || reply.etag !== tagOf(view)) return `ETag ${reply.etag} does not name the new order`;
        if (reply.headers.location !== `/api/v2/orders/${view.id}`) return `Location ${reply.headers.location}`;
        return reply.replayed ? 'a first create was answered as a replay' : undefined;
      });
      order = first?.status === 201 ? fromRest(first.json) : null;
      if (first && order && replayOnce) {
        this.counters.replaysSent += 1;
        await send('replay', (reply) =>
          reply.replayed && reply.etag === first.etag && reply.headers.location === first.headers.location
            ? undefined
            : 'create repeat not replayed',
        );
      }
    }
    if (order) {
      this.counters.ordersCreated += 1;
      this.remember(order);
    }
    return order;
  }

  /** Sends one action on its transport and reads the answer into an ActionReply (null on a network error). */
  private async act(kind: Kind, request: ActionRequest, expect: Expect, check?: (reply: ActionReply) => string | undefined) {
    const op = `${kind}:${request.transport}:${request.action}`;
    if (request.transport === 'rest') {
      const body =
        request.action === 'pay' || request.action === 'decline'
          ? { payment_method: request.paymentMethod, amount: request.amount }
          : request.reason !== undefined
            ? { reason: request.reason }
            : undefined;
      const read = (reply: RestReply): ActionReply => ({
        status: reply.status,
        order: reply.status === 200 ? fromRest(reply.json) : null,
        replayed: reply.replayed,
        etag: reply.etag,
        currentVersion: reply.json?.current_version ?? null,
      });
      const reply = await this.api.rest({
        op,
        actor: request.actor,
        method: 'POST',
        path: `/api/v2/orders/${request.orderId}/${ACTIONS[request.action].path}`,
        headers: {
          'if-match': tagOf({ id: request.orderId, version: request.expectedVersion }),
          ...(request.key ? { 'idempotency-key': request.key } : {}),
        },
        body,
        expect,
        check: check && ((r) => check(read(r))),
      });
      return reply && read(reply);
    }
    const input: Record<string, unknown> = {};
    if (request.key) input.idempotencyKey = request.key;
    if (request.paymentMethod !== undefined) Object.assign(input, { paymentMethod: request.paymentMethod, amount: request.amount });
    if (request.reason !== undefined) input.reason = request.reason;
    const read = (reply: GraphQLReply): ActionReply => ({
      status: reply.status,
      order: reply.status === 200 ? fromGraphQL(reply.result?.order, request.owners) : null,
      replayed: reply.result?.replayed === true,
      etag: undefined,
      currentVersion: reply.result?.currentVersion ?? null,
    });
    const reply = await this.api.graphql({
      op,
      actor: request.actor,
      query: GQL_MUTATIONS.get(ACTIONS[request.action].mutation)!,
      variables: { orderId: String(request.orderId), expectedVersion: request.expectedVersion, input },
      field: 'result',
      expect,
      check: check && ((r) => check(read(r))),
    });
    return reply && read(reply);
  }

  // ── reads ─────────────────────────────────────────────────────────────────────────────────────────────────────

  /** Re-reads an order after a lost race or an unexpected answer; null when even that fails. */
  private async resync(order: OrderView): Promise<OrderView | null> {
    const reply = await this.api.rest({
      op: 'read:rest:resync',
      actor: customer(order),
      method: 'GET',
      path: `/api/v2/orders/${order.id}`,
      expect: [200],
    });
    return reply?.status === 200 ? fromRest(reply.json) : null;
  }

  /** Reads an order whose version this worker knows: a REST conditional GET (304) or GraphQL with its history. */
  private async readKnown(order: OrderView): Promise<void> {
    const viewers: Actor[] = [customer(order), restaurant(order), ADMIN, ...(order.riderId ? [rider(order.riderId)] : [])];
    if (chance(0.5)) {
      await this.api.rest({
        op: 'read:rest:order-not-modified',
        actor: pick(viewers),
        method: 'GET',
        path: `/api/v2/orders/${order.id}`,
        headers: { 'if-none-match': tagOf(order) },
        expect: [304],
        check: (reply) => (reply.etag === tagOf(order) ? undefined : `304 with ETag ${reply.etag}, expected ${tagOf(order)}`),
      });
      return;
    }
    await this.api.graphql({
      op: 'read:gql:order',
      actor: pick(viewers),
      query: GQL_ORDER,
      variables: { id: String(order.id) },
      field: 'result',
      expect: [200],
      check: ({ result }) => {
        if (result.version !== order.version) return `version ${result.version}, this worker made it ${order.version}`;
        if (result.history?.length !== result.version) return `${result.history?.length} history entries at version ${result.version}`;
        return undefined;
      },
    });
  }

  /** One read from the general mix: lists as any actor, or a recently seen order as its owner or a stranger. */
  private async randomRead(): Promise<void> {
    const known = this.recent.length ? pick(this.recent) : null;
    const roll = random();
    if (!known || roll < 0.3) {
      await this.api.graphql({
        op: 'read:gql:orders',
        actor: pick(DEMO_ACTORS),
        query: GQL_ORDERS,
        variables: { first: 20 },
        field: 'result',
        expect: [200],
        check: ({ result }) => (Array.isArray(result.edges) ? undefined : 'no edges'),
      });
    } else if (roll < 0.6) {
      await this.api.rest({
        op: 'read:rest:orders',
        actor: pick(DEMO_ACTORS),
        method: 'GET',
        path: '/api/v2/orders?include=restaurant,rider&limit=20',
        expect: [200],
        check: ({ json }) => (Array.isArray(json?.results) && json.included?.restaurants ? undefined : 'no results or included'),
      });
    } else if (roll < 0.75) {
      await this.api.rest({
        op: 'read:rest:order',
        actor: customer(known),
        method: 'GET',
        path: `/api/v2/orders/${known.id}`,
        headers: { 'if-none-match': tagOf(known) },
        expect: [200, 304],
      });
    } else if (roll < 0.9) {
      await this.api.graphql({
        op: 'read:gql:order',
        actor: chance(0.5) ? customer(known) : ADMIN,
        query: GQL_ORDER,
        variables: { id: String(known.id) },
        field: 'result',
        expect: [200],
        check: ({ result }) =>
          result.history?.length === result.version ? undefined : `${result.history?.length} history entries at v${result.version}`,
      });
    } else {
      const stranger: Actor = { role: 'customer', id: known.customerId === 1 ? 2 : 1 };
      if (chance(0.5)) {
        await this.api.rest({ op: 'read:rest:foreign', actor: stranger, method: 'GET', path: `/api/v2/orders/${known.id}`, expect: [404] });
      } else {
        await this.api.graphql({
          op: 'read:gql:foreign',
          actor: stranger,
          query: GQL_ORDER,
          variables: { id: String(known.id) },
          field: 'result',
          expect: [404],
        });
      }
    }
  }

  private remember(order: OrderView): void {
    this.recent.push({ ...order });
    if (this.recent.length > RECENT_KEPT) this.recent.shift();
  }
}
