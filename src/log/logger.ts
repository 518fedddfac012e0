import { pino, type Logger as PinoLogger } from 'pino';
import { redactUrl } from './redactUrl.js';

/** The structured logger the engine writes to: one JSON line per event (pino's interface). */
export type Logger = Pick<PinoLogger, 'debug' | 'info' | 'warn' | 'error' | 'child'>;

/**
 * A pino logger writing JSON lines to stderr (so stdout stays for command
 * output), or appending them to `file`. Level default: `info`; `silent` turns it off.
 * Throws when `file` cannot be opened.
 */
export const makeLogger = (options: { readonly level?: string; readonly name?: string; readonly file?: string } = {}): Logger =>
  pino(
    {
      name: options.name ?? 'jobtrail',
      level: options.level ?? 'info',
      redact: { paths: ['password', '*.password', 'url', '*.url'], censor: (v) => (typeof v === 'string' ? redactUrl(v) : '***') },
    },
    // `file`: appended to (its folder made if need be), written synchronously as stderr is, so no line is lost at exit.
    pino.destination(options.file === undefined ? 2 : { dest: options.file, append: true, mkdir: true, sync: true }),
  );

/** A logger that writes nothing. */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * A child logger with `bindings`, made only when something is logged: the
 * hot path (one per delivery) then pays nothing for a logger it rarely uses.
 */
export const lazyChild = (parent: Logger, bindings: () => Record<string, unknown>): Logger => {
  let made: Logger | undefined;
  return {
    debug(...args: Parameters<Logger['debug']>) {
      return (made ??= parent.child(bindings())).debug(...args);
    },
    info(...args: Parameters<Logger['info']>) {
      return (made ??= parent.child(bindings())).info(...args);
    },
    warn(...args: Parameters<Logger['warn']>) {
      return (made ??= parent.child(bindings())).warn(...args);
    },
    error(...args: Parameters<Logger['error']>) {
      return (made ??= parent.child(bindings())).error(...args);
    },
    child(...args: Parameters<Logger['child']>) {
      return (made ??= parent.child(bindings())).child(...args);
    },
  } as Logger;
};
