import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { rawRequest } from '../../test/support/raw-http';
import { ExpressServerAdapter, expressShapedClasses, observeResponse, type ResponseObserver } from './express-server.adapter';

setFlagsFromString('--allow-natives-syntax');
// Compiled after the flag: V8's own answer to "do these two objects share one map (hidden class)?".
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** A connection of its own, closed with the response: no kept-alive socket outlives the test. */
const get = (port: number, path: string) =>
  rawRequest(port, { path, headers: { 'X-Probe': 'yes' } }).then(({ status, body }) => ({ status, body: body.toString('utf8') }));

/** An Express app whose route holds each request until a second one is at the same point, then compares their maps. */
function pairingApp(before?: RequestHandler): { app: Express; pairs: Array<{ requests: boolean; responses: boolean }> } {
  const app = express();
  if (before) app.use(before);
  const pairs: Array<{ requests: boolean; responses: boolean }> = [];
  let waiting: { request: Request; response: Response } | undefined;
  app.get('/pair/:id', (request, response) => {
    response.locals.seen = true;
    if (!waiting) {
      waiting = { request, response };
      return;
    }
    pairs.push({ requests: haveSameMap(request, waiting.request), responses: haveSameMap(response, waiting.response) });
    waiting.response.json({ ok: true });
    waiting = undefined;
    response.json({ ok: true });
  });
  return { app, pairs };
}

describe('expressShapedClasses', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it("builds requests and responses on the app's prototypes, so Express's own move changes nothing", async () => {
    const app = express();
    const { request: expressRequest, response: expressResponse } = app;
    const built: Array<{ request: boolean; response: boolean }> = [];
    app.get('/probe', (request, response) => {
      response.json({ header: request.get('x-probe'), sameApp: request.app === app, isIncoming: request instanceof IncomingMessage, isResponse: response instanceof ServerResponse });
    });
    server = createServer(expressShapedClasses(app));
    // Ahead of Express, as the cached-hit fast path is: the objects as node:http built them.
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      built.push({ request: Object.getPrototypeOf(request) === app.request, response: Object.getPrototypeOf(response) === app.response });
      app(request, response);
    });
    const port = await listen(server);

    const answer = await get(port, '/probe');

    expect(answer).toEqual({ status: 200, body: JSON.stringify({ header: 'yes', sameApp: true, isIncoming: true, isResponse: true }) });
    expect(built).toEqual([{ request: true, response: true }]);
    // The app's prototypes now inherit from the ones Express made, so nothing Express defines moved.
    expect(Object.getPrototypeOf(app.request)).toBe(expressRequest);
    expect(Object.getPrototypeOf(app.response)).toBe(expressResponse);
  });

  it('keeps every request and response of one route on one shared map', async () => {
    const { app, pairs } = pairingApp();
    server = createServer(expressShapedClasses(app), app);
    const port = await listen(server);

    for (let i = 0; i < 20; i++) await Promise.all([get(port, `/pair/${i}a`), get(port, `/pair/${i}b`)]);

    expect(pairs).toHaveLength(20);
    // The first few pairs may meet while V8 still tracks the objects' size; from then on every pair shares its maps.
    expect(pairs.slice(10)).toEqual(Array.from({ length: 10 }, () => ({ requests: true, responses: true })));
  });

  it("keeps an observed response on the same map as one nobody observes", async () => {
    // Every second request is observed: a pair is one observed and one not.
    let observe = false;
    const { app, pairs } = pairingApp((_request, response, next) => {
      if ((observe = !observe)) observeResponse(response, { headersWriting() {}, closed() {} });
      next();
    });
    server = createServer(expressShapedClasses(app), app);
    const port = await listen(server);

    for (let i = 0; i < 20; i++) await Promise.all([get(port, `/pair/${i}a`), get(port, `/pair/${i}b`)]);

    expect(pairs.slice(10)).toEqual(Array.from({ length: 10 }, () => ({ requests: true, responses: true })));
  });
});

/** An observer that notes each call with what the response showed at that moment. */
function recordingObserver(calls: string[], name = ''): ResponseObserver {
  return {
    headersWriting: (response) => calls.push(`${name}headers ${response.statusCode} sent=${response.headersSent} type=${String(response.getHeader('content-type'))}`),
    closed: (response) => calls.push(`${name}closed finished=${response.writableFinished}`),
  };
}

