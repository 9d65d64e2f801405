import { ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { findLargeOrganization, prepareBenchDatabase } from './bench-database.js';
import { percentile, sequentialLatencies, throughput } from './http-load.js';
import { measureIngestion } from './ingestion.js';
import { measureLoginFlood } from './login-flood.js';
import { measureStreams } from './streams.js';
import { timeRawDashboard } from './raw-baseline.js';

/**
 * npm run bench: SPEC §12 measured in one run against the built service (node dist/main) on the bench database.
 * Settings: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_PORT, BENCH_SECONDS, BENCH_INGEST_BATCHES, BENCH_INGEST_WARMUP_BATCHES,
 * BENCH_INGEST_CONCURRENCY, BENCH_STREAMS, BENCH_STREAM_WRITES, BENCH_LOGIN_FLOOD (400), BENCH_LOGIN_CONCURRENCY (50).
 */
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/toolbox_bench';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PORT = Number(process.env.BENCH_PORT ?? 3999);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const INGEST_BATCHES = Number(process.env.BENCH_INGEST_BATCHES ?? 60);
const INGEST_CONCURRENCY = Number(process.env.BENCH_INGEST_CONCURRENCY ?? 4);
const INGEST_WARMUP_BATCHES = Number(process.env.BENCH_INGEST_WARMUP_BATCHES ?? 8);
const LOGIN_FLOOD = Number(process.env.BENCH_LOGIN_FLOOD ?? 400);
const LOGIN_CONCURRENCY = Number(process.env.BENCH_LOGIN_CONCURRENCY ?? 50);
/** Open streams held on the large organization while it ingests, and the batches written meanwhile. */
const STREAMS = Number(process.env.BENCH_STREAMS ?? 500);
const STREAM_WRITES = Number(process.env.BENCH_STREAM_WRITES ?? 30);
const UNCACHED_SAMPLES = 200;
const BASELINE_SAMPLES = 10;
const DIST = resolve(__dirname, '..');
const BASE = `http://127.0.0.1:${PORT}`;

/** An HS256 access token as the service issues it (sub, org, role, jti, ver), signed with the bench instance's secret. */
function accessToken(secret: string, claims: { sub: string; org: string; role: string; ver: number }): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ ...claims, jti: randomUUID(), iat: now, exp: now + 3600 })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

