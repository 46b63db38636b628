/** README stays current: it names every app setting the code reads and every `rotor` command. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { SETTINGS } from '../../src/settings.js';

const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');

describe('README', () => {
  it('names every app setting', () => {
    const missing = Object.values(SETTINGS).map((s) => s.name).filter((name) => !readme.includes(name));
    expect(missing).toEqual([]);
  });

  it('names every rotor command', () => {
    const missing = buildProgram().commands.map((c) => c.name()).filter((name) => !readme.includes(`rotor ${name}`));
    expect(missing).toEqual([]);
  });

  it('gives the two commands, and .ci/run calls the test one', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
    expect(readFileSync(resolve(import.meta.dirname, '../../.ci/run'), 'utf8')).toMatch(/^npm test$/m);
  });
});