describe('observeResponse', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function serve(app: Express): Promise<number> {
    server = createServer(expressShapedClasses(app), app);
    return listen(server);
  }

  it('tells the observer right before the headers are written, whoever writes them, and once when the response is sent', async () => {
    const app = express();
    const calls: Record<string, string[]> = { json: [], end: [], writeHead: [] };
    app.get('/json', (_request, response) => {
      observeResponse(response, recordingObserver(calls.json));
      response.status(201).json({ ok: true });
    });
    // Node's implicit header write (end without writeHead).
    app.get('/end', (_request, response) => {
      observeResponse(response, recordingObserver(calls.end));
      response.setHeader('Content-Type', 'text/plain');
      response.end('plain');
    });
    // writeHead called by hand, then again: the observer hears the first only.
    app.get('/writeHead', (_request, response) => {
      observeResponse(response, recordingObserver(calls.writeHead));
      response.writeHead(202, { 'Content-Type': 'text/csv' });
      response.end('a,b\n');
    });
    const port = await serve(app);

    expect(await get(port, '/json')).toEqual({ status: 201, body: '{"ok":true}' });
    expect(await get(port, '/end')).toEqual({ status: 200, body: 'plain' });
    expect(await get(port, '/writeHead')).toEqual({ status: 202, body: 'a,b\n' });
    await new Promise((resolve) => setImmediate(resolve));

    expect(calls).toEqual({
      json: ['headers 201 sent=false type=application/json; charset=utf-8', 'closed finished=true'],
      end: ['headers 200 sent=false type=text/plain', 'closed finished=true'],
      // Headers passed to writeHead are not on the response yet when the observer hears of them.
      writeHead: ['headers 200 sent=false type=undefined', 'closed finished=true'],
    });
  });

  it('refuses a response that would tell nobody (one not built by expressShapedClasses)', async () => {
    const app = express();
    const refusals: string[] = [];
    app.get('/plain', (_request, response) => {
      try {
        observeResponse(response, recordingObserver([]));
      } catch (error) {
        refusals.push((error as Error).message);
      }
      response.json({ ok: true });
    });
    // node:http's own classes: Express moves them onto its prototypes, which have no observer hooks.
    server = createServer(app);
    const port = await listen(server);

    expect(await get(port, '/plain')).toEqual({ status: 200, body: '{"ok":true}' });
    expect(refusals).toEqual(['This response tells no observer: serve the app through ExpressServerAdapter (or expressShapedClasses)']);
  });

  it('tells it once when the client leaves before any answer, and only the last observer set', async () => {
    const app = express();
    const calls: string[] = [];
    let closed!: () => void;
    const closedOnce = new Promise<void>((resolve) => (closed = resolve));
    app.get('/slow', (_request, response) => {
      observeResponse(response, recordingObserver(calls, 'first '));
      // Handed on, as the cached-hit fast path hands a request to Express: the second observer takes over.
      observeResponse(response, recordingObserver(calls, 'second '));
      response.on('close', () => setImmediate(closed));
    });
    const port = await serve(app);

    const request = httpRequest({ port, path: '/slow', host: '127.0.0.1', agent: false });
    request.on('error', () => undefined).end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    request.destroy();
    await closedOnce;

    expect(calls).toEqual(['second closed finished=false']);
  });
});

