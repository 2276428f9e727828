/** Structured JSON logs (pino). Secrets never reach a log line: auth headers and tokens are redacted. */
import { type Logger, pino } from 'pino';

export type { Logger };

/** Creates the process logger at the configured level. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'quickeats-orders' },
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token', '*.token'], censor: '[redacted]' },
  });
}
