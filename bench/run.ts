/**
 * `npm run bench`: seeds a fresh benchmark database, starts the floor, PostGraphile 5 and this service side by side,
 * checks that they answer W1 with the same document, measures W1–W4 against each in interleaved rounds (a fresh W3
 * pool of the same size and a settled database before every run), and reports req/s, latency, CPU, SQL and Redis
 * round trips per request, the ratios to the floor and to PostGraphile, and issue 14's targets met or missed
 * (bench/results/*.json, docs/PERFORMANCE.md + chart).
 *
 *   npm run bench                      full run (3 rounds × 10 s per run, each after a few seconds of settling)
 *   npm run bench -- --quick           smoke run (1 round × 3 s); writes only bench/results/<time>-quick.json
 *   npm run bench -- --rounds 5 --duration 20 --workloads W1,W3 --connections 32 --pool-size 10 --no-docs
 *
 * Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/quickeats_bench; dropped and
 * recreated), BENCH_REDIS_URL (default redis://127.0.0.1:6379; keys under a unique prefix, removed afterwards).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { secretKey, signToken } from '../src/domain/auth.ts';
import { type Child, freePort, spawnChild, startOwnedServer, stopAll, waitForHttp200 } from './children.ts';
import {
  BUSY_THRESHOLD_CORES,
  DatabaseProcesses,
  idleCheck,
  markCpu,
  measure,
  otherCores,
  type RunRecord,
  type Server,
  settleDatabase,
  TAIL_SECONDS,
  warmUp,
} from './measure.ts';
import { describeMachine, listProcesses, readMemory, withDescendants } from './proc.ts';
import {
  type ColdStart,
  evaluateTargets,
  median,
  type Results,
  renderChart,
  renderMarkdown,
  resultsTable,
  summarize,
  targetLines,
} from './report.ts';
import { checkSameW1Document } from './same-document.ts';
import {
  addPendingAcceptanceOrders,
  connectOrExplain,
  countViolations,
  DATA_SET,
  databaseUrls,
  migrateSchema,
  recreateDatabase,
  seed,
} from './seed.ts';
import { buildServiceCommand } from './service-command.ts';
import { PendingOrderPool, type TargetName, WORKLOAD_NAMES, WORKLOADS, type WorkloadContext, type WorkloadName } from './workloads.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const DOCS_DIR = path.join(ROOT, 'docs');
/** Load before each run's measured window opens (same continuous run; see bench/measure.ts). */
const RUN_LEAD_IN_SECONDS = 2;
/** The least W3 rate assumed when sizing the pending-order pool (the floor has been measured at up to ~4,400/s). */
const FIRST_GUESS_W3_RATE = 5_000;
/** Headroom over the fastest W3 rate seen in the warm-up when sizing the measured runs' pool. */
const W3_POOL_MARGIN = 1.5;

type Options = {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  poolSize: number;
  workloads: WorkloadName[];
  quick: boolean;
  writeDocs: boolean;
  coldStart: boolean;
};

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'pool-size': { type: 'string' },
      workloads: { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
      'skip-cold-start': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'npm run bench [-- --quick] [--rounds N] [--duration S] [--warmup S] [--connections N] [--pool-size N] [--workloads W1,W2,W3,W4] [--no-docs] [--skip-cold-start]',
    );
    process.exit(0);
  }
  const positive = (name: string, raw: string | undefined, fallback: number) => {
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
    return value;
  };
  const quick = values.quick ?? false;
  const workloads = (values.workloads ?? WORKLOAD_NAMES.join(',')).split(',').map((name) => name.trim().toUpperCase());
  for (const name of workloads)
    if (!WORKLOAD_NAMES.includes(name as WorkloadName)) throw new Error(`--workloads: unknown workload ${name}`);
  return {
    quick,
    rounds: Math.round(positive('rounds', values.rounds, quick ? 1 : 3)),
    seconds: positive('duration', values.duration, quick ? 3 : 10),
    warmupSeconds: positive('warmup', values.warmup, quick ? 1 : 3),
    connections: Math.round(positive('connections', values.connections, 32)),
    poolSize: Math.round(positive('pool-size', values['pool-size'], 10)),
    workloads: workloads as WorkloadName[],
    // A smoke run never overwrites the published figures.
    writeDocs: !quick && !values['no-docs'],
    coldStart: !values['skip-cold-start'],
  };
}

