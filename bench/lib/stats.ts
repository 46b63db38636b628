/** Small statistics helpers for the benchmark's distributions. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function distribution(values: readonly number[]): { min: number; p50: number; p90: number; max: number; mean: number } {
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
  return {
    min: Math.round(percentile(values, 0)),
    p50: Math.round(percentile(values, 50)),
    p90: Math.round(percentile(values, 90)),
    max: Math.round(percentile(values, 100)),
    mean: Math.round(mean),
  };
}
