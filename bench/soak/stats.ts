/**
 * What the soak counts: every response gets one verdict, latencies go into log-scale histograms (constant memory
 * however long the run), and the first few surprising responses are kept whole so a failure can be diagnosed.
 */

/**
 * - `ok`: a 2xx or 304 the scenario expected;
 * - `expected4xx`: a 4xx the scenario provoked on purpose (412 stale version, 409 illegal transition or lost race, 404);
 * - `unexpected`: any status the scenario did not expect, or an expected one whose content is wrong (a replay
 *   without its replay flag, an ETag that differs between transports);
 * - `serverError`: HTTP 5xx, or a GraphQL error the server masked as unexpected (INTERNAL_SERVER_ERROR);
 * - `networkError`: no HTTP answer at all (reset, refused, timeout).
 */
export type Verdict = 'ok' | 'expected4xx' | 'unexpected' | 'serverError' | 'networkError';

export const VERDICTS: readonly Verdict[] = ['ok', 'expected4xx', 'unexpected', 'serverError', 'networkError'];

/** Latency histogram with ~2 % wide logarithmic buckets from 10 µs to beyond a minute. */
export class Histogram {
  private static readonly MIN_MS = 0.01;
  private static readonly GROWTH = 1.02;
  private readonly counts = new Uint32Array(1024);
  count = 0;
  max = 0;

  add(ms: number): void {
    const index = ms <= Histogram.MIN_MS ? 0 : Math.ceil(Math.log(ms / Histogram.MIN_MS) / Math.log(Histogram.GROWTH));
    this.counts[Math.min(index, this.counts.length - 1)]! += 1;
    this.count += 1;
    this.max = Math.max(this.max, ms);
  }

  /** The q-quantile in ms (upper edge of its bucket, at most 2 % high); 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index]!;
      if (seen >= rank) return Math.min(Histogram.MIN_MS * Histogram.GROWTH ** index, this.max);
    }
    return this.max;
  }
}

/** Counts by verdict plus a latency histogram, for the whole run, one interval, or one operation. */
export class Tally {
  readonly byVerdict: Record<Verdict, number> = { ok: 0, expected4xx: 0, unexpected: 0, serverError: 0, networkError: 0 };
  readonly latency = new Histogram();
  requests = 0;

  add(verdict: Verdict, ms: number | null): void {
    this.requests += 1;
    this.byVerdict[verdict] += 1;
    if (ms !== null) this.latency.add(ms);
  }

  summary() {
    return {
      requests: this.requests,
      ...this.byVerdict,
      p50Ms: round(this.latency.quantile(0.5)),
      p99Ms: round(this.latency.quantile(0.99)),
    };
  }
}

export type Problem = { verdict: Verdict; op: string; status: number | 'network'; reason: string; detail: string; at: string };

/** How many problems of each verdict are printed as they happen and kept for the report. */
const PROBLEMS_KEPT = 20;
const PROBLEMS_PRINTED = 8;

/** Shared by every worker: the whole run's tallies, the current interval's, and the first problems of each kind. */
export class Recorder {
  readonly total = new Tally();
  readonly byOp = new Map<string, Tally>();
  readonly byStatus = new Map<string, number>();
  readonly problems: Problem[] = [];
  private interval = new Tally();
  private readonly problemCounts: Record<Verdict, number> = { ok: 0, expected4xx: 0, unexpected: 0, serverError: 0, networkError: 0 };

  record(op: string, status: number | 'network', ms: number | null, verdict: Verdict, problem?: { reason: string; detail: string }): void {
    this.total.add(verdict, ms);
    this.interval.add(verdict, ms);
    const tally = this.byOp.get(op) ?? new Tally();
    this.byOp.set(op, tally);
    tally.add(verdict, ms);
    this.byStatus.set(String(status), (this.byStatus.get(String(status)) ?? 0) + 1);
    if (problem && verdict !== 'ok' && verdict !== 'expected4xx')
      this.keepProblem({ verdict, op, status, ...problem, at: new Date().toISOString() });
  }

  /** Something wrong that is not one response, e.g. a race both sides won. */
  note(verdict: Verdict, op: string, reason: string, detail: string): void {
    this.keepProblem({ verdict, op, status: 0, reason, detail, at: new Date().toISOString() });
  }

  /** The tally since the previous call, starting a new interval. */
  takeInterval(): Tally {
    const done = this.interval;
    this.interval = new Tally();
    return done;
  }

  private keepProblem(problem: Problem): void {
    const seen = ++this.problemCounts[problem.verdict];
    if (seen <= PROBLEMS_KEPT) this.problems.push(problem);
    if (seen <= PROBLEMS_PRINTED) {
      console.error(
        `\n[${problem.verdict}] ${problem.op} → ${problem.status}: ${problem.reason}\n  ${problem.detail.replaceAll('\n', '\n  ')}`,
      );
    }
  }
}

export const round = (value: number, digits = 1) => Number(value.toFixed(digits));
