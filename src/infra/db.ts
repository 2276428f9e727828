/**
 * The database: real PostgreSQL through `pg` when DATABASE_URL is set, otherwise an embedded PGlite.
 * Both are driven by the same Prisma client (driver adapters) and the same migrations.
 */
import fs from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaClient } from '../generated/prisma/client.ts';

export { PrismaClient };

/** A session on which raw, possibly multi-statement SQL can run (used by the migrator). */
export type SqlSession = {
  exec(sql: string): Promise<void>;
  query<Row>(sql: string, params?: unknown[]): Promise<Row[]>;
};

export type Database = {
  kind: 'postgres' | 'embedded';
  prisma: PrismaClient;
  /** Runs `work` on one dedicated session (a pooled connection, or the single PGlite connection). */
  withSession<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Subscribes to every SQL statement Prisma sends; returns the unsubscribe function. */
  onStatement(listener: (sql: string) => void): () => void;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** Connection pool use (PostgreSQL only). */
  poolStats?: () => { total: number; idle: number; waiting: number };
};

export type DatabaseOptions = {
  /** postgres:// URL; undefined selects the embedded database. */
  url?: string | undefined;
  /** Where PGlite keeps its files; `memory://` for a throw-away database. */
  embeddedDataDir?: string;
  poolSize?: number;
};

/** Opens the configured database and a Prisma client over it. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options.poolSize ?? 10) : openEmbedded(options.embeddedDataDir ?? 'memory://');
}

function createPrisma(adapter: SqlDriverAdapterFactory) {
  const prisma = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  const listeners = new Set<(sql: string) => void>();
  // The client's generic log typing is lost once it is stored as a plain PrismaClient; the event shape is stable.
  (prisma as unknown as { $on(event: 'query', cb: (e: { query: string }) => void): void }).$on('query', (event) => {
    for (const listener of listeners) listener(event.query);
  });
  const onStatement = (listener: (sql: string) => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  return { prisma: prisma as PrismaClient, onStatement };
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5_000 });
  // An idle client that loses its server (restart, failover) must not crash the process.
  pool.on('error', () => {});
  const { prisma, onStatement } = createPrisma(new PrismaPg(pool));
  return {
    kind: 'postgres',
    prisma,
    onStatement,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async withSession(work) {
      const client = await pool.connect();
      try {
        return await work({
          exec: async (sql) => {
            await client.query(sql);
          },
          query: async (sql, params) => (await client.query(sql, params)).rows,
        });
      } finally {
        client.release();
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function openEmbedded(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(dataDir, { recursive: true });
  // Loaded only when used: PGlite costs ~50 MB of memory that a process on real PostgreSQL should not carry.
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
  const pglite = await PGlite.create(dataDir);
  const { prisma, onStatement } = createPrisma(new PrismaPGlite(pglite));
  let sessionQueue: Promise<void> = Promise.resolve();
  return {
    kind: 'embedded',
    prisma,
    onStatement,
    async withSession(work) {
      // PGlite has a single connection, on which advisory locks are re-entrant: serialise sessions here instead.
      const run = sessionQueue.then(() =>
        work({
          exec: async (sql) => {
            await pglite.exec(sql);
          },
          query: async (sql, params) => (await pglite.query(sql, params)).rows as never,
        }),
      );
      sessionQueue = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
    async ping() {
      await pglite.query('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}
