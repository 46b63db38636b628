/** Terminal output: names shortened in the middle (never the distinguishing end), wrapping, colour only where wanted. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { elideMiddle, hanging, paintState, terminalInfo, wrap } from '../../src/cli/terminal.js';
import { formatAttention } from '../../src/cli/format.js';

describe('elideMiddle', () => {
  it('keeps the end that tells names apart', () => {
    const names = ['cn01', 'cn02', 'cn03', 'cn04'].map((n) => elideMiddle(`HPC Pack node hpc-cluster-01/${n}`, 20));
    expect(new Set(names).size).toBe(4);
    for (const n of names) expect(n.length).toBe(20);
    expect(names[2]).toBe('HPC Pac…ster-01/cn03');
  });

  it('never exceeds the width and leaves short text alone', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 1, max: 120 }), (text, width) => {
        const out = elideMiddle(text, width);
        expect(out.length).toBeLessThanOrEqual(Math.max(width, 0));
        if (text.length <= width) expect(out).toBe(text);
      }),
    );
  });
});

describe('wrap', () => {
  it('wraps at words to the width, splitting only words longer than a line', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,30}$/), { maxLength: 40 }), fc.integer({ min: 10, max: 100 }), (words, width) => {
        const lines = wrap(words.join(' '), width);
        for (const l of lines) expect(l.length).toBeLessThanOrEqual(width);
        expect(lines.join('').replace(/\s/g, '')).toBe(words.join(''));
      }),
    );
    expect(hanging('  why: ', 'one two three four five six', 20)).toEqual(['  why: one two three', '       four five six']);
  });
});

describe('colour', () => {
  it('is on for a TTY, off when piped or with NO_COLOR', () => {
    expect(terminalInfo({ isTTY: true, columns: 120 }, {}).color).toBe(true);
    expect(terminalInfo({ isTTY: true, columns: 120 }, { NO_COLOR: '1' }).color).toBe(false);
    expect(terminalInfo({ isTTY: false }, {}).color).toBe(false);
    expect(terminalInfo({ isTTY: true, columns: 120 }, {}).width).toBe(120);
    expect(terminalInfo({ isTTY: false }, { COLUMNS: '72' }).width).toBe(72);
  });

  it('one scheme: stale amber, failed red, completed green', () => {
    expect(paintState({ color: true }, 'Stale')).toBe('\u001b[33mStale\u001b[0m');
    expect(paintState({ color: true }, 'Failed')).toBe('\u001b[31mFailed\u001b[0m');
    expect(paintState({ color: true }, 'Completed')).toBe('\u001b[32mCompleted\u001b[0m');
    expect(paintState({ color: false }, 'Stale', 8)).toBe('Stale   ');
  });

  it('Needs attention fits the width it is given', () => {
    const text = formatAttention(
      [
        { kind: 'stale', vault: 'hpc-prod-kv', type: 'certificate', name: 'a-very-long-certificate-name-that-goes-on-and-on-forever', consumer: 'HPC Pack node hpc-cluster-01/cn03', reason: 'R', message: 'still presents a previous version of the certificate on 127.0.0.1:40002; install the new one' },
      ],
      { width: 60, color: false },
    );
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(60);
    expect(text).toContain('HPC Pack node hpc-cluster-01/cn03');
    expect(text).toMatch(/forever/);
  });
});
