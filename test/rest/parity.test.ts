/**
 * Parity of REST v2 and GraphQL (SPEC §4/§5): both call the same service, so the same command leaves the same stored
 * state, and each GraphQL error type is the REST status SPEC pairs it with, with the same code and context.
 */
import { describe, expect, it } from 'vitest';
import { V2_ACTION_PATHS } from '../../rest-compat/v2/serialize.ts';
import type { Actor } from '../../src/domain/auth.ts';
import type { OrderActionName } from '../../src/domain/orders/order-state-machine.ts';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';
import { orderIn, placeOrder } from '../support/orders.ts';
import { etag, rest } from '../support/rest-client.ts';

const service = setUpTestService();

/** GraphQL mutation and input type per action. */
const MUTATIONS: Record<OrderActionName, string> = {
  pay: 'payOrder',
  cancel: 'cancelOrder',
  accept: 'acceptOrder',
  reject: 'rejectOrder',
  complete_preparation: 'completeOrderPreparation',
  assign_rider: 'assignRider',
  pick_up: 'pickUpOrder',
  deliver: 'deliverOrder',
};

type Step = { action: OrderActionName; actor: Actor; input?: Record<string, unknown> };

/** The GraphQL input of a step (camelCase) and its REST body (snake_case). */
const restBody = (input: Record<string, unknown> = {}) =>
  Object.fromEntries(Object.entries(input).map(([key, value]) => [key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`), value]));

type Outcome = {
  code: string;
  status?: number;
  currentVersion?: number;
  currentStatus?: string;
  allowedActions?: string[];
  version?: number;
  orderStatus?: string;
};

async function viaGraphql(orderId: number, expectedVersion: number, step: Step, idempotencyKey?: string): Promise<Outcome> {
  const name = MUTATIONS[step.action];
  const type = name[0]!.toUpperCase() + name.slice(1);
  const query = `mutation($id: ID!, $v: Int!, $input: ${type}Input!) {
    ${name}(orderId: $id, expectedVersion: $v, input: $input) {
      __typename
      ... on ${type}Success { order { status version } }
      ... on Error { code }
      ... on VersionConflictError { currentVersion currentStatus }
      ... on InvalidTransitionError { currentStatus allowedActions }
    }
  }`;
  const input: Record<string, unknown> = { ...step.input, ...(idempotencyKey ? { idempotencyKey } : {}) };
  if (step.input?.riderId !== undefined) input.riderId = String(step.input.riderId);
  const { data, errors } = await graphql(service, step.actor, query, { id: String(orderId), v: expectedVersion, input });
  expect(errors).toBeUndefined();
  const result = data[name];
  if (result.__typename.endsWith('Success'))
    return { code: 'OK', version: result.order.version, orderStatus: result.order.status.toLowerCase() };
  return {
    code: result.code,
    currentVersion: result.currentVersion,
    currentStatus: result.currentStatus?.toLowerCase(),
    allowedActions: result.allowedActions?.map((action: string) => V2_ACTION_PATHS[action.toLowerCase() as OrderActionName]),
  };
}

async function viaRest(orderId: number, expectedVersion: number, step: Step, idempotencyKey?: string): Promise<Outcome> {
  const headers: Record<string, string> = { 'If-Match': etag(orderId, expectedVersion) };
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  const response = await rest(service, step.actor, 'POST', `/api/v2/orders/${orderId}/${V2_ACTION_PATHS[step.action]}`, {
    json: step.input ? restBody(step.input) : undefined,
    headers,
  });
  if (response.status === 200) return { code: 'OK', status: 200, version: response.body.version, orderStatus: response.body.status };
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return {
    code: response.body.code,
    status: response.status,
    currentVersion: response.body.current_version,
    currentStatus: response.body.current_status,
    allowedActions: response.body.allowed_actions,
  };
}

/** Everything a command can change, without ids and timestamps. */
async function storedState(orderId: number) {
  const prisma = service.container.db.prisma;
  const order = await prisma.order.findUniqueOrThrow({
    where: { id: orderId },
    select: {
      status: true,
      version: true,
      riderId: true,
      totalAmount: true,
      events: {
        orderBy: { version: 'asc' },
        select: {
          version: true,
          action: true,
          fromStatus: true,
          toStatus: true,
          actorRole: true,
          actorId: true,
          riderId: true,
          reason: true,
        },
      },
      payments: { orderBy: { id: 'asc' }, select: { amount: true, method: true, status: true } },
      refunds: { select: { amount: true, reason: true } },
    },
  });
  const records = await prisma.idempotencyRecord.findMany({ where: { orderId }, select: { operation: true, actorRole: true } });
  return { ...order, records };
}

const PAY = (amount = 22_000, method = 'card'): Step => ({
  action: 'pay',
  actor: DEMO.customer1,
  input: { paymentMethod: method, amount },
});

const FLOWS: Record<string, Step[]> = {
  delivered: [
    PAY(),
    { action: 'accept', actor: DEMO.restaurant1 },
    { action: 'assign_rider', actor: DEMO.rider1 },
    { action: 'complete_preparation', actor: DEMO.restaurant1 },
    { action: 'pick_up', actor: DEMO.rider1 },
    { action: 'deliver', actor: DEMO.rider1 },
  ],
  rejected: [PAY(), { action: 'reject', actor: DEMO.restaurant1, input: { reason: 'out of rice' } }],
  cancelled: [PAY(), { action: 'cancel', actor: DEMO.customer1, input: { reason: 'too slow' } }],
  declined: [PAY(22_000, 'test_decline')],
  'admin-assigned': [PAY(), { action: 'accept', actor: DEMO.admin }, { action: 'assign_rider', actor: DEMO.admin, input: { riderId: 2 } }],
};

describe(`REST v2 ↔ GraphQL parity (${backend})`, () => {
  for (const [name, steps] of Object.entries(FLOWS)) {
    it(`the same commands leave the same stored state: ${name}`, async () => {
      const a = await placeOrder(service);
      const b = await placeOrder(service);
      for (const [index, step] of steps.entries()) {
        const key = step.action === 'pay' ? `${name}-${index}` : undefined;
        const viaG = await viaGraphql(a.id, index + 1, step, key && `g-${key}`);
        const viaR = await viaRest(b.id, index + 1, step, key && `r-${key}`);
        expect(viaG).toMatchObject({ code: 'OK', version: index + 2 });
        expect(viaR).toMatchObject({ code: 'OK', status: 200, version: viaG.version, orderStatus: viaG.orderStatus });
      }
      expect(await storedState(b.id)).toEqual(await storedState(a.id));
    });
  }

  const ERRORS: {
    name: string;
    setup: 'pending_payment' | 'pending_acceptance';
    step: Step;
    version?: number;
    orderId?: number;
    repeat?: Step;
    code: string;
    status: number;
  }[] = [
    {
      name: 'stale version',
      setup: 'pending_acceptance',
      step: { action: 'accept', actor: DEMO.restaurant1 },
      version: 1,
      code: 'VERSION_CONFLICT',
      status: 412,
    },
    {
      name: 'illegal transition',
      setup: 'pending_acceptance',
      step: { action: 'complete_preparation', actor: DEMO.restaurant1 },
      code: 'INVALID_TRANSITION',
      status: 409,
    },
    {
      name: 'not the actor’s action',
      setup: 'pending_acceptance',
      step: { action: 'accept', actor: DEMO.customer1 },
      code: 'FORBIDDEN',
      status: 403,
    },
    {
      name: 'not visible',
      setup: 'pending_acceptance',
      step: { action: 'accept', actor: DEMO.restaurant2 },
      code: 'NOT_FOUND',
      status: 404,
    },
    {
      name: 'no such order',
      setup: 'pending_acceptance',
      step: { action: 'accept', actor: DEMO.restaurant1 },
      orderId: 987_654,
      code: 'NOT_FOUND',
      status: 404,
    },
    { name: 'wrong amount', setup: 'pending_payment', step: PAY(1), code: 'VALIDATION_FAILED', status: 400 },
    {
      name: 'key reused',
      setup: 'pending_payment',
      repeat: PAY(),
      step: PAY(22_000, 'wallet'),
      code: 'IDEMPOTENCY_KEY_REUSED',
      status: 422,
    },
  ];

  for (const scenario of ERRORS) {
    it(`errors agree: ${scenario.name} → ${scenario.code} ↔ ${scenario.status}`, async () => {
      const a = await orderIn(service, scenario.setup);
      const b = await orderIn(service, scenario.setup);
      const key = scenario.step.action === 'pay' ? 'parity-key' : undefined;
      if (scenario.repeat) {
        await viaGraphql(a.id, a.version, scenario.repeat, `g-${key}`);
        await viaRest(b.id, b.version, scenario.repeat, `r-${key}`);
      }
      const before = [await storedState(a.id), await storedState(b.id)];
      const version = scenario.version ?? (scenario.repeat ? a.version + 1 : a.version);
      const viaG = await viaGraphql(scenario.orderId ?? a.id, version, scenario.step, key && `g-${key}`);
      const viaR = await viaRest(scenario.orderId ?? b.id, version, scenario.step, key && `r-${key}`);
      expect(viaG.code).toBe(scenario.code);
      expect(viaR).toEqual({ ...viaG, status: scenario.status });
      expect([await storedState(a.id), await storedState(b.id)]).toEqual(before);
    });
  }

  it('409 context agrees in detail: current status and allowed actions in each transport’s spelling', async () => {
    const a = await orderIn(service, 'pending_acceptance');
    const b = await orderIn(service, 'pending_acceptance');
    const step: Step = { action: 'pick_up', actor: DEMO.admin };
    const viaG = await viaGraphql(a.id, 2, step);
    const viaR = await viaRest(b.id, 2, step);
    expect(viaG).toMatchObject({
      code: 'INVALID_TRANSITION',
      currentStatus: 'pending_acceptance',
      allowedActions: ['cancellation', 'acceptance', 'rejection'],
    });
    expect(viaR).toEqual({ ...viaG, status: 409 });
  });
});
