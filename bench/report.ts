/**
 * Turns the runs into the report: medians per workload and server, ratios to the floor and to PostGraphile, the
 * targets of issue 14 met or missed, and three outputs — JSON (bench/results/), an SVG chart and docs/PERFORMANCE.md.
 */
import type { RunRecord } from './measure.ts';
import { type TargetName, WORKLOAD_NAMES, WORKLOADS, type WorkloadName } from './workloads.ts';

export type Summary = {
  workload: WorkloadName;
  target: TargetName;
  rounds: number;
  connections: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuMsPerReq: number;
  dbCpuMsPerReq: number;
  sqlPerReq: number;
  maxSqlPerReq: number;
  /** Round trips to Redis per request (median; null when not measured). */
  redisRoundTripsPerReq: number | null;
  maxRedisRoundTripsPerReq: number | null;
  /** Median over rounds of (this server's req/s ÷ the floor's in the same round). */
  ratioToFloor: number | null;
  /** Median over rounds of (this server's req/s ÷ PostGraphile's in the same round). */
  ratioToPostGraphile: number | null;
  failed: number;
  connectionErrors: number;
  busyRounds: number;
  /** Highest RSS of the server sampled during these runs, MB (10^6 bytes). */
  maxRssMB: number;
};

export type TargetCheck = { target: string; requirement: string; measured: string; met: boolean | null };

export type ColdStart = { ms: number; otherCpuCores: number; busy: boolean } | { error: string } | { skipped: true };

export type Results = {
  command: string;
  quick: boolean;
  startedAt: string;
  finishedAt: string;
  options: {
    rounds: number;
    seconds: number;
    leadInSeconds: number;
    warmupSeconds: number;
    connections: number;
    poolSize: number;
    workloads: WorkloadName[];
    /** Fresh pending_acceptance orders inserted before each measured W3 run, the same for every server. */
    w3PoolSize: number | null;
  };
  machine: Record<string, unknown>;
  database: Record<string, unknown>;
  dataSet: Record<string, unknown>;
  busy: { flagged: boolean; thresholdCores: number; baselineOtherCores: number; maxOtherCores: number; busyRuns: string[] };
  coldStart: ColdStart;
  /** The W1 document check (bench/same-document.ts): before the warm-up and after the last round. */
  w1Document: { checks: number; canonicalChars: number };
  /** Settling before each measured run: median and longest wait, and runs whose database never got idle. */
  settle: { medianMs: number; maxMs: number; unsettled: string[] };
  service: { maxRssMB: number; peakRssMB: number | null };
  summaries: Summary[];
  targets: TargetCheck[];
  problems: string[];
  runs: RunRecord[];
};

const TARGET_ORDER: TargetName[] = ['floor', 'postgraphile', 'service'];
export const TARGET_LABELS: Record<TargetName, string> = { floor: 'floor', postgraphile: 'PostGraphile 5', service: 'this service' };

/** A server's name in a workload's rows, with what its variant does where that differs (PostGraphile's W3: a blind write). */
export function targetLabel(workload: WorkloadName, target: TargetName): string {
  const variant = WORKLOADS[workload].variants?.[target];
  return variant ? `${TARGET_LABELS[target]} (${variant})` : TARGET_LABELS[target];
}

