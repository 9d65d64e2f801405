import { performance } from 'node:perf_hooks';

// autocannon ships no type declarations: the part of its API the bench uses.
/** One run's result as autocannon gives it with skipAggregateResult: counts and an encoded latency histogram. */
interface AutocannonRun {
  totalCompletedRequests: number;
  /** Seconds the run lasted. */
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface Autocannon {
  (options: Record<string, unknown>): Promise<AutocannonRun>;
  /** Several runs as one: their latency histograms merged. */
  aggregateResult(runs: AutocannonRun[], options?: Record<string, unknown>): { latency: { p50: number; p99: number } };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

export interface ThroughputResult {
  requests_per_second: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  non_2xx: number;
  errors: number;
}

/** One load of throughputInTurns. */
export interface TurnLoad {
  url: string;
  headers: Record<string, string>;
  /** Wraps each of this load's runs, its warm-up included (the bench measures the service's memory around them). */
  around?: <T>(run: () => Promise<T>) => Promise<T>;
}

export interface TurnsResult extends ThroughputResult {
  /** Requests a second in each turn, in turn order. */
  turns: number[];
}

/**
 * The loads in turns, so that host load which comes and goes (a shared machine) falls on each of them alike and a
 * ratio can be taken turn by turn: every load warmed up for 2 s (not counted), then `turns` rounds in which each load
 * runs for `seconds / turns` in the order given. Per load: requests a second over all its turns, and p50 and p99 of
 * all its turns' requests together (their latency histograms merged).
 */
export async function throughputInTurns<K extends string>(
  loads: Record<K, TurnLoad>,
  connections: number,
  seconds: number,
  turns: number,
  warmUpSeconds = 2,
): Promise<Record<K, TurnsResult>> {
  const names = Object.keys(loads) as K[];
  const run = (name: K, duration: number) => {
    const { url, headers, around } = loads[name];
    const load = () => autocannon({ url, headers, connections, duration, skipAggregateResult: true });
    return around ? around(load) : load();
  };
  if (warmUpSeconds > 0) for (const name of names) await run(name, warmUpSeconds);
  const windows = new Map<K, AutocannonRun[]>(names.map((name) => [name, []]));
  for (let turn = 0; turn < turns; turn++) for (const name of names) windows.get(name)?.push(await run(name, seconds / turns));
  const results = {} as Record<K, TurnsResult>;
  for (const name of names) {
    const runs = windows.get(name) ?? [];
    const requests = runs.reduce((sum, result) => sum + result.totalCompletedRequests, 0);
    const duration = runs.reduce((sum, result) => sum + result.duration, 0);
    const { latency } = autocannon.aggregateResult(runs, { url: loads[name].url, connections });
    results[name] = {
      requests_per_second: Math.round(requests / duration),
      p50_ms: latency.p50,
      p99_ms: latency.p99,
      requests,
      non_2xx: runs.reduce((sum, result) => sum + result.non2xx, 0),
      errors: runs.reduce((sum, result) => sum + result.errors + result.timeouts, 0),
      turns: runs.map((result) => Math.round(result.totalCompletedRequests / result.duration)),
    };
  }
  return results;
}

/** The median of a / b taken turn by turn: how two loads run in turns compare. */
export function medianRatio(a: number[], b: number[]): number {
  return median(a.map((value, turn) => value / b[turn]));
}

export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `count` sequential GETs; each one's latency in ms. Fails on any non-200 answer. */
export async function sequentialLatencies(url: string, headers: Record<string, string>, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    times.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  }
  return times;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
