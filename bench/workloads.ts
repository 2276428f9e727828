/**
 * The four workloads, as the HTTP requests each server under test receives, and how every response is checked.
 *
 *   W1  GraphQL: the 50 newest orders with restaurant, rider and items (admin), 32 connections
 *   W2  REST v2: GET /api/v2/orders?limit=50&include=restaurant,rider (admin), 32 connections
 *   W3  an action with a version and an idempotency key: acceptOrder as the owning restaurant, each request on a
 *       fresh pending order with the version the client tracked (so no conflicts), 32 connections
 *   W4  W1 at 1 connection (latency without queueing)
 *
 * Each workload has an equivalent on the floor (bench/servers/floor.ts) and, for the GraphQL ones and the write,
 * on PostGraphile (its generated allOrders connection and updateOrderByRowId mutation). Every server's W3 takes its
 * orders from the same kind of pool: fresh rows in pending_acceptance, each accepted once.
 */
import type autocannon from 'autocannon';

export type TargetName = 'floor' | 'postgraphile' | 'service';
export type WorkloadName = 'W1' | 'W2' | 'W3' | 'W4';

export type WorkloadInfo = {
  title: string;
  targets: TargetName[];
  singleConnection: boolean;
  /** What a server's variant of the workload does, where it differs from the title (shown beside its name in the report). */
  variants?: Partial<Record<TargetName, string>>;
};

export const WORKLOADS: Record<WorkloadName, WorkloadInfo> = {
  W1: {
    title: 'GraphQL list of 50 orders with restaurant, rider, items',
    targets: ['floor', 'postgraphile', 'service'],
    singleConnection: false,
  },
  W2: { title: 'REST v2 list of 50 orders, include=restaurant,rider', targets: ['floor', 'service'], singleConnection: false },
  W3: {
    title: 'acceptOrder with expectedVersion + idempotency key',
    targets: ['floor', 'postgraphile', 'service'],
    singleConnection: false,
    // Neither the floor nor PostGraphile does what the action does (authorization, idempotency, history, event):
    // the labels keep that visible next to every W3 figure.
    variants: { floor: 'status compare-and-swap', postgraphile: 'blind write' },
  },
  W4: { title: 'W1 at 1 connection', targets: ['floor', 'postgraphile', 'service'], singleConnection: true },
};

export const WORKLOAD_NAMES = Object.keys(WORKLOADS) as WorkloadName[];

/** W1 on this service: every field of SPEC §4's list a client would show, with the three relations. */
export const W1_QUERY = `query W1 {
  orders(first: 50) {
    edges { node {
      id databaseId status version totalAmount createdAt updatedAt
      restaurant { id name }
      rider { id name }
      items { name quantity unitPrice lineTotal }
    } }
  }
}`;

/** W1 through PostGraphile's generated schema: the same fields, newest first. */
export const POSTGRAPHILE_W1_QUERY = `query W1 {
  allOrders(first: 50, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) {
    edges { node {
      id rowId status version totalAmount createdAt updatedAt
      restaurant: restaurantByRestaurantId { id name }
      rider: riderByRiderId { id name }
      items: orderItemsByOrderId(orderBy: POSITION_ASC) { nodes { name quantity unitPrice lineTotal } }
    } }
  }
}`;

export const W2_PATH = '/api/v2/orders?limit=50&include=restaurant,rider';

export const W3_MUTATION = `mutation W3($orderId: ID!, $expectedVersion: Int!, $key: String) {
  acceptOrder(orderId: $orderId, expectedVersion: $expectedVersion, input: { idempotencyKey: $key }) {
    __typename
    ... on AcceptOrderSuccess { replayed order { id version status } }
    ... on Error { code message }
  }
}`;

/**
 * PostGraphile has no domain actions: its generated update of the same row (status and version) is the nearest thing.
 * It is a blind write (by row id only: no version check, no rules, history or idempotency), and the report says so.
 */
export const POSTGRAPHILE_W3_MUTATION = `mutation W3($rowId: Int!, $version: Int!, $at: Datetime!) {
  updateOrderByRowId(input: { rowId: $rowId, orderPatch: { status: preparing, version: $version, updatedAt: $at } }) {
    order { id rowId version status }
  }
}`;

/** The relay plugin's global id (base64 "Type:id"), as a client of this service would hold it. */
export const globalId = (type: string, id: number) => Buffer.from(`${type}:${id}`).toString('base64');

export type PendingOrder = { id: number; restaurantId: number; version: number };

/**
 * Orders waiting in pending_acceptance, each handed out once (to any server's W3). Before each W3 run the bench
 * replaces the whole pool with the same number of freshly inserted orders (bench/seed.ts addPendingAcceptanceOrders),
 * so every server starts from the same pool and none runs dry.
 */
export class PendingOrderPool {
  private rows: PendingOrder[] = [];
  private next = 0;

  /** Drops what is left and hands out `rows` from now on. */
  replace(rows: PendingOrder[]): void {
    this.rows = rows;
    this.next = 0;
  }

  get available(): number {
    return this.rows.length - this.next;
  }

  take(): PendingOrder | undefined {
    return this.rows[this.next++];
  }
}

export type Failure = { status: number; body: string };

/** Per-run counts of checked responses. */
export class ResponseCheck {
  ok = 0;
  failed = 0;
  /** A few failing responses, for the report. */
  readonly samples: Failure[] = [];
  /** The W3 pool ran dry and a request had to reuse an order (its failure is then expected). */
  poolExhausted = false;

