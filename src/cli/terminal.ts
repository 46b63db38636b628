/**
 * The terminal the CLI writes to: its width (tables fit it), colour (on a TTY, never with NO_COLOR or when piped),
 * and a progress line on stderr during long runs (TTY only, so logs and pipes stay clean).
 *
 * Shortening rule: names are shortened in the middle, never at the end — the end is what tells
 * `HPC Pack node hpc-cluster-01/cn03` from `…/cn04`, and a version or thumbprint is recognised by its start.
 */

export interface TerminalInfo {
  readonly width: number;
  readonly color: boolean;
}

const MIN_WIDTH = 60;
const DEFAULT_WIDTH = 100;
const MAX_WIDTH = 200;

export function terminalInfo(stream: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): TerminalInfo {
  const fromEnv = Number.parseInt(env['COLUMNS'] ?? '', 10);
  const raw = stream.isTTY && stream.columns ? stream.columns : Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_WIDTH;
  const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  const forced = env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0' && env['FORCE_COLOR'] !== '';
  return { width: Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, raw)), color: !noColor && (Boolean(stream.isTTY) || forced) };
}

/** Shortens text to `width` characters by eliding its middle (the end, which distinguishes names, is kept). */
export function elideMiddle(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(-width);
  const tail = Math.ceil((width - 1) * 0.6);
  const head = width - 1 - tail;
  return `${text.slice(0, head)}…${text.slice(text.length - tail)}`;
}

/** Wraps text at word boundaries to lines of at most `width` characters (long words are split). */
export function wrap(text: string, width: number): string[] {
  const w = Math.max(10, width);
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      let rest = word;
      while (rest.length > w) {
        if (line) {
          lines.push(line);
          line = '';
        }
        lines.push(rest.slice(0, w));
        rest = rest.slice(w);
      }
      if (!line) line = rest;
      else if (line.length + 1 + rest.length <= w) line += ` ${rest}`;
      else {
        lines.push(line);
        line = rest;
      }
    }
    lines.push(line);
  }
  return lines.length ? lines : [''];
}

/** `first` then `rest` indented by `indent`, the whole wrapped to `width`. */
export function hanging(first: string, text: string, width: number): string[] {
  const indent = ' '.repeat(first.length);
  return wrap(text, width - first.length).map((l, i) => `${i === 0 ? first : indent}${l}`);
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export function paint(info: Pick<TerminalInfo, 'color'>, colour: Colour, text: string): string {
  return info.color && text ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

/**
 * The colour of a state or outcome word, one scheme everywhere (CLI and audit page): failed / expired red, stale /
 * needs a person / unreachable amber, done green, in progress blue, informational grey.
 */
export function stateColour(word: string): Colour | undefined {
  const w = word.toLowerCase();
  if (/(fail|expired|poison|reject|violation)/.test(w)) return 'red';
  if (/(stale|manual|unreachable|misconfigured|overdue|unknowncertificate|attention|actionrequired)/.test(w)) return 'yellow';
  if (/(completed|verified|succeeded|healthy)/.test(w)) return 'green';
  if (/(verifying|pending|started|created|inprogress)/.test(w)) return 'cyan';
  if (/(skipped|reported|notdue|info|observed)/.test(w)) return 'gray';
  return undefined;
}

export function paintState(info: Pick<TerminalInfo, 'color'>, word: string, padTo = 0): string {
  const colour = stateColour(word);
  const padded = word.padEnd(padTo);
  return colour ? paint(info, colour, word) + padded.slice(word.length) : padded;
}

/** A single self-overwriting progress line on stderr (TTY only); `done()` clears it. */
export class Progress {
  private last = '';
  constructor(private readonly stream: { isTTY?: boolean; write(chunk: string): unknown; columns?: number } = process.stderr) {}

  get active(): boolean {
    return Boolean(this.stream.isTTY);
  }

  update(text: string): void {
    if (!this.active) return;
    const width = Math.max(20, (this.stream.columns ?? 80) - 1);
    const line = elideMiddle(text, width);
    this.stream.write(`\r\u001b[2K${line}`);
    this.last = line;
  }

  done(): void {
    if (this.active && this.last) this.stream.write('\r\u001b[2K');
    this.last = '';
  }
}
