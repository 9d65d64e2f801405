import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Response } from 'supertest';
import { createLogger } from '../src/observability/logger';
import { PINO_LOGGER } from '../src/observability/observability.module';
import { ProbeService, withProbeRoutes } from './correlation-probe.module';
import { createUser, http, signup, uniqueEmail } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

type LogLine = Record<string, unknown> & { msg?: string; level: string };

/** Everything the app logs, as raw text (to grep for secrets) and as parsed JSON lines. */
class CapturedLogs {
  text = '';
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      this.text += chunk.toString();
      done();
    },
  });

  lines(): LogLine[] {
    return this.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);
  }

  clear(): void {
    this.text = '';
  }
}

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('structured logs of a running app', () => {
  const logs = new CapturedLogs();
  let app: TestApp;

  beforeAll(async () => {
    const logger = createLogger({ level: 'debug', serviceName: 'toolbox-metrics', destination: logs.stream });
    app = await createTestApp({ override: (builder) => withProbeRoutes(builder).overrideProvider(PINO_LOGGER).useValue(logger) });
  });
  afterAll(() => app.close());
  beforeEach(() => logs.clear());

  /** The lines logged while serving one request (requests run one at a time here). */
  async function linesOf(request: Promise<Response>): Promise<{ response: Response; lines: LogLine[] }> {
    logs.clear();
    const response = await request;
    return { response, lines: logs.lines() };
  }

  function expectIdsOnEveryLine(lines: LogLine[], response: Response, organizationId: string | null, userId: string | null): void {
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatchObject({
        service: 'toolbox-metrics',
        correlation_id: response.headers['x-correlation-id'],
        request_id: response.headers['x-request-id'],
        organization_id: organizationId,
        user_id: userId,
      });
    }
  }

  function completionLine(lines: LogLine[]): LogLine {
    const completions = lines.filter((line) => line.msg === 'request completed');
    expect(completions).toHaveLength(1);
    return completions[0];
  }

  it('give a request line by line the ids of its response headers, organization and user once authenticated', async () => {
    const admin = await signup(app);
    const { response, lines } = await linesOf(
      http(app).post('/api/v1/probe/echo').set('Authorization', `Bearer ${admin.token}`).set('X-Correlation-ID', 'log-echo-1').send({ note: 'hello' }),
    );
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ correlation_id: 'log-echo-1', organization_id: admin.organization.id });
    expectIdsOnEveryLine(lines, response, admin.organization.id, admin.user.id);
    // The service's own line, logged through Nest's Logger, sees the context that the middleware and the guard filled.
    expect(lines.filter((line) => line.context === 'ProbeService')).toEqual([
      expect.objectContaining({ level: 'info', msg: 'probe service saw a body', body: { note: 'hello' }, correlation_id: 'log-echo-1' }),
    ]);
    const completion = completionLine(lines);
    expect(completion).toMatchObject({ level: 'info', method: 'POST', route: '/api/v1/probe/echo', status: 201 });
    expect(completion.duration_ms).toBeGreaterThanOrEqual(Number.parseFloat(response.headers['x-request-duration']) * 1000 - 0.5);
  });

  it('log the route template, not the raw path, and "unmatched" for a 404', async () => {
    const admin = await signup(app);
    const learner = await createUser(app, admin.token);
    const patched = await linesOf(http(app).patch(`/api/v1/users/${learner.id}`).set('Authorization', `Bearer ${admin.token}`).send({ name: 'Renamed' }));
    expect(patched.response.status).toBe(200);
    expectIdsOnEveryLine(patched.lines, patched.response, admin.organization.id, admin.user.id);
    expect(completionLine(patched.lines)).toMatchObject({ method: 'PATCH', route: '/api/v1/users/:id', status: 200 });

    const missing = await linesOf(http(app).get(`/api/v1/nothing/${learner.id}`));
    expect(missing.response.status).toBe(404);
    expectIdsOnEveryLine(missing.lines, missing.response, null, null);
    expect(completionLine(missing.lines)).toMatchObject({ method: 'GET', route: 'unmatched', status: 404 });

    const wrongMethod = await linesOf(http(app).post('/health/live'));
    expect(wrongMethod.response.status).toBe(404);
    expect(completionLine(wrongMethod.lines)).toMatchObject({ method: 'POST', route: 'unmatched', status: 404 });
  });

  it('log an unhandled error with its stack under the correlation id, and no stack in the response', async () => {
    const { response, lines } = await linesOf(http(app).get('/api/v1/probe/boom').set('X-Correlation-ID', 'log-boom-1'));
    expect(response.status).toBe(500);
    expectIdsOnEveryLine(lines, response, null, null);
    const errors = lines.filter((line) => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ context: 'Errors', msg: 'unhandled error', correlation_id: 'log-boom-1' });
    const err = errors[0].err as { type: string; message: string; stack: string };
    expect(err.type).toBe('Error');
    expect(err.message).toBe('probe exploded with secret stack');
    expect(err.stack).toContain('at ProbeController.boom');
    expect(completionLine(lines)).toMatchObject({ route: '/api/v1/probe/boom', status: 500 });
  });

  it('log the trace id of a valid W3C traceparent on every line of the request, and ignore an invalid one', async () => {
    const admin = await signup(app);
    const traced = await linesOf(http(app).post('/api/v1/probe/echo').set('Authorization', `Bearer ${admin.token}`).set('traceparent', TRACEPARENT).send({}));
    expect(traced.response.status).toBe(201);
    for (const line of traced.lines) expect(line.trace_id).toBe('4bf92f3577b34da6a3ce929d0e0e4736');

    for (const invalid of ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'garbage']) {
      const untraced = await linesOf(http(app).get('/health/live').set('traceparent', invalid));
      expect(untraced.response.status).toBe(200);
      expect(completionLine(untraced.lines)).not.toHaveProperty('trace_id');
    }
  });

  it('log and count a request whose client left before the response once, as 499', async () => {
    const aborted = http(app).get('/api/v1/probe/hang').set('X-Correlation-ID', 'gone-early').timeout(100);
    await expect(aborted).rejects.toThrow(/Timeout/);
    // The server sees the socket close asynchronously: wait for its line rather than for a fixed time.
    for (let tries = 0; tries < 500 && !logs.text.includes('request aborted by the client'); tries++) await sleep(20);
    app.get(ProbeService).release();
    await sleep(20);
    const lines = logs.lines().filter((line) => line.correlation_id === 'gone-early');
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'request aborted by the client', aborted: true, method: 'GET', route: '/api/v1/probe/hang', status: 499 }),
    ]);
  });

  it('carry the parent correlation id when one came in', async () => {
    const { response, lines } = await linesOf(http(app).get('/health/live').set('X-Correlation-ID', 'child-9').set('X-Parent-Correlation-ID', 'parent-9'));
    expect(response.status).toBe(200);
    expect(completionLine(lines)).toMatchObject({ correlation_id: 'child-9', parent_correlation_id: 'parent-9' });
  });

  it('never write a password or a token: signup, login, authenticated calls, a logged body and an error quoting the header', async () => {
    const password = 'never-log-this-password-42';
    const email = uniqueEmail('secret');
    const signedUp = await http(app).post('/api/v1/auth/signup').send({ organization_name: 'Secretive', name: 'Quiet Admin', email, password }).expect(201);
    const login = await http(app).post('/api/v1/auth/login').send({ email, password }).expect(200);
    const token = login.body.access_token as string;
    await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`).set('Cookie', `session=${token}`).expect(200);
    await http(app)
      .post('/api/v1/probe/echo')
      .set('Authorization', `Bearer ${token}`)
      .send({ password, token, credentials: { access_token: token, nested: { password } }, headers: { authorization: `Bearer ${token}` } })
      .expect(201);
    const leaky = await http(app).get('/api/v1/probe/leaky').set('Authorization', `Bearer ${token}`);
    expect(leaky.status).toBe(500);
    await http(app).post('/api/v1/auth/login').send({ email, password: `${password}-wrong` }).expect(401);

    const output = logs.text;
    expect(output).toContain(signedUp.body.user.id);
    expect(output).not.toContain(password);
    expect(output).not.toContain(token);
    expect(output).not.toContain(signedUp.body.access_token);
    expect(output).not.toContain(token.split('.')[2]);
    const bodyLine = logs.lines().find((line) => line.msg === 'probe service saw a body');
    expect(bodyLine?.body).toEqual({
      password: '[REDACTED]',
      token: '[REDACTED]',
      credentials: { access_token: '[REDACTED]', nested: { password: '[REDACTED]' } },
      headers: { authorization: '[REDACTED]' },
    });
    const errorLine = logs.lines().find((line) => line.msg === 'unhandled error');
    expect((errorLine?.err as { message: string }).message).toBe('upstream rejected the credentials Bearer [REDACTED]');
  });
});

describe('log configuration', () => {
  it('honours LOG_LEVEL in the logger the app builds', async () => {
    const app = await createTestApp({ env: { LOG_LEVEL: 'warn' } });
    try {
      const logger = app.get<Logger>(PINO_LOGGER);
      expect(logger.level).toBe('warn');
      expect(logger.isLevelEnabled('info')).toBe(false);
      expect(logger.isLevelEnabled('warn')).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('writes only lines at or above its level, as JSON with an ISO time and the service name', () => {
    const logs = new CapturedLogs();
    const logger = createLogger({ level: 'warn', serviceName: 'svc-under-test', destination: logs.stream });
    logger.info('not written');
    logger.debug('not written either');
    logger.warn({ detail: 42 }, 'written');
    expect(logs.lines()).toEqual([{ level: 'warn', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), service: 'svc-under-test', detail: 42, msg: 'written' }]);
  });
});
