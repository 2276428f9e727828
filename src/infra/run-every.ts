import type { Logger } from './logger.ts';

/**
 * Runs `task` every `intervalMs` without keeping the process alive; a failure is logged with `name` and the next
 * run tries again. Returns the function that stops it.
 */
export function runEvery(name: string, intervalMs: number, task: () => Promise<unknown>, logger: Pick<Logger, 'error'>): () => void {
  const timer = setInterval(() => void task().catch((error) => logger.error({ err: error, task: name }, `${name} failed`)), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