const log = (message: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** Removes this run's Redis keys; set once the prefix is known, so every way out (done, failed, Ctrl-C) can call it. */
let removeOwnRedisKeys: () => Promise<void> = async () => {};

/** Stops the servers and removes this run's Redis keys, never taking more than a few seconds. */
async function cleanUp(): Promise<void> {
  await stopAll(2_000);
  await Promise.race([removeOwnRedisKeys().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 3_000))]);
}

function serverDied(child: Child, code: number | null): void {
  console.error(`\n${child.name} exited unexpectedly (code ${code}). Its last output:\n${child.logTail()}\n`);
  void cleanUp().finally(() => process.exit(2));
}

async function main() {
  const options = parseOptions();
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/quickeats_bench';
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redisPort = Number(new URL(redisUrl).port || 6379);
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const runTag = `${stamp}-${randomBytes(3).toString('hex')}`;
  const redisPrefix = `quickeats-bench:${runTag}:`;
  removeOwnRedisKeys = () => removeRedisKeys(redisUrl, redisPrefix);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const problems: string[] = [];
  const machine = describeMachine();
  log(`${command}: ${options.rounds} round(s) × ${options.seconds} s, workloads ${options.workloads.join(', ')}`);

  // --- Prerequisites, database, data -------------------------------------------------------------------------
  const redisVersion = await checkRedis(redisUrl);
  const { name: databaseName, adminUrl } = databaseUrls(databaseUrl);
  const monitor = await connectOrExplain(adminUrl);
  const database = await describeDatabase(monitor, redisVersion, databaseName);
  log(`recreating database ${databaseName}; migrating; seeding ${DATA_SET.orders.toLocaleString('en-US')} orders`);
  await recreateDatabase(databaseUrl);
  await migrateSchema(databaseUrl);
  await seed(databaseUrl);
  const violations = await countViolations(databaseUrl);
  if (violations) problems.push(`The seeded data breaks ${violations} invariant(s) (bench/seed.ts).`);
  log(`seeded; invariant violations: ${violations}`);

  // W3 consumes one fresh pending_acceptance order per request, on every server. Before each W3 run the pool is
  // replaced by `size` newly inserted orders: the same size for every server, so each run starts from the same pool and
  // the same refill (whose background writes settleDatabase() then flushes before the window).
  const pendingOrders = new PendingOrderPool();
  let pendingOrdersAdded = 0;
  const poolSizeFor = (rate: number, seconds: number) => Math.ceil(rate * (seconds + 1)) + options.connections * 2;
  const refillPendingOrders = async (size: number) => {
    const firstId = await addPendingAcceptanceOrders(databaseUrl, size);
    const { rows } = await pendingOrdersFrom(databaseUrl, firstId, size);
    pendingOrders.replace(rows);
    pendingOrdersAdded += rows.length;
  };

  // What counts as "ours" for the busy check: the bench and its children, this database's PostgreSQL processes, Redis.
  const db = new DatabaseProcesses(monitor, databaseName);
  const redisPids = () => [...listProcesses().values()].filter((info) => info.comm === 'redis-server').map((info) => info.pid);
  const knownNow = async () => {
    const processes = listProcesses();
    const pids = await db.pids();
    const postmasters = [...pids.database].map((pid) => processes.get(pid)?.ppid ?? -1);
    return new Set([...withDescendants([process.pid], processes), ...pids.database, ...postmasters, pids.monitor, ...redisPids()]);
  };

  // --- Cold start (before the bench's own servers start) -----------------------------------------------------------
  let coldStart: ColdStart = { skipped: true };
  if (options.coldStart) {
    log('embedded cold start: npm start equivalent, no DATABASE_URL/REDIS_URL, empty data directory');
    coldStart = await measureColdStart(knownNow);
    log(
      'ms' in coldStart
        ? `cold start to /readyz 200: ${(coldStart.ms / 1000).toFixed(1)} s (other processes used ${coldStart.otherCpuCores.toFixed(2)} cores)`
        : `cold start failed: ${JSON.stringify(coldStart)}`,
    );
  }

  // --- Quiet-machine baseline ------------------------------------------------------------------------------------
  const baselineOtherCores = await idleCheck(3, knownNow);
  log(`other processes used ${baselineOtherCores.toFixed(2)} cores before the run`);

  // --- Servers ---------------------------------------------------------------------------------------------------
  const jwtSecret = randomBytes(32).toString('hex');
  const [floorPort, postgraphilePort, servicePort] = await Promise.all([freePort(), freePort(), freePort()]);
  const ownedEnv = (port: number) => ({
    ...baseEnv(),
    NODE_ENV: 'production',
    BENCH_DATABASE_URL: databaseUrl,
    PORT: String(port),
    POOL_SIZE: String(options.poolSize),
  });
  log('starting the floor, PostGraphile 5 and the service');
  // As `npm start` runs it (the bundle, with the start script's node flags), plus the bench's exit hook.
  const serviceCommand = buildServiceCommand(ROOT);
  const serviceChild = spawnChild(
    'service',
    serviceCommand.command,
    [...serviceCommand.args.slice(0, -1), '--import', './bench/servers/exit-with-bench.mjs', ...serviceCommand.args.slice(-1)],
    {
      cwd: ROOT,
      ipc: true,
      env: {
        ...baseEnv(),
        NODE_ENV: 'production',
        PORT: String(servicePort),
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        DATABASE_POOL_SIZE: String(options.poolSize),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: redisPrefix,
        JWT_SECRET: jwtSecret,
        RATE_LIMIT_PER_MINUTE: '0',
        LOG_LEVEL: 'warn',
        GRAPHIQL_ENABLED: 'false',
        GRAPHQL_INTROSPECTION: 'false',
      },
    },
    serverDied,
  );
  const [floorChild, postgraphileChild] = await Promise.all([
    startOwnedServer('floor', ['--import', 'tsx', 'bench/servers/floor.ts'], ownedEnv(floorPort), serverDied),
    startOwnedServer(
      'postgraphile',
      ['--import', 'tsx', '--import', './bench/servers/node22-polyfill.ts', 'bench/servers/postgraphile.ts'],
      { ...ownedEnv(postgraphilePort), GRAPHILE_ENV: 'production' },
      serverDied,
    ),
    waitForHttp200(serviceChild, `http://127.0.0.1:${servicePort}/readyz`, 90_000),
  ]);
  const serviceUrl = `http://127.0.0.1:${servicePort}`;
  const servers: Record<TargetName, Server> = {
    floor: {
      name: 'floor',
      url: `http://127.0.0.1:${floorPort}`,
      child: floorChild,
      statements: async () => (await floorChild.stats!()).statements,
    },
    postgraphile: {
      name: 'postgraphile',
      url: `http://127.0.0.1:${postgraphilePort}`,
      child: postgraphileChild,
      statements: async () => (await postgraphileChild.stats!()).statements,
    },
    service: { name: 'service', url: serviceUrl, child: serviceChild, statements: () => scrapeStatements(serviceUrl) },
  };
  log(
    `ready: floor :${floorPort} (pid ${floorChild.pid}), PostGraphile :${postgraphilePort} (pid ${postgraphileChild.pid}), service :${servicePort} (pid ${serviceChild.pid})`,
  );

  // --- Clients -----------------------------------------------------------------------------------------------------
  const key = secretKey(jwtSecret);
  const adminToken = await signToken({ role: 'admin', id: 1 }, key, '1d');
  const restaurantTokens = await Promise.all(
    Array.from({ length: DATA_SET.restaurants }, (_, index) => signToken({ role: 'restaurant', id: index + 1 }, key, '1d')),
  );
  const context: WorkloadContext = {
    adminToken,
    restaurantToken: (id) => restaurantTokens[id - 1]!,
    pendingOrders,
    runTag,
    w1BodyLength: {},
  };

  // --- Same document -----------------------------------------------------------------------------------------------
  // Figures for different answers are not comparable: stop here (naming the server) unless all answer W1 alike.
  const w1Servers = WORKLOADS.W1.targets.map((target) => servers[target]);
  const w1Document = await checkSameW1Document(w1Servers, adminToken);
  context.w1BodyLength = w1Document.bodyLength;
  let w1DocumentChecks = 1;
  log(
    `W1: ${w1Servers.map((server) => server.name).join(', ')} return the same document (${w1Document.canonicalLength.toLocaleString('en-US')} characters canonical)`,
  );

  const connectionsFor = (workload: WorkloadName) => (WORKLOADS[workload].singleConnection ? 1 : options.connections);
  const warmUpPoolSize = poolSizeFor(FIRST_GUESS_W3_RATE, options.warmupSeconds);
  let fastestW3Rate = 0;
  const load = async (workload: WorkloadName, target: TargetName, seconds: number) => {
    if (workload === 'W3') await refillPendingOrders(warmUpPoolSize);
    const outcome = await warmUp(servers[target], workload, connectionsFor(workload), seconds, context);
    if (workload === 'W3') fastestW3Rate = Math.max(fastestW3Rate, outcome.requests / seconds);
    if (outcome.failed || outcome.connectionErrors) {
      problems.push(
        `Warm-up of ${workload} on ${target}: ${outcome.failed} failed checks, ${outcome.connectionErrors} connection errors (${JSON.stringify(outcome.samples[0] ?? {})}).`,
      );
    }
    return outcome;
  };

  // --- Warm-up -----------------------------------------------------------------------------------------------------
  log(`warm-up: ${options.warmupSeconds} s per workload and server`);
  for (const workload of options.workloads) {
    for (const target of WORKLOADS[workload].targets) {
      const outcome = await load(workload, target, options.warmupSeconds);
      log(
        `  ${workload} ${target.padEnd(12)} ${Math.round(outcome.requests / options.warmupSeconds)} req/s${outcome.failed ? `, ${outcome.failed} FAILED` : ''}`,
      );
    }
  }

  // --- Measured rounds ---------------------------------------------------------------------------------------------
  // One pool size for every measured W3 run: the fastest warm-up rate with headroom, for the whole run's length.
  const w3PoolSize = options.workloads.includes('W3')
    ? poolSizeFor(Math.max(FIRST_GUESS_W3_RATE, fastestW3Rate * W3_POOL_MARGIN), RUN_LEAD_IN_SECONDS + options.seconds + TAIL_SECONDS)
    : null;
  if (w3PoolSize !== null) log(`W3 pool: ${w3PoolSize.toLocaleString('en-US')} fresh orders before each measured W3 run`);
  const settleMs: number[] = [];
  const unsettled: string[] = [];
  const runs: RunRecord[] = [];
  let serviceMaxRss = 0;
  for (let round = 1; round <= options.rounds; round++) {
    log(`round ${round}/${options.rounds}`);
    for (const workload of options.workloads) {
      const targets = WORKLOADS[workload].targets;
      // Rotate who goes first, so no server always runs right after the same neighbour.
      const order = targets.map((_, index) => targets[(index + round - 1) % targets.length]!);
      for (const target of order) {
        // The same preparation before every server's window: the refill and everything earlier runs left behind are
        // written out and vacuumed before the window opens, never inside it.
        if (workload === 'W3') await refillPendingOrders(w3PoolSize!);
        const settled = await settleDatabase(databaseUrl, db);
        settleMs.push(settled.ms);
        if (!settled.settled) unsettled.push(`round ${round} ${workload} ${target}`);
        const run = await measure({
          round,
          workload,
          server: servers[target],
          connections: connectionsFor(workload),
          warmupSeconds: RUN_LEAD_IN_SECONDS,
          seconds: options.seconds,
          context,
          db,
          knownPids: redisPids,
          redisPort,
        });
        if (target === 'service') serviceMaxRss = Math.max(serviceMaxRss, run.maxRssMiB * 2 ** 20);
        runs.push(run);
        log(`  ${describeRun(run)}`);
      }
    }
  }
  const peakRss = readMemory(serviceChild.pid)?.peak ?? null;
  // The data W1 lists never changes during the bench: the servers must still agree after all the load.
  await checkSameW1Document(w1Servers, adminToken);
  w1DocumentChecks++;

  // --- Stop, clean up, report --------------------------------------------------------------------------------------
  await stopAll();
  await monitor.end();
  await removeOwnRedisKeys();

  for (const run of runs) {
    const name = `round ${run.round} ${run.workload} ${run.target}`;
    if (run.failed || run.connectionErrors) {
      problems.push(
        `${name}: ${run.failed} of ${run.requests} responses failed their check, ${run.connectionErrors} connection errors` +
          `${run.failureSamples[0] ? ` — e.g. ${run.failureSamples[0].status} ${run.failureSamples[0].body.replace(/\s+/g, ' ').slice(0, 200)}` : ''}.`,
      );
    }
    if (run.poolExhausted)
      problems.push(`${name}: the pending-order pool ran dry, so some requests reused an order (raise W3_POOL_MARGIN in bench/run.ts).`);
  }
  if (unsettled.length) {
    problems.push(`PostgreSQL was still busy (other work on the cluster?) when these runs started: ${unsettled.join(', ')}.`);
  }
  const serviceW1 = runs.filter((run) => run.workload === 'W1' && run.target === 'service');
  if (serviceW1.some((run) => run.sqlPerReq > 3)) {
    problems.push(
      `The service sent more than 3 SQL statements per W1 request (${serviceW1.map((run) => run.sqlPerReq.toFixed(2)).join(', ')}).`,
    );
  }
  const busyRuns = runs
    .filter((run) => run.busy)
    .map((run) => `round ${run.round} ${run.workload} ${run.target} (${run.otherCpuCores.toFixed(2)} cores)`);
  const summaries = summarize(runs);
  const service = { maxRssMB: serviceMaxRss / 1e6, peakRssMB: peakRss === null ? null : peakRss / 1e6 };
  const results: Results = {
    command,
    quick: options.quick,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: {
      rounds: options.rounds,
      seconds: options.seconds,
      leadInSeconds: RUN_LEAD_IN_SECONDS,
      warmupSeconds: options.warmupSeconds,
      connections: options.connections,
      poolSize: options.poolSize,
      workloads: options.workloads,
      w3PoolSize,
    },
    machine,
    database,
    dataSet: { ...DATA_SET, pendingOrdersAdded, seedInvariantViolations: violations },
    busy: {
      flagged: busyRuns.length > 0 || baselineOtherCores > BUSY_THRESHOLD_CORES,
      thresholdCores: BUSY_THRESHOLD_CORES,
      baselineOtherCores,
      maxOtherCores: Math.max(baselineOtherCores, ...runs.map((run) => run.otherCpuCores)),
      busyRuns:
        baselineOtherCores > BUSY_THRESHOLD_CORES ? [`before the run (${baselineOtherCores.toFixed(2)} cores)`, ...busyRuns] : busyRuns,
    },
    coldStart,
    w1Document: { checks: w1DocumentChecks, canonicalChars: w1Document.canonicalLength },
    settle: { medianMs: median(settleMs), maxMs: Math.max(0, ...settleMs), unsettled },
    service,
    summaries,
    targets: evaluateTargets(summaries, runs, service, coldStart),
    problems,
    runs,
  };

  const written = writeResults(results, stamp, options);
  console.log(`\n${resultsTable(summaries)}\n\nTargets (issue 14; ratios from this run):\n${targetLines(results.targets)}\n`);
  console.log(
    results.busy.flagged
      ? `MACHINE WAS BUSY with other work: ${results.busy.busyRuns.join('; ')}`
      : `Machine was quiet (other processes ≤ ${results.busy.maxOtherCores.toFixed(2)} cores).`,
  );
  if (problems.length) console.log(`\nProblems:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  console.log(`\nWrote ${written.join(', ')}`);
}

function describeRun(run: RunRecord): string {
  const flags = [
    run.failed || run.connectionErrors ? `${run.failed + run.connectionErrors} ERRORS` : '',
    run.busy ? `busy (${run.otherCpuCores.toFixed(2)} cores)` : '',
    WORKLOADS[run.workload].variants?.[run.target] ?? '',
  ]
    .filter(Boolean)
    .join(', ');
  return (
    `${run.workload} ${run.target.padEnd(12)} ${Math.round(run.reqPerSec).toString().padStart(6)} req/s  ` +
    `p50 ${run.latencyMs.p50.toFixed(1).padStart(6)} ms  p99 ${run.latencyMs.p99.toFixed(1).padStart(6)} ms  ` +
    `cpu ${run.serverCpuMsPerReq.toFixed(2)} ms/req  db ${run.dbCpuMsPerReq.toFixed(2)} ms/req  sql ${run.sqlPerReq.toFixed(2)}/req` +
    `  redis ${run.redisRoundTripsPerReq === null ? '—' : run.redisRoundTripsPerReq.toFixed(2)}/req` +
    `${flags ? `  [${flags}]` : ''}`
  );
}

/** The environment for child processes: this one minus anything that would point the service elsewhere. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [
    'DATABASE_URL',
    'REDIS_URL',
    'REDIS_KEY_PREFIX',
    'JWT_SECRET',
    'SEED_DEMO_DATA',
    'EMBEDDED_DATA_DIR',
    'PORT',
    'HOST',
    'NODE_OPTIONS',
  ]) {
    delete env[name];
  }
  return env;
}

/** Time from `npm start`'s build to /readyz 200, with nothing configured (embedded database, empty data directory). */
async function measureColdStart(known: () => Promise<Set<number>>): Promise<ColdStart> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quickeats-bench-cold-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(),
    PORT: String(port),
    HOST: '127.0.0.1',
    EMBEDDED_DATA_DIR: path.join(dataDir, 'pglite'),
    LOG_LEVEL: 'warn',
  };
  delete env.NODE_ENV;
  const before = markCpu();
  const started = performance.now();
  // What `npm start` does: build the bundle (timed too), then run it with the start script's flags.
  const service = buildServiceCommand(ROOT);
  const child = spawnChild('cold-start service', service.command, service.args, { cwd: ROOT, env, group: true }, () => {});
  try {
    const ms = await waitForHttp200(child, `http://127.0.0.1:${port}/readyz`, 60_000, started, 25);
    // Read while the service still runs, so its CPU counts as ours.
    const otherCpuCores = otherCores(before, markCpu(), await known());
    return { ms, otherCpuCores, busy: otherCpuCores > BUSY_THRESHOLD_CORES };
  } catch (error) {
    return { error: (error as Error).message.split('\n')[0]! };
  } finally {
    await child.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function checkRedis(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch (error) {
    throw new Error(`Redis is not reachable at ${url} (${(error as Error).message}). Start it, or set BENCH_REDIS_URL.`, { cause: error });
  } finally {
    redis.disconnect();
  }
}

async function removeRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function describeDatabase(monitor: Awaited<ReturnType<typeof connectOrExplain>>, redis: string, name: string) {
  const setting = async (key: string) =>
    (await monitor.query<{ setting: string }>('SELECT current_setting($1) AS setting', [key])).rows[0]!.setting;
  return {
    name,
    version: (await setting('server_version')).split(' ')[0],
    fsync: await setting('fsync'),
    synchronousCommit: await setting('synchronous_commit'),
    sharedBuffers: await setting('shared_buffers'),
    maxConnections: await setting('max_connections'),
    redis,
  };
}

async function pendingOrdersFrom(url: string, firstId: number, count: number) {
  const client = await connectOrExplain(url);
  try {
    const { rows } = await client.query<{ id: number; restaurantId: number; version: number }>(
      `SELECT id, restaurant_id AS "restaurantId", version FROM orders
       WHERE id >= $1 AND id < $1 + $2 AND status = 'pending_acceptance' ORDER BY id`,
      [firstId, count],
    );
    return { rows };
  } finally {
    await client.end();
  }
}

async function scrapeStatements(serviceUrl: string): Promise<number> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const match = /^db_statements_total(?:\{[^}]*\})? ([0-9.e+]+)$/m.exec(text);
  if (!match) throw new Error('the service /metrics has no db_statements_total');
  return Number(match[1]);
}

