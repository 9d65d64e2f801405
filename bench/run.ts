import { ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { describeLargeOrganization, findLargeOrganization, prepareBenchDatabase } from './bench-database.js';
import { describeCpuPerRequest, medianRatio, percentile, ratioFigure, sequentialLatencies, throughputInTurns } from './http-load.js';
import { measureIngestion, TimedPart } from './ingestion.js';
import { CpuSplit, describeCpuSplit, findPostgresServerPid, measureCpuSplit } from './cpu-split.js';
import { BENCH_PROFILES, benchProfileFromArgs, ingestionRateRows } from './profiles.js';
import { createBenchApiKey, measureXapiIngestion, XAPI_BATCH } from './xapi-ingestion.js';
import { timeRawDashboard } from './raw-baseline.js';
import { measureStreams } from './streams.js';
import { measureLoginFlood } from './login-flood.js';
import { PhaseMemoryMeter } from './memory.js';
import { productionStart } from './production-start.js';

/**
 * npm run bench [-- --profile tiny|standard|xl]: the performance targets measured in one run against the built
 * service (started as `npm run start:prod` starts it) on the profile's own database. standard: one large organization of 100,000 users and
 * 2,000,000 events over 90 days; xl: 1,000,000 users and 20,000,000 events over 365 days (seeding timed); tiny: a
 * small data set that checks the bench code itself in a minute (its figures mean nothing).
 * Settings: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_PORT (default: a free port), BENCH_SECONDS, BENCH_TURNS,
 * BENCH_INGEST_BATCHES, BENCH_INGEST_WARMUP_BATCHES, BENCH_INGEST_CONCURRENCY, BENCH_READ_SAMPLES, BENCH_STREAMS,
 * BENCH_STREAM_WRITES, BENCH_XAPI_BATCHES, BENCH_XAPI_WARMUP_BATCHES, BENCH_LOGIN_FLOOD (400),
 * BENCH_LOGIN_CONCURRENCY (50).
 */
const PROFILE = benchProfileFromArgs(process.argv.slice(2));
const SETTINGS = BENCH_PROFILES[PROFILE];
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? `postgres://postgres@127.0.0.1:5432/${SETTINGS.database}`;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env.BENCH_SECONDS ?? SETTINGS.seconds);
/** The throughput loads run in this many turns of SECONDS / TURNS each (bench/http-load.ts, throughputInTurns). */
const TURNS = Number(process.env.BENCH_TURNS ?? Math.min(5, SECONDS));
// No turn, or a fraction of one, would leave a ratio without figures (NaN) rather than a clear stop.
if (!Number.isInteger(TURNS) || TURNS < 1) throw new Error(`BENCH_TURNS must be a whole number of at least 1, not "${process.env.BENCH_TURNS}"`);
const INGEST_BATCHES = Number(process.env.BENCH_INGEST_BATCHES ?? SETTINGS.ingestBatches);
const INGEST_CONCURRENCY = Number(process.env.BENCH_INGEST_CONCURRENCY ?? 4);
const INGEST_WARMUP_BATCHES = Number(process.env.BENCH_INGEST_WARMUP_BATCHES ?? SETTINGS.ingestWarmupBatches);
const READ_SAMPLES = Number(process.env.BENCH_READ_SAMPLES ?? SETTINGS.readSamples);
/** Open streams held on the large organization while it ingests, and the batches written meanwhile. */
const STREAMS = Number(process.env.BENCH_STREAMS ?? SETTINGS.streams);
const STREAM_WRITES = Number(process.env.BENCH_STREAM_WRITES ?? SETTINGS.streamWrites);
const LOGIN_FLOOD = Number(process.env.BENCH_LOGIN_FLOOD ?? 400);
const LOGIN_CONCURRENCY = Number(process.env.BENCH_LOGIN_CONCURRENCY ?? 50);
const UNCACHED_SAMPLES = SETTINGS.uncachedSamples;
const BASELINE_SAMPLES = SETTINGS.baselineSamples;
const XAPI_BATCHES = Number(process.env.BENCH_XAPI_BATCHES ?? SETTINGS.ingestBatches);
const XAPI_WARMUP_BATCHES = Number(process.env.BENCH_XAPI_WARMUP_BATCHES ?? SETTINGS.ingestWarmupBatches);
/** Distinct xAPI actors: the warm-up creates most of them as learners, as a platform's first days would. */
const XAPI_LEARNERS = 5_000;
const DIST = resolve(__dirname, '..');
let PORT = 0;
let BASE = '';

