import { changePct, leastSquaresSlope, percentile, populationStdDev, round, summarize } from './statistics';

describe('statistics', () => {
  it('summarizes an odd-length vector', () => {
    expect(summarize([1, 2, 3, 4, 5])).toEqual({
      count: 5,
      sum: 15,
      min: 1,
      max: 5,
      mean: 3,
      median: 3,
      p95: 4.8, // position 0.95 × 4 = 3.8 → 4 + 0.8 × (5 − 4)
      p99: 4.96,
      std_dev: 1.41, // √((4+1+0+1+4)/5) = √2
      slope_per_bucket: 1,
      change_pct: 200, // halves [1,2] and [4,5], middle 3 excluded: (4.5 − 1.5) / 1.5
    });
  });

  it('summarizes an even-length vector', () => {
    expect(summarize([4, 1, 3, 2])).toEqual({
      count: 4,
      sum: 10,
      min: 1,
      max: 4,
      mean: 2.5,
      median: 2.5, // between 2 and 3
      p95: 3.85, // position 2.85 over [1,2,3,4]
      p99: 3.97,
      std_dev: 1.12, // √1.25
      slope_per_bucket: -0.4, // x̄ 1.5, ȳ 2.5: Σ(dx·dy) = −2, Σdx² = 5
      change_pct: 0, // [4,1] mean 2.5, [3,2] mean 2.5
    });
  });

  it('summarizes all zeros with an undefined change', () => {
    expect(summarize([0, 0, 0])).toEqual({
      count: 3,
      sum: 0,
      min: 0,
      max: 0,
      mean: 0,
      median: 0,
      p95: 0,
      p99: 0,
      std_dev: 0,
      slope_per_bucket: 0,
      change_pct: null,
    });
  });

  it('summarizes a single point: no slope, no halves', () => {
    expect(summarize([7])).toEqual({
      count: 1,
      sum: 7,
      min: 7,
      max: 7,
      mean: 7,
      median: 7,
      p95: 7,
      p99: 7,
      std_dev: 0,
      slope_per_bucket: null,
      change_pct: null,
    });
  });

  it('skips null points and keeps their bucket positions for the slope', () => {
    // points (0, 80), (3, 50), (4, 90); the halves are [80, null] and [50, 90]
    expect(summarize([80, null, null, 50, 90])).toEqual({
      count: 3,
      sum: 220,
      min: 50,
      max: 90,
      mean: 73.33,
      median: 80,
      p95: 89,
      p99: 89.8,
      std_dev: 17,
      slope_per_bucket: -0.38, // x̄ 7/3, ȳ 220/3: Σ(dx·dy) = −10/3, Σdx² = 26/3 → −0.3846
      change_pct: -12.5,
    });
  });

  it('has nothing to say about an all-null series', () => {
    expect(summarize([null, null])).toEqual({
      count: 0,
      sum: 0,
      min: null,
      max: null,
      mean: null,
      median: null,
      p95: null,
      p99: null,
      std_dev: null,
      slope_per_bucket: null,
      change_pct: null,
    });
  });

  it('computes the pieces on their own', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([10, 20], 50)).toBe(15);
    expect(populationStdDev([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
    expect(leastSquaresSlope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBe(2);
    expect(leastSquaresSlope([{ x: 0, y: 1 }])).toBeNull();
    expect(changePct([0, 0, 5, 5])).toBeNull();
    expect(changePct([2, 9, 3])).toBe(50);
    expect(round(-0.004, 2)).toBe(0);
    expect(round(1.005, 2)).toBe(1.01);
  });
});
