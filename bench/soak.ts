/**
 * Soak test: ten minutes (by default) of mixed traffic at 32 connections against one real service process,
 * reporting every 5xx and how the process's memory moves over time.
 *
 *   npm run bench:soak                              # 600 s, 32 connections, PostgreSQL + Redis on 127.0.0.1
 *   npm run bench:soak -- --duration 30             # a quick check
 *   npm run bench:soak -- --embedded                # embedded PGlite and in-process Redis stand-ins, no servers
 *   npm run bench:soak -- --help                    # every option (each also has a SOAK_* environment variable)
 *
 * What it does:
 * 1. creates a scratch database `quickeats_soak_<random>` on the PostgreSQL server (postgres://postgres@127.0.0.1:5432/postgres)
 *    and a Redis key prefix of its own, then starts the service as `npm start` runs it (the built bundle) on them with a random
 *    JWT_SECRET, RATE_LIMIT_PER_MINUTE=0, SEED_DEMO_DATA=true and LOG_LEVEL=warn;
 * 2. runs one closed-loop worker per connection (bench/soak/traffic.ts): GraphQL and REST v2 reads, order life
 *    cycles through every action on both transports, idempotent replays, stale-version conflicts, illegal
 *    transitions, and two workers racing on the same order — and gives every response a verdict
 *    (bench/soak/stats.ts): expected 2xx/304, expected 4xx, unexpected status or content, 5xx, network error;
 *    the first few surprising responses are printed whole;
 * 3. every interval, prints requests/s, latency p50/p99, the verdicts, and the service's RSS (/proc/<pid>/status)
 *    and V8 heap (its /metrics);
 * 4. stops the service with SIGTERM, runs `npm run check:invariants` on the soak database, writes
 *    bench/results/soak-<timestamp>.json, and drops the database and Redis keys (unless --keep).
 *
 * Exits 1 when there was any 5xx, network error, race with other than one winner, or invariant violation.
 * Unexpected statuses are reported (and kept in the JSON with their bodies) but do not fail the run.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { secretKey, signToken } from '../src/domain/auth.ts';
import { DEMO_ACTORS } from '../src/infra/seed.ts';
import { Api } from './soak/api.ts';
import { type Backend, checkInvariants, embeddedBackend, heapMiB, postgresBackend, residentMiB, startServer } from './soak/environment.ts';
import { parseSoakOptions } from './soak/options.ts';
import { Recorder, round, type Tally, VERDICTS } from './soak/stats.ts';
import { Traffic } from './soak/traffic.ts';

type Sample = {
  atSeconds: number;
  requests: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  expected4xx: number;
  unexpected: number;
  serverError: number;
  networkError: number;
  rssMiB: number | null;
  heapUsedMiB: number | null;
  heapTotalMiB: number | null;
  load1: number;
};

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

const loadAverage = async () => (await readFile('/proc/loadavg', 'utf8').catch(() => os.loadavg().join(' '))).trim();
const mib = (value: number | null) => (value === null ? '-' : value.toFixed(1));

const TABLE_COLUMNS = [
  't(s)',
  'req/s',
  'p50 ms',
  'p99 ms',
  'ok',
  'exp4xx',
  'unexp',
  '5xx',
  'neterr',
  'RSS MiB',
  'heap used',
  'heap total',
  'load1',
];
const row = (cells: (string | number)[]) => cells.map((cell, index) => String(cell).padStart(index === 0 ? 6 : 10)).join(' ');

/** Least-squares slope of RSS over time in MiB per minute, from the samples after warm-up. */
function rssSlopePerMinute(samples: Sample[]): number | null {
  const points = samples.filter((sample) => sample.rssMiB !== null).map((sample) => [sample.atSeconds / 60, sample.rssMiB!] as const);
  if (points.length < 3) return null;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  const covariance = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const variance = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return variance === 0 ? null : covariance / variance;
}

async function tokensFor(secret: string, validSeconds: number): Promise<Map<string, string>> {
  const key = secretKey(secret);
  const entries = await Promise.all(
    DEMO_ACTORS.map(async (actor) => [`${actor.role}:${actor.id}`, await signToken(actor, key, `${Math.ceil(validSeconds)}s`)] as const),
  );
  return new Map(entries);
}

