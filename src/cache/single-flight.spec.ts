import { SingleFlight } from './single-flight';

describe('SingleFlight', () => {
  it('runs concurrent calls with one key once and gives each the same result', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    let release!: (value: number) => void;
    const work = () => {
      runs++;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const calls = Array.from({ length: 20 }, () => flights.run('k', work));
    expect(flights.size).toBe(1);
    await Promise.resolve();
    release(42);
    expect(await Promise.all(calls)).toEqual(Array(20).fill(42));
    expect(runs).toBe(1);
    expect(flights.size).toBe(0);
  });

  it('keeps different keys apart and starts anew once a flight has settled', async () => {
    const flights = new SingleFlight<string>();
    let runs = 0;
    const work = (value: string) => async () => {
      runs++;
      return value;
    };
    expect(await Promise.all([flights.run('a', work('A')), flights.run('b', work('B'))])).toEqual(['A', 'B']);
    expect(await flights.run('a', work('A2'))).toBe('A2');
    expect(runs).toBe(3);
  });

  it('shares a failure with every waiting caller and forgets it', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    const failing = async () => {
      runs++;
      throw new Error('database down');
    };
    const results = await Promise.allSettled([flights.run('k', failing), flights.run('k', failing)]);
    expect(results.map((result) => (result as PromiseRejectedResult).reason.message)).toEqual(['database down', 'database down']);
    expect(runs).toBe(1);
    expect(await flights.run('k', async () => 5)).toBe(5);
  });
});
