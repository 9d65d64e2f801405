import { performance } from 'node:perf_hooks';
import { processCpuMs } from './cpu-split.js';

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
  /** The process answering this load (another than this one): its CPU a request is measured over the counted turns. */
  pid?: number;
}

/**
 * CPU time a counted request cost, in µs: the answering process's, and this process's (the load generator: autocannon
 * runs here). On a 2-core host both share the cores, so the load generator's part bounds what a fast server can show.
 */
export interface CpuPerRequest {
  /** null: no process given for the load, or it could not be read (Linux's /proc only). */
  server_us: number | null;
  /** The part of server_us spent in the kernel (system time: the sockets' sends and receives, waking the peer). */
  server_kernel_us: number | null;
  load_generator_us: number;
}

/** CPU ms a load's counted turns cost: the answering process's (all of it, and its kernel part) and the load generator's. */
interface CpuSpent {
  server: number | null;
  serverKernel: number | null;
  generator: number;
}

export interface TurnsResult extends ThroughputResult {
  /** Requests a second in each turn, in turn order. */
  turns: number[];
  cpu_per_request: CpuPerRequest;
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
  const cpu = new Map<K, CpuSpent>(names.map((name) => [name, { server: 0, serverKernel: 0, generator: 0 }]));
  for (let turn = 0; turn < turns; turn++) {
    for (const name of names) {
      const { pid } = loads[name];
      const server0 = pid === undefined ? null : processCpuMs(pid);
      const generator0 = process.cpuUsage();
      windows.get(name)?.push(await run(name, seconds / turns));
      const generator = process.cpuUsage(generator0);
      const server1 = pid === undefined ? null : processCpuMs(pid);
      const spent = cpu.get(name) as CpuSpent;
      if (spent.server === null || spent.serverKernel === null || server0 === null || server1 === null) {
        spent.server = spent.serverKernel = null;
      } else {
        spent.server += server1.total - server0.total;
        spent.serverKernel += server1.kernel - server0.kernel;
      }
      spent.generator += (generator.user + generator.system) / 1000;
    }
  }
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
      cpu_per_request: cpuPerRequest(cpu.get(name) as CpuSpent, requests),
    };
  }
  return results;
}

/** CPU ms spent over `requests` counted requests, as µs a request (one decimal). */
function cpuPerRequest(spent: CpuSpent, requests: number): CpuPerRequest {
  const perRequest = (ms: number | null) => (ms === null ? null : requests > 0 ? Math.round((ms * 1e4) / requests) / 10 : 0);
  return { server_us: perRequest(spent.server), server_kernel_us: perRequest(spent.serverKernel), load_generator_us: perRequest(spent.generator) ?? 0 };
}

/** "live 61.2 µs, 20.4 in the kernel (load generator 18.4), …": each load's CPU a counted request. */
export function describeCpuPerRequest(loads: Record<string, { cpu_per_request: CpuPerRequest }>): string {
  return Object.entries(loads)
    .map(([name, { cpu_per_request: cpu }]) => {
      const server = cpu.server_us === null ? 'not measured' : `${cpu.server_us} µs, ${cpu.server_kernel_us} in the kernel`;
      return `${name} ${server} (load generator ${cpu.load_generator_us})`;
    })
    .join(', ');
}

/** The median of a / b taken turn by turn: how two loads run in turns compare. */
export function medianRatio(a: number[], b: number[]): number {
  return median(a.map((value, turn) => value / b[turn]));
}

/**
 * A ratio written to `digits` places, or to as many more as keep it on the side of `goal` it is on: 0.49997 against
 * ">= 0.5" is written 0.49997, not 0.5, so the written figure and its verdict never disagree (unrounded if need be).
 */
export function ratioFigure(exact: number, goal: number, digits = 3): number {
  for (let places = digits; places <= 15; places++) {
    const figure = Number(exact.toFixed(places));
    if ((figure >= goal) === (exact >= goal)) return figure;
  }
  return exact;
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