export function median(values: number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Per workload and server: medians over the rounds, and ratios taken round by round (interleaved runs share conditions). */
export function summarize(runs: RunRecord[]): Summary[] {
  const summaries: Summary[] = [];
  for (const workload of WORKLOAD_NAMES) {
    for (const target of TARGET_ORDER) {
      const mine = runs.filter((run) => run.workload === workload && run.target === target);
      if (!mine.length) continue;
      const ratioTo = (other: TargetName) => {
        if (!WORKLOADS[workload].targets.includes(other)) return null;
        const ratios = mine.flatMap((run) => {
          const theirs = runs.find(
            (candidate) => candidate.workload === workload && candidate.target === other && candidate.round === run.round,
          );
          return theirs && theirs.reqPerSec > 0 ? [run.reqPerSec / theirs.reqPerSec] : [];
        });
        return ratios.length ? median(ratios) : null;
      };
      summaries.push({
        workload,
        target,
        rounds: mine.length,
        connections: mine[0]!.connections,
        reqPerSec: median(mine.map((run) => run.reqPerSec)),
        p50Ms: median(mine.map((run) => run.latencyMs.p50)),
        p99Ms: median(mine.map((run) => run.latencyMs.p99)),
        serverCpuMsPerReq: median(mine.map((run) => run.serverCpuMsPerReq)),
        dbCpuMsPerReq: median(mine.map((run) => run.dbCpuMsPerReq)),
        sqlPerReq: median(mine.map((run) => run.sqlPerReq)),
        maxSqlPerReq: Math.max(...mine.map((run) => run.sqlPerReq)),
        ...redisSummary(mine),
        ratioToFloor: ratioTo('floor'),
        ratioToPostGraphile: ratioTo('postgraphile'),
        failed: mine.reduce((sum, run) => sum + run.failed, 0),
        connectionErrors: mine.reduce((sum, run) => sum + run.connectionErrors, 0),
        busyRounds: mine.filter((run) => run.busy).length,
        maxRssMB: Math.max(...mine.map((run) => (run.maxRssMiB * 2 ** 20) / 1e6)),
      });
    }
  }
  return summaries;
}

function redisSummary(runs: RunRecord[]): Pick<Summary, 'redisRoundTripsPerReq' | 'maxRedisRoundTripsPerReq'> {
  const measured = runs.flatMap((run) => (run.redisRoundTripsPerReq === null ? [] : [run.redisRoundTripsPerReq]));
  return measured.length
    ? { redisRoundTripsPerReq: median(measured), maxRedisRoundTripsPerReq: Math.max(...measured) }
    : { redisRoundTripsPerReq: null, maxRedisRoundTripsPerReq: null };
}

const fixed = (value: number | null | undefined, digits = 2) =>
  value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
const whole = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—');

/**
 * Median over rounds of (the service's figure ÷ the other server's figure in the same round): every ratio a target
 * is judged by comes from runs of this bench, taken side by side.
 */
function roundRatio(runs: RunRecord[], workload: WorkloadName, other: TargetName, figure: (run: RunRecord) => number): number | null {
  const ratios = runs.flatMap((run) => {
    if (run.workload !== workload || run.target !== 'service') return [];
    const theirs = runs.find((candidate) => candidate.workload === workload && candidate.target === other && candidate.round === run.round);
    return theirs && figure(theirs) > 0 && Number.isFinite(figure(run)) ? [figure(run) / figure(theirs)] : [];
  });
  return ratios.length ? median(ratios) : null;
}

/** Server plus PostgreSQL CPU per request: what one request costs the machine. */
const totalCpu = (run: RunRecord) => run.serverCpuMsPerReq + run.dbCpuMsPerReq;

/** The targets of issue 14, each met, missed, or not measured (null), with the ratio from this run. */
export function evaluateTargets(summaries: Summary[], runs: RunRecord[], service: Results['service'], coldStart: ColdStart): TargetCheck[] {
  const find = (workload: WorkloadName, target: TargetName) => summaries.find((s) => s.workload === workload && s.target === target);
  const checks: TargetCheck[] = [];
  const throughput = (workload: WorkloadName, other: TargetName, share: number, what: string) => {
    const ratio = roundRatio(runs, workload, other, (run) => run.reqPerSec);
    const mine = find(workload, 'service');
    const theirs = find(workload, other);
    checks.push({
      target: `${workload} throughput`,
      requirement: `≥ ${share.toFixed(2)} × ${targetLabel(workload, other)} req/s (${what})`,
      measured:
        ratio === null || !mine || !theirs
          ? 'not measured'
          : `${fixed(ratio)} × (${whole(mine.reqPerSec)} vs ${whole(theirs.reqPerSec)} req/s)`,
      met: ratio === null ? null : ratio >= share,
    });
  };
  const cpu = (target: string, figure: (run: RunRecord) => number) => {
    const ratio = roundRatio(runs, 'W1', 'postgraphile', figure);
    const mine = runs.filter((run) => run.workload === 'W1' && run.target === 'service');
    const theirs = runs.filter((run) => run.workload === 'W1' && run.target === 'postgraphile');
    checks.push({
      target,
      requirement: "≤ PostGraphile's (≤ 1.00 ×)",
      measured:
        ratio === null
          ? 'not measured'
          : `${fixed(ratio)} × (${fixed(median(mine.map(figure)))} vs ${fixed(median(theirs.map(figure)))} ms/req)`,
      met: ratio === null ? null : ratio <= 1,
    });
  };
  throughput('W1', 'postgraphile', 1, 'GraphQL list');
  cpu('W1 total CPU per request (server + PostgreSQL)', totalCpu);
  cpu('W1 PostgreSQL CPU per request', (run) => run.dbCpuMsPerReq);
  throughput('W3', 'postgraphile', 0.5, 'acceptOrder with every rule, against a blind write');
  const serviceW3 = find('W3', 'service');
  checks.push({
    target: 'W3 SQL statements per action',
    requirement: '≤ 2 (transaction control included)',
    measured: serviceW3 ? `${fixed(serviceW3.sqlPerReq)} (median), ${fixed(serviceW3.maxSqlPerReq)} (worst round)` : 'not measured',
    met: serviceW3 ? serviceW3.maxSqlPerReq <= 2 : null,
  });
  const redis = serviceW3?.redisRoundTripsPerReq ?? null;
  checks.push({
    target: 'W3 Redis round trips per action',
    requirement: '≤ 1',
    measured:
      serviceW3 && redis !== null ? `${fixed(redis)} (median), ${fixed(serviceW3.maxRedisRoundTripsPerReq)} (worst round)` : 'not measured',
    met: serviceW3 && redis !== null ? serviceW3.maxRedisRoundTripsPerReq! <= 1 : null,
  });
  throughput('W2', 'floor', 0.5, 'REST v2 list');
  checks.push({
    target: 'Memory under load',
    requirement: '≤ 250 MB RSS',
    measured:
      service.maxRssMB > 0
        ? `${fixed(service.maxRssMB, 0)} MB max RSS during the runs (${fixed(service.maxRssMB / 250)} × 250 MB)`
        : 'not measured',
    met: service.maxRssMB > 0 ? service.maxRssMB <= 250 : null,
  });
  checks.push({
    target: 'Embedded cold start to ready',
    requirement: '≤ 15 s (no DATABASE_URL/REDIS_URL, empty data dir, until /readyz 200)',
    measured:
      'ms' in coldStart
        ? `${fixed(coldStart.ms / 1000, 1)} s (${fixed(coldStart.ms / 15_000)} × 15 s)`
        : 'error' in coldStart
          ? `failed: ${coldStart.error}`
          : 'skipped',
    met: 'ms' in coldStart ? coldStart.ms <= 15_000 : 'error' in coldStart ? false : null,
  });
  return checks;
}

const verdict = (met: boolean | null) => (met === null ? 'not measured' : met ? 'met' : 'missed');

/** The results table in Markdown (also printed to the console). */
export function resultsTable(summaries: Summary[]): string {
  const header =
    '| workload | server | conns | req/s | p50 ms | p99 ms | server CPU ms/req | DB CPU ms/req | SQL/req | Redis/req | × floor | × PostGraphile | errors |';
  const rule = '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|';
  const rows = summaries.map((s) =>
    [
      s.workload,
      targetLabel(s.workload, s.target),
      s.connections,
      whole(s.reqPerSec),
      fixed(s.p50Ms, 1),
      fixed(s.p99Ms, 1),
      fixed(s.serverCpuMsPerReq),
      fixed(s.dbCpuMsPerReq),
      fixed(s.sqlPerReq),
      fixed(s.redisRoundTripsPerReq),
      fixed(s.ratioToFloor),
      fixed(s.ratioToPostGraphile),
      s.failed + s.connectionErrors,
    ].join(' | '),
  );
  return [header, rule, ...rows.map((row) => `| ${row} |`)].join('\n');
}

/** The targets as plain lines, one per target, for the console: verdict first. */
export function targetLines(targets: TargetCheck[]): string {
  const width = Math.max(...targets.map((t) => t.target.length));
  return targets
    .map((t) => `${verdict(t.met).toUpperCase().padEnd(12)} ${t.target.padEnd(width)}  ${t.measured}   [target ${t.requirement}]`)
    .join('\n');
}

export function targetsTable(targets: TargetCheck[]): string {
  return [
    '| target | requirement | measured | result |',
    '|---|---|---|---|',
    ...targets.map(
      (t) => `| ${t.target} | ${t.requirement} | ${t.measured} | ${t.met === null ? verdict(t.met) : `**${verdict(t.met)}**`} |`,
    ),
  ].join('\n');
}

const COLORS: Record<TargetName, string> = { floor: '#8c8c8c', postgraphile: '#e07b39', service: '#2f6db5' };
const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A grouped bar chart: per workload, each server's req/s as a fraction of the floor's, labelled with the absolute
 * req/s, and the target line. Written by hand: a dozen rectangles need no charting dependency, and the SVG stays
 * small, deterministic and readable in a diff.
 */
export function renderChart(summaries: Summary[], subtitle: string): string {
  const workloads = WORKLOAD_NAMES.filter((workload) => summaries.some((s) => s.workload === workload));
  // The targets on the chart's scale (fractions of the floor): W1 and W3 are set against PostGraphile in the same run.
  const postgraphileShare = (workload: WorkloadName, share: number) => {
    const ratio = summaries.find((s) => s.workload === workload && s.target === 'postgraphile')?.ratioToFloor;
    return ratio ? { at: ratio * share, label: `target ${share.toFixed(2)} × PostGraphile` } : undefined;
  };
  const targetLine: Partial<Record<WorkloadName, { at: number; label: string } | undefined>> = {
    W1: postgraphileShare('W1', 1),
    W2: { at: 0.5, label: 'target 0.50 × floor' },
    W3: postgraphileShare('W3', 0.5),
  };
  const width = 760;
  const height = 380;
  const plot = { left: 60, right: width - 20, top: 60, bottom: height - 70 };
  const maxRatio = Math.max(1, ...summaries.map((s) => s.ratioToFloor ?? 0));
  const yMax = Math.ceil(maxRatio * 4) / 4;
  const y = (ratio: number) => plot.bottom - (ratio / yMax) * (plot.bottom - plot.top);
  const groupWidth = (plot.right - plot.left) / Math.max(1, workloads.length);
  const barWidth = Math.min(56, (groupWidth - 30) / 3);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12" role="img">`,
    `<title>Throughput of each server as a fraction of the floor, per workload</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${plot.left}" y="24" font-size="16" font-weight="bold">Throughput as a fraction of the floor (higher is better)</text>`,
    `<text x="${plot.left}" y="42" fill="#555">${escapeXml(subtitle)}</text>`,
  );
  for (let tick = 0; tick <= yMax + 1e-9; tick += 0.25) {
    parts.push(
      `<line x1="${plot.left}" x2="${plot.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="${tick === 0 ? '#333' : '#e5e5e5'}"/>`,
      `<text x="${plot.left - 8}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" fill="#555">${tick.toFixed(2)}</text>`,
    );
  }
  workloads.forEach((workload, index) => {
    const groupLeft = plot.left + index * groupWidth;
    const present = TARGET_ORDER.filter((target) => summaries.some((s) => s.workload === workload && s.target === target));
    const barsLeft = groupLeft + (groupWidth - present.length * barWidth - (present.length - 1) * 6) / 2;
    present.forEach((target, position) => {
      const summary = summaries.find((s) => s.workload === workload && s.target === target)!;
      const ratio = summary.ratioToFloor ?? 0;
      const x = barsLeft + position * (barWidth + 6);
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(ratio).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(plot.bottom - y(ratio)).toFixed(1)}" fill="${COLORS[target]}"><title>${escapeXml(`${workload} ${targetLabel(workload, target)}: ${whole(summary.reqPerSec)} req/s (${fixed(ratio)} × floor)`)}</title></rect>`,
        `<text x="${(x + barWidth / 2).toFixed(1)}" y="${(y(ratio) - 4).toFixed(1)}" text-anchor="middle" font-size="11">${whole(summary.reqPerSec)}</text>`,
      );
    });
    const line = targetLine[workload];
    if (line !== undefined) {
      parts.push(
        `<line x1="${(groupLeft + 8).toFixed(1)}" x2="${(groupLeft + groupWidth - 8).toFixed(1)}" y1="${y(line.at).toFixed(1)}" y2="${y(line.at).toFixed(1)}" stroke="#c0392b" stroke-dasharray="5 4"/>`,
        `<text x="${(groupLeft + groupWidth - 8).toFixed(1)}" y="${(y(line.at) - 4).toFixed(1)}" text-anchor="end" fill="#c0392b" font-size="10">${escapeXml(line.label)}</text>`,
      );
    }
    const connections = summaries.find((s) => s.workload === workload)?.connections ?? 0;
    parts.push(
      `<text x="${(groupLeft + groupWidth / 2).toFixed(1)}" y="${plot.bottom + 18}" text-anchor="middle" font-weight="bold">${workload}</text>`,
      `<text x="${(groupLeft + groupWidth / 2).toFixed(1)}" y="${plot.bottom + 33}" text-anchor="middle" fill="#555" font-size="10">${escapeXml(shortTitle(workload))}, ${connections} conn.</text>`,
    );
  });
  TARGET_ORDER.forEach((target, index) => {
    const x = plot.left + index * 150;
    parts.push(
      `<rect x="${x}" y="${height - 22}" width="12" height="12" fill="${COLORS[target]}"/>`,
      `<text x="${x + 18}" y="${height - 12}">${escapeXml(TARGET_LABELS[target])}</text>`,
    );
  });
  parts.push(
    `<text x="${plot.right}" y="${height - 12}" text-anchor="end" fill="#555" font-size="10">bar labels: req/s (median of rounds)</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

function shortTitle(workload: WorkloadName): string {
  return { W1: 'GraphQL list', W2: 'REST v2 list', W3: 'action; PostGraphile: blind write', W4: 'GraphQL list' }[workload];
}

/** docs/PERFORMANCE.md, regenerated whole by every full run. */
export function renderMarkdown(results: Results, paths: { chart: string; json: string }): string {
  const m = results.machine;
  const d = results.database;
  const o = results.options;
  const busy = results.busy;
  const busyRunCount = results.runs.filter((run) => run.busy).length;
  const busyNote = busy.flagged
    ? `**The machine was busy with other work**: ${busyRunCount} of ${results.runs.length} runs flagged ` +
      `(other processes used a median ${fixed(median(results.runs.map((run) => run.otherCpuCores)))} and at most ` +
      `${fixed(Math.max(...results.runs.map((run) => run.otherCpuCores)))} cores during the runs, threshold ${busy.thresholdCores}; ` +
      `${fixed(busy.baselineOtherCores)} cores before the run${'busy' in results.coldStart && results.coldStart.busy ? ', and during the cold start' : ''}; ` +
      "each run's figure is in the JSON). " +
      'These figures are not representative of a quiet machine: competing work takes CPU from every server, and not equally ' +
      "(the floor's work is mostly inside PostgreSQL, PostGraphile's and this service's mostly in Node), so ratios move too."
    : `The machine was quiet: other processes used at most ${fixed(busy.maxOtherCores)} cores during any run ` +
      `(threshold ${busy.thresholdCores}; ${fixed(busy.baselineOtherCores)} before the run).`;
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  return `# Performance

<!-- Generated by bench/run.ts (npm run bench); edit bench/report.ts, not this file. -->

Measured ${results.finishedAt.slice(0, 10)} with

\`\`\`sh
${results.command}
\`\`\`

(${plural(o.rounds, 'interleaved round')}; each run ${o.leadInSeconds} s of lead-in then a ${o.seconds} s measured window under continuous load;
${o.warmupSeconds} s warm-up per workload and server first; ${o.connections} connections; database pools of ${o.poolSize}). Raw figures: [\`${paths.json}\`](${paths.json}).
Needs PostgreSQL on 127.0.0.1:5432 (or \`BENCH_DATABASE_URL\`) and Redis on 127.0.0.1:6379 (or \`BENCH_REDIS_URL\`);
the bench database \`${d.name}\` is dropped and recreated. \`npm run bench -- --quick\` is a smoke run that leaves this page alone.

## Machine

- ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.kernel}; Node ${m.node}; load average before the run ${(m.loadAverage as number[]).join(', ')}.
- PostgreSQL ${d.version} over loopback, durable (fsync ${d.fsync}, synchronous_commit ${d.synchronousCommit}, shared_buffers ${d.sharedBuffers}); Redis ${d.redis}.
- Load generator (autocannon, in the bench process), the three servers and PostgreSQL share the same cores.
- ${busyNote}

## Targets

${targetsTable(results.targets)}

## Results (median of ${plural(o.rounds, 'round')})

${resultsTable(results.summaries)}

![Throughput of each server as a fraction of the floor, per workload](${paths.chart})

Memory (max RSS sampled every 200 ms during the runs, MB = 10^6 bytes): ${memoryLine(results.summaries)}${results.service.peakRssMB ? `; the service's peak since its start (VmHWM) ${fixed(results.service.peakRssMB, 0)} MB` : ''}.
Embedded cold start (\`npm start\`: build the bundle, then run it; no \`DATABASE_URL\`/\`REDIS_URL\`, empty \`EMBEDDED_DATA_DIR\`, until \`/readyz\` answers 200): ${describeColdStart(results.coldStart)}.

${results.problems.length ? `## Problems seen\n\n${results.problems.map((problem) => `- ${problem}`).join('\n')}\n` : '## Problems seen\n\nNone: every response of every run passed its check.\n'}
## What is measured

- **Data set** (set-based SQL, bench/seed.ts): ${describeDataSet(results.dataSet)}. Every order has its full history
  (version = history length), payments and refunds as its life cycle implies; the service's own invariant checks pass on it.
- **Workloads** (bench/workloads.ts):
${WORKLOAD_NAMES.map((workload) => `  - **${workload}**: ${WORKLOADS[workload].title}.`).join('\n')}
  W1/W4 ask this service for \`orders(first: 50)\` with \`id databaseId status version totalAmount createdAt updatedAt restaurant { id name }
  rider { id name } items { name quantity unitPrice lineTotal }\` as the admin; W2 is \`GET /api/v2/orders?limit=50&include=restaurant,rider\`;
  W3 is \`acceptOrder(orderId, expectedVersion, input: { idempotencyKey })\` by the owning restaurant, each request on a fresh
  \`pending_acceptance\` order with the version the client tracked and a fresh key, so every one must succeed.
- **The floor** (bench/servers/floor.ts): bare \`node:http\` + \`pg\`, one prepared SQL statement per request that builds the same
  JSON (same fields) in PostgreSQL; for W3 the same transition as the action, on the same kind of fresh row, as one
  compare-and-swap: \`UPDATE orders SET status = 'preparing', version = version + 1, updated_at = now() WHERE id = $1 AND version = $2
  AND status = 'pending_acceptance'\` (no authorization, idempotency, history or event).
- **PostGraphile 5** (bench/servers/postgraphile.ts): amber preset over the same tables, grafserv on \`node:http\`, no auth; W1 is
  its \`allOrders\` connection with the same fields; W3 is its \`updateOrderByRowId\` setting status and version on the same kind of
  fresh row — a **blind write** (by row id only: no version check, no rules, history, idempotency or event), labelled so in every table.
  It declares Node ≥ 22; on Node 20 it runs with bench/servers/node22-polyfill.ts (\`Promise.withResolvers\`).
- **This service**: as \`npm start\` runs it (\`dist/server.js\` built by scripts/build.mjs, with the start script's node flags), \`NODE_ENV=production\`, PostgreSQL, Redis, \`RATE_LIMIT_PER_MINUTE=0\`, \`LOG_LEVEL=warn\`.
- **Method**: every server runs in its own process for the whole bench; rounds interleave the servers (order rotated each round).
  Each run is one continuous autocannon load; figures come from a window in its middle (after the lead-in, while the load goes on),
  so requests in flight at the window's edges balance out. Ratios are medians of round-by-round ratios, and every target is
  judged by ratios from this one bench run. Every response is checked (status, GraphQL errors, the action's success); a failed
  check counts as an error.
  *Same document*: before the warm-up and again after the last round, the bench fetches W1 from each server, canonicalises the
  answers (PostGraphile's field names, enum case and node ids mapped to the service's, ids decoded to type and key, timestamps
  to UTC milliseconds, keys sorted) and stops, naming the server that differs, if they are not the same document
  (${results.w1Document.checks} checks passed, ${results.w1Document.canonicalChars.toLocaleString('en-US')} characters canonical); every W1/W4 response under load must then have the
  checked response's exact length.
  *Before each measured run*, for every server alike: for W3, the pool is replaced by ${results.options.w3PoolSize === null ? 'the same number of' : `${results.options.w3PoolSize.toLocaleString('en-US')}`} freshly
  inserted \`pending_acceptance\` orders (the same number for every server; what the previous run left is not used); then, for
  every workload, the bench waits for cut-off requests to finish, runs \`VACUUM (ANALYZE)\` and \`CHECKPOINT\`, and waits until
  PostgreSQL's processes are idle, so no refill, dead rows or dirty pages of an earlier run are paid for in another server's window
  (median wait ${fixed(results.settle.medianMs / 1000, 1)} s, longest ${fixed(results.settle.maxMs / 1000, 1)} s${results.settle.unsettled.length ? `; never idle before: ${results.settle.unsettled.join(', ')}` : ''}).
  *Server CPU* is the server process's utime + stime (/proc/<pid>/stat) over the window ÷ requests; *DB CPU* the same for the
  benchmark database's PostgreSQL backends and background processes; *SQL/req* the statements each server sent (this service:
  \`db_statements_total\` from /metrics, which counts transaction control too; floor and PostGraphile: counted at their pools);
  *Redis/req* the data-carrying TCP segments the server's sockets sent to Redis (ss's \`data_segs_out\`): a command sent on its
  own is one, a pipeline or MULTI…EXEC one, so round trips. Each counter is divided by the responses received between its own
  two readings (the service's /metrics answers behind the requests queued before it, so its readings lag the window's edges).
  *Busy check*: machine busy time (/proc/stat) minus the CPU of the bench, its servers, PostgreSQL's processes for this database
  and Redis; above ${busy.thresholdCores} cores in a run, the run is flagged.
`;
}

function describeColdStart(coldStart: ColdStart): string {
  if ('ms' in coldStart) {
    return `${fixed(coldStart.ms / 1000, 1)} s${coldStart.busy ? ` (machine busy: other processes used ${fixed(coldStart.otherCpuCores)} cores meanwhile)` : ''}`;
  }
  return 'error' in coldStart ? `failed (${coldStart.error})` : 'skipped';
}

function memoryLine(summaries: Summary[]): string {
  return TARGET_ORDER.flatMap((target) => {
    const runs = summaries.filter((s) => s.target === target);
    return runs.length ? [`${TARGET_LABELS[target]} ${fixed(Math.max(...runs.map((s) => s.maxRssMB)), 0)} MB`] : [];
  }).join(', ');
}

function describeDataSet(dataSet: Record<string, unknown>): string {
  return (
    `${dataSet.restaurants} restaurants with ${dataSet.menuItemsPerRestaurant} menu items each, ${dataSet.riders} riders, ${dataSet.customers} customers, ` +
    `${Number(dataSet.orders).toLocaleString('en-US')} orders with 1–3 items, plus ${Number(dataSet.pendingOrdersAdded).toLocaleString('en-US')} extra ` +
    '`pending_acceptance` orders inserted for W3 (a fresh pool before each W3 run, each order accepted at most once)'
  );
}
