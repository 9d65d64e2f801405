import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeCpuPerRequest, median, medianRatio, percentile, ratioFigure, throughputInTurns } from '../bench/http-load';
import { benchProfileFromArgs, ingestionRateRows } from '../bench/profiles';
import { PhaseMemoryMeter } from '../bench/memory';

/** A server that remembers when each request arrived and which token it carried, and answers after `delayMs`. */
async function recordingServer(delayMs = 0): Promise<{ server: Server; url: string; arrivals: number[]; tokens: Set<string | undefined> }> {
  const arrivals: number[] = [];
  const tokens = new Set<string | undefined>();
  const server = createServer((request, response) => {
    arrivals.push(performance.now());
    tokens.add(request.headers.authorization);
    if (delayMs > 0) setTimeout(() => response.end('{}'), delayMs);
    else response.end('{}');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, arrivals, tokens };
}

describe('bench percentiles and profiles', () => {
  it('takes the nearest-rank percentile: the smallest value with at least p % of the samples at or below it', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose
    expect([50, 95, 99, 100].map((p) => percentile(hundred, p))).toEqual([50, 95, 99, 100]);
    expect(percentile(hundred, 0)).toBe(1);
    // Ten samples: p95 is the tenth (ceil(9.5)), p50 the fifth.
    const ten = [7, 3, 9, 1, 5, 10, 2, 8, 4, 6];
    expect([percentile(ten, 50), percentile(ten, 95), percentile(ten, 90)]).toEqual([5, 10, 9]);
    expect(percentile([42], 99)).toBe(42);
    // The samples are left as they were.
    expect(ten).toEqual([7, 3, 9, 1, 5, 10, 2, 8, 4, 6]);
  });

  it('reads --profile in both spellings, defaults to standard, and refuses a profile it does not have', () => {
    expect(benchProfileFromArgs([])).toBe('standard');
    expect(benchProfileFromArgs(['--profile', 'xl'])).toBe('xl');
    expect(benchProfileFromArgs(['--profile=tiny'])).toBe('tiny');
    expect(() => benchProfileFromArgs(['--profile=huge'])).toThrow('--profile must be one of tiny, standard, xl (got huge)');
    expect(() => benchProfileFromArgs(['--profile'])).toThrow('(got nothing)');
  });

  it('judges the ingestion rates on standard and tiny, and on xl reports them with their figures and no verdict', () => {
    const rates = [
      { target: 'ingestion', goal: '>= 20,000 events/s', measured: '12345 events/s', pass: false },
      { target: 'xAPI ingestion', goal: '>= 10,000 statements/s', measured: '10500 statements/s', pass: true },
    ];
    for (const profile of ['standard', 'tiny'] as const) expect(ingestionRateRows(profile, rates)).toEqual({ judged: rates, reported: [] });
    expect(ingestionRateRows('xl', rates)).toEqual({
      judged: [],
      reported: [
        { target: 'ingestion', goal: '>= 20,000 events/s on the standard profile', measured: '12345 events/s', note: 'not a target on xl' },
        { target: 'xAPI ingestion', goal: '>= 10,000 statements/s on the standard profile', measured: '10500 statements/s', note: 'not a target on xl' },
      ],
    });
  });
});

