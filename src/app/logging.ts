/** Loggers for the core: through the Functions invocation context (structured, in Application Insights) or the console. */
import type { InvocationContext } from '@azure/functions';
import type { Logger } from '../core/ports.js';

export function contextLogger(context: InvocationContext): Logger {
  return {
    info: (message, properties) => (properties ? context.log(message, properties) : context.log(message)),
    warn: (message, properties) => (properties ? context.warn(message, properties) : context.warn(message)),
    error: (message, properties) => (properties ? context.error(message, properties) : context.error(message)),
  };
}

/** Console logger for the CLI; `quiet` keeps info lines out of a human's terminal. */
export function consoleLogger(quiet = false): Logger {
  const line = (level: string, message: string, properties?: Record<string, unknown>): string =>
    `${level} ${message}${properties ? ` ${JSON.stringify(properties)}` : ''}`;
  return {
    info: (m, p) => {
      if (!quiet) console.warn(line('info', m, p));
    },
    warn: (m, p) => console.warn(line('warn', m, p)),
    error: (m, p) => console.error(line('error', m, p)),
  };
}
