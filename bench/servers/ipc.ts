/**
 * How the bench talks to the servers it owns (floor, PostGraphile): over the child-process IPC channel, so no
 * extra port is needed and the servers' own HTTP paths stay exactly what the workloads hit.
 */

export type ServerStats = { statements: number };

export type ToServer = { type: 'stats'; id: number };
export type FromServer = { type: 'ready'; port: number } | ({ type: 'stats'; id: number } & ServerStats);

/**
 * Announces readiness, answers stats requests, and exits when the bench goes away (even if it was killed).
 * Started by hand (no IPC channel), the server just says where it listens.
 */
export function connectToBench(port: number, readStats: () => ServerStats): void {
  if (!process.send) {
    console.log(`listening on http://127.0.0.1:${port} (no bench attached)`);
    return;
  }
  process.on('message', (message: ToServer) => {
    if (message?.type === 'stats') process.send?.({ type: 'stats', id: message.id, ...readStats() } satisfies FromServer);
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', port } satisfies FromServer);
}

/** Reads a required integer setting from the environment the bench gives its servers. */
export function intFromEnv(name: string, fallback?: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (value === undefined || !Number.isInteger(value)) throw new Error(`${name} must be an integer`);
  return value;
}

/** Reads a required string setting from the environment the bench gives its servers. */
export function stringFromEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}
