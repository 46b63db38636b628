/** Loggers for the core: through the Functions invocation context (structured, in Application Insights) or the console. */
import type { InvocationContext } from '@azure/functions';
import type { Logger } from '../core/ports.js';

/**
 * One log line: the message, then the properties as one JSON object. The Functions host records each line as a
 * trace with the invocation's id and operation; the JSON tail is what makes it queryable
 * (`traces | extend p = parse_json(extract(@"(\{.*\})$", 1, message))`). Multiple arguments would be joined with
 * util.format, which renders objects in Node's inspect syntax (not JSON) and truncates nested ones.
 */
export function logLine(message: string, properties?: Record<string, unknown>): string {
  if (!properties || Object.keys(properties).length === 0) return message;
  let json: string;
  try {
    json = JSON.stringify(properties, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  } catch {
    json = '{"properties":"unserializable"}';
  }
  return `${message} ${json}`;
}

export function contextLogger(context: InvocationContext): Logger {
  return {
    info: (message, properties) => context.log(logLine(message, properties)),
    warn: (message, properties) => context.warn(logLine(message, properties)),
    error: (message, properties) => context.error(logLine(message, properties)),
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
