/**
 * One measured run: autocannon against one server, with the server's CPU time, its SQL statements, its Redis round
 * trips, the database's CPU time and the machine's idle/busy time read before and after, so each figure is "per
 * request of this run". And what comes before each run: letting the database settle.
 */
import autocannon from 'autocannon';
import pg from 'pg';
import type { Child } from './children.ts';
import { CLOCK_TICKS, listProcesses, machineBusyTicks, type ProcessInfo, sampleRss, tcpSegmentsSent, withDescendants } from './proc.ts';
import type { TargetName, WorkloadName } from './workloads.ts';
import { buildRequests, type Failure, type WorkloadContext } from './workloads.ts';

/** More than this much CPU (in cores) used by processes that are not part of the bench → the run was disturbed. */
export const BUSY_THRESHOLD_CORES = 0.15;

export type Server = {
  name: TargetName;
  url: string;
  child: Child;
  /** SQL statements this server has sent so far. */
  statements(): Promise<number>;
};

export type RunRecord = {
  round: number;
  workload: WorkloadName;
  target: TargetName;
  connections: number;
  seconds: number;
  requests: number;
  reqPerSec: number;
  latencyMs: { p50: number; p99: number; mean: number; max: number };
  /** Responses that failed their check (non-2xx, GraphQL errors, an action that did not succeed). */
  failed: number;
  /** Connection errors and timeouts (autocannon). */
  connectionErrors: number;
  failureSamples: Failure[];
  poolExhausted: boolean;
  serverCpuMsPerReq: number;
  /** PostgreSQL CPU (this database's backends and the shared background processes) per request. */
  dbCpuMsPerReq: number;
  sqlPerReq: number;
  /** Round trips to Redis per request (TCP segments the server sent to Redis); null when they could not be read. */
  redisRoundTripsPerReq: number | null;
  /** CPU used by everything else on the machine during the run, in cores. */
  otherCpuCores: number;
  busy: boolean;
  /** Peak VmRSS of the server during the run (sampled), MiB. */
  maxRssMiB: number;
};

/** A counter's value, with the number of responses the load generator had received when the value came back. */
type Reading<T> = { value: T; responses: number };

type Snapshot = CpuMark & { statements: Reading<number>; redisSegments: Reading<Map<string, number> | null> };

/**
 * Watches PostgreSQL's processes: the backends of the benchmark database, the shared background processes
 * (WAL writer, checkpointer, …) and the postmaster count as "the database"; other databases' backends do not.
 */
export class DatabaseProcesses {
  constructor(
    private readonly monitor: pg.Client,
    private readonly database: string,
  ) {}

  async pids(): Promise<{ database: Set<number>; monitor: number }> {
    const { rows } = await this.monitor.query<{ pid: number; ours: boolean; me: boolean }>(
      `SELECT pid, (datname = $1 OR datname IS NULL) AS ours, pid = pg_backend_pid() AS me FROM pg_stat_activity`,
      [this.database],
    );
    const database = new Set(rows.filter((row) => row.ours && !row.me).map((row) => row.pid));
    return { database, monitor: rows.find((row) => row.me)?.pid ?? -1 };
  }

