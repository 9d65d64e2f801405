import type { ChildProcess } from 'node:child_process';
import { Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { Response } from 'supertest';
import { PrincipalCache } from '../src/auth/principal-cache';
import { RevocationChannel } from '../src/auth/revocation-channel';
import { CacheStats } from '../src/cache/cache-stats';
import { GenerationChannel } from '../src/cache/generation-channel';
import { MetricsCache } from '../src/cache/metrics-cache';
import { CachedHitFastPath } from '../src/fast-path/cached-hit-fast-path';
import { createLogger } from '../src/observability/logger';
import { PINO_LOGGER } from '../src/observability/observability.module';
import { RequestMetrics } from '../src/observability/request-metrics';
import { RateLimitStats } from '../src/rate-limit/rate-limit-stats';
import { RateLimitStorage } from '../src/rate-limit/rate-limit-storage';
import { RedisConnection } from '../src/redis/redis-connection';
import { createContent, createUser, event, http, signup, SignedUp, userWithRole } from './support/factories';
import { freePort, startRedis, stopRedis, waitFor } from './support/private-redis';
import { rawRequest } from './support/raw-http';
import { createTestApp, TEST_JWT_SECRET, TestApp } from './support/test-app';

const DASHBOARD = '/api/v1/metrics/dashboard';

/** Where a request was answered: the fast path never calls MetricsCache.serve, the Nest path always does for these routes. */
function watchNestPath(app: TestApp) {
  const cache = app.get(MetricsCache);
  const serve = jest.spyOn(cache, 'serve');
  return {
    /** Runs the request and says whether the Nest path (the interceptor) served it. */
    async through(request: Promise<Response>): Promise<{ response: Response; nest: boolean }> {
      const before = serve.mock.calls.length;
      const response = await request;
      return { response, nest: serve.mock.calls.length > before };
    },
  };
}

const get = (app: TestApp, token: string, path: string) => http(app).get(path).set('Authorization', `Bearer ${token}`);

/** Makes the next request of this caller take the Nest path: the fast path only uses principals already cached. */
const forgetPrincipal = (app: TestApp, account: SignedUp) => app.get(PrincipalCache).forget(account.organization.id, account.user.id);

function hs256(claims: object): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${unsigned}.${createHmac('sha256', TEST_JWT_SECRET).update(unsigned).digest('base64url')}`;
}

/** Response headers without the two that differ by nature between any two responses. */
function stableHeaders(response: Response): Record<string, string> {
  const { date: _date, 'x-request-id': _id, 'x-request-duration': _duration, ...rest } = response.headers as Record<string, string>;
  return rest;
}

describe('cached hits served ahead of Express and Nest', () => {
  let app: TestApp;
  let watch: ReturnType<typeof watchNestPath>;
  beforeAll(async () => {
    app = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } });
    watch = watchNestPath(app);
  });
  afterAll(() => app.close());

  it('discovers the @CachedMetric routes from their metadata', () => {
    expect(app.get(CachedHitFastPath).templates.sort()).toEqual(['/api/v1/metrics/activity', '/api/v1/metrics/dashboard', '/api/v1/metrics/insights', '/api/v1/metrics/statistics']);
  });

  it('answers a hit with the bytes and headers the Nest path sends for the same hit', async () => {
    const org = await signup(app);
    const miss = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect([miss.nest, miss.response.body.cache_metadata.cache_hit]).toEqual([true, false]);

    forgetPrincipal(app, org);
    const headers = { 'X-Correlation-ID': 'fast-path-1', 'X-Parent-Correlation-ID': 'caller-7', 'X-Chain-Depth': '3' };
    const nest = await watch.through(get(app, org.token, DASHBOARD).set(headers).expect(200));
    const fast = await watch.through(get(app, org.token, DASHBOARD).set(headers).expect(200));
    expect([nest.nest, fast.nest]).toEqual([true, false]);

    expect(fast.response.text).toBe(nest.response.text);
    expect(fast.response.body.cache_metadata).toEqual({ ...miss.response.body.cache_metadata, cache_hit: true });
    expect(stableHeaders(fast.response)).toEqual(stableHeaders(nest.response));
    expect(Object.keys(fast.response.headers)).toEqual(Object.keys(nest.response.headers));
    expect(stableHeaders(fast.response)).toEqual({
      'x-correlation-id': 'fast-path-1',
      'x-parent-correlation-id': 'caller-7',
      'x-service-name': 'toolbox-metrics',
      'x-chain-depth': '4',
      'x-content-type-options': 'nosniff',
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(nest.response.text)),
      connection: 'close',
    });
    expect(fast.response.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(fast.response.headers['x-request-id']).not.toBe(nest.response.headers['x-request-id']);
    expect(fast.response.headers['x-request-duration']).toMatch(/^\d+\.\d{3}s$/);
    // A malformed correlation id is replaced, never echoed, on this path too.
    const replaced = await watch.through(get(app, org.token, DASHBOARD).set('X-Correlation-ID', 'bad id!').expect(200));
    expect(replaced.nest).toBe(false);
    expect(replaced.response.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves activity and statistics by their normalized query, as the interceptor keys them', async () => {
    const org = await signup(app);
    const activity = await watch.through(get(app, org.token, '/api/v1/metrics/activity?hours=24').expect(200));
    const sameEntry = await watch.through(get(app, org.token, '/api/v1/metrics/activity?limit=20&hours=24').expect(200));
    expect([activity.nest, sameEntry.nest, sameEntry.response.body.cache_metadata]).toEqual([
      true,
      false,
      { ...activity.response.body.cache_metadata, cache_hit: true },
    ]);
    // hours=024 means hours=24: the fast path answers it from the same entry.
    const zeros = await watch.through(get(app, org.token, '/api/v1/metrics/activity?hours=024').expect(200));
    expect([zeros.nest, zeros.response.body.cache_metadata]).toEqual([false, { ...activity.response.body.cache_metadata, cache_hit: true }]);
    const other = await watch.through(get(app, org.token, '/api/v1/metrics/activity?hours=2').expect(200));
    expect([other.nest, other.response.body.cache_metadata.cache_hit]).toEqual([true, false]);

    const statistics = await watch.through(get(app, org.token, '/api/v1/metrics/statistics').expect(200));
    const again = await watch.through(get(app, org.token, '/api/v1/metrics/statistics?period=7d').expect(200));
    expect([statistics.nest, again.nest, again.response.body.cache_metadata.cache_key]).toEqual([true, false, statistics.response.body.cache_metadata.cache_key]);
    expect(again.response.body.cache_metadata.cache_hit).toBe(true);
  });

  it('makes the next read recompute after a write of users, content or events', async () => {
    const org = await signup(app);
    await get(app, org.token, DASHBOARD).expect(200);
    expect((await watch.through(get(app, org.token, DASHBOARD).expect(200))).nest).toBe(false);

    const learner = await createUser(app, org.token);
    const afterUser = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect([afterUser.nest, afterUser.response.body.cache_metadata.cache_hit, afterUser.response.body.user_metrics.total_users]).toEqual([true, false, 2]);
    expect((await watch.through(get(app, org.token, DASHBOARD).expect(200))).nest).toBe(false);

    await createContent(app, org.token, { status: 'published' });
    const afterContent = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect([afterContent.nest, afterContent.response.body.cache_metadata.cache_hit, afterContent.response.body.content_metrics.published_content]).toEqual([
      true,
      false,
      1,
    ]);
    expect((await watch.through(get(app, org.token, DASHBOARD).expect(200))).nest).toBe(false);

    await http(app)
      .post('/api/v1/events')
      .set('Authorization', `Bearer ${org.token}`)
      .send({ events: [event(learner.id, { type: 'assessment_submitted', score: 70 })] })
      .expect(202);
    const afterEvent = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect([afterEvent.nest, afterEvent.response.body.cache_metadata.cache_hit, afterEvent.response.body.engagement_metrics.total_assessments]).toEqual([
      true,
      false,
      1,
    ]);

    await http(app).post('/api/v1/metrics/invalidate-cache').set('Authorization', `Bearer ${org.token}`).expect(200);
    const afterInvalidation = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect([afterInvalidation.nest, afterInvalidation.response.body.cache_metadata.cache_hit]).toEqual([true, false]);
  });

  it('leaves to Nest every request it cannot answer exactly, which answers as before', async () => {
    const org = await signup(app);
    const student = await userWithRole(app, org, 'student');
    await get(app, org.token, DASHBOARD).expect(200);
    await get(app, student.token, '/api/v1/auth/me').expect(200); // the student's principal is cached too
    const hit = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect(hit.nest).toBe(false);

    const unauthorized = await http(app).get(DASHBOARD).set('Authorization', 'Bearer aaa.bbb.ccc').expect(401);
    expect([unauthorized.headers['www-authenticate'], unauthorized.body.detail]).toEqual(['Bearer', 'The access token is invalid or expired']);
    await http(app).get(DASHBOARD).expect(401);
    const now = Math.floor(Date.now() / 1000);
    const expired = hs256({ sub: org.user.id, org: org.organization.id, role: 'admin', iat: now - 7200, exp: now - 3600 });
    expect((await get(app, expired, DASHBOARD).expect(401)).body.detail).toBe('The access token is invalid or expired');

    const forbidden = await get(app, student.token, DASHBOARD).expect(403);
    expect(forbidden.body.detail).toBe('This endpoint is for admin or teacher users');

    const unknown = await get(app, org.token, `${DASHBOARD}?hours=24`).expect(400);
    expect(unknown.body.errors).toEqual([{ field: 'hours', message: 'property hours should not exist' }]);
    const repeated = await watch.through(get(app, org.token, `${DASHBOARD}?force_refresh=false&force_refresh=false`));
    expect([repeated.nest, repeated.response.status]).toEqual([false, 400]); // the validation pipe refuses the array
    const maybe = await get(app, org.token, `${DASHBOARD}?force_refresh=maybe`).expect(400);
    expect(maybe.body.errors).toEqual([{ field: 'force_refresh', message: 'force_refresh must be one of: true, false' }]);

    const refreshed = await watch.through(get(app, org.token, `${DASHBOARD}?force_refresh=true`).expect(200));
    expect([refreshed.nest, refreshed.response.body.cache_metadata.cache_hit]).toEqual([true, false]);
    // The refreshed entry replaced the held one: the next hit carries its instant.
    const afterRefresh = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect([afterRefresh.nest, afterRefresh.response.body.cache_metadata]).toEqual([false, { ...refreshed.response.body.cache_metadata, cache_hit: true }]);

    const tooDeep = await get(app, org.token, DASHBOARD).set('X-Chain-Depth', '10').expect(508);
    expect(tooDeep.body.detail).toBe('Chain depth 11 exceeds the maximum of 10');
    const withBody = await get(app, org.token, DASHBOARD).set('Content-Type', 'application/json').send('{"broken');
    expect([withBody.status, withBody.body.detail]).toEqual([400, 'The request body is not valid JSON']);
    // Express matches paths case-insensitively and with a trailing slash; those reach it as before.
    const variant = await watch.through(get(app, org.token, `${DASHBOARD}/`).expect(200));
    expect([variant.nest, variant.response.body.cache_metadata.cache_hit]).toEqual([true, true]);
  });

  it('records, counts and logs a fast-path hit once, with the fields of the correlation middleware', async () => {
    const org = await signup(app);
    await get(app, org.token, DASHBOARD).expect(200);
    const metrics = app.get(RequestMetrics);
    const record = jest.spyOn(metrics, 'record');
    const stats = app.get(CacheStats);
    const hitsBefore = stats.hits;
    const missesBefore = stats.misses;
    const fast = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect(fast.nest).toBe(false);
    await waitFor(() => record.mock.calls.length > 0, 'the completion record');
    expect(record.mock.calls).toEqual([[DASHBOARD, 'GET', 200, expect.any(Number)]]);
    expect(Number(record.mock.calls[0][3])).toBeGreaterThanOrEqual(0);
    expect([stats.hits - hitsBefore, stats.misses - missesBefore]).toEqual([1, 0]);
    record.mockRestore();
  });

  it('answers hits of two organizations on many connections at once, each with its own headers and its own organization\'s entry', async () => {
    const first = await signup(app);
    const second = await signup(app);
    // Different figures, so a hit written with the other organization's bytes would show.
    await createUser(app, second.token);
    await createUser(app, second.token);
    const singles = [await get(app, first.token, DASHBOARD).expect(200), await get(app, second.token, DASHBOARD).expect(200)];
    expect(singles.map((single) => single.body.user_metrics.total_users)).toEqual([1, 3]);
    const record = jest.spyOn(app.get(RequestMetrics), 'record');
    // Interleaved, so the hits read in one turn and written together belong to both organizations.
    const many = await Promise.all(
      Array.from({ length: 30 }, (_, i) => watch.through(get(app, [first, second][i % 2].token, DASHBOARD).set('X-Correlation-ID', `many-${i}`).expect(200))),
    );
    expect(many.filter((answer) => answer.nest)).toHaveLength(0);
    for (const [i, { response }] of many.entries()) {
      const single = singles[i % 2];
      expect(response.headers['x-correlation-id']).toBe(`many-${i}`);
      expect(response.body).toEqual({ ...single.body, cache_metadata: { ...single.body.cache_metadata, cache_hit: true } });
    }
    await waitFor(() => record.mock.calls.length >= 30, 'thirty completion records');
    expect(record.mock.calls.filter(([route, , status]) => route === DASHBOARD && status === 200)).toHaveLength(30);
    record.mockRestore();
  });

  it('decides every request of a keep-alive connection by its own token: another organization, a bad token, a role change, a logout', async () => {
    const first = await signup(app);
    const second = await signup(app);
    await createUser(app, second.token);
    await createUser(app, second.token);
    const teacher = await userWithRole(app, first, 'teacher');
    const server = app.app.getHttpServer() as Server;
    if (!server.listening) await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as { port: number };
    // One socket for every request: a client that keeps its connection and changes its token.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const answer = async (token: string) => {
      let reused = false;
      const { response, nest } = await watch.through(
        rawRequest(port, { path: DASHBOARD, agent, headers: { Authorization: `Bearer ${token}` } }).then((raw) => {
          reused = raw.reusedSocket;
          return { status: raw.status, body: JSON.parse(raw.body.toString('utf8')) } as unknown as Response;
        }),
      );
      const body = response.body as { user_metrics?: { total_users: number }; detail?: string };
      return { status: response.status, users: body.user_metrics?.total_users ?? body.detail, nest, reused };
    };
    try {
      expect(await answer(first.token)).toEqual({ status: 200, users: 2, nest: true, reused: false });
      expect(await answer(second.token)).toEqual({ status: 200, users: 3, nest: true, reused: true });
      expect(await answer(first.token)).toEqual({ status: 200, users: 2, nest: false, reused: true });
      expect(await answer(second.token)).toEqual({ status: 200, users: 3, nest: false, reused: true });
      expect(await answer(`${first.token}x`)).toEqual({ status: 401, users: 'The access token is invalid or expired', nest: false, reused: true });
      // The teacher's first request reads who the teacher is (the Nest path); the next is a hit.
      expect(await answer(teacher.token)).toEqual({ status: 200, users: 2, nest: true, reused: true });
      expect(await answer(teacher.token)).toEqual({ status: 200, users: 2, nest: false, reused: true });

      // Outdated by a role change: the connection's last good token is refused on its next request.
      await http(app).patch(`/api/v1/users/${teacher.id}`).set('Authorization', `Bearer ${first.token}`).send({ role: 'student' }).expect(200);
      expect(await answer(teacher.token)).toEqual({ status: 401, users: 'The access token is invalid or expired', nest: false, reused: true });
      // The role change was a write of the organization's users: its figures are computed again.
      expect(await answer(first.token)).toEqual({ status: 200, users: 2, nest: true, reused: true });
      expect(await answer(first.token)).toEqual({ status: 200, users: 2, nest: false, reused: true });
      await http(app).post('/api/v1/auth/logout').set('Authorization', `Bearer ${first.token}`).expect(204);
      expect(await answer(first.token)).toEqual({ status: 401, users: 'The access token is invalid or expired', nest: false, reused: true });
      expect(await answer(second.token)).toEqual({ status: 200, users: 3, nest: false, reused: true });
    } finally {
      agent.destroy();
    }
  });

  /** The fast path's own write of a hit, run at the end of the event-loop turn that read the request. */
  const sendHitOf = (fastPath: CachedHitFastPath) =>
    jest.spyOn(fastPath as unknown as { sendHit: (served: { request: IncomingMessage; response: ServerResponse }, ...rest: unknown[]) => void }, 'sendHit');

  it('records a client that left before its hit was written as aborted (499), once, and goes on serving', async () => {
    const org = await signup(app);
    await get(app, org.token, DASHBOARD).expect(200);
    const record = jest.spyOn(app.get(RequestMetrics), 'record');
    const sendHit = sendHitOf(app.get(CachedHitFastPath));
    const write = (CachedHitFastPath.prototype as unknown as { sendHit: (...args: unknown[]) => void }).sendHit;
    sendHit.mockImplementationOnce(function (this: unknown, served, ...rest) {
      // The client goes between the read of its request and the end of that turn: its response closes first.
      served.response.once('close', () => write.call(this, served, ...rest));
      served.request.socket.destroy();
    });
    await expect(get(app, org.token, DASHBOARD)).rejects.toThrow(/socket hang up|ECONNRESET/);
    await waitFor(() => record.mock.calls.length > 0, 'the completion record');
    await new Promise((done) => setTimeout(done, 50));
    expect(record.mock.calls).toEqual([[DASHBOARD, 'GET', 499, expect.any(Number)]]);
    const next = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect(next.nest).toBe(false);
    sendHit.mockRestore();
    record.mockRestore();
  });

  it('ends the connection of a hit whose write fails, logs it, and answers the others', async () => {
    const org = await signup(app);
    await get(app, org.token, DASHBOARD).expect(200);
    const logged = jest.spyOn(app.get<Logger>(PINO_LOGGER), 'error');
    const sendHit = sendHitOf(app.get(CachedHitFastPath));
    sendHit.mockImplementationOnce(() => {
      throw new Error('writev failed');
    });
    const [failed, ...others] = await Promise.allSettled([
      get(app, org.token, DASHBOARD).set('X-Correlation-ID', 'fails-1'),
      ...[1, 2, 3].map(() => get(app, org.token, DASHBOARD)),
    ]);
    sendHit.mockRestore();
    // Which request's write runs first is the server's order; exactly one of the four fails, the rest are answered.
    const outcomes = [failed, ...others].map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.status : 'ended'));
    expect(outcomes.filter((outcome) => outcome === 'ended')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 200)).toHaveLength(3);
    expect(logged).toHaveBeenCalledWith(expect.objectContaining({ err: expect.objectContaining({ message: 'writev failed' }) }), 'A cached hit could not be written');
    logged.mockRestore();
    await get(app, org.token, DASHBOARD).expect(200);
  });
});

describe('log line of a fast-path hit', () => {
  let text = '';
  let app: TestApp;
  beforeAll(async () => {
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        text += chunk.toString();
        done();
      },
    });
    const logger: Logger = createLogger({ level: 'info', serviceName: 'toolbox-metrics', destination: stream });
    app = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' }, override: (builder) => builder.overrideProvider(PINO_LOGGER).useValue(logger) });
  });
  afterAll(() => app.close());

  const completions = () =>
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'request completed');

  it('is the one line the Nest path writes for a hit, with the same fields', async () => {
    const org = await signup(app);
    const watch = watchNestPath(app);
    await get(app, org.token, DASHBOARD).expect(200);
    forgetPrincipal(app, org);
    text = '';
    const nest = await watch.through(get(app, org.token, DASHBOARD).set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01').expect(200));
    await waitFor(() => completions().length === 1, 'the Nest line');
    const nestLine = completions()[0];
    text = '';
    const fast = await watch.through(
      get(app, org.token, DASHBOARD).set({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'X-Parent-Correlation-ID': 'caller-1' }).expect(200),
    );
    await waitFor(() => completions().length === 1, 'the fast-path line');
    expect([nest.nest, fast.nest]).toEqual([true, false]);
    const fastLine = completions()[0];
    expect(text.split('\n').filter(Boolean)).toHaveLength(1);
    expect(fastLine).toEqual({
      level: 'info',
      time: expect.any(String),
      service: 'toolbox-metrics',
      correlation_id: fast.response.headers['x-correlation-id'],
      request_id: fast.response.headers['x-request-id'],
      organization_id: org.organization.id,
      user_id: org.user.id,
      parent_correlation_id: 'caller-1',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      method: 'GET',
      route: DASHBOARD,
      status: 200,
      duration_ms: expect.any(Number),
      msg: 'request completed',
    });
    const { parent_correlation_id: _parent, ...withoutParent } = fastLine;
    expect(Object.keys(withoutParent).sort()).toEqual(Object.keys(nestLine).sort());
    expect(text).not.toContain(org.token);
  });

  it("writes each organization's and user's own ids in the lines of interleaved hits, in the Nest path's field order", async () => {
    const first = await signup(app);
    const second = await signup(app);
    const watch = watchNestPath(app);
    for (const account of [first, second]) await get(app, account.token, DASHBOARD).expect(200);
    text = '';
    // Interleaved hits of both on many connections: each line is rendered around its own user's fields.
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => watch.through(get(app, [first, second][i % 2].token, DASHBOARD).set('X-Correlation-ID', `lines-${i}`).expect(200))),
    );
    expect(answers.filter((answer) => answer.nest)).toHaveLength(0);
    await waitFor(() => completions().length === 12, 'twelve fast-path lines');
    const lines = text.split('\n').filter(Boolean);
    for (const [i, { response }] of answers.entries()) {
      const account = [first, second][i % 2];
      const line = lines.find((candidate) => candidate.includes(`"correlation_id":"lines-${i}"`));
      expect(line).toBeDefined();
      expect(Object.keys(JSON.parse(line as string))).toEqual(['level', 'time', 'service', 'correlation_id', 'request_id', 'organization_id', 'user_id', 'method', 'route', 'status', 'duration_ms', 'msg']);
      expect(JSON.parse(line as string)).toEqual({
        level: 'info',
        time: expect.any(String),
        service: 'toolbox-metrics',
        correlation_id: `lines-${i}`,
        request_id: response.headers['x-request-id'],
        organization_id: account.organization.id,
        user_id: account.user.id,
        method: 'GET',
        route: DASHBOARD,
        status: 200,
        duration_ms: expect.any(Number),
        msg: 'request completed',
      });
    }
  });
});

describe('rate limiting across both paths', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('spends one budget once per request, whichever path serves it, and refuses with the same 429', async () => {
    const org = await signup(app);
    const watch = watchNestPath(app);
    const served: Array<{ nest: boolean; remaining: string }> = [];
    const responses: Response[] = [];
    for (let n = 1; n <= 10; n++) {
      // Requests 1 (the miss) and 5 go through Nest; the others are fast-path hits.
      if (n === 5) forgetPrincipal(app, org);
      const { response, nest } = await watch.through(get(app, org.token, DASHBOARD).expect(200));
      expect(response.headers['x-ratelimit-limit']).toBe('10');
      served.push({ nest, remaining: response.headers['x-ratelimit-remaining'] });
      responses.push(response);
    }
    expect(served).toEqual(Array.from({ length: 10 }, (_, i) => ({ nest: i === 0 || i === 4, remaining: String(9 - i) })));
    // A Nest-path hit (5th) and a fast-path hit (6th): the same headers in the same order, the same bytes.
    const [nestHit, fastHit] = [responses[4], responses[5]];
    expect(Object.keys(fastHit.headers)).toEqual(Object.keys(nestHit.headers));
    const { 'x-ratelimit-remaining': _r1, ...nestRest } = stableHeaders(nestHit);
    const { 'x-ratelimit-remaining': _r2, ...fastRest } = stableHeaders(fastHit);
    expect([fastRest['x-correlation-id'], nestRest['x-correlation-id']].every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);
    expect({ ...fastRest, 'x-correlation-id': '' }).toEqual({ ...nestRest, 'x-correlation-id': '' });
    expect(fastHit.text).toBe(nestHit.text);

    const hitsBefore = app.get(CacheStats).hits;
    const fastRefusal = await watch.through(get(app, org.token, DASHBOARD).expect(429));
    expect(fastRefusal.nest).toBe(false);
    forgetPrincipal(app, org);
    const nestRefusal = await watch.through(get(app, org.token, DASHBOARD).expect(429));
    expect(app.get(CacheStats).hits).toBe(hitsBefore); // a refused request looks nothing up
    expect(app.get(RateLimitStats).rejectionsByEndpoint().get(`GET ${DASHBOARD}`)).toBe(2);

    expect(fastRefusal.response.body).toEqual({
      type: 'https://toolbox-metrics.dev/problems/too-many-requests',
      title: 'Too Many Requests',
      status: 429,
      detail: 'Rate limit of 10 requests per minute exceeded on GET /api/v1/metrics/dashboard (violation 1 in 24 h); blocked for 300 s',
      instance: DASHBOARD,
      correlation_id: fastRefusal.response.headers['x-correlation-id'],
      retry_after: 300,
    });
    expect(nestRefusal.response.body).toEqual({
      ...fastRefusal.response.body,
      detail: expect.stringMatching(/^Blocked on GET \/api\/v1\/metrics\/dashboard for another (300|299) s after exceeding its rate limit$/),
      correlation_id: nestRefusal.response.headers['x-correlation-id'],
      retry_after: expect.any(Number),
    });
    const { 'x-correlation-id': _a, 'content-length': _b, 'retry-after': _c, ...fastHeaders } = stableHeaders(fastRefusal.response);
    const { 'x-correlation-id': _d, 'content-length': _e, 'retry-after': _f, ...nestHeaders } = stableHeaders(nestRefusal.response);
    expect(fastHeaders).toEqual(nestHeaders);
    expect(Object.keys(fastRefusal.response.headers)).toEqual(Object.keys(nestRefusal.response.headers));
    expect(fastRefusal.response.headers['retry-after']).toBe('300');
    expect(fastHeaders['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(fastHeaders['x-ratelimit-remaining']).toBe('0');
  });
});

describe('a budget that cannot be asked', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('hands the request to Nest, which answers and records it once', async () => {
    const org = await signup(app);
    const watch = watchNestPath(app);
    await get(app, org.token, DASHBOARD).expect(200);
    expect((await watch.through(get(app, org.token, DASHBOARD).expect(200))).nest).toBe(false);

    jest.spyOn(app.get(RateLimitStorage), 'increment').mockRejectedValueOnce(new Error('unexpected'));
    const record = jest.spyOn(app.get(RequestMetrics), 'record');
    const handed = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect([handed.nest, handed.response.body.cache_metadata.cache_hit, handed.response.headers['x-ratelimit-remaining']]).toEqual([true, true, '7']);
    await waitFor(() => record.mock.calls.length > 0, 'the completion record');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(record.mock.calls).toEqual([[DASHBOARD, 'GET', 200, expect.any(Number)]]);
  });
});

describe('two instances on one Redis', () => {
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    const shared = { RATE_LIMIT_ENABLED: 'false', REDIS_KEY_PREFIX: `t${randomBytes(4).toString('hex')}` };
    first = await createTestApp({ env: shared });
    second = await createTestApp({ env: shared });
    await waitFor(() => first.get(GenerationChannel).live && second.get(GenerationChannel).live, 'both channels');
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  it('a write through one makes the other recompute on its next read once the message is in', async () => {
    const org = await signup(first);
    const onSecond = watchNestPath(second);
    // Delivery to the other instance races the client's next request on one busy machine (docs/caching.md says
    // why that cannot matter across a network); the test waits for the message, then checks what it does.
    const heard: string[] = [];
    second.get(GenerationChannel).listen({
      moved: (organizationId, generation) => heard.push(`g ${organizationId} ${generation}`),
      replaced: (key) => heard.push(`r ${key}`),
    });
    const computed = (await get(first, org.token, DASHBOARD).expect(200)).body;
    await get(second, org.token, DASHBOARD).expect(200); // the second instance reads the entry from Redis and keeps it
    const held = await onSecond.through(get(second, org.token, DASHBOARD).expect(200));
    expect([held.nest, held.response.body.cache_metadata]).toEqual([false, { ...computed.cache_metadata, cache_hit: true }]);

    await createUser(first, org.token);
    await waitFor(() => heard.includes(`g ${org.organization.id} 2`), 'the generation move on the second instance');
    const next = await onSecond.through(get(second, org.token, DASHBOARD).expect(200));
    expect([next.nest, next.response.body.cache_metadata.cache_hit, next.response.body.user_metrics.total_users]).toEqual([true, false, 2]);
    expect(next.response.body.cache_metadata.cache_key).toBe(computed.cache_metadata.cache_key.replace(':g1:', ':g2:'));

    // A force refresh through the first replaces the entry; the second drops its older copy.
    const refreshed = (await get(first, org.token, `${DASHBOARD}?force_refresh=true`).expect(200)).body;
    await waitFor(() => heard.includes(`r ${refreshed.cache_metadata.cache_key}`), 'the replacement on the second instance');
    const afterRefresh = await onSecond.through(get(second, org.token, DASHBOARD).expect(200));
    expect(afterRefresh.response.body.cache_metadata).toEqual({ ...refreshed.cache_metadata, cache_hit: true });
  });
});

describe('the fast path without a live channel', () => {
  let port: number;
  let server: ChildProcess;
  let first: TestApp;
  let second: TestApp;
  // The fast path needs both channels of an instance: cache generations and token revocations.
  const channelsLive = () => [first, second].every((app) => app.get(GenerationChannel).live && app.get(RevocationChannel).live);

  beforeAll(async () => {
    port = await freePort();
    server = await startRedis(port);
    const shared = { REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_ENABLED: 'false', REDIS_KEY_PREFIX: `t${randomBytes(4).toString('hex')}` };
    first = await createTestApp({ env: shared });
    second = await createTestApp({ env: shared });
    await waitFor(channelsLive, 'both channels on the private Redis');
  });
  afterAll(async () => {
    await first.close();
    await second.close();
    await stopRedis(server);
  });

  it('forgets what it held when its subscription drops, and learns again once resubscribed', async () => {
    const org = await signup(first);
    const onSecond = watchNestPath(second);
    await get(first, org.token, DASHBOARD).expect(200);
    await get(second, org.token, DASHBOARD).expect(200);
    expect((await onSecond.through(get(second, org.token, DASHBOARD).expect(200))).nest).toBe(false);

    const channel = second.get(GenerationChannel);
    const epoch = channel.epoch;
    const admin = first.get(RedisConnection).client!;
    await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    await waitFor(() => channel.epoch >= epoch + 2 && channel.live && second.get(RevocationChannel).live, 'the second instance to resubscribe');

    const relearnt = await onSecond.through(get(second, org.token, DASHBOARD).expect(200));
    expect([relearnt.nest, relearnt.response.body.cache_metadata.cache_hit]).toEqual([true, true]);
    expect((await onSecond.through(get(second, org.token, DASHBOARD).expect(200))).nest).toBe(false);
  });

  it('serves no held hit while Redis is down, nor the held entry of a generation Redis no longer has', async () => {
    const org = await signup(first);
    const onSecond = watchNestPath(second);
    const computed = (await get(first, org.token, DASHBOARD).expect(200)).body;
    await get(second, org.token, DASHBOARD).expect(200);
    expect((await onSecond.through(get(second, org.token, DASHBOARD).expect(200))).nest).toBe(false);

    await stopRedis(server);
    await waitFor(() => !second.get(GenerationChannel).live, 'the second instance to lose its channel');
    const down = await onSecond.through(get(second, org.token, DASHBOARD).expect(200));
    expect([down.nest, down.response.body.cache_metadata.cache_hit]).toEqual([true, false]);

    // Redis returns empty: generation 0, no entries. The entry held under generation 1 must never be served again.
    server = await startRedis(port);
    await waitFor(channelsLive, 'both channels back', 20_000);
    await createUser(first, org.token);
    const after = await onSecond.through(get(second, org.token, DASHBOARD).expect(200));
    expect([after.nest, after.response.body.cache_metadata.cache_hit, after.response.body.user_metrics.total_users]).toEqual([true, false, 2]);
    // The same key name as the entry held before the outage: only forgetting it on the loss keeps it from being served.
    expect(after.response.body.cache_metadata.cache_key).toBe(computed.cache_metadata.cache_key);
  });

  it('drops what it learnt when a generation goes backwards (Redis flushed), at the next write', async () => {
    const org = await signup(first);
    await createUser(first, org.token);
    const onSecond = watchNestPath(second);
    await get(first, org.token, DASHBOARD).expect(200);
    await get(second, org.token, DASHBOARD).expect(200);
    const held = await onSecond.through(get(second, org.token, DASHBOARD).expect(200));
    expect([held.nest, held.response.body.cache_metadata.cache_key]).toEqual([false, expect.stringContaining(':g2:')]);

    await first.get(RedisConnection).client!.flushAll();
    // The figures did not change: what is held is still right until the next write...
    expect((await onSecond.through(get(second, org.token, DASHBOARD).expect(200))).nest).toBe(false);
    // ...whose generations (1, then 2) repeat the old key names.
    await createUser(first, org.token);
    await createUser(first, org.token);
    const after = await onSecond.through(get(second, org.token, DASHBOARD).expect(200));
    expect([after.nest, after.response.body.cache_metadata.cache_hit, after.response.body.user_metrics.total_users]).toEqual([true, false, 4]);
    expect(after.response.body.cache_metadata.cache_key).toBe(held.response.body.cache_metadata.cache_key);
  });
});

describe('the fast path in the embedded mode (no REDIS_URL)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' }, redis: false });
  });
  afterAll(() => app.close());

  it('serves hits from process memory and recomputes after a write', async () => {
    const org = await signup(app);
    const watch = watchNestPath(app);
    const miss = (await get(app, org.token, DASHBOARD).expect(200)).body;
    const hit = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect([hit.nest, hit.response.body.cache_metadata]).toEqual([false, { ...miss.cache_metadata, cache_hit: true }]);
    await createUser(app, org.token);
    const after = await watch.through(get(app, org.token, DASHBOARD).expect(200));
    expect([after.nest, after.response.body.cache_metadata.cache_hit, after.response.body.user_metrics.total_users]).toEqual([true, false, 2]);
  });
});
