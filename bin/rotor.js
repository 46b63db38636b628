#!/usr/bin/env node
// Entry point of the `rotor` CLI: runs the compiled program (npm run build produces dist/). Exit codes: README.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('rotor: dist/ is missing. Run `npm run build` (or `npm start`) first.');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
