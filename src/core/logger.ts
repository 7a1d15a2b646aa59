import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** JSON logs to stdout (or a destination fd), one root logger per process; children add canary identity. */
export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  const opts = { level, base: { app: 'routeshift' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(opts, destination as unknown as pino.DestinationStream) : pino(opts);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
