import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/infra/db.ts';
import { migrate, readMigrations } from '../../src/infra/migrate.ts';
import { seedDemoData } from '../../src/infra/seed.ts';
import { backend, createScratchDatabase } from '../support/harness.ts';
import { freePort } from '../support/server-process.ts';

const migrationNames = readMigrations().map((migration) => migration.name);

async function recorded(db: Database) {
  return db.withSession((session) =>
    session.query<{ migration_name: string; n: number }>(
      'SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY migration_name ORDER BY migration_name',
    ),
  );
}

/** Opens `count` independent connections to one fresh database (PGlite: one instance shared, as in one process). */
async function freshDatabases(count: number): Promise<{ dbs: Database[]; cleanup(): Promise<void> }> {
  if (backend === 'embedded') {
    const db = await openDatabase({ embeddedDataDir: 'memory://' });
    return { dbs: Array.from({ length: count }, () => db), cleanup: () => db.close() };
  }
  const scratch = await createScratchDatabase();
  const dbs = await Promise.all(Array.from({ length: count }, () => openDatabase({ url: scratch.url, poolSize: 2 })));
  return {
    dbs,
    async cleanup() {
      await Promise.all(dbs.map((db) => db.close()));
      await scratch.drop();
    },
  };
}

describe(`migrations (${backend})`, () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('applies each migration exactly once when three migrators race on an empty database', async () => {
    const { dbs, cleanup } = await freshDatabases(3);
    cleanups.push(cleanup);
    const applied = await Promise.all(dbs.map((db) => migrate(db)));
    expect(applied.flat().sort()).toEqual(migrationNames);
    expect(await recorded(dbs[0]!)).toEqual(migrationNames.map((name) => ({ migration_name: name, n: 1 })));
    expect(await migrate(dbs[0]!)).toEqual([]);
  });

  it('refuses a migration that was edited after it was applied', async () => {
    const { dbs, cleanup } = await freshDatabases(1);
    cleanups.push(cleanup);
    const db = dbs[0]!;
    await migrate(db);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
    for (const name of migrationNames) {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'migration.sql'), '-- edited\nSELECT 1;');
    }
    await expect(migrate(db, dir)).rejects.toThrow(/checksum mismatch/);
  });

  it('rolls back a failing migration and records nothing for it', async () => {
    const { dbs, cleanup } = await freshDatabases(1);
    cleanups.push(cleanup);
    const db = dbs[0]!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
    fs.mkdirSync(path.join(dir, '20990101000000_broken'));
    fs.writeFileSync(
      path.join(dir, '20990101000000_broken', 'migration.sql'),
      'CREATE TABLE half_done (id int);\nSELECT no_such_function();',
    );
    await expect(migrate(db, dir)).rejects.toThrow(/20990101000000_broken failed/);
    const tables = await db.withSession((session) =>
      session.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'half_done'"),
    );
    expect(tables[0]?.n).toBe(0);
    expect(await recorded(db)).toEqual([]);
  });

  it('seeds the demo data of SPEC §2 once, even when seeders race', async () => {
    const { dbs, cleanup } = await freshDatabases(3);
    cleanups.push(cleanup);
    await migrate(dbs[0]!);
    const inserted = await Promise.all(dbs.map((db) => seedDemoData(db)));
    expect(inserted.filter(Boolean)).toHaveLength(1);
    const { prisma } = dbs[0]!;
    expect((await prisma.customer.findMany({ orderBy: { id: 'asc' } })).map((c) => c.id)).toEqual([1, 2]);
    expect((await prisma.rider.findMany({ orderBy: { id: 'asc' } })).map((r) => r.id)).toEqual([1, 2]);
    expect((await prisma.admin.findMany()).map((a) => a.id)).toEqual([1]);
    for (const restaurantId of [1, 2]) {
      expect(await prisma.menuItem.count({ where: { restaurantId, available: true } })).toBeGreaterThanOrEqual(3);
    }
    // Sequences moved past the explicit ids: the next customer gets id 3.
    expect((await prisma.customer.create({ data: { name: 'new' } })).id).toBe(3);
  });
});

describe.runIf(backend === 'postgres')('three server processes started together on an empty PostgreSQL database', () => {
  const children: ReturnType<typeof spawn>[] = [];
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await drop?.();
  });

  it('all become ready and record each migration exactly once', { timeout: 120_000 }, async () => {
    const scratch = await createScratchDatabase();
    drop = scratch.drop;
    const ports = [await freePort(), await freePort(), await freePort()];
    for (const port of ports) {
      children.push(
        spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
          env: {
            PATH: process.env.PATH,
            PORT: String(port),
            HOST: '127.0.0.1',
            DATABASE_URL: scratch.url,
            REDIS_URL: process.env.TEST_REDIS_URL,
            LOG_LEVEL: 'warn',
          },
          stdio: 'ignore',
        }),
      );
    }
    const readyWithin = async (port: number, ms: number) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) return true;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return false;
    };
    expect(await Promise.all(ports.map((port) => readyWithin(port, 60_000)))).toEqual([true, true, true]);
    const db = await openDatabase({ url: scratch.url, poolSize: 1 });
    try {
      expect(await recorded(db)).toEqual(migrationNames.map((name) => ({ migration_name: name, n: 1 })));
      expect(await db.prisma.customer.count()).toBe(2);
    } finally {
      await db.close();
    }
  });
});
