// Logging: JSON lines on stdout for journald and log shippers; the same lines pretty-printed when a person is
// watching a terminal. Components log through a child logger ({ component }), and secrets are redacted by path.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

/** Field names that may hold secrets, at any of the first few nesting levels. */
const SECRET_FIELDS = ['password', 'token', 'secret', 'clientSecret', 'apiKey', 'authorization', 'key', 'passphrase'];
export const redactPaths = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`]);

export interface LogOptions {
  level?: string;
  /** 'json' always; 'pretty' always; 'auto' pretty only when stdout is a terminal. */
  format?: 'json' | 'pretty' | 'auto';
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const format = opts.format ?? (process.env.PLANTSYNC_LOG_FORMAT as LogOptions['format']) ?? 'auto';
  const usePretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const options = {
    level: opts.level ?? process.env.PLANTSYNC_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    redact: { paths: redactPaths, censor: '[redacted]' },
  };
  if (usePretty) {
    return pino(options, pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', destination: 1 }));
  }
  return pino(options, opts.destination ?? pino.destination({ dest: 1, sync: true }));
}
