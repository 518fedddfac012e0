import { pino, type Logger as PinoLogger } from 'pino';
import { redactUrl } from './redactUrl.js';

/** The structured logger the engine writes to: one JSON line per event (pino's interface). */
export type Logger = Pick<PinoLogger, 'debug' | 'info' | 'warn' | 'error' | 'child'>;


/**
 * A pino logger writing JSON lines to stderr (so stdout stays for command
 * output). Level default: `info`; `silent` turns it off.
 */
export const makeLogger = (options: { readonly level?: string; readonly name?: string } = {}): Logger =>
  pino(
    {
      name: options.name ?? 'jobtrail',
      level: options.level ?? 'info',
      redact: { paths: ['password', '*.password', 'url', '*.url'], censor: (v) => (typeof v === 'string' ? redactUrl(v) : '***') },
    },
    pino.destination(2),
  );

/** A logger that writes nothing. */
export const silentLogger: Logger = pino({ level: 'silent' });
