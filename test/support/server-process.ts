/** Real server processes on loopback ports, for multi-process, shutdown and crash tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export type ServerProcess = {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
};

// Ports come from below Linux's ephemeral range (32768–60999), so an outgoing connection (a pg or Redis
// client socket) can never be holding the port we hand to a server; each worker process starts at its own offset.
const FIRST_PORT = 20_000;
const PORTS = 12_000;
let nextPort = FIRST_PORT + ((process.pid * 16) % PORTS);

/** A port for a server process: unique within this worker, outside the ephemeral range. */
export const allocatePort = () => {
  const port = nextPort;
  nextPort = FIRST_PORT + ((nextPort - FIRST_PORT + 1) % PORTS);
  return port;
};

/** The next port from `allocatePort` that nothing is listening on right now. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = allocatePort();
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) =>
      server.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => resolve(true)),
    );
    if (bound) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
  }
}

/**
 * Starts `src/server.ts` with `env` and waits until /readyz answers 200. When the caller did not pin
 * `PORT` and the chosen port turns out to be taken (another worker, another program), it tries the next one.
 */
export async function startServerProcess(env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<ServerProcess> {
  if (env.PORT !== undefined) return startOnce(env, Number(env.PORT), timeoutMs);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(env, allocatePort(), timeoutMs);
    } catch (error) {
      if (attempt >= 5 || !String(error).includes('EADDRINUSE')) throw error;
    }
  }
}

async function startOnce(env: Record<string, string | undefined>, port: number, timeoutMs: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${stderr}`);
    const status = await fetch(`${url}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return { url, child, exited, kill: (signal = 'SIGTERM') => child.kill(signal) };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`server on ${url} was not ready within ${timeoutMs} ms: ${stderr}`);
}
