import { lagBehindPrimary } from './read-replicas';

describe('lagBehindPrimary', () => {
  const samples = [
    { position: 100n, at: 10_000 },
    { position: 250n, at: 11_000 },
    { position: 400n, at: 12_000 },
  ];

  it('is the age of the oldest primary position the replica has not replayed', () => {
    expect(lagBehindPrimary(samples, 120n, 15_000)).toBe(4);
    expect(lagBehindPrimary(samples, 99n, 15_000)).toBe(5);
    expect(lagBehindPrimary(samples, 250n, 15_000)).toBe(3);
  });

  it('is 0 for a replica that has replayed the latest sample, for no samples, and for a server not in recovery', () => {
    expect(lagBehindPrimary(samples, 400n, 15_000)).toBe(0);
    expect(lagBehindPrimary(samples, 900n, 15_000)).toBe(0);
    expect(lagBehindPrimary([], 10n, 15_000)).toBe(0);
    expect(lagBehindPrimary(samples, null, 15_000)).toBe(0);
  });
});