function writeResults(results: Results, stamp: string, options: Options): string[] {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const file = path.join(RESULTS_DIR, `${stamp}${options.quick ? '-quick' : ''}.json`);
  fs.writeFileSync(file, json);
  const written = [path.relative(ROOT, file)];
  if (!options.writeDocs) return written;
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), json);
  const subtitle = `${results.machine.cores} cores, ${results.options.rounds} rounds × ${results.options.seconds} s, ${results.finishedAt.slice(0, 10)}${results.busy.flagged ? ' — machine was busy' : ''}`;
  fs.writeFileSync(path.join(DOCS_DIR, 'performance.svg'), renderChart(results.summaries, subtitle));
  fs.writeFileSync(
    path.join(DOCS_DIR, 'PERFORMANCE.md'),
    renderMarkdown(results, { chart: 'performance.svg', json: '../bench/results/latest.json' }),
  );
  written.push('bench/results/latest.json', 'docs/performance.svg', 'docs/PERFORMANCE.md');
  return written;
}

let interruptedAt = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // Under `npm run`, Ctrl-C arrives twice (the terminal signals the whole group, and the tsx wrapper relays it):
    // only a repeat after a pause means "stop now".
    if (interruptedAt) {
      if (Date.now() - interruptedAt > 3_000) process.exit(130);
      return;
    }
    interruptedAt = Date.now();
    console.error(`\n${signal}: stopping the servers`);
    void cleanUp().finally(() => process.exit(130));
  });
}

main().catch(async (error: Error) => {
  console.error(`\nbench failed: ${error.message}`);
  await cleanUp();
  process.exit(2);
});
