/**
 * `npm run bench:statements`: PostgreSQL's own CPU per execution of each list statement, alone — no HTTP, no Node
 * work — for the service's W1 and W2 statements and the floor's. Each is prepared and run `--runs` times on one
 * connection per round; the CPU is the backend's utime + stime from /proc/<pid>/stat (so PostgreSQL must run on this
 * machine), rounds interleaved, min and median reported. CPU time, unlike latency, barely moves when the other core
 * is busy, which is why design choices on the read path were made with this and not with req/s.
 *
 *   npm run bench:statements -- --rounds 6 --runs 500
 *
 * Needs the database `npm run bench` leaves behind (BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/quickeats_bench).
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'graphql';
import pg from 'pg';
import { orderPage } from '../rest-compat/v2/order-list.ts';
import type { Prisma } from '../src/generated/prisma/client.ts';
import { compileOrdersQuery } from '../src/graphql/compiled-orders.ts';
import { schema } from '../src/graphql/schema.ts';
import { W1_SQL, W2_SQL } from './servers/floor-sql.ts';
import { W1_QUERY } from './workloads.ts';

const { values: options } = parseArgs({ options: { rounds: { type: 'string', default: '6' }, runs: { type: 'string', default: '500' } } });
const rounds = Number(options.rounds);
const runs = Number(options.runs);
const admin = { role: 'admin', id: 1 } as const;

const w1 = compileOrdersQuery(schema, parse(W1_QUERY), undefined, {}, admin)!.statements[0]!;
let w2: Prisma.Sql | undefined;
await orderPage(
  async (sql) => {
    w2 = sql;
    return [];
  },
  admin,
  { limit: 50 },
  new Set(['restaurant', 'rider']),
);
const statements: Record<string, { text: string; values: unknown[] }> = {
  'W1 service': { text: w1.text, values: w1.values },
  'W1 floor': { text: W1_SQL, values: [] },
  'W2 service': { text: w2!.text, values: w2!.values },
  'W2 floor': { text: W2_SQL, values: [] },
};

const client = new pg.Client(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/quickeats_bench');
await client.connect();
const { rows } = await client.query<{ pid: number; orders: number }>(
  'SELECT pg_backend_pid() AS pid, (SELECT count(*)::int FROM orders) AS orders',
);
const { pid, orders } = rows[0]!;
const ticksPerMs = 100 / 1000; // USER_HZ
const cpuMs = () => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
};

const samples = new Map<string, number[]>();
for (let round = 0; round < rounds; round++) {
  for (const [name, { text, values }] of Object.entries(statements)) {
    const query = { name: name.replace(/\W/g, '_'), text, values };
    for (let i = 0; i < 30; i++) await client.query(query);
    const before = cpuMs();
    for (let i = 0; i < runs; i++) await client.query(query);
    samples.set(name, [...(samples.get(name) ?? []), (cpuMs() - before) / runs]);
  }
}
await client.end();

console.log(`PostgreSQL backend CPU per execution (${orders} orders; ${rounds} rounds × ${runs} runs; ms)`);
for (const [name, values] of samples) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(`${name.padEnd(12)} min ${sorted[0]!.toFixed(3)}  median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)}`);
}
