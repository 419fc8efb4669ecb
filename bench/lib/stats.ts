/**
 * Percentiles and summaries for latency samples. Nearest-rank percentiles (no interpolation), so
 * every reported figure is a latency that was actually observed.
 */

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Nearest-rank percentile of ascending-sorted samples; p in [0, 100]. NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function summarize(samples: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  return {
    count: sorted.length,
    min: sorted.length > 0 ? sorted[0]! : Number.NaN,
    mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** "p50 12.3 / p99 45.6 / max 78.9 ms (n=1000)" */
export function formatSummaryMs(s: Summary, digits = 1): string {
  const f = (v: number): string => v.toFixed(digits);
  return `p50 ${f(s.p50)} / p99 ${f(s.p99)} / max ${f(s.max)} ms (n=${s.count})`;
}
