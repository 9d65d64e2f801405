/** The 7-day forecast of a daily series with an 80 % interval; pure, documented in docs/metrics.md ("Insights"). */

export const SEASON = 7;
export const HORIZON = 7;
/** Below this many days of history a seasonal naive forecast replaces Holt-Winters (three weeks: two to start, one to learn). */
export const HOLT_WINTERS_MIN_DAYS = 21;
/** Φ⁻¹(0.9): a central 80 % interval of a normal error spans ±1.2816 σ. */
export const Z_80 = 1.2816;

const ALPHAS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const BETAS = [0, 0.05, 0.1, 0.2, 0.3];
const GAMMAS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

export type ForecastMethod = 'holt_winters_additive' | 'seasonal_naive' | 'insufficient_history';

export interface ForecastPoint {
  /** Days after the last day of history (1 to 7). */
  ahead: number;
  value: number;
  low: number;
  high: number;
}

export interface Forecast {
  method: ForecastMethod;
  /** Holt-Winters' smoothing parameters as chosen by the grid search; null for the other methods. */
  parameters: { alpha: number; beta: number; gamma: number } | null;
  /** Standard deviation of the one-step in-sample errors; null without a forecast. */
  sigma: number | null;
  points: ForecastPoint[];
}

interface Fit {
  alpha: number;
  beta: number;
  gamma: number;
  sse: number;
  errors: number;
  level: number;
  trend: number;
  seasonal: number[];
}

/**
 * `history` is the series oldest first, every day with a value (missing days filled by the caller); `observed` says
 * which were measured (only those count as errors). Holt-Winters from 21 days on, seasonal naive from 7, none below.
 */
export function forecast(history: number[], observed: boolean[] = history.map(() => true)): Forecast {
  if (history.length >= HOLT_WINTERS_MIN_DAYS) return holtWintersForecast(history, observed);
  if (history.length >= SEASON) return seasonalNaiveForecast(history, observed);
  return { method: 'insufficient_history', parameters: null, sigma: null, points: [] };
}

/**
 * Additive Holt-Winters, weekly season, started from the first two weeks: trend = (mean of week 2 − mean of week 1) / 7,
 * level at day 6 = mean of week 1 + 3 × trend, season = day − the trend line through week 1; then updated from day 7 on.
 * α, β, γ: the first of a fixed grid (in order) with the least sum of squared one-step errors.
 */
export function holtWintersForecast(history: number[], observed: boolean[] = history.map(() => true)): Forecast {
  let best: Fit | null = null;
  for (const alpha of ALPHAS) {
    for (const beta of BETAS) {
      for (const gamma of GAMMAS) {
        const fit = fitHoltWinters(history, observed, alpha, beta, gamma);
        if (best === null || fit.sse < best.sse) best = fit;
      }
    }
  }
  const fit = best as Fit;
  const sigma = fit.errors > 0 ? Math.sqrt(fit.sse / fit.errors) : 0;
  const last = history.length - 1;
  const points = Array.from({ length: HORIZON }, (_, offset) => {
    const ahead = offset + 1;
    const value = fit.level + ahead * fit.trend + fit.seasonal[(last + ahead) % SEASON];
    // ETS(A,A,A) h-step variance: σ² (1 + Σ_{j<h} c_j²), c_j = α(1 + jβ) (+ γ at whole seasons, beyond a 7-day horizon).
    let sum = 1;
    for (let j = 1; j < ahead; j++) sum += (fit.alpha * (1 + j * fit.beta) + (j % SEASON === 0 ? fit.gamma : 0)) ** 2;
    const half = Z_80 * sigma * Math.sqrt(sum);
    return { ahead, value, low: value - half, high: value + half };
  });
  return { method: 'holt_winters_additive', parameters: { alpha: fit.alpha, beta: fit.beta, gamma: fit.gamma }, sigma, points };
}

function fitHoltWinters(history: number[], observed: boolean[], alpha: number, beta: number, gamma: number): Fit {
  const mean = (from: number) => history.slice(from, from + SEASON).reduce((total, value) => total + value, 0) / SEASON;
  const firstWeek = mean(0);
  let trend = (mean(SEASON) - firstWeek) / SEASON;
  const seasonal = history.slice(0, SEASON).map((value, day) => value - (firstWeek + trend * (day - (SEASON - 1) / 2)));
  let level = firstWeek + trend * ((SEASON - 1) / 2);
  let sse = 0;
  let errors = 0;
  for (let t = SEASON; t < history.length; t++) {
    const season = t % SEASON;
    const error = history[t] - (level + trend + seasonal[season]);
    if (observed[t]) {
      sse += error * error;
      errors++;
    }
    const previousLevel = level;
    level = alpha * (history[t] - seasonal[season]) + (1 - alpha) * (level + trend);
    trend = beta * (level - previousLevel) + (1 - beta) * trend;
    seasonal[season] = gamma * (history[t] - level) + (1 - gamma) * seasonal[season];
  }
  return { alpha, beta, gamma, sse, errors, level, trend, seasonal };
}

/**
 * Each of the next 7 days is the same weekday of the last week. σ from the in-sample errors y_t − y_{t−7}; with exactly
 * one week of history (no error yet), the population standard deviation of that week. The interval is ±1.2816 σ: within
 * one season the seasonal naive error does not grow with the horizon.
 */
export function seasonalNaiveForecast(history: number[], observed: boolean[] = history.map(() => true)): Forecast {
  const errors: number[] = [];
  for (let t = SEASON; t < history.length; t++) if (observed[t] && observed[t - SEASON]) errors.push(history[t] - history[t - SEASON]);
  const week = history.slice(-SEASON);
  const sigma = errors.length
    ? Math.sqrt(errors.reduce((total, error) => total + error * error, 0) / errors.length)
    : Math.sqrt(week.reduce((total, value) => total + (value - week.reduce((a, b) => a + b, 0) / SEASON) ** 2, 0) / SEASON);
  const points = Array.from({ length: HORIZON }, (_, offset) => {
    const value = history[history.length - SEASON + offset];
    return { ahead: offset + 1, value, low: value - Z_80 * sigma, high: value + Z_80 * sigma };
  });
  return { method: 'seasonal_naive', parameters: null, sigma, points };
}
