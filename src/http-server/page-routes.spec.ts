import express, { type Express } from 'express';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawRequest } from '../../test/support/raw-http';
import { isPagePath, pagesBehindOneTest, routerLength } from './page-routes';

const get = (port: number, path: string) => rawRequest(port, { path }).then(({ status, body }) => ({ status, body: body.toString('utf8') }));

describe('isPagePath', () => {
  it.each(['/', '/docs', '/docs/', '/docs/swagger-ui.css', '/docs-yaml', '/DOCS', '/redoc', '/redoc/redoc.standalone.js', '/openapi.json', '/favicon.ico', '/dashboard/uplot.js'])(
    'takes %s for a page',
    (path) => expect(isPagePath(path)).toBe(true),
  );
  it.each(['/health/live', '/api/v1/metrics/dashboard', '/metrics', '/api/v1/docs', '/dashboard', '//docs', ''])('does not take %s for one', (path) => expect(isPagePath(path)).toBe(false));
});

describe('pagesBehindOneTest', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** Pages, then an API route registered after them (as Nest registers its controllers after the docs), then a 404. */
  async function app(pages: (app: Express) => void): Promise<{ app: Express; port: number }> {
    const app = express();
    app.use((_request, response, next) => {
      response.setHeader('X-Seen', 'yes');
      next();
    });
    const from = routerLength(app);
    pages(app);
    pagesBehindOneTest(app, from);
    app.get('/health/live', (_request, response) => response.json({ status: 'ok' }));
    app.use((_request, response) => response.status(404).send('none'));
    server = createServer(app);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    return { app, port: (server.address() as AddressInfo).port };
  }

  function servePages(app: Express): void {
    const assets = mkdtempSync(join(tmpdir(), 'pages-'));
    writeFileSync(join(assets, 'swagger-ui.css'), 'body{}');
    app.get('/docs', (_request, response) => response.type('html').send('swagger'));
    app.use('/docs', express.static(assets, { index: false }));
    app.get('/redoc', (_request, response) => response.type('html').send('redoc'));
    app.get('/', (_request, response) => response.type('html').send('page'));
    app.get('/dashboard/:file', (request, response) => response.type('text').send(`file ${request.params.file as string}`));
  }

  it('still answers every page, static assets and route parameters included, and every other route after them', async () => {
    const { port } = await app(servePages);
    expect(await get(port, '/docs')).toEqual({ status: 200, body: 'swagger' });
    expect(await get(port, '/DOCS/')).toEqual({ status: 200, body: 'swagger' });
    expect(await get(port, '/docs/swagger-ui.css')).toEqual({ status: 200, body: 'body{}' });
    expect(await get(port, '/redoc/')).toEqual({ status: 200, body: 'redoc' });
    expect(await get(port, '/')).toEqual({ status: 200, body: 'page' });
    expect(await get(port, '/dashboard/uplot.js')).toEqual({ status: 200, body: 'file uplot.js' });
    expect(await get(port, '/docs/missing.css')).toEqual({ status: 404, body: 'none' });
    expect(await get(port, '/health/live')).toEqual({ status: 200, body: '{"status":"ok"}' });
    expect(await get(port, '/elsewhere')).toEqual({ status: 404, body: 'none' });
  });

  it('tests a request for anything but a page against no page route', async () => {
    const { app: served, port } = await app(servePages);
    const layers = (served.router as unknown as { stack: Array<{ name: string; match(path: string): boolean }> }).stack;
    // The header middleware, the gate (the five page layers are inside it), the API route, the 404.
    expect(layers.map((layer) => layer.name)).toEqual(['<anonymous>', 'pageRoutes', 'handle', '<anonymous>']);
    const matches = jest.fn();
    const originalMatch = Object.getPrototypeOf(layers[0]).match as (path: string) => boolean;
    jest.spyOn(Object.getPrototypeOf(layers[0]), 'match').mockImplementation(function (this: unknown, path: unknown) {
      matches(path);
      return originalMatch.call(this, path as string);
    });
    await get(port, '/health/live');
    // The header middleware, the gate and the route itself: none of the five page layers.
    expect(matches).toHaveBeenCalledTimes(3);
    jest.restoreAllMocks();
  });

  it('refuses a page route outside the page paths, and a page middleware that would answer the API', async () => {
    await expect(app((page) => page.get('/help', (_request, response) => response.send('help')))).rejects.toThrow(/\/help.*PAGE_PREFIXES/);
    await expect(app((page) => page.use((_request, response) => response.send('everything')))).rejects.toThrow(/a middleware/);
  });
});
