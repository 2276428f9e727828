/**
 * The processes the bench starts: spawned, watched (an unexpected exit aborts the run with its last log lines),
 * and always stopped — on success, on error, and on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import type { FromServer, ServerStats, ToServer } from './servers/ipc.ts';

const LOG_LINES_KEPT = 40;

export type Child = {
  name: string;
  pid: number;
  /** The last lines it wrote (stdout and stderr), for error messages. */
  logTail(): string;
  /** Resolves with the exit code once it has exited. */
  exited: Promise<number | null>;
  /** Statement counter of a bench-owned server (IPC); undefined for the service. */
  stats?: () => Promise<ServerStats>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
};

const running = new Set<{ child: Child; process: ChildProcess; group: boolean }>();
let expectingExit = false;

/** Stops every child still running (SIGTERM, then SIGKILL). */
export async function stopAll(graceMs = 5_000): Promise<void> {
  expectingExit = true;
  await Promise.all([...running].map(({ child }) => child.stop(graceMs)));
}

// Last resort: whatever ends this process, leave no server behind.
process.on('exit', () => {
  for (const entry of running) signal(entry.process, 'SIGKILL', entry.group);
});

function signal(child: ChildProcess, name: NodeJS.Signals, group: boolean) {
  try {
    if (group && child.pid) process.kill(-child.pid, name);
    else child.kill(name);
  } catch {
    // already gone
  }
}

export type SpawnOptions = {
  env: NodeJS.ProcessEnv;
  /** Open an IPC channel (bench-owned servers announce readiness and answer stats over it). */
  ipc?: boolean;
  /** Messages from a bench-owned server (with `ipc`). */
  onMessage?: (message: FromServer) => void;
  /** Own process group, killed as a whole (for wrappers such as the tsx CLI that start the real process). */
  group?: boolean;
  cwd?: string;
};

/** Starts a child; an exit nobody asked for is reported through `onUnexpectedExit`. */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions,
  onUnexpectedExit: (child: Child, code: number | null) => void = () => {},
): Child {
  const proc = spawn(command, args, {
    env: options.env,
    cwd: options.cwd,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    detached: options.group ?? false,
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > LOG_LINES_KEPT) lines.splice(0, lines.length - LOG_LINES_KEPT);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let stopping = false;
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const pending = new Map<number, (stats: ServerStats) => void>();
  let nextId = 1;
  if (options.ipc) {
    proc.on('message', (message: FromServer) => {
      options.onMessage?.(message);
      if (message.type === 'stats') {
        pending.get(message.id)?.({ statements: message.statements });
        pending.delete(message.id);
      }
    });
  }
  const child: Child = {
    name,
    pid: proc.pid ?? -1,
    logTail: () => lines.join('\n'),
    exited,
    stats: options.ipc
      ? () =>
          new Promise<ServerStats>((resolve, reject) => {
            const id = nextId++;
            pending.set(id, resolve);
            proc.send({ type: 'stats', id } satisfies ToServer);
            setTimeout(() => {
              if (pending.delete(id)) reject(new Error(`${name} did not answer a stats request`));
            }, 5_000).unref();
          })
      : undefined,
    async stop(graceMs = 5_000) {
      stopping = true;
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      signal(proc, 'SIGTERM', options.group ?? false);
      const timer = setTimeout(() => signal(proc, 'SIGKILL', options.group ?? false), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  const entry = { child, process: proc, group: options.group ?? false };
  running.add(entry);
  void exited.then((code) => {
    running.delete(entry);
    if (!stopping && !expectingExit) onUnexpectedExit(child, code);
  });
  if (!proc.pid) throw new Error(`Could not start ${name} (${command})`);
  return child;
}

/** Spawns a bench-owned server with an IPC channel and waits for its `ready` message. */
export async function startOwnedServer(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onUnexpectedExit: (child: Child, code: number | null) => void,
  timeoutMs = 90_000,
): Promise<Child> {
  let announce: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    announce = resolve;
  });
  const onMessage = (message: FromServer) => {
    if (message.type === 'ready') announce();
  };
  const child = spawnChild(name, process.execPath, args, { env, ipc: true, onMessage }, onUnexpectedExit);
  await raceReady(child, ready, timeoutMs);
  return child;
}

/** Polls `url` until it answers 200; returns the milliseconds it took from `startedAt`. */
export async function waitForHttp200(
  child: Child,
  url: string,
  timeoutMs: number,
  startedAt = performance.now(),
  intervalMs = 50,
): Promise<number> {
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  while (performance.now() - startedAt < timeoutMs) {
    if (exited) throw new Error(`${child.name} exited before ${url} answered 200:\n${child.logTail()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return performance.now() - startedAt;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${child.name}: ${url} did not answer 200 within ${timeoutMs / 1000} s:\n${child.logTail()}`);
}

async function raceReady(child: Child, ready: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      child.exited.then((code) => {
        throw new Error(`${child.name} exited (code ${code}) before it was ready:\n${child.logTail()}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${child.name} was not ready within ${timeoutMs / 1000} s:\n${child.logTail()}`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
