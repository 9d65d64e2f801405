import { forecast, holtWintersForecast, seasonalNaiveForecast, Z_80 } from './forecast';

describe('forecast', () => {
  it('extrapolates an exact linear trend exactly, with no spread', () => {
    const line = (day: number) => 10 + 2 * day;
    const result = forecast(Array.from({ length: 28 }, (_, day) => line(day)));
    expect(result.method).toBe('holt_winters_additive');
    expect(result.sigma).toBeCloseTo(0, 9);
    // Days 28..34 of the line: 66, 68, …, 78.
    result.points.forEach((point, offset) => {
      expect(point.ahead).toBe(offset + 1);
      expect(point.value).toBeCloseTo(66 + 2 * offset, 9);
      expect(point.high - point.low).toBeCloseTo(0, 9);
    });
  });

  it('extrapolates a noisy linear trend within its interval, the interval widening with the horizon', () => {
    // Noise of period 5, which the weekly season cannot absorb.
    const noise = [0, 0.6, -0.6, 0.3, -0.3];
    const history = Array.from({ length: 42 }, (_, day) => 10 + 2 * day + noise[day % 5]);
    const result = holtWintersForecast(history);
    expect(result.sigma).toBeGreaterThan(0);
    result.points.forEach((point, offset) => {
      const truth = 10 + 2 * (42 + offset);
      expect(point.low).toBeLessThanOrEqual(truth);
      expect(point.high).toBeGreaterThanOrEqual(truth);
      expect(Math.abs(point.value - truth)).toBeLessThan(1.5);
      if (offset > 0) expect(point.high - point.low).toBeGreaterThanOrEqual(result.points[offset - 1].high - result.points[offset - 1].low);
    });
    // Deterministic: the same data gives the same parameters and figures.
    expect(holtWintersForecast(history)).toEqual(result);
  });

  it('repeats an exact weekly pattern', () => {
    const week = [30, 32, 31, 33, 29, 10, 9];
    const result = forecast(Array.from({ length: 35 }, (_, day) => week[day % 7]));
    expect(result.method).toBe('holt_winters_additive');
    // Day 35 is weekday 0 again.
    result.points.forEach((point, offset) => expect(point.value).toBeCloseTo(week[offset], 9));
  });

  it('uses the seasonal naive method below three weeks, with σ from y(t) − y(t − 7)', () => {
    const history = [1, 2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6, 7, 8];
    const result = forecast(history);
    expect(result).toEqual(seasonalNaiveForecast(history));
    expect(result.method).toBe('seasonal_naive');
    expect(result.sigma).toBe(1);
    expect(result.points).toEqual([2, 3, 4, 5, 6, 7, 8].map((value, offset) => ({ ahead: offset + 1, value, low: value - Z_80, high: value + Z_80 })));
    // One week only: σ is that week's population standard deviation (values 1..7 → 2).
    expect(forecast([1, 2, 3, 4, 5, 6, 7]).sigma).toBe(2);
  });

  it('gives no forecast with less than a week of history', () => {
    expect(forecast([1, 2, 3])).toEqual({ method: 'insufficient_history', parameters: null, sigma: null, points: [] });
  });
});
