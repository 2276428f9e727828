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
import { type LogLevel, makeWorkerUtils, type Runner, run, runMigrations, type TaskList, Logger as WorkerLogger } from 'graphile-worker';
import type { Database } from './db.ts';
import type { Logger } from './logger.ts';

export type JobQueue = {
  /** Installs or upgrades graphile-worker's schema (before anything enqueues; safe when several processes start). */
  migrate(): Promise<void>;
  /**
   * Starts working on jobs: one worker per lane, each taking only its lane's tasks with its own slots, so that a lane
   * of slow jobs (webhook receivers that hang) never holds up another (refunds). `maxRunMs` bounds how long any job
   * runs: a job locked for longer belongs to a worker that died (kill -9), and is freed so that another process runs it.
   */
  start(lanes: JobLane[], options: { maxRunMs: number }): Promise<void>;
  /** Stops taking jobs and waits for the running ones. */
  stop(): Promise<void>;
};

/** Some tasks and how many of their jobs one process runs at once. */
export type JobLane = { tasks: TaskList; concurrency: number };

/** How often the worker looks for jobs whose time has come (new jobs arrive at once through LISTEN/NOTIFY). */
const POLL_INTERVAL_MS = 1_000;

/** How often each process looks for jobs left locked by a worker that died. */
const SWEEP_INTERVAL_MS = 5_000;

export function createJobQueue(db: Database, logger: Logger): JobQueue {
  const workerLogger = new WorkerLogger((scope) => (level: LogLevel, message: string, meta?: unknown) => {
    const fields = { jobQueue: scope, ...(meta as object) };
    if (level === 'error') logger.error(fields, message);
    // Its advice on a pool smaller than the slots assumes slots hold connections; ours wait on HTTP, not on the pool.
    else if (level === 'warning' && !message.includes('smaller than concurrency')) logger.warn(fields, message);
    else logger.debug(fields, message);
  });
  const shared = { pgPool: db.jobPool, logger: workerLogger, noPreparedStatements: db.kind === 'embedded' };
  let runners: Runner[] = [];
  let sweeper: NodeJS.Timeout | undefined;
  let stopUtils: (() => Promise<void>) | undefined;
  return {
    async migrate() {
      await runMigrations(shared);
    },
    async start(lanes, { maxRunMs }) {
      // A worker asks only for the tasks of its own task list, so each lane's slots serve only its jobs.
      runners = await Promise.all(
        lanes.map((lane) =>
          run({
            ...shared,
            taskList: lane.tasks,
            concurrency: lane.concurrency,
            pollInterval: POLL_INTERVAL_MS,
            noHandleSignals: true,
            crontab: '',
          }),
        ),
      );
      // Open-source graphile-worker frees the jobs of a crashed worker only after 4 hours; a refund must reach the
      // provider within 30 s of a kill -9. Our tasks are idempotent and bounded by maxRunMs, so a job locked for
      // longer than that is a dead worker's, and that worker's locks are released (graphile-worker's own API).
      const utils = await makeWorkerUtils(shared);
      stopUtils = async () => {
        await utils.release();
      };
      sweeper = setInterval(() => {
        void db.jobPool
          .query<{ locked_by: string }>(
            'SELECT DISTINCT locked_by FROM graphile_worker.jobs WHERE locked_by IS NOT NULL AND locked_at < now() - make_interval(secs => $1)',
            [maxRunMs / 1000],
          )
          .then(async ({ rows }) => {
            const dead = rows.map((row) => row.locked_by);
            if (!dead.length) return;
            logger.warn({ workers: dead }, 'releasing jobs locked by workers that stopped without finishing them');
            await utils.forceUnlockWorkers(dead);
          })
          // A named queue stays locked when its job row went away under a worker that was presumed dead and was not
          // (graphile-worker then unlocks the queue only after 4 hours): free queues whose lock is older than any task
          // may run and that no locked job holds.
          .then(() =>
            db.jobPool.query(
              `UPDATE graphile_worker._private_job_queues AS queues SET locked_at = NULL, locked_by = NULL
                WHERE locked_at < now() - make_interval(secs => $1)
                  AND NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs AS jobs
                                   WHERE jobs.job_queue_id = queues.id AND jobs.locked_at IS NOT NULL)`,
              [maxRunMs / 1000],
            ),
          )
          .catch((error: Error) => logger.debug({ err: error.message }, 'job lock sweep failed; trying again later'));
      }, SWEEP_INTERVAL_MS);
      sweeper.unref();
    },
    /** Stops taking jobs and waits for the running ones; a second call does nothing. */
    async stop() {
      clearInterval(sweeper);
      const [stopping, release] = [runners, stopUtils];
      runners = [];
      stopUtils = undefined;
      await Promise.all(stopping.map((runner) => runner.stop()));
      await release?.();
    },
  };
}
