/**
 * The job queue: graphile-worker, on the service's own database.
 *
 * Chosen over pg-boss because it enqueues with a SQL function (`graphile_worker.add_job`), so a job is written in
 * the same statement as the change that causes it — a refund in the statement that cancels, a recovery check in the
 * statement that records a payment attempt — and can never be lost between the two. It retries with exponential
 * backoff, keeps jobs across crashes (a worker that died has its jobs freed after its lock expires), and lets any
 * number of processes share the work safely (SKIP LOCKED). Every process runs a worker. On the embedded database it
 * runs over a node-postgres stand-in for PGlite (infra/db.ts), so both modes run the same jobs the same way.
 */
import { type LogLevel, type Runner, run, runMigrations, type TaskList, Logger as WorkerLogger } from 'graphile-worker';
import type { Database } from './db.ts';
import type { Logger } from './logger.ts';

export type JobQueue = {
  /** Installs or upgrades graphile-worker's schema (before anything enqueues; safe when several processes start). */
  migrate(): Promise<void>;
  /** Starts working on jobs with these tasks. */
  start(tasks: TaskList): Promise<void>;
  /** Stops taking jobs and waits for the running ones. */
  stop(): Promise<void>;
};

/** How often the worker looks for jobs whose time has come (new jobs arrive at once through LISTEN/NOTIFY). */
const POLL_INTERVAL_MS = 1_000;

export function createJobQueue(db: Database, logger: Logger): JobQueue {
  const workerLogger = new WorkerLogger((scope) => (level: LogLevel, message: string, meta?: unknown) => {
    const fields = { jobQueue: scope, ...(meta as object) };
    if (level === 'error') logger.error(fields, message);
    else if (level === 'warning') logger.warn(fields, message);
    else logger.debug(fields, message);
  });
  const shared = { pgPool: db.jobPool, logger: workerLogger, noPreparedStatements: db.kind === 'embedded' };
  let runner: Runner | undefined;
  return {
    async migrate() {
      await runMigrations(shared);
    },
    async start(tasks) {
      runner = await run({
        ...shared,
        taskList: tasks,
        concurrency: 2,
        pollInterval: POLL_INTERVAL_MS,
        noHandleSignals: true,
        crontab: '',
      });
    },
    async stop() {
      await runner?.stop();
      runner = undefined;
    },
  };
}