function startService(secret: string): ChildProcess {
  return spawn(process.execPath, [join(DIST, 'main.js')], {
    env: {
      ...process.env,
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

function peakRssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:')) ?? 'VmHWM: 0 kB';
  return Math.round(Number(line.replace(/\D+/g, '')) / 1024);
}

async function describeData(organizationId: string) {
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT (SELECT count(*) FROM organizations)::int AS organizations,
              (SELECT count(*) FROM users WHERE organization_id = $1)::int AS users,
              (SELECT count(*) FROM activity_events WHERE organization_id = $1)::int AS events,
              (SELECT count(*) FROM educational_content WHERE organization_id = $1)::int AS content,
              version() AS postgres`,
      [organizationId],
    );
    return rows[0] as { organizations: number; users: number; events: number; content: number; postgres: string };
  } finally {
    await client.end();
  }
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

async function main(): Promise<void> {
  await prepareBenchDatabase(DATABASE_URL, DIST);
  const large = await findLargeOrganization(DATABASE_URL);
  const data = await describeData(large.organizationId);
  const secret = randomBytes(32).toString('hex');
  const token = accessToken(secret, { sub: large.adminId, org: large.organizationId, role: 'admin', ver: large.adminTokenVersion });
  const auth = { Authorization: `Bearer ${token}` };
  const dashboard = `${BASE}/api/v1/metrics/dashboard`;

  const service = startService(secret);
  try {
    await waitUntilReady(service);
    process.stdout.write(`Service ready (pid ${service.pid}); large organization ${large.slug}: ${data.users} users, ${data.events} events, ${data.content} content\n`);

    process.stdout.write(`GET /health/live at 50 connections for ${SECONDS} s\n`);
    const live = await throughput(`${BASE}/health/live`, {}, 50, SECONDS);

    const first = (await (await fetch(dashboard, { headers: auth })).json()) as { cache_metadata?: { cache_hit: boolean } };
    const second = (await (await fetch(dashboard, { headers: auth })).json()) as { cache_metadata?: { cache_hit: boolean } };
    if (second.cache_metadata?.cache_hit !== true) throw new Error(`The dashboard is not served from the cache: ${JSON.stringify(second.cache_metadata ?? first)}`);
    process.stdout.write(`Cached dashboard at 50 connections for ${SECONDS} s\n`);
    const cached = await throughput(dashboard, auth, 50, SECONDS);

    process.stdout.write(`Uncached dashboard (force_refresh=true): ${UNCACHED_SAMPLES} sequential samples\n`);
    await sequentialLatencies(`${dashboard}?force_refresh=true`, auth, 10);
    const uncachedTimes = await sequentialLatencies(`${dashboard}?force_refresh=true`, auth, UNCACHED_SAMPLES);
    const uncached = { p50_ms: round(percentile(uncachedTimes, 50)), p95_ms: round(percentile(uncachedTimes, 95)), samples: UNCACHED_SAMPLES };

    process.stdout.write(`Baseline: the same figures by aggregate SQL over the raw tables, ${BASELINE_SAMPLES} samples\n`);
    const baselineTimes = await timeRawDashboard(DATABASE_URL, large.organizationId, BASELINE_SAMPLES);
    const baseline = { p50_ms: round(percentile(baselineTimes, 50)), p95_ms: round(percentile(baselineTimes, 95)), samples: BASELINE_SAMPLES };

    process.stdout.write(`Ingestion: ${INGEST_BATCHES} batches of 1,000 events from ${INGEST_CONCURRENCY} clients, after ${INGEST_WARMUP_BATCHES} not counted\n`);
    // Like every other phase, a warm-up first: the baseline's full scans have just pushed the indexes out of the caches.
    if (INGEST_WARMUP_BATCHES > 0) await measureIngestion(BASE, token, large.userIds, INGEST_WARMUP_BATCHES, INGEST_CONCURRENCY, (Date.now() + 1) % 1_000_000);
    const ingestion = await measureIngestion(BASE, token, large.userIds, INGEST_BATCHES, INGEST_CONCURRENCY, Date.now() % 1_000_000);

    process.stdout.write(`Login flood: ${LOGIN_FLOOD} wrong-password logins from one IP, ${LOGIN_CONCURRENCY} at a time, while probing GET /health/live\n`);
    const loginFlood = await measureLoginFlood(BASE, large.adminEmail, LOGIN_FLOOD, LOGIN_CONCURRENCY);
    const peakRss = peakRssMb(service.pid as number);

    // After the peak is read: the streams' memory is reported on its own, not charged to the request phases.
    process.stdout.write(`Streams: ${STREAMS} open on the large organization while ${STREAM_WRITES} batches of 1,000 events are written\n`);
    const streams = await measureStreams(BASE, token, large.userIds, service.pid as number, STREAMS, STREAM_WRITES, 1000);
    const ratios = {
      cached_over_live_throughput: round(cached.requests_per_second / live.requests_per_second),
      baseline_over_uncached_p50: round(baseline.p50_ms / uncached.p50_ms, 1),
    };
    const targets = [
      { target: 'cached dashboard p50', goal: '<= 2 ms', measured: `${cached.p50_ms} ms`, pass: cached.p50_ms <= 2 },
      { target: 'cached dashboard p99', goal: '<= 10 ms', measured: `${cached.p99_ms} ms`, pass: cached.p99_ms <= 10 },
      { target: 'cached ÷ live throughput', goal: '>= 0.5', measured: `${ratios.cached_over_live_throughput} (${cached.requests_per_second} ÷ ${live.requests_per_second} req/s)`, pass: ratios.cached_over_live_throughput >= 0.5 },
      { target: 'uncached dashboard p95', goal: '<= 30 ms', measured: `${uncached.p95_ms} ms (p50 ${uncached.p50_ms} ms)`, pass: uncached.p95_ms <= 30 },
      { target: 'baseline SQL ÷ uncached', goal: '>= 20×', measured: `${ratios.baseline_over_uncached_p50}× (${baseline.p50_ms} ÷ ${uncached.p50_ms} ms)`, pass: ratios.baseline_over_uncached_p50 >= 20 },
      { target: 'ingestion', goal: '>= 20,000 events/s', measured: `${ingestion.events_per_second} events/s`, pass: ingestion.events_per_second >= 20_000 },
      { target: 'GET /health/live p95 during a login flood', goal: '< 50 ms', measured: `${loginFlood.live.p95_ms} ms (${loginFlood.logins} logins: ${JSON.stringify(loginFlood.statuses)})`, pass: loginFlood.live.p95_ms < 50 },
      { target: 'peak resident memory', goal: '<= 300 MB', measured: `${peakRss} MB`, pass: peakRss <= 300 },
      {
        target: `write → dashboard event (${STREAMS} streams)`,
        goal: '<= 2000 ms',
        measured: `max ${streams.write_to_event_ms.max} ms (p50 ${streams.write_to_event_ms.p50} ms); ${streams.kb_per_stream} KB a stream`,
        pass: streams.write_to_event_ms.max <= 2000 && streams.missed_dashboard_events === 0,
      },
    ];
    const results = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gb: round(totalmem() / 2 ** 30, 1), node: process.version, postgres: data.postgres },
      data: { organizations: data.organizations, large_organization: { slug: large.slug, users: data.users, events: data.events, content: data.content } },
      live,
      cached_dashboard: cached,
      uncached_dashboard: uncached,
      baseline_sql: baseline,
      ingestion,
      login_flood: loginFlood,
      peak_rss_mb: peakRss,
      streams,
      ratios,
      targets,
    };
    writeFileSync(resolve('bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write('\n');
    console.table(targets.map(({ target, goal, measured, pass }) => ({ target, goal, measured, result: pass ? 'pass' : 'MISS' })));
    process.stdout.write(`Written to bench/results.json\n`);
    if (cached.non_2xx + cached.errors + live.non_2xx + live.errors > 0) {
      process.stdout.write(`Warning: ${cached.non_2xx + live.non_2xx} non-2xx answers and ${cached.errors + live.errors} errors during the throughput runs\n`);
    }
  } finally {
    service.kill('SIGTERM');
    await new Promise((done) => (service.exitCode !== null ? done(undefined) : service.once('exit', done)));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
