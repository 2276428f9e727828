/** Real server processes on loopback ports, for multi-process, shutdown and crash tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import getPort from 'get-port';

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
const offset = (process.pid * 16) % PORTS;
const candidates = Array.from({ length: PORTS }, (_, index) => FIRST_PORT + ((offset + index) % PORTS));

/** A port nothing listens on right now, outside the ephemeral range, never handed out twice in this process. */
export const freePort = () => getPort({ port: candidates, reserve: true });

/**
 * Starts `src/server.ts` with `env` and waits until /readyz answers 200. When the caller did not pin
 * `PORT` and the chosen port turns out to be taken (another worker, another program), it tries the next one.
 */
export async function startServerProcess(env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<ServerProcess> {
  if (env.PORT !== undefined) return startOnce(env, Number(env.PORT), timeoutMs);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(env, await freePort(), timeoutMs);
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