/** An HS256 access token as the service issues it (sub, org, role, jti, ver), signed with the bench instance's secret. */
function accessToken(secret: string, claims: { sub: string; org: string; role: string; ver: number }): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ ...claims, jti: randomUUID(), iat: now, exp: now + 3600 })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/** start:prod's environment and node flags, for the results. */
function serviceStart(): { env: Record<string, string>; node_flags: string[] } {
  const { env, args } = productionStart(resolve(DIST, '..'));
  return { env, node_flags: args.slice(0, -1) };
}

function startService(secret: string): ChildProcess {
  // As `npm run start:prod` starts it, its environment and V8 flags included.
  const start = productionStart(resolve(DIST, '..'));
  return spawn(process.execPath, start.args, {
    env: {
      ...process.env,
      ...start.env,
      NODE_ENV: 'production',
      PORT: String(PORT),
      DATABASE_URL,
      REDIS_URL,
      REDIS_KEY_PREFIX: `bench${randomBytes(3).toString('hex')}`,
      JWT_SECRET: secret,
      MIGRATIONS_RUN: 'false',
      DEMO_DATA: 'false',
      // The limits (dashboard: 100 a minute on enterprise) would answer most bench requests with 429.
      RATE_LIMIT_ENABLED: 'false',
      // The streams phase holds more streams on one organization than the default 20.
      STREAM_MAX_PER_ORGANIZATION: String(Math.max(20, STREAMS)),
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function waitUntilReady(service: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 120; attempt++) {
    if (service.exitCode !== null) throw new Error(`The service exited with code ${service.exitCode}`);
    const ready = await fetch(`${BASE}/health/ready`).then((response) => response.status === 200, () => false);
    if (ready) return;
    await new Promise((done) => setTimeout(done, 500));
  }
  throw new Error('The service did not become ready within 60 s');
}

const POSTGRES_SETTINGS = ['shared_buffers', 'huge_pages', 'max_wal_size', 'checkpoint_timeout', 'wal_compression', 'synchronous_commit', 'autovacuum'];

/**
 * Huge pages the host's kernel holds (HugePages_Total in /proc/meminfo; null off Linux). With huge_pages=try, the
 * default, a local PostgreSQL maps its shared buffers on them only when there are enough: without them every new
 * backend faults in its own view of the shared buffers 4 KB at a time (docs/performance.md, "A thirtieth host").
 */
function hostHugePages(): number | null {
  try {
    const match = /^HugePages_Total:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

async function describeData(organizationId: string) {
  // The large organization first, on its own connection: this one is not held open meanwhile.
  const large = await describeLargeOrganization(DATABASE_URL, organizationId, new Date());
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT (SELECT count(*) FROM organizations)::int AS organizations, version() AS postgres`);
    // The server settings that decide write throughput once the data outgrows the buffer cache (docs/performance.md).
    const settings = await client.query<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name`,
      [POSTGRES_SETTINGS],
    );
    const postgresSettings = Object.fromEntries(settings.rows.map((row) => [row.name, row.setting]));
    return { ...(rows[0] as { organizations: number; postgres: string }), large, postgresSettings };
  } finally {
    await client.end();
  }
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/** A port nobody listens on now (the machine is shared: never a fixed one). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/**
 * One of bench/bare-servers.ts's anchors, answering `body`: the Express app with `contentType`, the node:http server
 * with `headers` (name and value pairs); resolves with its base URL.
 */
async function startBareServer(
  anchor: { kind: 'express'; contentType: string } | { kind: 'http'; headers: [string, string][] },
  body: Buffer,
): Promise<{ process: ChildProcess; base: string }> {
  const directory = mkdtempSync(join(tmpdir(), 'bench-body-'));
  const file = join(directory, 'body');
  writeFileSync(file, body);
  let detail: string;
  if (anchor.kind === 'express') detail = anchor.contentType;
  else writeFileSync((detail = join(directory, 'headers.json')), JSON.stringify(anchor.headers));
  const { kind } = anchor;
  const child = spawn(process.execPath, [join(DIST, 'bench/bare-servers.js'), kind, '0', file, detail], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((done, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) done(Number(match[1]));
    });
    child.once('exit', (code) => fail(new Error(`The bare ${kind} server exited with code ${code}`)));
  });
  return { process: child, base: `http://127.0.0.1:${port}` };
}

/** Headers node:http adds to every response itself: the anchor's node:http adds them as the service's does. */
const ADDED_BY_NODE = new Set(['date', 'connection', 'keep-alive']);

/** One GET through node:http: its status, its header lines as sent (names in their case, in their order) and its body. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: [string, string][]; body: Buffer }> {
  return new Promise((done, fail) => {
    httpGet(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const pairs: [string, string][] = [];
        for (let i = 0; i < response.rawHeaders.length; i += 2) pairs.push([response.rawHeaders[i], response.rawHeaders[i + 1]]);
        done({ status: response.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks) });
      });
      response.on('error', fail);
    }).on('error', fail);
  });
}

/** Stops a child, killing it after 10 s; a child that already exited (by code or by signal) is left alone. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

/** `count` sequential timed requests, each after `before` (not timed); latencies in ms. Fails on any non-200 answer. */
async function timedRequests(count: number, request: () => Promise<Response>, before: () => Promise<unknown> = async () => undefined): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    await before();
    const started = performance.now();
    const response = await request();
    await response.arrayBuffer();
    times.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`${response.url} answered ${response.status}`);
  }
  return times;
}

