import express, { type Express, type Request, type Response } from 'express';
import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { ExpressServerAdapter, expressShapedClasses } from './express-server.adapter';

setFlagsFromString('--allow-natives-syntax');
// Compiled after the flag: V8's own answer to "do these two objects share one map (hidden class)?".
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A connection of its own, closed with the response: no kept-alive socket outlives the test.
    httpRequest({ port, path, host: '127.0.0.1', agent: false, headers: { 'X-Probe': 'yes' } }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** An Express app whose route holds each request until a second one is at the same point, then compares their maps. */
function pairingApp(): { app: Express; pairs: Array<{ requests: boolean; responses: boolean }> } {
  const app = express();
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
});

describe('ExpressServerAdapter', () => {
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
