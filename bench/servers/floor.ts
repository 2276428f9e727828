/**
 * "The floor": the least work that can answer each workload over this project's own tables — a bare node:http server,
 * a `pg` Pool and one hand-written SQL statement per request (prepared, JSON built by PostgreSQL), no framework,
 * no auth, no validation. The service and PostGraphile are measured as fractions of it.
 *
 *   POST /w1   the W1/W4 GraphQL answer: 50 newest orders with restaurant, rider and items (request body ignored)
 *   GET  /w2   the W2 REST v2 answer: 50 newest orders with `included` restaurants and riders
 *   POST /w3   `{"id", "version"}` → pending_acceptance → preparing, version + 1, in one compare-and-swap UPDATE;
 *              409 when the version or the status moved
 *
 * Runs in its own process, started by bench/run.ts. Environment: BENCH_DATABASE_URL, PORT, POOL_SIZE.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';
import { W1_SQL, W2_SQL, W3_SQL } from './floor-sql.ts';
import { connectToBench, intFromEnv, stringFromEnv } from './ipc.ts';

const port = intFromEnv('PORT');
const pool = new pg.Pool({ connectionString: stringFromEnv('BENCH_DATABASE_URL'), max: intFromEnv('POOL_SIZE', 10) });
pool.on('error', () => {});

let statements = 0;

async function query(name: string, text: string, values: unknown[] = []) {
  statements++;
  return pool.query({ name, text, values });
}

function send(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  if (req.method === 'POST' && req.url === '/w1') {
    await readBody(req);
    const { rows } = await query('w1', W1_SQL);
    return send(res, 200, rows[0].body);
  }
  if (req.method === 'GET' && req.url === '/w2') {
    const { rows } = await query('w2', W2_SQL);
    return send(res, 200, rows[0].body);
  }
  if (req.method === 'POST' && req.url === '/w3') {
    const { id, version } = JSON.parse(await readBody(req)) as { id: number; version: number };
    const { rows } = await query('w3', W3_SQL, [id, version]);
    return rows[0] ? send(res, 200, JSON.stringify(rows[0])) : send(res, 409, JSON.stringify({ error: 'version or status moved', id }));
  }
  return send(res, 404, '{"error":"not found"}');
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: Error) => send(res, 500, JSON.stringify({ error: error.message })));
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => connectToBench(port, () => ({ statements })));