const summary = (times: number[]) => ({ p50_ms: round(percentile(times, 50)), p95_ms: round(percentile(times, 95)), samples: times.length });

/** bench/results.json holds each profile side by side; a run replaces only its own profile (tiny writes its own file). */
function writeResults(results: object): string {
  const file = resolve(PROFILE === 'tiny' ? 'bench/results-tiny.json' : 'bench/results.json');
  const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  // A file from before profiles held the standard profile's figures at the top level.
  const profiles = (existing.profiles as Record<string, unknown> | undefined) ?? (existing.targets ? { standard: existing } : {});
  writeFileSync(file, `${JSON.stringify({ profiles: { ...profiles, [PROFILE]: results } }, null, 2)}\n`);
  return file;
}

async function main(): Promise<void> {
  PORT = Number(process.env.BENCH_PORT ?? (await freePort()));
  BASE = `http://127.0.0.1:${PORT}`;
  process.stdout.write(`Profile ${PROFILE}: database ${new URL(DATABASE_URL).pathname.slice(1)}\n`);
  const seeding = await prepareBenchDatabase(DATABASE_URL, DIST, SETTINGS.seedProfile);
  const large = await findLargeOrganization(DATABASE_URL);
  const data = await describeData(large.organizationId);
  const secret = randomBytes(32).toString('hex');
  const token = accessToken(secret, { sub: large.adminId, org: large.organizationId, role: 'admin', ver: large.adminTokenVersion });
  const auth = { Authorization: `Bearer ${token}` };
  const dashboard = `${BASE}/api/v1/metrics/dashboard`;

  const service = startService(secret);
  const anchors: ChildProcess[] = [];
  try {
    await waitUntilReady(service);
    process.stdout.write(`Service ready (pid ${service.pid}); large organization ${large.slug}: ${data.large.users} users, ${data.large.events} events (${data.large.events_in_live_window} of them in the last 6 hours, where ingestion dates its events), ${data.large.content} content\n`);
    process.stdout.write(`PostgreSQL: ${Object.entries(data.postgresSettings).map(([name, value]) => `${name}=${value}`).join(', ')}; huge pages on the host: ${hostHugePages() ?? 'unknown'}\n`);
    // Each phase's own peak: the kernel's high-water mark is reset as a phase begins (bench/memory.ts).
    const memory = new PhaseMemoryMeter(service.pid as number);

    // The anchors answer the bytes the service answers, each in its own process like the service.
    const liveAnswer = await fetch(`${BASE}/health/live`);
    const liveBody = Buffer.from(await liveAnswer.arrayBuffer());
    const express = await startBareServer({ kind: 'express', contentType: liveAnswer.headers.get('content-type') ?? 'application/json' }, liveBody);
    anchors.push(express.process);

    const first = (await (await fetch(dashboard, { headers: auth })).json()) as { cache_metadata?: { cache_hit: boolean } };
    const secondAnswer = await rawGet(dashboard, auth);
    const second = JSON.parse(secondAnswer.body.toString()) as { cache_metadata?: { cache_hit: boolean } };
    if (secondAnswer.status !== 200 || second.cache_metadata?.cache_hit !== true) throw new Error(`The dashboard is not served from the cache: ${JSON.stringify(second.cache_metadata ?? first)}`);
    // The same exchange as a hit: the same request (path and token) and the hit's bytes back, its header lines included
    // (their values frozen: a request id, a duration), so the load generator reads and parses the same on both sides.
    const hitHeaders = secondAnswer.headers.filter(([name]) => !ADDED_BY_NODE.has(name.toLowerCase()));
    const http = await startBareServer({ kind: 'http', headers: hitHeaders }, secondAnswer.body);
    anchors.push(http.process);

    // In turns: each ratio is the median of its turn-by-turn ratios, taken under the same host conditions.
    process.stdout.write(
      `GET /health/live, a bare Express 5 app, the cached dashboard and a bare node:http server (same request, same bytes) at 50 connections: ${TURNS} turns of ${round(SECONDS / TURNS, 2)} s each\n`,
    );
    const loads = await throughputInTurns(
      {
        live: { url: `${BASE}/health/live`, headers: {}, around: (run) => memory.measure('live', run), pid: service.pid },
        bareExpress: { url: `${express.base}/health/live`, headers: {}, pid: express.process.pid },
        cached: { url: dashboard, headers: auth, around: (run) => memory.measure('cached dashboard', run), pid: service.pid },
        bareHttp: { url: `${http.base}${new URL(dashboard).pathname}`, headers: auth, pid: http.process.pid },
      },
      50,
      SECONDS,
      TURNS,
    );
    const { live, bareExpress, cached } = loads;
    const bareHttp = { ...loads.bareHttp, header_names: hitHeaders.map(([name]) => name) };
    await stop(express.process);
    await stop(http.process);

    process.stdout.write(`Uncached dashboard (force_refresh=true): ${UNCACHED_SAMPLES} sequential samples\n`);
    const uncached = await memory.measure('uncached dashboard', async () => {
      await sequentialLatencies(`${dashboard}?force_refresh=true`, auth, 10);
      return summary(await sequentialLatencies(`${dashboard}?force_refresh=true`, auth, UNCACHED_SAMPLES));
    });

    // Right after the uncached dashboard, on the same data. Not right before ingestion: its full scans push the indexes
    // ingestion writes into out of PostgreSQL's buffers (docs/performance.md, "A twelfth host").
    process.stdout.write(`Baseline: the same figures by aggregate SQL over the raw tables, ${BASELINE_SAMPLES} samples\n`);
    const baseline = summary(await timeRawDashboard(DATABASE_URL, large.organizationId, BASELINE_SAMPLES));

    // Statistics are cached for 5 minutes: the organization's cache is dropped before each (untimed) sample.
    const invalidate = () => fetch(`${BASE}/api/v1/metrics/invalidate-cache`, { method: 'POST', headers: auth }).then((response) => response.arrayBuffer());
    const statistics: Record<string, ReturnType<typeof summary>> = {};
    await memory.measure('statistics', async () => {
      for (const period of ['30d', '90d'] as const) {
        process.stdout.write(`Uncached statistics ${period}: ${READ_SAMPLES} sequential samples\n`);
        const get = () => fetch(`${BASE}/api/v1/metrics/statistics?period=${period}`, { headers: auth });
        await timedRequests(3, get, invalidate);
        statistics[period] = summary(await timedRequests(READ_SAMPLES, get, invalidate));
      }
    });
    const exports: Record<string, ReturnType<typeof summary>> = {};
    await memory.measure('exports', async () => {
      for (const format of ['json', 'csv', 'xlsx'] as const) {
        process.stdout.write(`Export of 90 days as ${format}: ${READ_SAMPLES} sequential samples\n`);
        const post = () =>
          fetch(`${BASE}/api/v1/metrics/export`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ format, date_range: '90d' }) });
        await timedRequests(3, post);
        exports[format] = summary(await timedRequests(READ_SAMPLES, post));
      }
    });

    process.stdout.write(`Ingestion: ${INGEST_BATCHES} batches of 1,000 events from ${INGEST_CONCURRENCY} clients, after ${INGEST_WARMUP_BATCHES} not counted\n`);
    // Like every other phase, a warm-up first.
    // What bounded the counted batches: the CPU of the service, PostgreSQL and the load generator, per batch.
    const postgresPid = await findPostgresServerPid(DATABASE_URL);
    const cpuSplits: { ingestion?: CpuSplit; xapi?: CpuSplit } = {};
    const splitInto =
      (phase: keyof typeof cpuSplits, batches: number): TimedPart =>
      async (work) => {
        const { result, cpu } = await measureCpuSplit(service.pid as number, postgresPid, batches, work, DATABASE_URL);
        cpuSplits[phase] = cpu;
        return result;
      };
    const ingestionRun = await memory.measure('ingestion', async () => {
      if (INGEST_WARMUP_BATCHES > 0) await measureIngestion(BASE, token, large.userIds, INGEST_WARMUP_BATCHES, INGEST_CONCURRENCY, (Date.now() + 1) % 1_000_000);
      return measureIngestion(BASE, token, large.userIds, INGEST_BATCHES, INGEST_CONCURRENCY, Date.now() % 1_000_000, splitInto('ingestion', INGEST_BATCHES));
    });
    const ingestion = { ...ingestionRun, cpu_per_batch: cpuSplits.ingestion ?? null };

    process.stdout.write(`xAPI ingestion: ${XAPI_BATCHES} batches of ${XAPI_BATCH} statements from ${INGEST_CONCURRENCY} clients, after ${XAPI_WARMUP_BATCHES} not counted\n`);
    const xapiKey = await createBenchApiKey(DATABASE_URL, large.organizationId);
    const xapiPhase = async () => {
      if (XAPI_WARMUP_BATCHES > 0) await measureXapiIngestion(BASE, xapiKey, XAPI_LEARNERS, XAPI_WARMUP_BATCHES, INGEST_CONCURRENCY, (Date.now() + 2) % 1_000_000);
      return measureXapiIngestion(BASE, xapiKey, XAPI_LEARNERS, XAPI_BATCHES, INGEST_CONCURRENCY, (Date.now() + 3) % 1_000_000, splitInto('xapi', XAPI_BATCHES));
    };
    // A phase switched off sends nothing: no memory row for it.
    const xapiRun = await (XAPI_BATCHES + XAPI_WARMUP_BATCHES > 0 ? memory.measure('xapi ingestion', xapiPhase) : xapiPhase());
    const xapiIngestion = { ...xapiRun, cpu_per_batch: cpuSplits.xapi ?? null };
    process.stdout.write(`Login flood: ${LOGIN_FLOOD} wrong-password logins from one IP, ${LOGIN_CONCURRENCY} at a time, while probing GET /health/live\n`);
    const loginFlood = await memory.measure('login flood', () => measureLoginFlood(BASE, large.adminEmail, LOGIN_FLOOD, LOGIN_CONCURRENCY));
    // The request phases' peak; the streams' memory is reported on its own, not charged to them.
    const peakRss = memory.peakOf();

    process.stdout.write(`Streams: ${STREAMS} open on the large organization while ${STREAM_WRITES} batches of 1,000 events are written\n`);
    const streams = await memory.measure('streams', () => measureStreams(BASE, token, large.userIds, service.pid as number, STREAMS, STREAM_WRITES, 1000));
    // Each target is judged on the exact ratio; the results show it to 3 decimals, more where 3 would round it onto the
    // goal (1.9995 is a miss of ">= 2" and is written 1.9995, not 2). One goal each, for the figure and the verdict.
    const goals = { cached_over_bare_http_throughput: 0.5, cached_over_live_throughput: 2, live_over_bare_express_throughput: 0.5, baseline_over_uncached_p50: 50 };
    const exactRatios = {
      cached_over_bare_http_throughput: medianRatio(cached.turns, bareHttp.turns),
      cached_over_live_throughput: medianRatio(cached.turns, live.turns),
      live_over_bare_express_throughput: medianRatio(live.turns, bareExpress.turns),
      baseline_over_uncached_p50: baseline.p50_ms / uncached.p50_ms,
    };
    const ratios = {
      cached_over_bare_http_throughput: ratioFigure(exactRatios.cached_over_bare_http_throughput, goals.cached_over_bare_http_throughput),
      cached_over_live_throughput: ratioFigure(exactRatios.cached_over_live_throughput, goals.cached_over_live_throughput),
      live_over_bare_express_throughput: ratioFigure(exactRatios.live_over_bare_express_throughput, goals.live_over_bare_express_throughput),
      baseline_over_uncached_p50: ratioFigure(exactRatios.baseline_over_uncached_p50, goals.baseline_over_uncached_p50, 1),
    };
    const latency = (target: string, figures: ReturnType<typeof summary>) => ({
      target,
      goal: '<= 100 ms',
      measured: `${figures.p95_ms} ms (p50 ${figures.p50_ms} ms)`,
      pass: figures.p95_ms <= 100,
    });
    const rates = [
      { target: 'ingestion', goal: '>= 20,000 events/s', measured: `${ingestion.events_per_second} events/s`, pass: ingestion.events_per_second >= 20_000 },
      {
        target: 'xAPI ingestion',
        goal: '>= 10,000 statements/s',
        measured: `${xapiIngestion.statements_per_second} statements/s`,
        pass: xapiIngestion.statements_per_second >= 10_000,
      },
    ];
    // On a profile that does not judge them (xl) the rates are still measured and written, as `reported` rows.
    const { judged: judgedRates, reported } = ingestionRateRows(PROFILE, rates);
    const targets = [
      { target: 'cached dashboard p50', goal: '<= 2 ms', measured: `${cached.p50_ms} ms`, pass: cached.p50_ms <= 2 },
      { target: 'cached dashboard p99', goal: '<= 10 ms', measured: `${cached.p99_ms} ms`, pass: cached.p99_ms <= 10 },
      {
        target: 'cached ÷ bare node:http throughput',
        goal: `>= ${goals.cached_over_bare_http_throughput}`,
        measured: `${ratios.cached_over_bare_http_throughput} (median of ${TURNS} turns; ${cached.requests_per_second} ÷ ${bareHttp.requests_per_second} req/s in all)`,
        pass: exactRatios.cached_over_bare_http_throughput >= goals.cached_over_bare_http_throughput,
      },
      {
        target: 'cached ÷ live throughput',
        goal: `>= ${goals.cached_over_live_throughput}`,
        measured: `${ratios.cached_over_live_throughput} (median of ${TURNS} turns; ${cached.requests_per_second} ÷ ${live.requests_per_second} req/s in all)`,
        pass: exactRatios.cached_over_live_throughput >= goals.cached_over_live_throughput,
      },
      {
        target: 'live ÷ bare Express 5 throughput',
        goal: `>= ${goals.live_over_bare_express_throughput}`,
        measured: `${ratios.live_over_bare_express_throughput} (median of ${TURNS} turns; ${live.requests_per_second} ÷ ${bareExpress.requests_per_second} req/s in all)`,
        pass: exactRatios.live_over_bare_express_throughput >= goals.live_over_bare_express_throughput,
      },
      { target: 'uncached dashboard p95', goal: '<= 30 ms', measured: `${uncached.p95_ms} ms (p50 ${uncached.p50_ms} ms)`, pass: uncached.p95_ms <= 30 },
      {
        target: 'baseline SQL ÷ uncached',
        goal: `>= ${goals.baseline_over_uncached_p50}×`,
        measured: `${ratios.baseline_over_uncached_p50}× (${baseline.p50_ms} ÷ ${uncached.p50_ms} ms)`,
        pass: exactRatios.baseline_over_uncached_p50 >= goals.baseline_over_uncached_p50,
      },
      latency('uncached statistics 30d p95', statistics['30d']),
      latency('uncached statistics 90d p95', statistics['90d']),
      ...(['json', 'csv', 'xlsx'] as const).map((format) => latency(`export 90d ${format} p95`, exports[format])),
      ...judgedRates,
      { target: 'GET /health/live p95 during a login flood', goal: '< 50 ms', measured: `${loginFlood.live.p95_ms} ms (${loginFlood.logins} logins: ${JSON.stringify(loginFlood.statuses)})`, pass: loginFlood.live.p95_ms < 50 },
      { target: 'peak resident memory', goal: '<= 200 MB', measured: `${peakRss} MB (the highest request phase)`, pass: peakRss <= 200 },
      ...memory.phases.map(({ phase, peak_rss_mb, method }) => ({
        target: `peak resident memory: ${phase}`,
        goal: '<= 200 MB',
        measured: `${peak_rss_mb} MB${method === 'sampled' ? ' (sampled)' : ''}`,
        pass: peak_rss_mb <= 200,
      })),
      {
        target: `write → dashboard event (${STREAMS} streams)`,
        goal: '<= 2000 ms',
        measured: `max ${streams.write_to_event_ms.max} ms (p50 ${streams.write_to_event_ms.p50} ms); ${streams.kb_per_stream} KB a stream`,
        pass: streams.write_to_event_ms.max <= 2000 && streams.missed_dashboard_events === 0,
      },
      ...(SETTINGS.seedLimitSeconds !== null && seeding !== null
        ? [
            {
              target: 'seeding',
              goal: `< ${SETTINGS.seedLimitSeconds / 60} min`,
              measured: `${round(seeding.seconds / 60, 1)} min${seeding.this_run ? '' : ` (by the run of ${seeding.seeded_at})`}`,
              pass: seeding.seconds < SETTINGS.seedLimitSeconds,
            },
          ]
        : []),
    ];
    const results = {
      profile: PROFILE,
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gb: round(totalmem() / 2 ** 30, 1), node: process.version, postgres: data.postgres, postgres_settings: data.postgresSettings, host_huge_pages: hostHugePages() },
      // How the service was started (the environment and node flags of start:prod): they move memory and throughput.
      service_start: serviceStart(),
      data: { organizations: data.organizations, large_organization: { slug: large.slug, ...data.large } },
      seeding,
      live,
      bare_express: bareExpress,
      cached_dashboard: cached,
      bare_http: bareHttp,
      uncached_dashboard: uncached,
      baseline_sql: baseline,
      statistics,
      exports,
      ingestion,
      login_flood: loginFlood,
      xapi_ingestion: xapiIngestion,
      peak_rss_mb: peakRss,
      memory_by_phase: memory.phases,
      streams,
      ratios,
      targets,
      reported,
    };
    const file = writeResults(results);
    process.stdout.write('\n');
    console.table([
      ...targets.map(({ target, goal, measured, pass }) => ({ target, goal, measured, result: pass ? 'pass' : 'MISS' })),
      ...reported.map(({ target, goal, measured, note }) => ({ target, goal, measured, result: note })),
    ]);
    process.stdout.write(`Throughput loads, CPU a request: ${describeCpuPerRequest({ live, 'bare Express': bareExpress, cached, 'bare node:http': bareHttp })}\n`);
    for (const [phase, cpu] of [['Ingestion', ingestion.cpu_per_batch], ['xAPI ingestion', xapiIngestion.cpu_per_batch]] as const) {
      if (cpu) process.stdout.write(`${phase}, CPU of the counted batches: ${describeCpuSplit(cpu)}\n`);
    }
    process.stdout.write(`Written to ${file} (profile ${PROFILE})\n`);
    const failures = [cached, live, bareHttp, bareExpress].reduce((sum, run) => sum + run.non_2xx + run.errors, 0);
    if (failures > 0) process.stdout.write(`Warning: ${failures} non-2xx answers or errors during the throughput runs\n`);
  } finally {
    for (const anchor of anchors) await stop(anchor);
    await stop(service);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
