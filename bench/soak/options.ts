/** Command-line flags of `npm run bench:soak`, each with an environment fallback (flag → env → default). */
import { parseArgs } from 'node:util';

export type SoakOptions = {
  durationSeconds: number;
  connections: number;
  intervalSeconds: number;
  /** Embedded PGlite and in-process Redis stand-ins instead of the servers below. */
  embedded: boolean;
  /** Keep the scratch database (and Redis keys, or the PGlite directory) for inspection. */
  keep: boolean;
  /** A PostgreSQL server URL; the soak creates and drops its own database there. */
  postgresUrl: string;
  redisUrl: string;
  resultsDir: string;
};

const USAGE = `Usage: npm run bench:soak -- [options]

  --duration <s>       traffic duration in seconds           (SOAK_DURATION, default 600)
  --connections <n>    concurrent connections and workers    (SOAK_CONNECTIONS, default 32)
  --interval <s>       sampling interval in seconds          (SOAK_INTERVAL, default 10)
  --embedded           run on embedded PGlite and in-process Redis stand-ins (no servers)
  --keep               keep the scratch database / Redis keys / PGlite directory afterwards
  --postgres-url <u>   PostgreSQL server                     (SOAK_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres)
  --redis-url <u>      Redis server                          (SOAK_REDIS_URL, default redis://127.0.0.1:6379)
  --results-dir <dir>  where the JSON report goes            (default bench/results)
`;

function positive(name: string, raw: string, integer: boolean): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}\n\n${USAGE}`);
  }
  return value;
}

/** Parses argv (without node and the script) and the environment; prints usage and exits on --help. */
export function parseSoakOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      interval: { type: 'string' },
      embedded: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'postgres-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'results-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    durationSeconds: positive('duration', values.duration ?? env.SOAK_DURATION ?? '600', false),
    connections: positive('connections', values.connections ?? env.SOAK_CONNECTIONS ?? '32', true),
    intervalSeconds: positive('interval', values.interval ?? env.SOAK_INTERVAL ?? '10', false),
    embedded: values.embedded,
    keep: values.keep,
    postgresUrl: values['postgres-url'] ?? env.SOAK_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: values['redis-url'] ?? env.SOAK_REDIS_URL ?? 'redis://127.0.0.1:6379',
    resultsDir: values['results-dir'] ?? 'bench/results',
  };
}
