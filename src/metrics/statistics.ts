/** Pure maths of the statistics endpoint and the export summary; documented in docs/metrics.md. */

export interface SeriesSummary {
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  median: number | null;
  p95: number | null;
  p99: number | null;
  std_dev: number | null;
  slope_per_bucket: number | null;
  change_pct: number | null;
}

export function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  const rounded = Math.round((value + Number.EPSILON * Math.sign(value)) * factor) / factor;
  return Object.is(rounded, -0) ? 0 : rounded;
}

export function round2(value: number | null): number | null {
  return value === null ? null : round(value, 2);
}

/** value ÷ base × 100, or null when the base is 0 (an undefined ratio is not 0). */
export function percent(value: number, base: number): number | null {
  return base === 0 ? null : (value / base) * 100;
}

/** Linear interpolation between closest ranks (R-7, numpy's default, Excel PERCENTILE.INC) on an ascending list. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const position = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

export function mean(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((total, value) => total + value, 0) / values.length;
}

/** Population standard deviation (divides by n): the series is the whole period, not a sample of it. */
export function populationStdDev(values: number[]): number | null {
  const average = mean(values);
  if (average === null) return null;
  return Math.sqrt(values.reduce((total, value) => total + (value - average) ** 2, 0) / values.length);
}

/** Least-squares slope of value against bucket index; null with fewer than two points. */
export function leastSquaresSlope(points: { x: number; y: number }[]): number | null {
  if (points.length < 2) return null;
  const meanX = points.reduce((total, point) => total + point.x, 0) / points.length;
  const meanY = points.reduce((total, point) => total + point.y, 0) / points.length;
  let numerator = 0;
  let denominator = 0;
  for (const point of points) {
    numerator += (point.x - meanX) * (point.y - meanY);
    denominator += (point.x - meanX) ** 2;
  }
  return denominator === 0 ? null : numerator / denominator;
}

/**
 * Mean of the second half of the buckets against the mean of the first half, in %; with an odd number
 * of buckets the middle one belongs to neither half. Null when the first half's mean is 0 or undefined.
 */
export function changePct(values: (number | null)[]): number | null {
  const half = Math.floor(values.length / 2);
  const present = (part: (number | null)[]) => part.filter((value): value is number => value !== null);
  const first = mean(present(values.slice(0, half)));
  const second = mean(present(values.slice(values.length - half)));
  if (first === null || second === null || first === 0) return null;
  return ((second - first) / first) * 100;
}

/** Summary of a zero-filled series; null points (a bucket with no value, e.g. avg_score) are skipped. */
export function summarize(values: (number | null)[]): SeriesSummary {
  const indexed = values.flatMap((value, x) => (value === null ? [] : [{ x, y: value }]));
  const present = indexed.map((point) => point.y);
  const sorted = [...present].sort((a, b) => a - b);
  return {
    count: present.length,
    sum: round(present.reduce((total, value) => total + value, 0), 2),
    min: sorted.length ? sorted[0] : null,
    max: sorted.length ? sorted[sorted.length - 1] : null,
    mean: round2(mean(present)),
    median: round2(percentile(sorted, 50)),
    p95: round2(percentile(sorted, 95)),
    p99: round2(percentile(sorted, 99)),
    std_dev: round2(populationStdDev(present)),
    slope_per_bucket: round2(leastSquaresSlope(indexed)),
    change_pct: round2(changePct(values)),
  };
}
