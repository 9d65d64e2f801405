import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Response } from 'supertest';
import { withProbeRoutes } from './correlation-probe.module';
import { http, signup } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const DURATION = /^\d+\.\d{3}s$/;

function expectCorrelationHeaders(response: Pick<Response, 'headers'>, correlationId: string | RegExp, chainDepth = 1): void {
  const headers = response.headers;
  if (typeof correlationId === 'string') expect(headers['x-correlation-id']).toBe(correlationId);
  else expect(headers['x-correlation-id']).toMatch(correlationId);
  expect(headers['x-request-id']).toMatch(UUID_V4);
  expect(headers['x-service-name']).toBe('toolbox-metrics');
  expect(headers['x-chain-depth']).toBe(String(chainDepth));
  expect(headers['x-request-duration']).toMatch(DURATION);
}

function expectProblem(response: Response, status: number, correlationId: string): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  expect(response.body.status).toBe(status);
  expect(response.body.correlation_id).toBe(correlationId);
}

/** A request written byte for byte, for what Node's HTTP client refuses to send (control characters). */
function rawRequest(testApp: TestApp, head: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const server = testApp.app.getHttpServer();
  const listening = server.listening ? Promise.resolve() : new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return listening.then(
    () =>
      new Promise((resolve, reject) => {
        const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write(head));
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString('latin1')));
        socket.on('error', reject);
        socket.on('close', () => {
          const [headText, body] = data.split('\r\n\r\n');
          const [statusLine, ...lines] = headText.split('\r\n');
          const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
          resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
        });
      }),
  );
}

