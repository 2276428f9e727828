/**
 * PostGraphile 5 (amber preset) over the benchmark database, served by grafserv on node:http — the reference point
 * for "a generic GraphQL layer over the same tables". Every SQL statement its pool runs is counted for the report.
 *
 * Runs in its own process: `node --import tsx --import ./bench/servers/node22-polyfill.ts bench/servers/postgraphile.ts`
 * (PostGraphile 5 declares Node >= 22; on Node 20 it needs the polyfill). Environment: BENCH_DATABASE_URL, PORT,
 * POOL_SIZE.
 */
import { createServer } from 'node:http';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { connectToBench, intFromEnv, stringFromEnv } from './ipc.ts';

const port = intFromEnv('PORT');
const pool = new pg.Pool({ connectionString: stringFromEnv('BENCH_DATABASE_URL'), max: intFromEnv('POOL_SIZE', 10) });
pool.on('error', () => {});

let statements = 0;
// @dataplan/pg runs everything through the pooled clients' query(): count there, transaction control included,
// as the service's db_statements_total does.
pool.on('connect', (client) => {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    statements++;
    return query(...args);
  };
});

const preset: GraphileConfig.Preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ pool, schemas: ['public'] })],
  grafserv: { port, graphqlPath: '/graphql', graphiql: false, watch: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.keepAliveTimeout = 65_000;
await serv.addTo(server);
// Build the schema before saying ready, so no measured request pays for it.
await pgl.getSchema();
server.listen(port, '127.0.0.1', () => connectToBench(port, () => ({ statements })));