describe('ExpressServerAdapter', () => {
  it.each([{ httpsOptions: {} }, { forceCloseConnections: true }, { return503OnClosing: true }])('refuses %j, which would build plain responses', (options) => {
    expect(() => new ExpressServerAdapter().initHttpServer(options)).toThrow(/does not support/);
  });

  it('serves through a server whose requests are built on the Express app prototypes', async () => {
    const adapter = new ExpressServerAdapter();
    const app = adapter.getInstance<Express>();
    adapter.initHttpServer({});
    const server = adapter.getHttpServer() as Server;
    let onAppPrototype = false;
    server.prependListener('request', (request: IncomingMessage) => (onAppPrototype = Object.getPrototypeOf(request) === app.request));
    app.get('/x', (_request, response) => response.json({ ok: true }));
    const port = await listen(server);
    try {
      expect(await get(port, '/x')).toEqual({ status: 200, body: '{"ok":true}' });
      expect(onAppPrototype).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** One raw exchange: status, the header lines as sent (Date aside: it differs by the second) and the body bytes. */
async function exchange(port: number, options: { method?: string; path: string; headers?: Record<string, string> }): Promise<{ status: number; headers: string[]; body: string }> {
  const { status, headerLines, body } = await rawRequest(port, options);
  return { status, headers: headerLines.filter((line) => !line.startsWith('Date: ')), body: body.toString('latin1') };
}

describe("ExpressResponse.json", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  });

  const long = { text: 'é'.repeat(700), items: Array.from({ length: 40 }, (_, i) => ({ i, name: `item ${i}`, ok: i % 2 === 0, none: null })) };
  /** The same routes on an app served as Express serves it and on one served through expressShapedClasses. */
  function routes(app: Express): void {
    app.get('/small', (_request, response) => response.json({ status: 'ok', 'naïve': 'ünïcödé ✓', n: 1.5 }));
    app.get('/long', (_request, response) => response.json(long));
    app.get('/created', (_request, response) => response.status(201).json([1, 'two', { three: 3 }]));
    app.get('/empty', (_request, response) => response.status(204).json({ ignored: true }));
    app.get('/typed', (_request, response) => response.type('application/problem+json').json({ status: 400 }));
    app.get('/nothing', (_request, response) => response.json(undefined));
    app.get('/cached', (_request, response) => response.set('Last-Modified', 'Wed, 02 Dec 2026 10:00:00 GMT').json({ fresh: 'maybe' }));
    app.head('/small', (_request, response) => response.json({ status: 'ok' }));
  }
  async function both(configure: (app: Express) => void): Promise<{ plain: number; shaped: number }> {
    const plain = express();
    const shaped = express();
    for (const app of [plain, shaped]) {
      configure(app);
      routes(app);
    }
    const plainServer = createServer(plain);
    const shapedServer = createServer(expressShapedClasses(shaped), shaped);
    servers.push(plainServer, shapedServer);
    return { plain: await listen(plainServer), shaped: await listen(shapedServer) };
  }

  const cases: Array<{ name: string; method?: string; path: string; headers?: Record<string, string> }> = [
    { name: 'a small object', path: '/small' },
    { name: 'a body of more than 1,000 characters, some of two bytes', path: '/long' },
    { name: 'another status and an array', path: '/created' },
    { name: '204', path: '/empty' },
    { name: 'a content type set before', path: '/typed' },
    { name: 'undefined', path: '/nothing' },
    { name: 'a conditional GET that matches', path: '/cached', headers: { 'If-Modified-Since': 'Thu, 03 Dec 2026 10:00:00 GMT' } },
    { name: 'a conditional GET that does not match', path: '/cached', headers: { 'If-Modified-Since': 'Tue, 01 Dec 2026 10:00:00 GMT' } },
    { name: 'HEAD', method: 'HEAD', path: '/small' },
  ];

  it.each([
    ['ETag off, as the service runs', (app: Express) => app.disable('etag')],
    ["Express's defaults (weak ETags)", () => undefined],
    ['JSON spaces and escaping', (app: Express) => app.disable('etag').set('json spaces', 2).set('json escape', true)],
  ])('sends exactly what Express sends, header for header and byte for byte, with %s', async (_settings, configure) => {
    const ports = await both(configure);
    for (const { name, ...request } of cases) {
      const [expected, actual] = await Promise.all([exchange(ports.plain, request), exchange(ports.shaped, request)]);
      expect({ name, ...actual }).toEqual({ name, ...expected });
    }
  });

  it("sends a plain JSON answer without Express's content-type handling, and leaves the rest to Express", async () => {
    const set = jest.spyOn(express.response, 'set');
    const ports = await both((app) => app.disable('etag'));

    const small = await exchange(ports.shaped, { path: '/small' });
    expect(small.status).toBe(200);
    expect(small.headers).toEqual(expect.arrayContaining(['Content-Type: application/json; charset=utf-8', `Content-Length: ${Buffer.byteLength(small.body, 'latin1')}`]));
    expect(JSON.parse(Buffer.from(small.body, 'latin1').toString('utf8'))).toEqual({ status: 'ok', 'naïve': 'ünïcödé ✓', n: 1.5 });
    expect(set).not.toHaveBeenCalled();

    // A content type set before: Express's send, which adds the charset.
    const typed = await exchange(ports.shaped, { path: '/typed' });
    expect(typed.headers).toContain('Content-Type: application/problem+json; charset=utf-8');
    expect(set).toHaveBeenCalled();
  });
});