describe('correlation headers', () => {
  let app: TestApp;
  let token: string;

  beforeAll(async () => {
    app = await createTestApp({ override: withProbeRoutes });
    token = (await signup(app)).token;
  });
  afterAll(() => app.close());

  it('are on a 200, echoing a valid incoming correlation id', async () => {
    const response = await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`).set('X-Correlation-ID', 'ok-200.me:1').expect(200);
    expectCorrelationHeaders(response, 'ok-200.me:1');
    expect(response.headers['x-parent-correlation-id']).toBeUndefined();
  });

  it('are on a 404 for an unknown route, with the same id in the problem body', async () => {
    const response = await http(app).get('/api/v1/no-such-route').set('X-Correlation-ID', 'kind-404');
    expectProblem(response, 404, 'kind-404');
    expectCorrelationHeaders(response, 'kind-404');
    expect(response.body).toEqual({
      type: 'https://toolbox-metrics.dev/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail: expect.stringContaining('GET /api/v1/no-such-route'),
      instance: '/api/v1/no-such-route',
      correlation_id: 'kind-404',
    });
    const outsidePrefix = await http(app).get('/no-such-root-route').set('X-Correlation-ID', 'kind-404-root');
    expectProblem(outsidePrefix, 404, 'kind-404-root');
    expectCorrelationHeaders(outsidePrefix, 'kind-404-root');
  });

  it('are on a 400 for malformed JSON, rejected before any controller', async () => {
    const response = await http(app).post('/api/v1/auth/login').set('X-Correlation-ID', 'kind-400').set('Content-Type', 'application/json').send('{"email": ');
    expectProblem(response, 400, 'kind-400');
    expectCorrelationHeaders(response, 'kind-400');
  });

  it('are on a 413 for a body over BODY_LIMIT_BYTES', async () => {
    const body = JSON.stringify({ email: 'a@example.test', password: 'x'.repeat(app.config.BODY_LIMIT_BYTES) });
    const response = await http(app).post('/api/v1/auth/login').set('X-Correlation-ID', 'kind-413').set('Content-Type', 'application/json').send(body);
    expectProblem(response, 413, 'kind-413');
    expectCorrelationHeaders(response, 'kind-413');
  });

  it('are on a 401 without a token', async () => {
    const response = await http(app).get('/api/v1/auth/me').set('X-Correlation-ID', 'kind-401');
    expectProblem(response, 401, 'kind-401');
    expectCorrelationHeaders(response, 'kind-401');
    expect(response.headers['www-authenticate']).toBe('Bearer');
  });

  it('are on a 429, whose problem body carries retry_after', async () => {
    const response = await http(app).get('/api/v1/probe/limited').set('X-Correlation-ID', 'kind-429');
    expectProblem(response, 429, 'kind-429');
    expectCorrelationHeaders(response, 'kind-429');
    expect(response.headers['retry-after']).toBe('7');
    expect(response.body.retry_after).toBe(7);
  });

  it('are on a 429 from the real rate limiter (login: 5 a minute per IP and e-mail)', async () => {
    const login = { email: 'limited@example.test', password: 'not the right password' };
    let response = await http(app).post('/api/v1/auth/login').set('X-Correlation-ID', 'kind-429-real').send(login);
    // Normally the 6th attempt; a few more in case the limiter falls back to memory on a loaded machine.
    for (let attempt = 2; attempt <= 12 && response.status === 401; attempt++) {
      response = await http(app).post('/api/v1/auth/login').set('X-Correlation-ID', 'kind-429-real').send(login);
    }
    expectProblem(response, 429, 'kind-429-real');
    expectCorrelationHeaders(response, 'kind-429-real');
    expect(Number(response.headers['retry-after'])).toBe(response.body.retry_after);
  });

  it('are on a 500 from an unhandled error, whose body holds no stack', async () => {
    const response = await http(app).get('/api/v1/probe/boom').set('X-Correlation-ID', 'kind-500');
    expectProblem(response, 500, 'kind-500');
    expectCorrelationHeaders(response, 'kind-500');
    expect(response.body.detail).toBe('An unexpected error occurred; quote the correlation id when reporting it');
    expect(response.text).not.toContain('probe exploded');
  });

  it('are on a streamed body, X-Request-Duration included', async () => {
    const response = await http(app).get('/api/v1/probe/stream').set('X-Correlation-ID', 'kind-stream').expect(200);
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.text).toBe('first chunk\nlast chunk\n');
    expectCorrelationHeaders(response, 'kind-stream');
  });

  it('answer 508 Loop Detected past MAX_CHAIN_DEPTH, and count the depth up to it', async () => {
    const atLimit = await http(app).get('/health/live').set('X-Chain-Depth', '9').set('X-Correlation-ID', 'depth-10').expect(200);
    expectCorrelationHeaders(atLimit, 'depth-10', 10);

    const response = await http(app).get('/health/live').set('X-Chain-Depth', '10').set('X-Correlation-ID', 'depth-11');
    expectCorrelationHeaders(response, 'depth-11', 11);
    expectProblem(response, 508, 'depth-11');
    expect(response.body).toEqual({
      type: 'https://toolbox-metrics.dev/problems/loop-detected',
      title: 'Loop Detected',
      status: 508,
      detail: 'Chain depth 11 exceeds the maximum of 10',
      instance: '/health/live',
      correlation_id: 'depth-11',
    });
  });

  it.each(['abc', '-3', '1.5', '9999999'])('count a malformed chain depth %p as 0', async (depth) => {
    const response = await http(app).get('/health/live').set('X-Chain-Depth', depth).expect(200);
    expectCorrelationHeaders(response, UUID_V4, 1);
  });

  it('give every request its own request id, even under one correlation id', async () => {
    const first = await http(app).get('/health/live').set('X-Correlation-ID', 'same-chain').expect(200);
    const second = await http(app).get('/health/live').set('X-Correlation-ID', 'same-chain').expect(200);
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
    expect(first.headers['x-request-id']).not.toBe('same-chain');
  });

  it('echo a well-formed X-Parent-Correlation-ID and drop a malformed one', async () => {
    const child = await http(app).get('/health/live').set('X-Correlation-ID', 'child-1').set('X-Parent-Correlation-ID', 'parent-1').set('X-Chain-Depth', '3').expect(200);
    expectCorrelationHeaders(child, 'child-1', 4);
    expect(child.headers['x-parent-correlation-id']).toBe('parent-1');

    const malformed = await http(app).get('/health/live').set('X-Parent-Correlation-ID', 'not a valid/parent').expect(200);
    expect(malformed.headers['x-parent-correlation-id']).toBeUndefined();
  });

  it('echo a correlation id of exactly 128 allowed characters', async () => {
    const id = `${'A'.repeat(60)}._:-${'z9'.repeat(32)}`;
    expect(id).toHaveLength(128);
    const response = await http(app).get('/health/live').set('X-Correlation-ID', id).expect(200);
    expectCorrelationHeaders(response, id);
  });

  it.each([
    ['oversized (129 characters)', 'a'.repeat(129)],
    ['with a space', 'has space'],
    ['with a slash', 'a/b'],
    ['with a semicolon', 'a;b'],
    ['with a tab', 'abc\tdef'],
    ['with a non-ASCII letter', 'caf\u00e9'],
    ['with a quote and angle brackets', '"<script>"'],
  ])('replace a correlation id %s by a fresh UUID v4, never echoed', async (_case, incoming) => {
    const response = await http(app).get('/api/v1/no-such-route').set('X-Correlation-ID', incoming);
    expect(response.status).toBe(404);
    expectCorrelationHeaders(response, UUID_V4);
    expect(response.headers['x-correlation-id']).not.toBe(incoming);
    expect(response.body.correlation_id).toBe(response.headers['x-correlation-id']);
    expect(response.text).not.toContain(incoming);
  });

  it('give each request without a correlation id a different fresh one', async () => {
    const first = await http(app).get('/health/live').expect(200);
    const second = await http(app).get('/health/live').expect(200);
    expectCorrelationHeaders(first, UUID_V4);
    expectCorrelationHeaders(second, UUID_V4);
    expect(first.headers['x-correlation-id']).not.toBe(second.headers['x-correlation-id']);
  });

  it.each([
    ['a control character', 'zzq\x01zzq'],
    ['an escape character', 'zzq\x1b[31mzzq'],
    ['a DEL character', 'zzq\x7fzzq'],
  ])('answer a header with %s as problem+json with the headers, never echoing it', async (_case, incoming) => {
    const response = await rawRequest(app, `GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: ${incoming}\r\nConnection: close\r\n\r\n`);
    expect(response.status).toBe(400);
    expectCorrelationHeaders(response, UUID_V4);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    const body = JSON.parse(response.body);
    expect(body).toEqual({
      type: 'https://toolbox-metrics.dev/problems/bad-request',
      title: 'Bad Request',
      status: 400,
      detail: 'The request is not valid HTTP (for instance a control character in a header)',
      instance: '',
      correlation_id: response.headers['x-correlation-id'],
    });
    expect(response.body).not.toContain('zzq');
  });

  it('answer headers over the size limit with 431 problem+json and the headers', async () => {
    const response = await rawRequest(app, `GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
    expect(response.status).toBe(431);
    expectCorrelationHeaders(response, UUID_V4);
    expect(JSON.parse(response.body).correlation_id).toBe(response.headers['x-correlation-id']);
  });
});

describe('correlation headers with a configured service name and depth', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { SERVICE_NAME: 'metrics-edge', MAX_CHAIN_DEPTH: '2' } });
  });
  afterAll(() => app.close());

  it('name SERVICE_NAME and apply MAX_CHAIN_DEPTH', async () => {
    const ok = await http(app).get('/health/live').set('X-Chain-Depth', '1').expect(200);
    expect(ok.headers['x-service-name']).toBe('metrics-edge');
    expect(ok.headers['x-chain-depth']).toBe('2');
    const looped = await http(app).get('/health/live').set('X-Chain-Depth', '2');
    expect(looped.status).toBe(508);
    expect(looped.headers['x-service-name']).toBe('metrics-edge');
    expect(looped.body.detail).toBe('Chain depth 3 exceeds the maximum of 2');
  });
});
