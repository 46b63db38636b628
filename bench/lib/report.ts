/**
 * Benchmark results: each scenario reports figures, each compared with its bound (a goal from issue F or a lower
 * bound derived from the same run), and the ratio. Written as Markdown and JSON to bench/results/<date>.{md,json}.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What the value is compared with (a goal, or a lower bound measured in the same run). */
  readonly bound?: number | undefined;
  /** `max`: the value must not exceed the bound; `min`: it must reach it; `info`: no goal. */
  readonly goal: 'max' | 'min' | 'info';
  readonly note?: string | undefined;
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly figures: Figure[];
  readonly details: Record<string, unknown>;
  readonly durationMs: number;
}

export interface BenchReport {
  readonly date: string;
  readonly machine: { node: string; cpus: number; cpuModel: string; memoryGiB: number };
  readonly parameters: Record<string, unknown>;
  readonly scenarios: ScenarioResult[];
}

export const ratioOf = (f: Figure): number | undefined => (f.bound === undefined || f.bound === 0 ? undefined : f.value / f.bound);

export function met(f: Figure): boolean | undefined {
  if (f.goal === 'info' || f.bound === undefined) return undefined;
  return f.goal === 'max' ? f.value <= f.bound : f.value >= f.bound;
}

export function machine(): BenchReport['machine'] {
  const cpu = cpus();
  return { node: process.version, cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30) };
}

const fmt = (n: number): string => {
  if (!Number.isFinite(n) || n === 0) return String(n);
  const abs = Math.abs(n);
  if (abs !== 0 && abs < 0.01) return n.toExponential(2);
  if (abs < 10) return n.toFixed(abs < 1 ? 3 : 2).replace(/\.?0+$/, '');
  return Math.round(n).toLocaleString('en-US');
};

function goalText(f: Figure): string {
  if (f.goal === 'info' || f.bound === undefined) return '';
  return `${f.goal === 'max' ? '≤' : '≥'} ${fmt(f.bound)}`;
}

function verdict(f: Figure): string {
  const ok = met(f);
  return ok === undefined ? '' : ok ? 'met' : '**missed**';
}

/** One row per figure: the short table printed at the end and written into the report. */
export function summaryRows(scenarios: readonly ScenarioResult[]): string[][] {
  const rows: string[][] = [];
  for (const s of scenarios) {
    for (const f of s.figures) {
      const ratio = ratioOf(f);
      rows.push([s.id, f.name, `${fmt(f.value)} ${f.unit}`.trim(), goalText(f), ratio === undefined ? '' : fmt(ratio), verdict(f)]);
    }
  }
  return rows;
}

export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const HEADER = ['scenario', 'figure', 'value', 'goal / bound', 'ratio', ''];

export function markdown(report: BenchReport, notes: string): string {
  const md: string[] = [];
  md.push(`# Rotor benchmark — ${report.date}`, '');
  md.push(
    `Machine: Node ${report.machine.node}, ${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB. ` +
      `Parameters: ${Object.entries(report.parameters)
        .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
        .join(', ')}.`,
    '',
  );
  md.push('| ' + HEADER.join(' | ') + ' |', '|' + HEADER.map(() => '---').join('|') + '|');
  for (const row of summaryRows(report.scenarios)) md.push('| ' + row.map((c) => c.replace(/\|/g, '\\|')).join(' | ') + ' |');
  md.push('');
  for (const s of report.scenarios) {
    md.push(`## ${s.id}: ${s.title}`, '', `Scenario time: ${(s.durationMs / 1000).toFixed(1)} s.`, '');
    for (const f of s.figures) {
      const ratio = ratioOf(f);
      md.push(
        `- **${f.name}**: ${fmt(f.value)} ${f.unit}` +
          (f.bound !== undefined ? ` (${f.goal === 'info' ? 'bound' : 'goal'} ${goalText(f) || fmt(f.bound)}${ratio !== undefined ? `, ratio ${fmt(ratio)}` : ''})` : '') +
          (met(f) === false ? ' — missed' : '') +
          (f.note ? ` — ${f.note}` : ''),
      );
    }
    md.push('', '```json', JSON.stringify(s.details, null, 2), '```', '');
  }
  if (notes.trim()) md.push(notes.trim(), '');
  return md.join('\n');
}

/** Writes <dir>/<date>.json and .md; scenarios run alone merge into the day's existing report. */
export async function writeReport(dir: string, report: BenchReport, notes: string): Promise<{ json: string; md: string; report: BenchReport }> {
  const json = join(dir, `${report.date}.json`);
  const mdFile = join(dir, `${report.date}.md`);
  let merged = report;
  try {
    const previous = JSON.parse(await readFile(json, 'utf8')) as BenchReport;
    const fresh = new Set(report.scenarios.map((s) => s.id));
    merged = { ...report, scenarios: [...previous.scenarios.filter((s) => !fresh.has(s.id)), ...report.scenarios].sort((a, b) => a.id.localeCompare(b.id)) };
  } catch {
    // No report for this day yet.
  }
  await mkdir(dirname(json), { recursive: true });
  await writeFile(json, JSON.stringify(merged, null, 2) + '\n');
  await writeFile(mdFile, markdown(merged, notes));
  return { json, md: mdFile, report: merged };
}

/** Writes <dir>/<date>.md again from <dir>/<date>.json with the current notes. */
export async function renderReport(dir: string, date: string, notes: string): Promise<string> {
  const report = JSON.parse(await readFile(join(dir, `${date}.json`), 'utf8')) as BenchReport;
  const mdFile = join(dir, `${date}.md`);
  await writeFile(mdFile, markdown(report, notes));
  return mdFile;
}

export { HEADER as SUMMARY_HEADER };
