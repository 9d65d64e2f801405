/** Robust anomaly flags on a daily series; pure, documented in docs/metrics.md ("Insights"). */

/** A day is anomalous when its robust z-score lies beyond this (Iglewicz and Hoaglin's recommended cut-off). */
export const ANOMALY_THRESHOLD = 3.5;
/** 1 / Φ⁻¹(0.75): MAD × this estimates the standard deviation of normal data (modified z = 0.6745·(x − median) / MAD). */
export const MAD_SCALE = 1.4826;
/** √(π/2): the mean absolute deviation × this estimates the standard deviation when the MAD is 0. */
export const MEAN_AD_SCALE = 1.2533;
const WEEKS = 4;
const WINDOW_DAYS = 28;
/** A baseline of the previous 28 days needs at least this many values; fewer and the day is not judged. */
export const MIN_BASELINE_DAYS = 7;

export interface Anomaly {
  /** Index of the day in the series. */
  index: number;
  value: number;
  expected: number;
  /** Signed robust z-score: (value − expected) / scale. */
  score: number;
  direction: 'up' | 'down';
}

export interface Baseline {
  expected: number;
  scale: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The values day `index` is judged against: the same weekday in each of the previous 4 weeks when all 4 are known,
 * else every known value of the previous 28 days (at least MIN_BASELINE_DAYS of them). `first` is the first day of
 * history: days before it (before the organization had data) are not history. Null when there is too little.
 */
export function baselineValues(values: (number | null)[], index: number, first = 0): number[] | null {
  const known = (day: number) => day >= first && day >= 0 && values[day] !== null && values[day] !== undefined;
  const weekdays = Array.from({ length: WEEKS }, (_, week) => index - 7 * (week + 1));
  if (weekdays.every(known)) return weekdays.map((day) => values[day] as number);
  const window = Array.from({ length: WINDOW_DAYS }, (_, offset) => index - 1 - offset).filter(known);
  return window.length >= MIN_BASELINE_DAYS ? window.map((day) => values[day] as number) : null;
}

/**
 * Expected value and scale of a baseline: the median, and 1.4826 × MAD; when the MAD is 0 (more than half the values
 * equal), 1.2533 × the mean absolute deviation from the median; when that is 0 too (all values equal), 1, one unit of
 * the series, so that a constant baseline flags a change of more than 3.5 units.
 */
export function robustBaseline(baseline: number[]): Baseline {
  const expected = median(baseline);
  const deviations = baseline.map((value) => Math.abs(value - expected));
  const mad = median(deviations);
  if (mad > 0) return { expected, scale: MAD_SCALE * mad };
  const meanAbsoluteDeviation = deviations.reduce((total, value) => total + value, 0) / deviations.length;
  if (meanAbsoluteDeviation > 0) return { expected, scale: MEAN_AD_SCALE * meanAbsoluteDeviation };
  return { expected, scale: 1 };
}

/**
 * The anomalous days among indices [from, to) of a daily series (null = no value that day, neither judged nor used
 * as a baseline), with history starting at `first`.
 */
export function findAnomalies(values: (number | null)[], from: number, to: number, first = 0): Anomaly[] {
  const anomalies: Anomaly[] = [];
  for (let index = Math.max(from, first); index < to; index++) {
    const value = values[index];
    if (value === null || value === undefined) continue;
    const baseline = baselineValues(values, index, first);
    if (!baseline) continue;
    const { expected, scale } = robustBaseline(baseline);
    const score = (value - expected) / scale;
    if (Math.abs(score) > ANOMALY_THRESHOLD) anomalies.push({ index, value, expected, score, direction: score > 0 ? 'up' : 'down' });
  }
  return anomalies;
}