  record(passed: boolean, status: number, body: string): void {
    if (passed) {
      this.ok++;
      return;
    }
    this.failed++;
    if (this.samples.length < 5) this.samples.push({ status, body: body.slice(0, 300) });
  }
}

export type TargetEndpoints = { floor: string; postgraphile: string; service: string };

export type WorkloadContext = {
  /** Bearer token of the admin (W1, W2, W4 on the service). */
  adminToken: string;
  /** Bearer token of each restaurant (W3 on the service: the owner accepts). */
  restaurantToken: (restaurantId: number) => string;
  pendingOrders: PendingOrderPool;
  /** Distinguishes idempotency keys of this bench run from any earlier one. */
  runTag: string;
  /**
   * Length of each server's W1 answer, once bench/same-document.ts has checked that all servers return the same
   * document: every later W1/W4 response must have exactly that length (the data it lists never changes in a run).
   */
  w1BodyLength: Partial<Record<TargetName, number>>;
};

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

/** Is this a GraphQL response with data and no errors? A cheap check: the bench must not become the bottleneck. */
const graphqlOk = (status: number, body: string) => status === 200 && !body.includes('"errors"') && body.includes('"edges"');

type Built = { requests: autocannon.Request[]; check: ResponseCheck };

/** W1 as each server receives it: the same query (PostGraphile's spelling of it), as the admin where auth exists. */
export function w1Request(target: TargetName, adminToken: string) {
  const body = (query: string) => JSON.stringify({ query, operationName: 'W1' });
  switch (target) {
    case 'floor':
      // Same request bytes as the service gets; the floor reads and ignores the body.
      return { method: 'POST' as const, path: '/w1', headers: JSON_HEADERS, body: body(W1_QUERY) };
    case 'postgraphile':
      return { method: 'POST' as const, path: '/graphql', headers: JSON_HEADERS, body: body(POSTGRAPHILE_W1_QUERY) };
    case 'service':
      return {
        method: 'POST' as const,
        path: '/graphql',
        headers: { ...JSON_HEADERS, authorization: `Bearer ${adminToken}` },
        body: body(W1_QUERY),
      };
  }
}

/** The autocannon requests for one run of a workload against one server; every response goes through `check`. */
export function buildRequests(workload: WorkloadName, target: TargetName, ctx: WorkloadContext): Built {
  const check = new ResponseCheck();
  switch (workload) {
    case 'W1':
    case 'W4': {
      const expectedLength = ctx.w1BodyLength[target];
      const onResponse = (status: number, body: string) =>
        check.record(graphqlOk(status, body) && (expectedLength === undefined || body.length === expectedLength), status, body);
      return { check, requests: [{ ...w1Request(target, ctx.adminToken), onResponse }] };
    }
    case 'W2':
      return {
        check,
        requests: [
          {
            method: 'GET',
            path: target === 'floor' ? '/w2' : W2_PATH,
            headers: { accept: 'application/json', ...(target === 'service' ? { authorization: `Bearer ${ctx.adminToken}` } : {}) },
            onResponse: (status, body) => check.record(status === 200 && body.includes('"included"'), status, body),
          },
        ],
      };
    case 'W3':
      return { check, requests: [writeRequest(target, ctx, check)] };
  }
}

function writeRequest(target: TargetName, ctx: WorkloadContext, check: ResponseCheck): autocannon.Request {
  let last: PendingOrder | undefined;
  const nextOrder = (): PendingOrder => {
    const row = ctx.pendingOrders.take();
    if (row) {
      last = row;
      return row;
    }
    // Dry pool: resend the last order (it fails, and the run is flagged) rather than stall the load generator.
    check.poolExhausted = true;
    if (!last) throw new Error('the pending-order pool is empty');
    return last;
  };
  if (target === 'floor') {
    return {
      method: 'POST',
      path: '/w3',
      headers: JSON_HEADERS,
      setupRequest: (request) => {
        const { id, version } = nextOrder();
        return { ...request, body: JSON.stringify({ id, version }) };
      },
      onResponse: (status, body) => check.record(status === 200 && body.includes('"preparing"'), status, body),
    };
  }
  if (target === 'postgraphile') {
    return {
      method: 'POST',
      path: '/graphql',
      headers: JSON_HEADERS,
      setupRequest: (request) => {
        const order = nextOrder();
        const variables = { rowId: order.id, version: order.version + 1, at: new Date().toISOString() };
        return { ...request, body: JSON.stringify({ query: POSTGRAPHILE_W3_MUTATION, variables }) };
      },
      onResponse: (status, body) =>
        check.record(status === 200 && !body.includes('"errors"') && body.includes('"preparing"'), status, body),
    };
  }
  return {
    method: 'POST',
    path: '/graphql',
    headers: JSON_HEADERS,
    setupRequest: (request) => {
      const order = nextOrder();
      const variables = {
        orderId: globalId('Order', order.id),
        expectedVersion: order.version,
        key: `bench-${ctx.runTag}-accept-${order.id}`,
      };
      return {
        ...request,
        headers: { ...request.headers, authorization: `Bearer ${ctx.restaurantToken(order.restaurantId)}` },
        body: JSON.stringify({ query: W3_MUTATION, variables }),
      };
    },
    onResponse: (status, body) =>
      check.record(status === 200 && body.includes('"__typename":"AcceptOrderSuccess"') && body.includes('"replayed":false'), status, body),
  };
}
