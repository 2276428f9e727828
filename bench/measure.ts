/**
 * One measured run: autocannon against one server, with the server's CPU time, its SQL statements, the database's
 * CPU time and the machine's idle/busy time read before and after, so each figure is "per request of this run".
 */
import autocannon from 'autocannon';
import type pg from 'pg';
import type { Child } from './children.ts';
import { CLOCK_TICKS, listProcesses, machineBusyTicks, type ProcessInfo, sampleRss, withDescendants } from './proc.ts';
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
  /** CPU used by everything else on the machine during the run, in cores. */
  otherCpuCores: number;
  busy: boolean;
  /** Peak VmRSS of the server during the run (sampled), MiB. */
  maxRssMiB: number;
};

type Snapshot = CpuMark & { statements: number };

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
};

/** How long the load continues after the window closes, so the closing snapshot is taken under load too. */
const TAIL_SECONDS = 0.5;

/**
 * Runs the load once and measures a window in its middle: after `warmupSeconds` of load, for `seconds`, while the load
 * continues. Requests in flight at either edge balance out, so CPU and SQL per request are per steady-state request —
 * no request cut off by the previous run or by this one's end is counted without its response.
 */
export async function measure(options: MeasureOptions): Promise<RunRecord> {
  const { server, workload, connections, seconds } = options;
  const { requests, check } = buildRequests(workload, server.name, options.context);
  const rss = sampleRss(server.child.pid);
  const instance = autocannon({
    url: server.url,
    connections,
    duration: options.warmupSeconds + seconds + TAIL_SECONDS,
    requests,
    timeout: 10,
    pipelining: 1,
  });
  const latencies: number[] = [];
  let windowOpen = false;
  // autocannon emits (client, status, bytes, responseTime); its type declarations omit the client.
  (instance as unknown as NodeJS.EventEmitter).on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    if (windowOpen) latencies.push(responseTime);
  });
  const finished: Promise<autocannon.Result> = Promise.resolve(instance);
  await sleep(options.warmupSeconds * 1000);
  const before = await snapshot(server);
  windowOpen = true;
  await sleep(seconds * 1000 - (performance.now() - before.at));
  windowOpen = false;
  const after = await snapshot(server);
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
    failed: check.failed,
    connectionErrors: result.errors,
    failureSamples: check.samples,
    poolExhausted: check.poolExhausted,
    serverCpuMsPerReq: perRequestMs(delta(serverPids)),
    dbCpuMsPerReq: perRequestMs(delta(databasePids)),
    sqlPerReq: completed ? (after.statements - before.statements) / completed : Number.NaN,
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

async function snapshot(server: Server): Promise<Snapshot> {
  // Statements first: the other readings are local and instant.
  const statements = await server.statements();
  return { ...markCpu(), statements };
}
