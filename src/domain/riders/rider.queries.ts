/**
 * Reads of riders and who may see a rider's location (SPEC §3): the rider itself, admins, and the customer and
 * restaurant of an order the rider is assigned to. Everyone authenticated may see that a rider exists and its name.
 */
import { Prisma, type PrismaClient, type Rider } from '../../generated/prisma/client.ts';
import type { Actor } from '../auth.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { isDatabaseId } from '../orders/commands.ts';
import type { OrderService } from '../orders/order.service.ts';

/** A rider as an actor sees it: `location` is null when unknown or not visible to that actor. */
export type RiderView = { id: number; name: string; location: { lat: number; lng: number } | null };

/** Of `riderIds`, those whose location `actor` may see; at most one query whatever the number of riders. */
export async function riderLocationsVisibleTo(prisma: PrismaClient, actor: Actor, riderIds: readonly number[]): Promise<Set<number>> {
  const unique = [...new Set(riderIds)];
  if (!unique.length) return new Set();
  if (actor.role === 'admin') return new Set(unique);
  if (actor.role === 'rider') return new Set(unique.filter((id) => id === actor.id));
  const party = actor.role === 'customer' ? { customerId: actor.id } : { restaurantId: actor.id };
  const rows = await prisma.order.findMany({
    where: { riderId: { in: unique }, ...party },
    select: { riderId: true },
    distinct: ['riderId'],
  });
  return new Set(rows.flatMap((row) => (row.riderId === null ? [] : [row.riderId])));
}

/**
 * riderLocationsVisibleTo as a SQL condition on the riders row `alias`, for reads compiled into one statement (the
 * v2 order list’s `included`). test/rest/v2-list-sql.test.ts checks that both agree, for every actor.
 */
export function riderLocationVisibleSql(actor: Actor, alias: string): Prisma.Sql {
  const riderId = Prisma.raw(`${alias}.id`);
  switch (actor.role) {
    case 'admin':
      return Prisma.sql`true`;
    case 'rider':
      return Prisma.sql`${riderId} = ${actor.id}::integer`;
    case 'customer':
      return Prisma.sql`EXISTS (SELECT 1 FROM orders x WHERE x.rider_id = ${riderId} AND x.customer_id = ${actor.id}::integer)`;
    case 'restaurant':
      return Prisma.sql`EXISTS (SELECT 1 FROM orders x WHERE x.rider_id = ${riderId} AND x.restaurant_id = ${actor.id}::integer)`;
  }
}

/** A rider as an actor sees it: the location only when known and visible to that actor. */
export function riderView(rider: Pick<Rider, 'id' | 'name' | 'lat' | 'lng'>, locationVisible: boolean): RiderView {
  const known = rider.lat !== null && rider.lng !== null;
  return { id: rider.id, name: rider.name, location: known && locationVisible ? { lat: rider.lat!, lng: rider.lng! } : null };
}

/** Rider `riderId` loaded as `query` (Pothos's selection, when GraphQL asks) selects, or null. */
export function findRider(
  prisma: PrismaClient,
  riderId: number,
  query: Pick<Prisma.RiderFindUniqueArgs, 'include' | 'select'> = {},
): Promise<Rider | null> {
  if (!isDatabaseId(riderId)) return Promise.resolve(null);
  return prisma.rider.findUnique({ ...query, where: { id: riderId } });
}

/** One rider as the actor may see it, or NotFoundError. */
export async function getRider(prisma: PrismaClient, actor: Actor, riderId: number): Promise<RiderView> {
  const rider = await findRider(prisma, riderId);
  if (!rider) throw new NotFoundError('Rider', riderId);
  return riderView(rider, (await riderLocationsVisibleTo(prisma, actor, [rider.id])).has(rider.id));
}

/** Loaded riders as the actor may see them, each once, by id; one query at most (whose locations it may see). */
export async function riderViews(prisma: PrismaClient, actor: Actor, riders: readonly Rider[]): Promise<RiderView[]> {
  const unique = [...new Map(riders.map((rider) => [rider.id, rider])).values()].sort((a, b) => a.id - b.id);
  const visible = await riderLocationsVisibleTo(
    prisma,
    actor,
    unique.map((rider) => rider.id),
  );
  return unique.map((rider) => riderView(rider, visible.has(rider.id)));
}

/**
 * A location report addressed to a rider resource (REST `PUT /riders/{id}/location`): 404 for no such rider, 403
 * unless the actor is that rider, then OrderService.updateRiderLocation (range checks).
 */
export async function reportRiderLocation(
  deps: { prisma: PrismaClient; orders: OrderService },
  command: { actor: Actor; riderId: number; lat: number; lng: number },
): Promise<RiderView> {
  const { actor, riderId } = command;
  if (!(await findRider(deps.prisma, riderId))) throw new NotFoundError('Rider', riderId);
  if (actor.role !== 'rider' || actor.id !== riderId) throw new ForbiddenError('Only the rider itself reports its location');
  const updated = await deps.orders.updateRiderLocation({ actor, lat: command.lat, lng: command.lng });
  return riderView(updated, true);
}
