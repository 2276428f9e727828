/**
 * Reads of restaurants and their menus. Every authenticated actor may browse restaurants (SPEC §5 `GET /restaurants`).
 */
import type { MenuItem, Prisma, PrismaClient, Restaurant } from '../../generated/prisma/client.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { isDatabaseId } from '../orders/commands.ts';
import { PAGE_SIZE } from '../orders/order.queries.ts';

export type RestaurantWithMenu = Restaurant & { menuItems: MenuItem[] };

/** Opaque keyset cursor over restaurant ids. */
export function encodeRestaurantCursor(restaurant: Pick<Restaurant, 'id'>): string {
  return Buffer.from(`r|${restaurant.id}`).toString('base64url');
}

function decodeRestaurantCursor(cursor: string): number {
  const [tag, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const parsed = Number(id);
  if (tag !== 'r' || rest.length || !Number.isSafeInteger(parsed) || parsed < 1 || encodeRestaurantCursor({ id: parsed }) !== cursor) {
    throw ValidationError.of('cursor', 'is not a cursor this API issued');
  }
  return parsed;
}

/** One page of restaurants in id order. */
export async function listRestaurants(
  prisma: PrismaClient,
  options: { limit?: number; cursor?: string | null },
): Promise<{ restaurants: Restaurant[]; nextCursor: string | null }> {
  const limit = options.limit ?? PAGE_SIZE.default;
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_SIZE.max)
    throw ValidationError.of('limit', `must be an integer from 1 to ${PAGE_SIZE.max}`);
  const after = options.cursor ? decodeRestaurantCursor(options.cursor) : null;
  const rows = await prisma.restaurant.findMany({ where: after ? { id: { gt: after } } : {}, orderBy: { id: 'asc' }, take: limit + 1 });
  const restaurants = rows.slice(0, limit);
  const last = restaurants.at(-1);
  return { restaurants, nextCursor: rows.length > limit && last ? encodeRestaurantCursor(last) : null };
}

/** A restaurant with its whole menu (available or not), or NotFoundError. */
export async function getRestaurantWithMenu(prisma: PrismaClient, restaurantId: number): Promise<RestaurantWithMenu> {
  const restaurant = isDatabaseId(restaurantId)
    ? await prisma.restaurant.findUnique({ where: { id: restaurantId }, include: { menuItems: { orderBy: { id: 'asc' } } } })
    : null;
  if (!restaurant) throw new NotFoundError('Restaurant', restaurantId);
  return restaurant;
}

/** Restaurant `restaurantId` loaded as `query` (Pothos's selection) selects, or null. */
export function findRestaurant(
  prisma: PrismaClient,
  restaurantId: number,
  query: Pick<Prisma.RestaurantFindUniqueArgs, 'include' | 'select'> = {},
) {
  return prisma.restaurant.findUnique({ ...query, where: { id: restaurantId } });
}

/** Restaurants in id order, loaded and paged as `query` (Pothos's selection of a connection) says. */
export function findRestaurants(prisma: PrismaClient, query: Omit<Prisma.RestaurantFindManyArgs, 'where' | 'orderBy'>) {
  return prisma.restaurant.findMany({ ...query, orderBy: { id: 'asc' } });
}
