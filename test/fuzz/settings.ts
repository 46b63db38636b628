/**
 * Settings of the fuzz suites (issue 13): seeded, count-bounded runs (never time-bounded: the machine may be loaded).
 * `npm test` runs the CI counts; `npm run fuzz` multiplies them (ROTOR_FUZZ_SCALE, default 5 there) and may change
 * the seed (ROTOR_FUZZ_SEED) to explore further. A failure prints the seed and path that reproduce it.
 */
export const FUZZ_SEED = Number(process.env['ROTOR_FUZZ_SEED'] ?? 20261204);
const SCALE = Math.max(1, Number(process.env['ROTOR_FUZZ_SCALE'] ?? 1));

/** Runs of a property: the CI count times the scale. */
export const fuzzRuns = (ci: number): number => Math.round(ci * SCALE);

/** A property's settings: seed, runs, and no time limit (counts, not clocks, bound a run). */
export const fuzzParameters = (ci: number) => ({ seed: FUZZ_SEED, numRuns: fuzzRuns(ci), endOnFailure: true });
