/**
 * npm run payments:reconcile -- [--since 24h] [--until <ISO time>] [--fix]
 *
 * Compares the payment provider's charges and refunds with our tables for the orders touched in the window and
 * prints every difference; exits 1 when there is one. With --fix it also settles what it can (records or refunds
 * unaccounted charges, sends refunds the provider has not confirmed) and prints what it did.
 * --since takes a duration back from now (30m, 24h, 7d) or an ISO time.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { reconcilePayments } from '../src/domain/payments/reconcile.ts';
import { createLogger } from '../src/infra/logger.ts';

const { values } = parseArgs({
  options: { since: { type: 'string', default: '24h' }, until: { type: 'string' }, fix: { type: 'boolean', default: false } },
});

function parseTime(text: string, now: Date): Date {
  const duration = /^(\d+)([mhd])$/.exec(text);
  if (duration)
    return new Date(now.getTime() - Number(duration[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 'm' | 'h' | 'd']);
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw new Error(`not a duration (30m, 24h, 7d) or an ISO time: ${text}`);
  return time;
}

const now = new Date();
const since = parseTime(values.since, now);
const until = values.until ? parseTime(values.until, now) : now;
const config = loadConfig();
const container = await createContainer(config, { logger: createLogger('warn'), runJobs: false });
try {
  const { orders, differences } = await reconcilePayments({ ...container, prisma: container.db.prisma }, { since, until, fix: values.fix });
  console.log(`Reconciled ${orders} order(s) touched between ${since.toISOString()} and ${until.toISOString()} with the provider.`);
  for (const difference of differences) {
    console.log(
      `  order ${difference.orderId}  ${difference.kind}: ${difference.detail}${difference.fixed ? `  → ${difference.fixed}` : ''}`,
    );
  }
  console.log(differences.length ? `${differences.length} difference(s).` : 'No differences.');
  process.exitCode = differences.length && !values.fix ? 1 : 0;
} finally {
  await container.close();
}
