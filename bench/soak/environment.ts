/**
 * What the soak runs against: a scratch database (PostgreSQL, or a PGlite directory with --embedded) and a unique
 * Redis key prefix, the service as a child process on them, its memory, and the invariant checker afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from '../../test/support/server-process.ts';
import { buildServiceCommand } from '../service-command.ts';

export type Backend = {
  description: string;
  /** Environment of the service (and of the invariant checker) for this backend. */
  env: Record<string, string>;
  /** Drops the scratch database and Redis keys (or removes the PGlite directory); a no-op with `keep`. */
  cleanUp(keep: boolean): Promise<string>;
};

/** Creates `quickeats_soak_<random>` on `postgresUrl` and picks a Redis prefix no other run uses. */
export async function postgresBackend(postgresUrl: string, redisUrl: string): Promise<Backend> {
  const suffix = randomBytes(4).toString('hex');
  const database = `quickeats_soak_${suffix}`;
  const prefix = `quickeats-soak:${suffix}:`;
  await withClient(postgresUrl, (client) => client.query(`CREATE DATABASE "${database}"`));
  const databaseUrl = new URL(postgresUrl);
  databaseUrl.pathname = `/${database}`;
  return {
    description: `PostgreSQL ${databaseUrl.host}/${database}, Redis ${new URL(redisUrl).host} prefix ${prefix}`,
    env: { DATABASE_URL: databaseUrl.toString(), REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix },
    async cleanUp(keep) {
      if (keep) return `kept database ${database} and Redis keys ${prefix}*`;
      await withClient(postgresUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
      const deleted = await deleteRedisKeys(redisUrl, prefix);
      return `dropped database ${database}, deleted ${deleted} Redis keys ${prefix}*`;
    },
  };
}

/** A fresh PGlite directory (files, not memory, so the invariant checker can open it after the service stops). */
export async function embeddedBackend(): Promise<Backend> {
  const directory = await mkdtemp(path.join(tmpdir(), 'quickeats-soak-'));
  return {
    description: `embedded PGlite in ${directory}, in-process Redis stand-ins`,
    env: { EMBEDDED_DATA_DIR: directory },
    async cleanUp(keep) {
      if (keep) return `kept ${directory}`;
      await rm(directory, { recursive: true, force: true });
      return `removed ${directory}`;
    },
  };
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function deleteRedisKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
      if ((keys as string[]).length) deleted += await redis.del(...(keys as string[]));
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** What the service logged at warn level and above (its log lines are pino JSON; anything else is kept as text). */
export class ServerLog {
  warnings = 0;
  errors = 0;
  /** Lines on stderr that are not log lines: stack traces, Node warnings, an inspector someone activated. */
  otherLines = 0;
  readonly firstErrors: string[] = [];
  private static readonly KEPT = 10;

  take(line: string): void {
    let level = 0;
    try {
      level = Number(JSON.parse(line).level) || 0;
    } catch {
      // Not a log line: demo tokens on stdout are fine; text on stderr (a stack trace, a Node warning) is kept.
      level = -1;
    }
    if (level >= 50 || level === -1) {
      if (level >= 50) this.errors += 1;
      else this.otherLines += 1;
      if (this.firstErrors.length < ServerLog.KEPT) this.firstErrors.push(line.slice(0, 3_000));
    } else if (level >= 40) {
      this.warnings += 1;
    }
  }
}

export type ServerProcess = {
  url: string;
  pid: number;
  log: ServerLog;
  /** SIGTERM (graceful drain), then SIGKILL after `timeoutMs`; resolves with the exit code or signal. */
  stop(timeoutMs?: number): Promise<number | string>;
};

const SERVER_START_TIMEOUT_MS = 120_000;

/** Starts the service as `npm start` runs it, with `env`, on a free loopback port and waits for /readyz. */
export async function startServer(env: Record<string, string>, repoRoot: string): Promise<ServerProcess> {
  const port = await freePort();
  const service = buildServiceCommand(repoRoot);
  const child = spawn(service.command, service.args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C in the terminal stops the soak's traffic, not the service under test.
    detached: true,
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const log = new ServerLog();
  const stderrLines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) log.take(line);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrLines.push(line);
    log.take(line);
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service exited during start-up:\n${stderrLines.join('\n')}`);
    const status = await fetch(`${url}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return { url, pid: child.pid!, log, stop: (timeoutMs) => stopChild(child, exited, timeoutMs) };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`the service was not ready within ${SERVER_START_TIMEOUT_MS} ms:\n${stderrLines.join('\n')}`);
}

async function stopChild(child: ChildProcess, exited: Promise<number | string>, timeoutMs = 20_000): Promise<number | string> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** The resident set size of a process in MiB (VmRSS in /proc), or null when it cannot be read. */
export async function residentMiB(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kilobytes = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kilobytes === undefined ? null : Number(kilobytes) / 1024;
}

/** V8 heap used / total in MiB, from the service's own /metrics (prom-client default metrics). */
export async function heapMiB(url: string): Promise<{ used: number; total: number } | null> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
    const used = gauge('nodejs_heap_size_used_bytes');
    const total = gauge('nodejs_heap_size_total_bytes');
    return Number.isNaN(used) || Number.isNaN(total) ? null : { used, total };
  } catch {
    return null;
  }
}

/** Runs `npm run check:invariants` against the backend; its output and exit code. */
export function checkInvariants(env: Record<string, string>, repoRoot: string): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'check:invariants'], {
      cwd: repoRoot,
      // Only this backend's settings: a DATABASE_URL in the caller's environment must not redirect the check.
      env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', EMBEDDED_DATA_DIR: '', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.once('error', (error) => resolve({ exitCode: -1, output: String(error) }));
    child.once('exit', (code) => resolve({ exitCode: code ?? -1, output: output.trim() }));
  });
}
