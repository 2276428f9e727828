/**
 * The database: real PostgreSQL through `pg` when DATABASE_URL is set, otherwise an embedded PGlite.
 * Both are driven by the same Prisma client (driver adapters) and the same migrations.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { type Prisma, PrismaClient } from '../generated/prisma/client.ts';

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
  /**
   * Runs a read (the one-statement order lists) and returns its rows, each as an array of its parsed column values;
   * on PostgreSQL as a named prepared statement, so that each shape is parsed and planned once per connection.
   */
  readRows(sql: Prisma.Sql): Promise<unknown[][]>;
  /** Subscribes to every SQL statement sent (Prisma's and readRows'); returns the unsubscribe function. */
  onStatement(listener: (sql: string) => void): () => void;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** Connection pool use (PostgreSQL only). */
  poolStats?: () => { total: number; idle: number; waiting: number };
  /** A node-postgres pool for the job queue: its own small pool on PostgreSQL, a stand-in over PGlite when embedded. */
  jobPool: pg.Pool;
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
  const announce = (sql: string) => {
    for (const listener of listeners) listener(sql);
  };
  return { prisma: prisma as PrismaClient, onStatement, announce };
}

/**
 * Statement names for readRows, by SQL text. Bounded because documents come from clients: past the bound a new shape
 * runs unnamed (parsed each time) rather than leaving ever more prepared statements in every connection.
 */
const MAX_PREPARED_READS = 256;
const preparedNames = new Map<string, string>();
function preparedName(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < MAX_PREPARED_READS) {
    name = `compiled_read_${preparedNames.size}`;
    preparedNames.set(text, name);
  }
  return name;
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5_000 });
  // An idle client that loses its server (restart, failover) must not crash the process.
  pool.on('error', () => {});
  const { prisma, onStatement, announce } = createPrisma(new PrismaPg(pool));
  const readRows = async (sql: Prisma.Sql) => {
    announce(sql.text);
    return (await pool.query<unknown[]>({ name: preparedName(sql.text), text: sql.text, values: sql.values, rowMode: 'array' })).rows;
  };
  // Job polling and LISTEN must never wait behind request traffic (nor hold its connections).
  const jobPool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 5_000 });
  // As for the main pool: a connection that loses its server is replaced, never a crash (the worker logs and retries).
  jobPool.on('error', () => {});
  jobPool.on('connect', (client) => client.on('error', () => {}));
  return {
    kind: 'postgres',
    prisma,
    onStatement,
    jobPool,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    readRows,
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
      await Promise.all([pool.end(), jobPool.end()]);
    },
  };
}

async function openEmbedded(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(dataDir, { recursive: true });
  // Loaded only when used: PGlite costs ~50 MB of memory that a process on real PostgreSQL should not carry.
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
  const pglite = await PGlite.create(dataDir);
  const { prisma, onStatement, announce } = createPrisma(new PrismaPGlite(pglite));
  const readRows = async (sql: Prisma.Sql) => {
    announce(sql.text);
    return (await pglite.query<unknown[]>(sql.text, sql.values, { rowMode: 'array' })).rows;
  };
  let sessionQueue: Promise<void> = Promise.resolve();
  return {
    kind: 'embedded',
    prisma,
    onStatement,
    jobPool: pgPoolOverPGlite(pglite),
    readRows,
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

type PGliteInstance = Awaited<ReturnType<typeof import('@electric-sql/pglite')['PGlite']['create']>>;
type QueryConfig = string | { text: string; values?: unknown[] };

/**
 * Just enough of node-postgres' Pool over PGlite for graphile-worker, so that the embedded database runs the same
 * job queue (and the same jobs, enqueued by the same SQL) as PostgreSQL. Written by hand because no library bridges
 * the two in process; pglite-socket serves one connection at a time, and the worker needs several.
 *
 * PGlite has one session. Its query() and exec() each wait for any transaction in progress, so a statement of the
 * worker never lands inside a transaction of Prisma's. The worker's only multi-statement transactions are its
 * schema migrations, which run at start-up before anything else uses the database.
 */
function pgPoolOverPGlite(pglite: PGliteInstance): pg.Pool {
  // node-postgres returns int8 (job ids) as strings; keep them so, as the worker expects.
  const options = { parsers: { 20: (value: string) => value } };
  const query = async (config: QueryConfig, values?: unknown[]) => {
    const text = typeof config === 'string' ? config : config.text;
    const params = values ?? (typeof config === 'string' ? undefined : config.values);
    if (params?.length) {
      const result = await pglite.query(text, params, options);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    }
    // Without parameters the text may hold several statements (migrations): the simple query protocol runs them all.
    const results = await pglite.exec(text, options);
    const last = results.at(-1);
    return { rows: last?.rows ?? [], rowCount: last?.affectedRows ?? last?.rows.length ?? 0 };
  };
  const pool = new EventEmitter() as EventEmitter & Record<string, unknown>;
  // The worker warns about pools without error handlers; this one has no connections that could fail.
  pool.on('error', () => {});
  pool.on('connect', () => {});
  Object.assign(pool, {
    options: { max: 10 },
    query,
    end: async () => {},
    connect: async () => {
      const client = new EventEmitter() as EventEmitter & Record<string, unknown>;
      const unlisten: (() => Promise<void>)[] = [];
      Object.assign(client, {
        release: () => {},
        query: async (config: QueryConfig, values?: unknown[]) => {
          const text = typeof config === 'string' ? config : config.text;
          // LISTEN/UNLISTEN map onto PGlite's own notification API (a session-level LISTEN would never be read).
          if (/^\s*LISTEN\b/i.test(text)) {
            for (const [, channel] of text.matchAll(/LISTEN\s+"([^"]+)"/gi)) {
              unlisten.push(await pglite.listen(channel!, (payload: string) => client.emit('notification', { channel, payload })));
            }
            return { rows: [], rowCount: 0 };
          }
          if (/^\s*UNLISTEN\b/i.test(text)) {
            for (const stop of unlisten.splice(0)) await stop();
            return { rows: [], rowCount: 0 };
          }
          return query(config, values);
        },
      });
      return client;
    },
  });
  return pool as unknown as pg.Pool;
}
