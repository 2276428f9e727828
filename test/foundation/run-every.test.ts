import { afterEach, describe, expect, it, vi } from 'vitest';
import { runEvery } from '../../src/infra/run-every.ts';

afterEach(() => vi.useRealTimers());

describe('runEvery', () => {
  it('logs a failed run and tries again at the next interval', async () => {
    vi.useFakeTimers();
    const logger = { error: vi.fn() };
    const failure = new Error('database unreachable');
    const task = vi.fn().mockRejectedValueOnce(failure).mockResolvedValue(3);
    const stop = runEvery('idempotency purge', 1_000, task, logger);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(logger.error).toHaveBeenCalledWith({ err: failure, task: 'idempotency purge' }, 'idempotency purge failed');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(task).toHaveBeenCalledTimes(2);
    expect(logger.error).toHaveBeenCalledTimes(1);
    stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(task).toHaveBeenCalledTimes(2);
  });
});
