/**
 * A private `redis-server` process on a loopback port, for tests that kill and restart Redis: the shared Redis
 * (TEST_REDIS_URL) is never touched, so the test files running beside them keep theirs. No persistence: a restart
 * comes back empty, as after a crash without a dump.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One private redis-server process on `port`. */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  constructor(readonly port: number) {}

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running() {
    return this.child !== null;
  }

  /** Starts the server and waits until it answers PING. */
  async start(): Promise<void> {
    if (this.child) throw new Error('redis-server already running');
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.output = '';
    child.stdout?.on('data', (chunk) => (this.output += chunk));
    child.stderr?.on('data', (chunk) => (this.output += chunk));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      if (await this.ping()) return;
      await sleep(50);
    }
    await this.kill();
    throw new Error(`redis-server on port ${this.port} did not start: ${this.output}`);
  }

  /** SIGKILL (no shutdown, no save), then waits for the process to be gone. Only ever our own child. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** Runs one command on a throwaway connection. */
  async command<T>(run: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      return await run(client);
    } finally {
      client.disconnect();
    }
  }

  private async ping(): Promise<boolean> {
    return this.command((client) => client.ping()).then(
      (answer) => answer === 'PONG',
      () => false,
    );
  }
}
