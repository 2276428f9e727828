/**
 * Demo data (SPEC §2): customers 1–2, restaurants 1–2 with menus, riders 1–2, admin 1.
 * Runs only on an empty database, so it is safe at every start and from several processes at once.
 */
import type { Actor } from '../domain/auth.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Database } from './db.ts';

/** Every actor the demo data creates (demo tokens, the soak test). */
export const DEMO_ACTORS: readonly Actor[] = [
  { role: 'customer', id: 1 },
  { role: 'customer', id: 2 },
  { role: 'restaurant', id: 1 },
  { role: 'restaurant', id: 2 },
  { role: 'rider', id: 1 },
  { role: 'rider', id: 2 },
  { role: 'admin', id: 1 },
];

const SEED_LOCK_ID = 72_640_312;

const MENUS = [
  {
    name: 'Seoul Kitchen',
    address: '12 Itaewon-ro, Yongsan-gu, Seoul',
    items: [
      { name: 'Bibimbap', price: 11_000 },
      { name: 'Kimchi jjigae', price: 9_500 },
      { name: 'Japchae', price: 12_000 },
      { name: 'Seasonal special', price: 15_000, available: false },
    ],
  },
  {
    name: 'Han River Chicken',
    address: '88 Yeouido-dong, Yeongdeungpo-gu, Seoul',
    items: [
      { name: 'Fried chicken (whole)', price: 20_000 },
      { name: 'Yangnyeom chicken (half)', price: 12_500 },
      { name: 'Pickled radish', price: 1_000 },
    ],
  },
];

/** Fills an empty database with the demo actors and menus; returns false when data was already there. */
export async function seedDemoData(db: Database): Promise<boolean> {
  // Serialise concurrent seeders with an advisory lock held by the transaction, then check for emptiness.
  return db.prisma.$transaction(async (tx) => {
    await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock($1)', SEED_LOCK_ID);
    if ((await tx.customer.count()) > 0 || (await tx.restaurant.count()) > 0) return false;
    await insertDemoData(tx as unknown as PrismaClient);
    return true;
    // Start-up work, not a request: on a loaded machine, with other processes seeding at once (each waiting for the
    // lock inside its transaction), Prisma's defaults (2 s to start, 5 s in all) are too short.
  }, SEED_TRANSACTION);
}

const SEED_TRANSACTION = { maxWait: 15_000, timeout: 30_000 } as const;

async function insertDemoData(prisma: PrismaClient): Promise<void> {
  await prisma.customer.createMany({
    data: [
      { id: 1, name: 'Ji-woo Kim' },
      { id: 2, name: 'Min-jun Park' },
    ],
  });
  for (const [index, menu] of MENUS.entries()) {
    await prisma.restaurant.create({
      data: { id: index + 1, name: menu.name, address: menu.address, menuItems: { create: menu.items } },
    });
  }
  await prisma.rider.createMany({
    data: [
      { id: 1, name: 'Seo-yeon Lee' },
      { id: 2, name: 'Do-hyun Choi' },
    ],
  });
  await prisma.admin.create({ data: { id: 1, name: 'Operations' } });
  // Explicit ids leave the sequences behind; move them past the demo rows.
  for (const table of ['customers', 'restaurants', 'riders', 'admins']) {
    await prisma.$executeRawUnsafe(`SELECT setval(pg_get_serial_sequence('"${table}"', 'id'), (SELECT MAX(id) FROM "${table}"))`);
  }
}
