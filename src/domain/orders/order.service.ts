/**
 * One function per action on orders (SPEC §1). Every transport calls these with a plain command.
 *
 * Each action on an existing order runs the checks in the precedence SPEC §5 fixes —
 * visibility (404) → permission (403) → idempotency (replay / 422 / 409) → version (412) → legality (409) →
 * business rules (400) — then one compare-and-swap statement that commits the new version with its history event,
 * payment or refund, and idempotency record, all or nothing (order-change.ts). An action that needs nothing of the
 * order to decide (all but a payment) first tries that statement with the checks in its WHERE, and reads the order
 * to run them one by one only when it matched nothing: a success is one round trip, the errors are as before.
 */
import { Prisma, type PrismaClient } from '../../generated/prisma/client.ts';
import type { Database } from '../../infra/db.ts';
import type { Actor } from '../auth.ts';
import {
  type FieldError,
  ForbiddenError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import { eventInsert } from '../events/events.ts';
import {
  fingerprintOf,
  type IdempotencyStore,
  type IdempotentRequest,
  isKeyConflict,
  type RecordFor,
  type Replay,
  recordInsert,
  type StoredOutcome,
} from '../idempotency.ts';
import type { ExecutedCharge, PaymentAttempt, Payments } from '../payments/payments.ts';
import {
  AssignRiderInput,
  CreateOrderInput,
  IdempotencyKey,
  OrderTotal,
  PayOrderInput,
  parseInput,
  ReasonInput,
  RiderLocationInput,
} from './commands.ts';
import { itemsInOrder, loadOrder, type OrderWithItems, toSnapshot } from './order.queries.ts';
import { availableActions, canSeeFor, isActorsAction } from './order-access.ts';
import { commitOrderChange, type ExpectedVersion, type OrderChange, type PaymentRecord } from './order-change.ts';
import { type OrderActionName, type OrderStatusName, paymentTarget, targetStatus } from './order-state-machine.ts';

/** How often an unconditional action (If-Match: *, legacy v1) retries a lost compare-and-swap. */
const MAX_UNCONDITIONAL_ATTEMPTS = 20;

export type ActionResult = {
  /** The order after the action; for a replay, the order as it is now. */
  order: OrderWithItems;
  replayed: boolean;
  /** What the first execution returned; REST replays this byte for byte. */
  outcome: StoredOutcome;
};

type Base = { actor: Actor; idempotencyKey?: string | null | undefined };

export type { ExpectedVersion };
/** An action on an existing order. */
export type OrderCommand = Base & { orderId: number; expectedVersion: ExpectedVersion };
export type CreateOrderCommand = Base & {
  restaurantId: number;
  items: { menuItemId: number; quantity: number }[];
  deliveryAddress: string;
};
export type PayOrderCommand = OrderCommand & { paymentMethod: string; amount: number };
export type ReasonCommand = OrderCommand & { reason?: string | null | undefined };
export type AssignRiderCommand = OrderCommand & { riderId?: number | null | undefined };
export type UpdateRiderLocationCommand = { actor: Actor; lat: number; lng: number };

/** What an action sets besides the status. */
type Effects = {
  riderId?: number;
  reason?: string | null;
  /** Refund the order's succeeded payment, if any, with the change. */
  refund?: boolean;
};

/** What an action changes, decided after every check has passed. */
type Decision = Effects & {
  toStatus: OrderStatusName;
  /** A charge executed for this change, recorded with it. */
  payment?: PaymentRecord;
  /** Runs when the compare-and-swap lost: undoes what the decision did outside the database (a charge). */
  afterLostRace?: () => Promise<void>;
};

/** Where a change goes, by whom, and how it was decided (order-change.ts). */
type Target = Pick<OrderChange, 'orderId' | 'action' | 'actor' | 'decided'>;

/** Decides the change once every check has passed; null when it finds the order changed since it was read. */
type Decide = (order: OrderWithItems, toStatus: OrderStatusName) => Decision | null | Promise<Decision | null>;

/** A rider's reported location, for one order it is carrying; the order's parties decide who may hear it. */
export type RiderMoved = {
  order: { id: number; customerId: number; restaurantId: number; riderId: number | null; status: OrderStatusName };
  lat: number;
  lng: number;
  at: Date;
};

export type OrderChangeListener = (order: OrderWithItems) => void;

export type OrderServiceDeps = {
  prisma: PrismaClient;
  /** Runs the action's one statement as a prepared statement (Database.readRows). */
  readRows: Database['readRows'];
  idempotency: IdempotencyStore;
  payments: Payments;
  /** Called after commit for every change (subscriptions). */
  onOrderChanged?: OrderChangeListener;
  /** Called when a rider reports its location, once per order it is carrying (live tracking). */
  onRiderMoved?: (move: RiderMoved) => void;
  /** Called once per action with `ok`, `replayed` or the error code (metrics). */
  onActionOutcome?: (action: string, outcome: string) => void;
};

export class OrderService {
  constructor(private readonly deps: OrderServiceDeps) {}

  /** Places an order (customer): pending_payment, version 1, prices fixed now. */
  createOrder(command: CreateOrderCommand): Promise<ActionResult> {
    return this.observed('create', () => this.placeOrder(command));
  }

  private async placeOrder(command: CreateOrderCommand): Promise<ActionResult> {
    const { actor } = command;
    if (actor.role !== 'customer') throw new ForbiddenError('Only customers place orders');
    const key = requireKey(command.idempotencyKey);
    parseInput(CreateOrderInput, command);
    const request: IdempotentRequest = {
      actor,
      key,
      operation: 'create',
      orderId: null,
      payload: { restaurantId: command.restaurantId, items: command.items, deliveryAddress: command.deliveryAddress },
    };
    return this.idempotently(request, async (recordFor) => {
      const { prisma } = this.deps;
      const lines = await this.priceLines(command);
      const totalAmount = lines.reduce((sum, line) => sum + line.lineTotal, 0);
      parseInput(OrderTotal, totalAmount, ['items']);
      return prisma.$transaction(async (tx) => {
        const order = await tx.order.create({
          data: {
            customerId: actor.id,
            restaurantId: command.restaurantId,
            totalAmount,
            deliveryAddress: command.deliveryAddress,
            items: { create: lines },
            events: { create: { version: 1, toStatus: 'pending_payment', actorRole: actor.role, actorId: actor.id } },
          },
          include: itemsInOrder,
        });
        const outcome: StoredOutcome = { result: 'created', order: toSnapshot(order) };
        await tx.$executeRaw(recordInsert(recordFor(order.id), outcome));
        await tx.$executeRaw(eventInsert('order.created', { order: outcome.order }, Prisma.empty, Prisma.sql`${order.id}::integer, 1`));
        return { order, replayed: false, outcome };
      });
    });
  }

  /** Pays the exact total (customer); a declined payment is a successful action that ends in payment_failed. */
  async payOrder(command: PayOrderCommand): Promise<ActionResult> {
    const key = requireKey(command.idempotencyKey);
    const { paymentMethod: method, amount } = parseInput(PayOrderInput, command);
    const payload = { paymentMethod: method, amount };
    const fingerprint = fingerprintOf({ actor: command.actor, key, operation: 'pay', orderId: command.orderId, payload });
    return this.execute({ ...command, idempotencyKey: key }, 'pay', payload, async (order) => {
      if (amount !== order.totalAmount) {
        throw ValidationError.of('amount', `must equal the order total ${order.totalAmount}`);
      }
      const { payments } = this.deps;
      const charge = await payments.charge({
        order,
        amount: order.totalAmount,
        method,
        actor: command.actor,
        idempotency: { key, fingerprint },
      });
      if (!charge) return null;
      return {
        toStatus: paymentTarget(charge.approved),
        payment: {
          amount: order.totalAmount,
          method,
          approved: charge.approved,
          providerKey: charge.providerKey,
          providerPaymentId: charge.paymentIntentId,
          attemptId: charge.attemptId,
        },
        afterLostRace: () => payments.settleUnrecordedCharge(charge, order, order.totalAmount),
      };
    });
  }

  /** Cancels (customer) before the kitchen accepts; refunds a payment. */
  cancelOrder(command: ReasonCommand): Promise<ActionResult> {
    return this.withReason(command, 'cancel');
  }

  /** Accepts (restaurant): the kitchen starts preparing. */
  acceptOrder(command: OrderCommand): Promise<ActionResult> {
    return this.plainly(command, 'accept', {}, {});
  }

  /** Rejects (restaurant); refunds the payment. */
  rejectOrder(command: ReasonCommand): Promise<ActionResult> {
    return this.withReason(command, 'reject');
  }

  /** Marks the food ready for pickup (restaurant). */
  completeOrderPreparation(command: OrderCommand): Promise<ActionResult> {
    return this.plainly(command, 'complete_preparation', {}, {});
  }

  /** Sets the rider: a rider claims for itself (no riderId), an admin names one. */
  async assignRider(command: AssignRiderCommand): Promise<ActionResult> {
    const { actor } = command;
    const named = parseInput(AssignRiderInput, command).riderId ?? null;
    if (actor.role === 'rider' && named !== null) throw ValidationError.of('riderId', 'a rider claims orders for itself: omit riderId');
    if (actor.role === 'admin' && named === null) throw ValidationError.of('riderId', 'is required when an admin assigns a rider');
    const riderId = actor.role === 'rider' ? actor.id : named;
    const decide: Decide = async (_order, toStatus) => {
      if (riderId === null) throw ValidationError.of('riderId', 'is required');
      if (!(await this.deps.prisma.rider.findUnique({ where: { id: riderId }, select: { id: true } }))) {
        throw ValidationError.of('riderId', `rider ${riderId} does not exist`);
      }
      return { toStatus, riderId };
    };
    // Decided in one statement too (its WHERE asks that the rider exists); `decide` says why when it matched nothing.
    return this.execute(command, 'assign_rider', { riderId: named }, decide, riderId === null ? undefined : { riderId });
  }

  /** The assigned rider picks the food up. */
  pickUpOrder(command: OrderCommand): Promise<ActionResult> {
    return this.plainly(command, 'pick_up', {}, {});
  }

  /** The assigned rider hands the food over. */
  deliverOrder(command: OrderCommand): Promise<ActionResult> {
    return this.plainly(command, 'deliver', {}, {});
  }

  /** A rider reports where it is; the orders it is carrying hear of it (SPEC §9 live tracking). */
  async updateRiderLocation(command: UpdateRiderLocationCommand) {
    if (command.actor.role !== 'rider') throw new ForbiddenError('Only riders report their location');
    const { lat, lng } = parseInput(RiderLocationInput, command);
    const at = new Date();
    const rider = await this.deps.prisma.rider.update({ where: { id: command.actor.id }, data: { lat, lng, locationUpdatedAt: at } });
    if (this.deps.onRiderMoved) {
      // Tracked while the food is ready or on its way: the orders assigned to this rider in those two statuses.
      const tracked = await this.deps.prisma.order.findMany({
        where: { riderId: rider.id, status: { in: ['ready_for_pickup', 'in_transit'] } },
        select: { id: true, customerId: true, restaurantId: true, riderId: true, status: true },
      });
      for (const order of tracked) this.deps.onRiderMoved({ order, lat, lng, at });
    }
    return rider;
  }

  /** An action whose change needs nothing of the order: `effects` and the state machine's target status. */
  private plainly(
    command: OrderCommand,
    action: OrderActionName,
    payload: Record<string, unknown>,
    effects: Effects,
  ): Promise<ActionResult> {
    return this.execute(command, action, payload, (_order, toStatus) => ({ toStatus, ...effects }), effects);
  }

  private withReason(command: ReasonCommand, action: 'cancel' | 'reject'): Promise<ActionResult> {
    const reason = parseInput(ReasonInput, command).reason ?? null;
    return this.plainly(command, action, { reason }, { reason, refund: true });
  }

  /** Reports each action's outcome to the observer (metrics), whatever it was. */
  private async observed(action: string, run: () => Promise<ActionResult>): Promise<ActionResult> {
    try {
      const result = await run();
      this.deps.onActionOutcome?.(action, result.replayed ? 'replayed' : 'ok');
      return result;
    } catch (error) {
      this.deps.onActionOutcome?.(action, (error as { code?: string }).code ?? 'UNEXPECTED');
      throw error;
    }
  }

  /**
   * The shared path of every action on an existing order. With `direct` (what it sets besides the status), the action
   * is first decided and written in one statement; `decide` decides on a read of the order otherwise, and whenever
   * that statement matched nothing.
   */
  private execute(
    command: OrderCommand,
    action: OrderActionName,
    payload: Record<string, unknown>,
    decide: Decide,
    direct?: Effects,
  ): Promise<ActionResult> {
    return this.observed(action, () => this.executeAction(command, action, payload, decide, direct));
  }

  private async executeAction(
    command: OrderCommand,
    action: OrderActionName,
    payload: Record<string, unknown>,
    decide: Decide,
    direct: Effects | undefined,
  ): Promise<ActionResult> {
    const { actor, orderId, expectedVersion } = command;
    const key = command.idempotencyKey === undefined || command.idempotencyKey === null ? null : requireKey(command.idempotencyKey);
    const request: IdempotentRequest | null = key ? { actor, key, operation: action, orderId, payload } : null;
    // An action decided on a read reads before its key is looked at: 404 and 403 come first (SPEC §5).
    const read = direct ? null : await this.loadForAction(actor, orderId, action);

    const attempt = async (recordFor: RecordFor | null): Promise<ActionResult> => {
      if (direct) {
        const written = await this.write({ orderId, action, actor, decided: { expectedVersion } }, direct, recordFor);
        if (written) return written;
      }
      // Nothing read yet, or the statement matched nothing: read the order, and its checks say why.
      let order = read ?? (await this.loadForAction(actor, orderId, action));
      for (let attemptNo = 1; ; attemptNo++) {
        if (!expects(expectedVersion, order.version)) throw new VersionConflictError(order.version, order.status, expectedVersion);
        const toStatus = targetStatus(order, action);
        if (!toStatus) throw new InvalidTransitionError(action, order.status, availableActions(actor, order));
        const decision = await decide(order, toStatus);
        const written = decision && (await this.write(onRead(order, action, actor, decision), decision, recordFor));
        if (written) return written;
        await decision?.afterLostRace?.();
        // Lost the compare-and-swap, or the decision found the order changed: someone changed it since we read it.
        order = await this.loadForAction(actor, orderId, action);
        if (expectedVersion === null && attemptNo >= MAX_UNCONDITIONAL_ATTEMPTS) {
          // It expected no version: report the state it kept losing to, not a version the client never sent.
          throw new VersionConflictError(order.version, order.status, null);
        }
      }
    };
    return request ? this.idempotently(request, attempt) : this.announce(await attempt(null));
  }

  /** The order as the actor may act on it: 404 when it does not exist for the actor, 403 when not its action. */
  private async loadForAction(actor: Actor, orderId: number, action: OrderActionName): Promise<OrderWithItems> {
    const order = await loadOrder(this.deps.prisma, orderId);
    if (!order || !canSeeFor(actor, order, action)) throw new NotFoundError('Order', orderId);
    if (!isActorsAction(actor, order, action)) {
      throw new ForbiddenError(`A ${actor.role} cannot ${action.replaceAll('_', ' ')} this order`);
    }
    return order;
  }

  /**
   * Recovery found a charge of this attempt that no request recorded: record it on the order as the request would
   * have (with its idempotency record, so the client's retry replays it), if the order is still waiting for it.
   */
  async settlePaymentAttempt(attemptId: number): Promise<Date | null> {
    return this.deps.payments.settleAttempt(attemptId, (attempt, charge) => this.recordRecoveredCharge(attempt, charge));
  }

  private async recordRecoveredCharge(attempt: PaymentAttempt, charge: ExecutedCharge): Promise<boolean> {
    const order = await loadOrder(this.deps.prisma, attempt.orderId);
    if (order?.status !== 'pending_payment' || order.version !== attempt.orderVersion || order.totalAmount !== attempt.amount) return false;
    const actor: Actor = { role: attempt.actorRole, id: attempt.actorId };
    const decision: Decision = {
      toStatus: paymentTarget(charge.approved),
      payment: {
        amount: attempt.amount,
        method: attempt.method,
        approved: charge.approved,
        providerKey: attempt.providerKey,
        providerPaymentId: charge.paymentIntentId,
        attemptId: attempt.id,
      },
    };
    const { idempotencyKey: key, fingerprint } = attempt;
    const recordFor = key && fingerprint ? this.deps.idempotency.recordFor({ actor, key, operation: 'pay', fingerprint }) : null;
    let written: ActionResult | null;
    try {
      written = await this.write(onRead(order, 'pay', actor, decision), decision, recordFor);
    } catch (error) {
      // The client's key was recorded meanwhile (by a request that did not settle this attempt): record without it.
      if (!isKeyConflict(error)) throw error;
      written = await this.write(onRead(order, 'pay', actor, decision), decision, null);
    }
    if (written) this.announce(written);
    return written !== null;
  }

  /** The compare-and-swap write with everything that commits with it; null when it matched nothing. */
  private async write(
    target: Target,
    effects: Effects & { payment?: PaymentRecord },
    recordFor: RecordFor | null,
  ): Promise<ActionResult | null> {
    const committed = await commitOrderChange(this.deps.readRows, {
      ...target,
      assignedRiderId: effects.riderId ?? null,
      reason: effects.reason ?? null,
      at: new Date(),
      ...(effects.payment ? { payment: effects.payment } : {}),
      ...(effects.refund ? { refund: true } : {}),
      ...(recordFor ? { idempotency: recordFor(target.orderId) } : {}),
    });
    return committed && { order: committed.order, replayed: false, outcome: { result: 'ok', order: committed.snapshot } };
  }

  /** Runs an execution under its idempotency key (idempotency.ts owns the protocol); announces what it changed. */
  private async idempotently(request: IdempotentRequest, execute: (recordFor: RecordFor) => Promise<ActionResult>): Promise<ActionResult> {
    // Only a payment reaches outside the database (the provider's charge) before it commits.
    const result = await this.deps.idempotency.run(request, execute, { externalEffect: request.operation === 'pay' });
    return 'executed' in result ? this.announce(result.executed) : this.replay(result.replayed);
  }

  /** The replay of a key's first execution: its outcome, and the order as it is now. */
  private async replay({ orderId, outcome }: Replay): Promise<ActionResult> {
    const current = await loadOrder(this.deps.prisma, orderId);
    if (!current) throw new NotFoundError('Order', orderId);
    // A first outcome stored in a shape this release cannot read is replayed as the order now is.
    return { order: current, replayed: true, outcome: outcome ?? { result: 'ok', order: toSnapshot(current) } };
  }

  private announce(result: ActionResult): ActionResult {
    this.deps.onOrderChanged?.(result.order);
    return result;
  }

  /** Prices each line from the menu now; unknown, foreign or unavailable items are validation errors. */
  private async priceLines(command: CreateOrderCommand) {
    const { prisma } = this.deps;
    const restaurant = await prisma.restaurant.findUnique({ where: { id: command.restaurantId }, select: { id: true } });
    if (!restaurant) throw ValidationError.of('restaurantId', `restaurant ${command.restaurantId} does not exist`);
    const ids = [...new Set(command.items.map((item) => item.menuItemId))];
    const menu = new Map((await prisma.menuItem.findMany({ where: { id: { in: ids } } })).map((item) => [item.id, item]));
    const fields: FieldError[] = [];
    const lines = command.items.map((item, position) => {
      const menuItem = menu.get(item.menuItemId);
      const path = ['items', String(position), 'menuItemId'];
      if (!menuItem || menuItem.restaurantId !== command.restaurantId) {
        fields.push({ path, message: `menu item ${item.menuItemId} is not on this restaurant's menu` });
      } else if (!menuItem.available) {
        fields.push({ path, message: `${menuItem.name} is not available` });
      }
      const unitPrice = menuItem?.price ?? 0;
      return {
        menuItemId: item.menuItemId,
        position,
        name: menuItem?.name ?? '',
        quantity: item.quantity,
        unitPrice,
        lineTotal: unitPrice * item.quantity,
      };
    });
    if (fields.length) throw new ValidationError(fields);
    return lines;
  }
}

/** The idempotency key, checked; ValidationError when missing or malformed. */
const requireKey = (key: string | null | undefined): string => parseInput(IdempotencyKey, key, ['idempotencyKey']);

/** The target of a change decided on a read of `order`. */
const onRead = (order: OrderWithItems, action: OrderActionName, actor: Actor, decision: Decision): Target => ({
  orderId: order.id,
  action,
  actor,
  decided: { version: order.version, toStatus: decision.toStatus },
});

/** Whether `version` is one the command expects. */
const expects = (expected: ExpectedVersion, version: number): boolean =>
  expected === null || (typeof expected === 'number' ? expected === version : expected.includes(version));
