import type { Logger } from 'pino';
import { loadConfig } from '../src/config/app-config';
import { HTML_CONTENT_SECURITY_POLICY } from '../src/http-security/security-headers';
import { PINO_LOGGER } from '../src/observability/observability.module';
import { http, signup, uniqueEmail } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

/** Every src and href of a page's script and link tags. */
function assetsOf(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)=["']([^"']+)["']/g)].map((match) => match[1]);
}

describe('security headers', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('sends nosniff on every response: JSON, problems, 404, health, Prometheus', async () => {
    const account = await signup(app);
    const responses = [
      await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${account.token}`).expect(200),
      await http(app).get('/api/v1/auth/me').expect(401),
      await http(app).get('/no/such/page').expect(404),
      await http(app).get('/health/live').expect(200),
      await http(app).get('/metrics').expect(200),
      await http(app).get('/openapi.json').expect(200),
    ];
    for (const response of responses) expect(response.headers['x-content-type-options']).toBe('nosniff');
    // Frame and script rules are for pages; JSON needs none.
    expect(responses[0].headers['content-security-policy']).toBeUndefined();
  });

  it.each(['/docs', '/redoc'])('%s: no framing, a same-origin policy, and every asset it loads served from this origin', async (page) => {
    const response = await http(app).get(page).redirects(1).expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['content-security-policy']).toBe(HTML_CONTENT_SECURITY_POLICY);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    for (const directive of HTML_CONTENT_SECURITY_POLICY.split('; ')) expect(directive).not.toMatch(/https?:|\*/);
    // No inline script (script-src 'self' would block it): every script has a src.
    expect(response.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);

    const assets = assetsOf(response.text);
    expect(assets.filter((asset) => asset.endsWith('.js')).length).toBeGreaterThan(0);
    const base = new URL(response.request.url);
    for (const asset of assets) {
      const url = new URL(asset, base);
      expect(url.origin).toBe(base.origin);
      const loaded = await http(app).get(url.pathname).expect(200);
      expect(loaded.headers['x-content-type-options']).toBe('nosniff');
      if (asset.endsWith('.js')) expect(loaded.headers['content-type']).toMatch(/javascript/);
    }
  });

  it('marks responses that carry a token or a user record no-store', async () => {
    const email = uniqueEmail();
    const signed = await http(app).post('/api/v1/auth/signup').send({ organization_name: 'Store', name: 'S', email, password: 'correct horse battery' }).expect(201);
    const token = signed.body.access_token as string;
    const login = await http(app).post('/api/v1/auth/login').send({ email, password: 'correct horse battery' }).expect(200);
    const me = await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`).expect(200);
    const created = await http(app).post('/api/v1/users').set('Authorization', `Bearer ${token}`).send({ email: uniqueEmail(), name: 'U', role: 'student' }).expect(201);
    const list = await http(app).get('/api/v1/users').set('Authorization', `Bearer ${token}`).expect(200);
    const patched = await http(app).patch(`/api/v1/users/${created.body.id}`).set('Authorization', `Bearer ${token}`).send({ name: 'V' }).expect(200);
    for (const response of [signed, login, me, created, list, patched]) expect(response.headers['cache-control']).toBe('no-store');
  });

  it('keeps CORS closed when CORS_ORIGINS is empty', async () => {
    const preflight = await http(app).options('/api/v1/auth/login').set('Origin', 'https://app.example.test').set('Access-Control-Request-Method', 'POST');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const simple = await http(app).get('/health/live').set('Origin', 'https://app.example.test').expect(200);
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS_ORIGINS', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example.test, http://localhost:5173' } });
  });
  afterAll(() => app.close());

  it('answers a preflight from a listed origin with exactly that origin, and nothing to any other', async () => {
    for (const origin of ['https://app.example.test', 'http://localhost:5173']) {
      const preflight = await http(app)
        .options('/api/v1/metrics/dashboard')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'GET')
        .set('Access-Control-Request-Headers', 'authorization, x-correlation-id')
        .expect(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(origin);
      expect(preflight.headers['access-control-allow-headers']).toContain('Authorization');
      // A browser-based xAPI client sends the version header on every call.
      expect(preflight.headers['access-control-allow-headers']).toContain('X-Experience-API-Version');
      expect(preflight.headers['access-control-allow-methods']).toContain('GET');
      expect(preflight.headers['x-correlation-id']).toEqual(expect.any(String));
    }
    const other = await http(app).options('/api/v1/metrics/dashboard').set('Origin', 'https://evil.example.test').set('Access-Control-Request-Method', 'GET');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('adds the origin and the exposed headers to real responses, the cached hits included', async () => {
    const account = await signup(app);
    const origin = 'https://app.example.test';
    for (let n = 0; n < 3; n++) {
      const response = await http(app).get('/api/v1/metrics/dashboard').set('Origin', origin).set('Authorization', `Bearer ${account.token}`).expect(200);
      expect(response.headers['access-control-allow-origin']).toBe(origin);
      expect(response.headers['access-control-expose-headers']).toContain('X-Correlation-ID');
    }
  });

  it('refuses a malformed CORS_ORIGINS at start-up, naming the variable', async () => {
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS: CORS_ORIGINS must be empty or a comma-separated list of origins/);
    expect(loadConfig({ CORS_ORIGINS: ' https://a.test , http://b.test:8080 ' }).corsOrigins).toEqual(['https://a.test', 'http://b.test:8080']);
  });
});

describe('TRUST_PROXY warning', () => {
  it('warns once when requests carry X-Forwarded-For and no proxy is trusted', async () => {
    const app = await createTestApp();
    try {
      const warn = jest.spyOn(app.get<Logger>(PINO_LOGGER), 'warn');
      await http(app).get('/health/live').expect(200);
      expect(warn).not.toHaveBeenCalled();
      await http(app).get('/health/live').set('X-Forwarded-For', '203.0.113.9').expect(200);
      await http(app).get('/health/live').set('X-Forwarded-For', '203.0.113.10').expect(200);
      const warnings = warn.mock.calls.filter(([message]) => typeof message === 'string' && message.includes('TRUST_PROXY'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0][0]).toMatch(/^Requests carry X-Forwarded-For but TRUST_PROXY is empty/);
    } finally {
      await app.close();
    }
  });

  it('stays silent when a proxy is trusted', async () => {
    const app = await createTestApp({ env: { TRUST_PROXY: 'loopback' } });
    try {
      const warn = jest.spyOn(app.get<Logger>(PINO_LOGGER), 'warn');
      await http(app).get('/health/live').set('X-Forwarded-For', '203.0.113.9').expect(200);
      expect(warn.mock.calls.filter(([message]) => typeof message === 'string' && message.includes('TRUST_PROXY'))).toHaveLength(0);
    } finally {
      await app.close();
    }
  });
});
