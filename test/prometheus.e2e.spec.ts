import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemMetricsReader } from '../src/metrics/system-metrics.reader';
import { RequestMetrics } from '../src/observability/request-metrics';
import { RateLimitStats } from '../src/rate-limit/rate-limit-stats';
import { withProbeRoutes } from './correlation-probe.module';
import { http, signup } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((label) => [label[1], label[2]]));
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

/** The value of one series; 0 for a series that does not exist yet (a counter that never moved). */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  const found = samples.filter((sample) => sample.name === name && Object.keys(sample.labels).length === wanted.length && wanted.every(([key, value]) => sample.labels[key] === value));
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0]?.value ?? 0;
}

async function scrape(app: TestApp, token?: string): Promise<Sample[]> {
  const request = http(app).get('/metrics');
  if (token) request.set('Authorization', `Bearer ${token}`);
  const response = await request.expect(200);
  expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(response.text);
}

const count = (route: string, status: string, method = 'GET') => ['http_request_duration_seconds_count', { method, route, status }] as const;

describe('GET /metrics', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await createTestApp({ override: withProbeRoutes });
  });
  afterAll(() => app.close());

  it('counts each request once in the duration histogram, by method, route template and status', async () => {
    const admin = await signup(app);
    const before = await scrape(app);
    for (let i = 0; i < 3; i++) await http(app).get('/health/live').expect(200);
    await http(app).get('/api/v1/auth/me').expect(401);
    await http(app).get('/api/v1/auth/me').expect(401);
    await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${admin.token}`).expect(200);
    await http(app).patch(`/api/v1/users/${randomUUID()}`).set('Authorization', `Bearer ${admin.token}`).send({ name: 'Nobody' }).expect(404);
    await http(app).get('/api/v1/not-a-route').expect(404);
    await http(app).get('/api/v1/probe/boom').expect(500);
    const after = await scrape(app);

    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta(...count('/health/live', '200'))).toBe(3);
    expect(delta(...count('/api/v1/auth/me', '401'))).toBe(2);
    expect(delta(...count('/api/v1/auth/me', '200'))).toBe(1);
    expect(delta(...count('/api/v1/users/:id', '404', 'PATCH'))).toBe(1);
    expect(delta(...count('unmatched', '404'))).toBe(1);
    expect(delta(...count('/api/v1/probe/boom', '500'))).toBe(1);
    // The scrape before this one, recorded when it finished.
    expect(delta(...count('/metrics', '200'))).toBe(1);

    const liveLabels = { method: 'GET', route: '/health/live', status: '200' };
    expect(valueOf(after, 'http_request_duration_seconds_bucket', { ...liveLabels, le: '+Inf' })).toBe(valueOf(after, 'http_request_duration_seconds_count', liveLabels));
    expect(delta('http_request_duration_seconds_sum', liveLabels)).toBeGreaterThan(0);
    // Labels hold templates, never raw paths with ids.
    expect(after.filter((sample) => /[0-9a-f]{8}-[0-9a-f]{4}-/.test(sample.labels.route ?? ''))).toEqual([]);
  });

  it('tells the same story as the recorder system_metrics reads: same requests, same error share', async () => {
    const samples = await scrape(app);
    const counts = samples.filter((sample) => sample.name === 'http_request_duration_seconds_count');
    const total = counts.reduce((sum, sample) => sum + sample.value, 0);
    const errors = counts.filter((sample) => Number(sample.labels.status) >= 500).reduce((sum, sample) => sum + sample.value, 0);
    // Every request of this app is within the recorder's 5-minute window; the scrape itself was recorded after its text was made.
    const summary = app.get(RequestMetrics).summary();
    expect(summary.requests).toBe(total + 1);
    expect(errors).toBe(1);
    expect(summary.errorRatePct).toBe(Math.round((errors / (total + 1)) * 100 * 100) / 100);
  });

  it('counts metric cache hits and misses as system_metrics sees them', async () => {
    const admin = await signup(app);
    const before = await scrape(app);
    const answers: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await http(app).get('/api/v1/metrics/dashboard').set('Authorization', `Bearer ${admin.token}`).expect(200);
      answers.push(response.body.cache_metadata.cache_hit as boolean);
    }
    // The first lookup of a new organization misses; what follows depends on when the store write lands, so count the answers.
    expect(answers[0]).toBe(false);
    const hitsSeen = answers.filter(Boolean).length;
    const after = await scrape(app);
    expect(valueOf(after, 'toolbox_cache_hits_total') - valueOf(before, 'toolbox_cache_hits_total')).toBe(hitsSeen);
    expect(valueOf(after, 'toolbox_cache_misses_total') - valueOf(before, 'toolbox_cache_misses_total')).toBe(3 - hitsSeen);

    // Every lookup of this app is inside system_metrics' 5-minute window, so both give one ratio and one pool size.
    const hits = valueOf(after, 'toolbox_cache_hits_total');
    const lookups = hits + valueOf(after, 'toolbox_cache_misses_total');
    const system = await app.get(SystemMetricsReader).read();
    expect(system.cache_hit_rate).toBe(Math.round((hits / lookups) * 10000) / 100);
    const open = after.filter((sample) => sample.name === 'toolbox_db_pool_connections').reduce((sum, sample) => sum + sample.value, 0);
    expect(system.database_connections).toBe(open);
  });

  it('counts rate-limit rejections of the real limiter, and the same 429s in the histogram', async () => {
    const before = await scrape(app);
    const login = { email: 'nobody@example.test', password: 'not the right password' };
    const statuses: number[] = [];
    // 5 a minute per IP and e-mail; more attempts than that, so that even a switch to the memory fallback mid-way still refuses some.
    for (let attempt = 1; attempt <= 12; attempt++) statuses.push((await http(app).post('/api/v1/auth/login').send(login)).status);
    const refused = statuses.filter((status) => status === 429).length;
    expect(refused).toBeGreaterThan(0);
    expect(statuses.filter((status) => status !== 429 && status !== 401)).toEqual([]);
    const after = await scrape(app);
    const labels = { method: 'POST', route: '/api/v1/auth/login' };
    expect(valueOf(after, 'toolbox_rate_limit_rejections_total', labels) - valueOf(before, 'toolbox_rate_limit_rejections_total', labels)).toBe(refused);
    const rejected = count('/api/v1/auth/login', '429', 'POST');
    expect(valueOf(after, ...rejected) - valueOf(before, ...rejected)).toBe(refused);
    const stats = app.get(RateLimitStats);
    expect(valueOf(after, 'toolbox_rate_limit_memory_fallbacks_total')).toBe(stats.fallbackCount);
    expect(valueOf(after, 'toolbox_rate_limit_redis_degraded')).toBe(stats.redisDegraded ? 1 : 0);
  });

  it('reports the database pool: open, idle and waiting connections, following connections in use', async () => {
    const quiet = await scrape(app);
    const open = valueOf(quiet, 'toolbox_db_pool_connections', { pool: 'primary' });
    expect(open).toBeGreaterThanOrEqual(1);
    expect(open).toBeLessThanOrEqual(app.config.DATABASE_POOL_SIZE);
    expect(valueOf(quiet, 'toolbox_db_pool_idle_connections', { pool: 'primary' })).toBe(open);
    expect(valueOf(quiet, 'toolbox_db_pool_waiting_requests', { pool: 'primary' })).toBe(0);

    const held = [app.dataSource.createQueryRunner(), app.dataSource.createQueryRunner()];
    try {
      for (const runner of held) await runner.connect();
      const busy = await scrape(app);
      const openBusy = valueOf(busy, 'toolbox_db_pool_connections', { pool: 'primary' });
      expect(openBusy).toBeGreaterThanOrEqual(2);
      expect(valueOf(busy, 'toolbox_db_pool_idle_connections', { pool: 'primary' })).toBe(openBusy - 2);
    } finally {
      for (const runner of held) await runner.release();
    }
  });

  it('passes promtool check metrics on a live scrape (Debian package prometheus; .ci/run installs it)', async () => {
    await http(app).get('/api/v1/nope').expect(404);
    const text = (await http(app).get('/metrics').expect(200)).text;
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (result.error && !process.env.CI) {
      // Outside CI a machine without promtool says so instead of failing; in CI its absence fails the test.
      console.warn(`promtool is not installed (${result.error.message}); apt-get install prometheus to run this check`);
      return;
    }
    expect(result.error).toBeUndefined();
    expect([result.status, result.stdout, result.stderr]).toEqual([0, '', '']);
    expect(text).toMatch(/^# TYPE nodejs_active_handles_all gauge$/m);
    expect(text).not.toMatch(/^# TYPE \S+_total (gauge|histogram|summary)$/m);
  });

  it('reports Redis as up, and the default process metrics', async () => {
    const samples = await scrape(app);
    expect(valueOf(samples, 'toolbox_redis_up')).toBe(1);
    expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(valueOf(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(samples.some((sample) => sample.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });

  it('is served at the root with the correlation headers and needs no user token', async () => {
    const response = await http(app).get('/metrics').set('X-Correlation-ID', 'scrape-1').expect(200);
    expect(response.headers['x-correlation-id']).toBe('scrape-1');
    expect(response.headers['x-request-duration']).toMatch(/^\d+\.\d{3}s$/);
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('is documented in the OpenAPI document as text, with its 401 and 404', async () => {
    const { body } = await http(app).get('/openapi.json').expect(200);
    const operation = body.paths['/metrics'].get;
    expect(Object.keys(operation.responses).sort()).toEqual(['200', '400', '401', '404', '408', '413', '431', '500', '508']);
    expect(Object.keys(operation.responses['200'].content)).toEqual(['text/plain; version=0.0.4; charset=utf-8']);
    expect(body.paths['/api/v1/metrics']).toBeUndefined();
  });
});

describe('the Grafana dashboard (docs/grafana/toolbox-metrics.json)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('queries only metrics this service exports, through its Prometheus data-source variable', async () => {
    const dashboard = JSON.parse(readFileSync(join(__dirname, '..', 'docs', 'grafana', 'toolbox-metrics.json'), 'utf8'));
    const text = (await http(app).get('/metrics').expect(200)).text;
    const exported = new Set<string>();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.add(name);
      if (type === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) exported.add(`${name}${suffix}`);
    }

    const panels = dashboard.panels as { id: number; type: string; datasource?: { uid: string }; targets?: { expr: string; datasource: { uid: string } }[] }[];
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    const targets = panels.flatMap((panel) => panel.targets ?? []);
    expect(targets.length).toBeGreaterThanOrEqual(15);
    const used = new Set(targets.flatMap((target) => [...target.expr.matchAll(/\b([a-z_:][a-z0-9_:]*)\{/g)].map((match) => match[1])));
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    for (const name of ['http_request_duration_seconds_bucket', 'toolbox_cache_hits_total', 'toolbox_rate_limit_rejections_total', 'toolbox_db_pool_connections', 'toolbox_redis_up', 'process_resident_memory_bytes']) {
      expect(used.has(name)).toBe(true);
    }
    // Importable: Grafana asks for the data source of the one __inputs entry and puts it wherever ${DS_PROMETHEUS} stands.
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    expect(dashboard.id).toBeNull();
    expect(new Set(targets.map((target) => target.datasource.uid))).toEqual(new Set(['${DS_PROMETHEUS}']));
    const references = [...JSON.stringify(dashboard).matchAll(/\$\{([A-Za-z_]+)\}/g)].map((match) => match[1]);
    expect(new Set(references)).toEqual(new Set(['DS_PROMETHEUS']));
    for (const variable of dashboard.templating.list as { type: string; datasource?: { uid: string } }[]) {
      expect(variable.type).not.toBe('datasource');
      if (variable.datasource) expect(variable.datasource.uid).toBe('${DS_PROMETHEUS}');
    }
    for (const panel of panels) if (panel.datasource) expect(panel.datasource.uid).toBe('${DS_PROMETHEUS}');
  });
});

describe('GET /metrics without Redis', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ redis: false });
  });
  afterAll(() => app.close());

  it('reports Redis as down (0)', async () => {
    expect(valueOf(await scrape(app), 'toolbox_redis_up')).toBe(0);
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  const metricsToken = 'prometheus-scrape-token-0123456789';
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { METRICS_TOKEN: metricsToken } });
  });
  afterAll(() => app.close());

  it('answers 401 problem+json without the token, with a wrong one and with a user token', async () => {
    const admin = await signup(app);
    for (const authorization of [undefined, `Bearer ${metricsToken}x`, `Bearer ${admin.token}`, metricsToken, `Basic ${metricsToken}`]) {
      const request = http(app).get('/metrics').set('X-Correlation-ID', 'scrape-denied');
      if (authorization) request.set('Authorization', authorization);
      const response = await request;
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.body).toEqual({
        type: 'https://toolbox-metrics.dev/problems/unauthorized',
        title: 'Unauthorized',
        status: 401,
        detail: 'GET /metrics requires the metrics bearer token (METRICS_TOKEN)',
        instance: '/metrics',
        correlation_id: 'scrape-denied',
      });
      expect(response.text).not.toContain('http_request_duration_seconds');
    }
  });

  it('serves the metrics with the token, counting the refused scrapes as 401s', async () => {
    await http(app).get('/metrics').expect(401);
    const samples = await scrape(app, metricsToken);
    expect(valueOf(samples, ...count('/metrics', '401'))).toBe(6);
  });
});

describe('GET /metrics with METRICS_ENABLED=false', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { METRICS_ENABLED: 'false' } });
  });
  afterAll(() => app.close());

  it('answers 404 problem+json', async () => {
    const response = await http(app).get('/metrics').set('X-Correlation-ID', 'scrape-off');
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.body).toEqual({
      type: 'https://toolbox-metrics.dev/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail: 'Cannot GET /metrics',
      instance: '/metrics',
      correlation_id: 'scrape-off',
    });
  });
});

describe('GET /metrics on the embedded database', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ redis: false, env: { DATABASE_URL: undefined, EMBEDDED_DATA_DIR: 'memory://', MIGRATIONS_RUN: 'true' } });
  });
  afterAll(() => app.close());

  it('reports the one PGlite connection', async () => {
    const samples = await scrape(app);
    expect(valueOf(samples, 'toolbox_db_pool_connections', { pool: 'primary' })).toBe(1);
    expect(valueOf(samples, 'toolbox_db_pool_waiting_requests', { pool: 'primary' })).toBe(0);
  });
});