async function main(): Promise<number> {
  const options = parseSoakOptions(process.argv.slice(2));
  const loadBefore = await loadAverage();
  const startedAt = new Date();
  console.log(`soak: ${options.durationSeconds} s, ${options.connections} connections, sampling every ${options.intervalSeconds} s`);
  console.log(`load average before: ${loadBefore} (${os.cpus().length} CPUs)`);

  const backend: Backend = options.embedded ? await embeddedBackend() : await postgresBackend(options.postgresUrl, options.redisUrl);
  console.log(`backend: ${backend.description}`);
  const jwtSecret = randomBytes(32).toString('hex');
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    server = await startServer(
      { ...backend.env, JWT_SECRET: jwtSecret, RATE_LIMIT_PER_MINUTE: '0', SEED_DEMO_DATA: 'true', LOG_LEVEL: 'warn' },
      repoRoot,
    );
    console.log(`service: ${server.url} (pid ${server.pid})`);
    const recorder = new Recorder();
    const api = new Api(server.url, options.connections, await tokensFor(jwtSecret, options.durationSeconds + 3_600), recorder);
    const traffic = new Traffic(api, recorder);

    const samples: Sample[] = [];
    const rssStart = await residentMiB(server.pid);
    const heapStart = await heapMiB(server.url);
    console.log(`\nRSS before traffic: ${mib(rssStart)} MiB, heap used ${mib(heapStart?.used ?? null)} MiB\n`);
    console.log(row(TABLE_COLUMNS));
    const started = performance.now();
    let previous = started;
    const sample = async () => {
      const now = performance.now();
      const interval: Tally = recorder.takeInterval();
      const elapsed = (now - previous) / 1000;
      previous = now;
      const [rss, heap, load] = await Promise.all([residentMiB(server!.pid), heapMiB(server!.url), loadAverage()]);
      const entry: Sample = {
        atSeconds: round((now - started) / 1000),
        requests: interval.requests,
        perSecond: round(interval.requests / elapsed),
        p50Ms: round(interval.latency.quantile(0.5)),
        p99Ms: round(interval.latency.quantile(0.99)),
        ...interval.byVerdict,
        rssMiB: rss === null ? null : round(rss),
        heapUsedMiB: heap ? round(heap.used) : null,
        heapTotalMiB: heap ? round(heap.total) : null,
        load1: Number(load.split(' ')[0]),
      };
      samples.push(entry);
      console.log(
        row([
          Math.round(entry.atSeconds),
          entry.perSecond,
          entry.p50Ms,
          entry.p99Ms,
          entry.ok,
          entry.expected4xx,
          entry.unexpected,
          entry.serverError,
          entry.networkError,
          mib(entry.rssMiB),
          mib(entry.heapUsedMiB),
          mib(entry.heapTotalMiB),
          entry.load1,
        ]),
      );
    };
    const sampler = setInterval(() => void sample(), options.intervalSeconds * 1000);
    const deadline = setTimeout(() => traffic.stop(), options.durationSeconds * 1000);
    const stopEarly = () => {
      console.error('\nSIGINT: stopping the traffic early (press again to abort without cleaning up)');
      traffic.stop();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', stopEarly);
    await traffic.run(options.connections);
    const trafficSeconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    clearTimeout(deadline);
    process.removeListener('SIGINT', stopEarly);
    if (performance.now() - previous > 1_000) await sample();
    api.close();
    const loadAfter = await loadAverage();

    const exitCode = await server.stop();
    console.log(`\nservice stopped (exit ${exitCode}); running the invariant checker…`);
    const invariants = await checkInvariants(backend.env, repoRoot);
    console.log(invariants.output);

    const total = recorder.total;
    const rssValues = samples.map((entry) => entry.rssMiB).filter((value): value is number => value !== null);
    const memory = {
      rssStartMiB: rssStart === null ? null : round(rssStart),
      rssMaxMiB: rssValues.length ? Math.max(...rssValues) : null,
      rssEndMiB: rssValues.at(-1) ?? null,
      rssSlopeMiBPerMinuteAfterWarmup: (() => {
        const slope = rssSlopePerMinute(samples.filter((entry) => entry.atSeconds >= trafficSeconds / 2));
        return slope === null ? null : round(slope, 2);
      })(),
      heapUsedStartMiB: heapStart ? round(heapStart.used) : null,
      heapUsedMaxMiB: Math.max(...samples.map((entry) => entry.heapUsedMiB ?? 0)),
      heapUsedEndMiB: samples.at(-1)?.heapUsedMiB ?? null,
    };
    const failures = [
      total.byVerdict.serverError && `${total.byVerdict.serverError} server errors (5xx)`,
      total.byVerdict.networkError && `${total.byVerdict.networkError} network errors`,
      traffic.counters.raceViolations && `${traffic.counters.raceViolations} races without exactly one winner`,
      invariants.exitCode !== 0 && `invariant checker exited ${invariants.exitCode}`,
    ].filter((failure): failure is string => Boolean(failure));

    const byKind = new Map<
      string,
      { requests: number; ok: number; expected4xx: number; unexpected: number; serverError: number; networkError: number }
    >();
    for (const [op, tally] of recorder.byOp) {
      const kind = op.split(':').slice(0, 2).join(':');
      const entry = byKind.get(kind) ?? { requests: 0, ok: 0, expected4xx: 0, unexpected: 0, serverError: 0, networkError: 0 };
      entry.requests += tally.requests;
      for (const verdict of VERDICTS) entry[verdict] += tally.byVerdict[verdict];
      byKind.set(kind, entry);
    }

    const report = {
      startedAt: startedAt.toISOString(),
      options: {
        ...options,
        postgresUrl: options.embedded ? undefined : options.postgresUrl,
        redisUrl: options.embedded ? undefined : options.redisUrl,
      },
      backend: backend.description,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
        node: process.version,
      },
      loadAverage: { before: loadBefore, after: loadAfter },
      trafficSeconds: round(trafficSeconds),
      totals: {
        ...total.summary(),
        perSecond: round(total.requests / trafficSeconds),
        p90Ms: round(total.latency.quantile(0.9)),
        maxMs: round(total.latency.max),
        byStatus: Object.fromEntries([...recorder.byStatus].sort()),
      },
      scenarios: traffic.counters,
      byKind: Object.fromEntries([...byKind].sort()),
      byOperation: Object.fromEntries(
        [...recorder.byOp].sort(([a], [b]) => a.localeCompare(b)).map(([op, tally]) => [op, tally.summary()]),
      ),
      memory,
      samples,
      problems: recorder.problems,
      serverLog: {
        warnings: server.log.warnings,
        errors: server.log.errors,
        otherStderrLines: server.log.otherLines,
        first: server.log.firstErrors,
      },
      serverExit: exitCode,
      invariants,
      failures,
      passed: failures.length === 0,
    };
    await mkdir(path.resolve(repoRoot, options.resultsDir), { recursive: true });
    const file = path.resolve(repoRoot, options.resultsDir, `soak-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);

    console.log('\nby kind of request:');
    const cells = (values: (string | number)[]) => values.map((value) => String(value).padStart(14)).join('');
    console.log(`  ${'kind'.padEnd(14)}${cells(['requests', ...VERDICTS])}`);
    for (const [kind, entry] of Object.entries(report.byKind)) {
      console.log(`  ${kind.padEnd(14)}${cells([entry.requests, ...VERDICTS.map((verdict) => entry[verdict])])}`);
    }
    const t = report.totals;
    console.log(
      [
        '',
        `summary (${report.trafficSeconds} s of traffic, ${options.connections} connections, ${backend.description}):`,
        `  requests        ${t.requests} (${t.perSecond}/s), latency p50 ${t.p50Ms} ms, p90 ${t.p90Ms} ms, p99 ${t.p99Ms} ms, max ${t.maxMs} ms`,
        `  verdicts        ok ${t.ok}, expected 4xx ${t.expected4xx}, unexpected ${t.unexpected}, 5xx ${t.serverError}, network errors ${t.networkError}`,
        `  by status       ${Object.entries(t.byStatus)
          .map(([status, count]) => `${status}: ${count}`)
          .join(', ')}`,
        `  scenarios       ${traffic.counters.ordersCreated} orders created, finished ${JSON.stringify(traffic.counters.ordersFinished)}, ` +
          `${traffic.counters.replaysSent} replays, ${traffic.counters.racesRun} races run (offerer won ${traffic.counters.raceWins.offerer}, ` +
          `taker won ${traffic.counters.raceWins.taker}, violations ${traffic.counters.raceViolations})`,
        `  memory (RSS)    start ${mib(memory.rssStartMiB)} MiB, max ${mib(memory.rssMaxMiB)} MiB, end ${mib(memory.rssEndMiB)} MiB, ` +
          `slope over the second half ${memory.rssSlopeMiBPerMinuteAfterWarmup ?? '-'} MiB/min`,
        `  heap used       start ${mib(memory.heapUsedStartMiB)} MiB, max ${mib(memory.heapUsedMaxMiB)} MiB, end ${mib(memory.heapUsedEndMiB)} MiB`,
        `  service log     ${server.log.errors} errors, ${server.log.warnings} warnings, ${server.log.otherLines} other stderr lines; exit ${exitCode} after SIGTERM`,
        `  invariants      ${invariants.exitCode === 0 ? 'all hold' : `VIOLATED (exit ${invariants.exitCode})`}`,
        `  load average    before ${loadBefore}; after ${loadAfter}`,
        `  results         ${path.relative(repoRoot, file)}`,
        failures.length
          ? `\nFAILED: ${failures.join('; ')}`
          : '\nPASSED: no 5xx, no network errors, every race had one winner, invariants hold',
      ].join('\n'),
    );
    for (const line of server.log.firstErrors) console.error(`service output: ${line}`);
    return failures.length ? 1 : 0;
  } finally {
    await server?.stop(5_000);
    console.log(await backend.cleanUp(options.keep).catch((error: Error) => `clean-up failed: ${error.message}`));
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