describe('bench throughput in turns', () => {
  it('takes medians of the values and of ratios turn by turn', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    // Turn by turn: 2, 0.5, 3 (a slow second turn on one side does not decide it).
    expect(medianRatio([200, 100, 300], [100, 200, 100])).toBe(2);
  });

  it('writes a ratio to 3 places, or as many more as keep it on its side of the goal', () => {
    expect(ratioFigure(0.5384, 0.5)).toBe(0.538);
    // A measured 0.49975 is a miss; 3 places would have written it as the goal itself.
    expect(ratioFigure(0.4997456412153725, 0.5)).toBe(0.4997);
    expect(ratioFigure(1.99951, 2)).toBe(1.9995);
    expect(ratioFigure(1.9994, 2)).toBe(1.999);
    expect(ratioFigure(2, 2)).toBe(2);
    expect(ratioFigure(49.96, 50, 1)).toBe(49.96);
    expect(ratioFigure(784.04, 50, 1)).toBe(784);
    // Closer to the goal than 15 places can tell: written unrounded, still below it.
    expect(ratioFigure(0.5 - 1e-16, 0.5)).toBe(0.5 - 1e-16);
    expect(0.5 - 1e-16).toBeLessThan(0.5);
  });

  it('runs each load in its own windows, in turns, and counts every turn', async () => {
    const first = await recordingServer(50);
    const second = await recordingServer();
    const around: string[] = [];
    try {
      const results = await throughputInTurns(
        {
          first: { url: first.url, headers: { Authorization: 'Bearer one' }, around: (run) => (around.push('first'), run()) },
          second: { url: second.url, headers: {} },
        },
        4,
        1.5,
        3,
        0,
      );
      // Three windows each, in the order first, second, first, second…: no request of one arrives inside another's window.
      expect(around).toEqual(['first', 'first', 'first']);
      const windows = [...first.arrivals.map((at) => ({ at, server: 'first' })), ...second.arrivals.map((at) => ({ at, server: 'second' }))].sort((a, b) => a.at - b.at);
      const switches = windows.filter((request, index) => index > 0 && request.server !== windows[index - 1].server).length;
      expect(switches).toBe(5);
      expect(windows[0].server).toBe('first');
      expect(first.tokens).toEqual(new Set(['Bearer one']));
      expect(second.tokens).toEqual(new Set([undefined]));

      for (const [name, server] of [['first', first], ['second', second]] as const) {
        const result = results[name];
        expect(result.turns).toHaveLength(3);
        expect(result.turns.every((perSecond) => perSecond > 0)).toBe(true);
        // Answered requests are counted; a request in flight when a window closes reached the server uncounted.
        expect(result.requests).toBeGreaterThan(0);
        expect(result.requests).toBeLessThanOrEqual(server.arrivals.length);
        expect(result.requests).toBeGreaterThanOrEqual(server.arrivals.length - 3 * 4);
        expect(result.non_2xx + result.errors).toBe(0);
        expect(result.p99_ms).toBeGreaterThanOrEqual(result.p50_ms);
      }
      // Latencies of all three turns together: every answer of the first took at least its 50 ms, most of the second far less.
      expect(results.first.p50_ms).toBeGreaterThanOrEqual(50);
      expect(results.second.p50_ms).toBeLessThan(50);
    } finally {
      await new Promise((done) => first.server.close(done));
      await new Promise((done) => second.server.close(done));
    }
  });

  it("measures the CPU each counted request cost the answering process, its kernel part, and the load generator's", async () => {
    // Servers of their own that spend 2 ms of their own CPU (not of the clock) on every request before answering: one
    // in arithmetic (user time; the CPU clock is read every 10,000 steps), one reading /dev/zero (kernel time: the
    // kernel fills the buffer).
    const burner = (spend: string) => {
      const child = spawn(
        process.execPath,
        [
          '-e',
          `const fs = require('node:fs');
           const zero = fs.openSync('/dev/zero', 'r');
           const buffer = Buffer.alloc(1 << 20);
           let sink = 0;
           const server = require('node:http').createServer((request, response) => {
             const start = process.cpuUsage();
             for (;;) {
               const spent = process.cpuUsage(start);
               if (spent.user + spent.system >= 2000) break;
               ${spend}
             }
             response.end(String(sink & 1));
           });
           server.listen(0, '127.0.0.1', () => process.send(server.address().port));`,
        ],
        { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
      );
      const port = new Promise<number>((done) => child.once('message', (message) => done(message as number)));
      return { child, port };
    };
    const user = burner('for (let i = 0; i < 10000; i++) sink += Math.sqrt(i);');
    const kernel = burner('fs.readSync(zero, buffer, 0, buffer.length, null);');
    const other = await recordingServer();
    try {
      const results = await throughputInTurns(
        {
          user: { url: `http://127.0.0.1:${await user.port}/`, headers: {}, pid: user.child.pid },
          kernel: { url: `http://127.0.0.1:${await kernel.port}/`, headers: {}, pid: kernel.child.pid },
          other: { url: other.url, headers: {} },
        },
        2,
        2,
        2,
        0.5,
      );
      for (const name of ['user', 'kernel'] as const) {
        const { server_us, server_kernel_us, load_generator_us } = results[name].cpu_per_request;
        const { requests } = results[name];
        // /proc counts CPU in 10 ms ticks, and a request in flight as a turn closes is paid for but not counted: per
        // turn up to one tick either way and two connections' 2 ms more, spread over the counted requests.
        const slackUs = (2 * (10_000 + 2 * 2_100)) / requests;
        // Every counted request cost the server its 2 ms and a little for HTTP; the warm-up is not counted.
        expect(requests).toBeGreaterThan(20);
        expect(server_us).toBeGreaterThanOrEqual(2000 - slackUs);
        expect(server_us).toBeLessThan(2600 + slackUs);
        expect(load_generator_us).toBeGreaterThan(0);
        if (name === 'user') expect(server_kernel_us).toBeLessThan(400 + slackUs);
        else expect(server_kernel_us).toBeGreaterThan(1500 - slackUs);
        expect(server_kernel_us).toBeLessThanOrEqual(server_us as number);
      }
      // A load without a process of its own (this one answers in the test's process) has no server figure.
      expect(results.other.cpu_per_request.server_us).toBeNull();
      expect(results.other.cpu_per_request.server_kernel_us).toBeNull();
      expect(results.other.cpu_per_request.load_generator_us).toBeGreaterThan(0);
      expect(
        describeCpuPerRequest({ live: { cpu_per_request: { server_us: 61.2, server_kernel_us: 20.4, load_generator_us: 18.4 } }, other: results.other }),
      ).toBe(`live 61.2 µs, 20.4 in the kernel (load generator 18.4), other not measured (load generator ${results.other.cpu_per_request.load_generator_us})`);
    } finally {
      user.child.kill();
      kernel.child.kill();
      await new Promise((done) => other.server.close(done));
    }
  });

  it('keeps one memory row for a phase measured in several runs: its highest peak and its last end', async () => {
    // A process of its own holding 64 MB, then freeing them when told: its resident memory falls between the runs.
    const holder = spawn(
      process.execPath,
      ['--expose-gc', '-e', `let held = Buffer.alloc(64 * 1024 * 1024, 1); process.on('message', () => { held = null; global.gc(); setTimeout(() => process.send('freed'), 200); }); process.send('ready');`],
      { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
    );
    const next = () => new Promise((done) => holder.once('message', done));
    try {
      await next();
      const meter = new PhaseMemoryMeter(holder.pid as number);
      await meter.measure('turns', async () => undefined);
      const heldPeak = meter.phases[0].peak_rss_mb;
      await meter.measure('other', async () => {
        holder.send('free');
        await next();
      });
      const freedEnd = meter.phases[1].end_rss_mb;
      expect(freedEnd).toBeLessThan(heldPeak - 32);
      await meter.measure('turns', async () => undefined);

      expect(meter.phases.map((row) => row.phase)).toEqual(['turns', 'other']);
      // The first run's peak stays (the second run alone peaked some 60 MB lower); the end is the second run's.
      expect(meter.phases[0].peak_rss_mb).toBe(heldPeak);
      expect(meter.phases[0].end_rss_mb).toBeLessThan(heldPeak - 32);
    } finally {
      holder.kill();
    }
  });
});
