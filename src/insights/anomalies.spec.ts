import { baselineValues, findAnomalies, MAD_SCALE, MEAN_AD_SCALE, median, robustBaseline } from './anomalies';

// Five weeks of a school's daily active users: busy weekdays, a quiet weekend, a little noise.
const WEEKS = [
  [20, 22, 21, 23, 19, 8, 7],
  [21, 23, 20, 22, 20, 9, 6],
  [19, 21, 22, 24, 21, 7, 8],
  [22, 22, 21, 23, 18, 8, 7],
  [20, 60, 21, 5, 20, 9, 7],
];

describe('robust anomalies', () => {
  it('flags a spike up and a collapse down against the same weekday of the previous four weeks', () => {
    const values = WEEKS.flat();
    const anomalies = findAnomalies(values, 28, 35);
    // Day 29: baseline 22, 21, 23, 22 → median 22, |deviations| 0, 1, 1, 0 → MAD 0.5; (60 − 22) / (1.4826 × 0.5) = 51.26.
    // Day 31: baseline 23, 24, 22, 23 → median 23, MAD 0.5; (5 − 23) / 0.7413 = −24.28.
    expect(anomalies).toEqual([
      { index: 29, value: 60, expected: 22, score: expect.closeTo(38 / 0.7413, 6), direction: 'up' },
      { index: 31, value: 5, expected: 23, score: expect.closeTo(-18 / 0.7413, 6), direction: 'down' },
    ]);
  });

  it('does not flag a steady weekly pattern, noisy or exact', () => {
    const base = [30, 32, 31, 33, 29, 10, 9];
    // Week k adds 0, +1, 0, −1 (repeating): every baseline is {b, b+1, b, b−1} → MAD 0.5, so |score| ≤ 1 / 0.7413 = 1.35.
    const noisy = Array.from({ length: 70 }, (_, day) => base[day % 7] + [0, 1, 0, -1][Math.floor(day / 7) % 4]);
    expect(findAnomalies(noisy, 28, 70)).toEqual([]);
    const exact = Array.from({ length: 70 }, (_, day) => base[day % 7]);
    expect(findAnomalies(exact, 28, 70)).toEqual([]);
  });

  it('defines the scale when the MAD is 0: the mean absolute deviation, then one unit', () => {
    expect(median([4, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(robustBaseline([10, 12, 11, 13])).toEqual({ expected: 11.5, scale: MAD_SCALE * 1 });
    // Three of four equal: MAD 0; mean |deviation| from 10 = (0 + 0 + 0 + 2) / 4 = 0.5.
    expect(robustBaseline([10, 10, 10, 12])).toEqual({ expected: 10, scale: MEAN_AD_SCALE * 0.5 });
    expect(robustBaseline([5, 5, 5, 5])).toEqual({ expected: 5, scale: 1 });

    const series = (last: number) => [...Array.from({ length: 28 }, (_, day) => (day % 7 === 0 && day === 21 ? 12 : 10)), last];
    // Baseline of day 28: days 21, 14, 7, 0 → 12, 10, 10, 10: scale 0.62665; 12 → 3.19 (not flagged), 13 → 4.79 (flagged).
    expect(findAnomalies(series(12), 28, 29)).toEqual([]);
    expect(findAnomalies(series(13), 28, 29)).toEqual([{ index: 28, value: 13, expected: 10, score: expect.closeTo(3 / (MEAN_AD_SCALE * 0.5), 6), direction: 'up' }]);
    const constant = (last: number) => [...Array.from({ length: 28 }, () => 5), last];
    expect(findAnomalies(constant(8.5), 28, 29)).toEqual([]);
    expect(findAnomalies(constant(1), 28, 29)).toEqual([{ index: 28, value: 1, expected: 5, score: -4, direction: 'down' }]);
  });

  it('falls back to the previous 28 days when fewer than four same weekdays are history, and judges nothing on less than a week', () => {
    const values = Array.from({ length: 31 }, (_, day) => day);
    // History from day 20: day 30's weekdays 23 and 16 → 16 is before the history, so days 20..29 are the baseline.
    expect(baselineValues(values, 30, 20)).toEqual([29, 28, 27, 26, 25, 24, 23, 22, 21, 20]);
    expect(baselineValues(values, 30, 24)).toBeNull();
    expect(baselineValues(values, 30, 2)).toEqual([23, 16, 9, 2]);
    // A day without a value (avg_score with no assessment) is neither judged nor part of a baseline.
    const withGaps: (number | null)[] = [...values];
    withGaps[9] = null;
    // Day 30's weekday 9 has no value: the previous 28 days (2..29) without day 9.
    expect(baselineValues(withGaps, 30, 0)).toEqual(values.slice(2, 30).filter((day) => day !== 9).reverse());
    expect(findAnomalies([...Array.from({ length: 28 }, () => 5), null], 28, 29)).toEqual([]);
  });
});