  /** Statements of the benchmark database still running (requests cut off when the previous load stopped). */
  async activeStatements(): Promise<number> {
    const { rows } = await this.monitor.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM pg_stat_activity
       WHERE datname = $1 AND state NOT IN ('idle') AND backend_type IN ('client backend', 'autovacuum worker')`,
      [this.database],
    );
    return rows[0]!.count;
  }
}

/** PostgreSQL CPU below this (in cores, over half a second) counts as "settled". */
const SETTLED_DB_CORES = 0.1;

/**
 * Leaves the next run a database in the same state whatever ran before it: waits for cut-off requests to finish,
 * then VACUUM (ANALYZE) (dead rows of the previous write run, hint bits and statistics of freshly inserted rows) and
 * CHECKPOINT (dirty pages written now, not by the checkpointer during the next window), then waits until
 * PostgreSQL's processes are idle. Returns how long it took, and whether they got idle before `timeoutMs`.
 */
export async function settleDatabase(url: string, db: DatabaseProcesses, timeoutMs = 30_000): Promise<{ ms: number; settled: boolean }> {
  const started = performance.now();
  const late = () => performance.now() - started > timeoutMs;
  while ((await db.activeStatements()) > 0 && !late()) await sleep(50);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('VACUUM (ANALYZE)');
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
  for (;;) {
    const pids = await db.pids();
    const before = listProcesses();
    await sleep(500);
    const after = listProcesses();
    const postmasters = [...pids.database].map((pid) => after.get(pid)?.ppid ?? -1);
    let ticks = 0;
    for (const pid of new Set([...pids.database, ...postmasters])) {
      ticks += (after.get(pid)?.cpuTicks ?? 0) - (before.get(pid)?.cpuTicks ?? 0);
    }
    const settled = ticks / CLOCK_TICKS / 0.5 < SETTLED_DB_CORES && (await db.activeStatements()) === 0;
    if (settled || late()) return { ms: performance.now() - started, settled };
  }
}

export type MeasureOptions = {
  round: number;
  workload: WorkloadName;
  server: Server;
  connections: number;
  /** Load before the window opens (part of the same continuous run). */
  warmupSeconds: number;
  /** Length of the measured window. */
  seconds: number;
  context: WorkloadContext;
  db: DatabaseProcesses;
  /** Process ids that are part of the bench but not its descendants (redis-server). */
  knownPids: () => number[];
  /** Redis's port: the server's round trips to it are counted. */
  redisPort: number;
};

/**
 * How long the load may go on after the window: until the closing snapshot is taken, then until autocannon's next
 * one-second tick stops it. Allowed for when sizing the W3 pool.
 */
export const TAIL_SECONDS = 1.5;

/**
 * Runs the load once and measures a window in its middle: after `warmupSeconds` of load, for `seconds`, while the load
 * continues. Requests in flight at either edge balance out, so CPU and SQL per request are per steady-state request —
 * no request cut off by the previous run or by this one's end is counted without its response.
 *
 * Each counter is divided by the responses received between its own two readings. The window's requests, latencies
 * and CPU run from one CPU mark to the other; the SQL statements are read through the server (the service's /metrics
 * answers only after the requests queued before it, a delay that differs at the two edges), so they are divided by
 * the responses received between the two answers, not by the window's.
 */
export async function measure(options: MeasureOptions): Promise<RunRecord> {
  const { server, workload, connections, seconds } = options;
  const { requests, check } = buildRequests(workload, server.name, options.context);
  const rss = sampleRss(server.child.pid);
  const instance = autocannon({
    url: server.url,
    connections,
    // Stopped once the closing snapshot is taken; the duration only bounds a run whose snapshot never comes back.
    duration: options.warmupSeconds + seconds + 60,
    requests,
    timeout: 10,
    pipelining: 1,
  });
  const latencies: number[] = [];
  let responses = 0;
  let windowOpen = false;
  // autocannon emits (client, status, bytes, responseTime); its type declarations omit the client.
  (instance as unknown as NodeJS.EventEmitter).on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    responses++;
    if (windowOpen) latencies.push(responseTime);
  });
  const finished: Promise<autocannon.Result> = Promise.resolve(instance);
  const received = () => responses;
  await sleep(options.warmupSeconds * 1000);
  const before = await snapshot(server, options.redisPort, received);
  windowOpen = true;
  await sleep(seconds * 1000 - (performance.now() - before.at));
  const after = await snapshot(server, options.redisPort, received);
  windowOpen = false;
  // What happens after the window (requests cut off by the stop, a pool emptied by the tail) is not this run's.
  const { failed, poolExhausted } = check;
  // The instance is autocannon's tracker (an EventEmitter with stop() and then()) whichever overload types it.
  (instance as unknown as autocannon.Instance).stop();
  const result = await finished;
  const maxRss = rss.stop();

  const pgPids = await options.db.pids();
  const delta = (pids: Iterable<number>) => {
    let ticks = 0;
    for (const pid of pids) ticks += (after.processes.get(pid)?.cpuTicks ?? 0) - (before.processes.get(pid)?.cpuTicks ?? 0);
    return ticks;
  };
  const postmasters = new Set([...pgPids.database].map((pid) => after.processes.get(pid)?.ppid ?? -1));
  const databasePids = new Set([...pgPids.database, ...postmasters].filter((pid) => after.processes.get(pid)?.comm.startsWith('postgres')));
  const serverPids = withDescendants([server.child.pid], after.processes);
  const benchPids = withDescendants([process.pid], after.processes);
  const known = new Set([...benchPids, ...databasePids, pgPids.monitor, ...options.knownPids()]);

  const elapsedSeconds = (after.at - before.at) / 1000;
  const completed = latencies.length;
  const perRequestMs = (ticks: number) => (completed ? (ticks * 1000) / CLOCK_TICKS / completed : Number.NaN);
  const otherCpuCores = otherCores(before, after, known);
  latencies.sort((a, b) => a - b);

  return {
    round: options.round,
    workload,
    target: server.name,
    connections,
    seconds: elapsedSeconds,
    requests: completed,
    reqPerSec: completed / elapsedSeconds,
    latencyMs: {
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      mean: latencies.reduce((sum, value) => sum + value, 0) / (completed || 1),
      max: latencies.at(-1) ?? Number.NaN,
    },
    failed,
    connectionErrors: result.errors,
    failureSamples: check.samples,
    poolExhausted,
    serverCpuMsPerReq: perRequestMs(delta(serverPids)),
    dbCpuMsPerReq: perRequestMs(delta(databasePids)),
    sqlPerReq: perReading(before.statements, after.statements, (first, last) => last - first) ?? Number.NaN,
    redisRoundTripsPerReq: perReading(before.redisSegments, after.redisSegments, segmentsSent),
    otherCpuCores,
    busy: otherCpuCores > BUSY_THRESHOLD_CORES,
    maxRssMiB: maxRss / 2 ** 20,
  };
}

/** The value below which `share` of the sorted values fall (nearest rank). */
function percentile(sorted: number[], share: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Loads a server without measuring (JIT, caches, pool connections). */
export async function warmUp(server: Server, workload: WorkloadName, connections: number, seconds: number, context: WorkloadContext) {
  const { requests, check } = buildRequests(workload, server.name, context);
  const result = await autocannon({ url: server.url, connections, duration: seconds, requests, timeout: 10, pipelining: 1 });
  return { requests: result.requests.total, failed: check.failed, connectionErrors: result.errors, samples: check.samples };
}

/** The machine's busy time and every process's CPU time at one moment. */
export type CpuMark = { at: number; busyTicks: number; processes: Map<number, ProcessInfo> };

export function markCpu(): CpuMark {
  return { at: performance.now(), busyTicks: machineBusyTicks(), processes: listProcesses() };
}

/** CPU used between two marks by processes other than `known`, in cores. */
export function otherCores(before: CpuMark, after: CpuMark, known: Set<number>): number {
  let ours = 0;
  for (const pid of known) ours += (after.processes.get(pid)?.cpuTicks ?? 0) - (before.processes.get(pid)?.cpuTicks ?? 0);
  return Math.max(0, after.busyTicks - before.busyTicks - ours) / CLOCK_TICKS / ((after.at - before.at) / 1000);
}

/** CPU used by processes other than `known` over `seconds`, in cores (the "was the machine quiet" check). */
export async function idleCheck(seconds: number, known: () => Promise<Set<number>>): Promise<number> {
  const before = markCpu();
  await sleep(seconds * 1000);
  const after = markCpu();
  return otherCores(before, after, await known());
}

async function snapshot(server: Server, redisPort: number, responses: () => number): Promise<Snapshot> {
  // Slowest first, each with the responses received by the time its value came back; the CPU mark, instant, last.
  const statements = { value: await server.statements(), responses: responses() };
  const redisSegments = {
    value: await tcpSegmentsSent(withDescendants([server.child.pid], listProcesses()), redisPort),
    responses: responses(),
  };
  return { ...markCpu(), statements, redisSegments };
}

/** How much a counter grew per response received between its two readings; null when it could not be read. */
function perReading<T>(first: Reading<T | null>, last: Reading<T | null>, growth: (first: T, last: T) => number): number | null {
  const requests = last.responses - first.responses;
  if (first.value === null || last.value === null || requests <= 0) return null;
  return growth(first.value, last.value) / requests;
}

/** Segments sent between two readings, per socket (a socket opened in between counts from zero). */
function segmentsSent(first: Map<string, number>, last: Map<string, number>): number {
  let sent = 0;
  for (const [socket, count] of last) sent += count - (first.get(socket) ?? 0);
  return sent;
}
