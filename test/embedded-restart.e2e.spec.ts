import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMBEDDED_JWT_SECRET_FILE } from '../src/config/app-config';
import { DemoData, DEMO_EMAIL } from '../src/demo/demo-data.service';
import { http } from './support/factories';
import { createTestApp, ManualClock, TestApp } from './support/test-app';

const HOUR = 3_600_000;

/** The embedded mode across a restart: the same data directory, the same signing secret, the demo topped up. */
describe('embedded mode across a restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tm-embedded-'));
  const clock = new ManualClock(Date.now() - 30 * HOUR);
  const start = () =>
    createTestApp({
      redis: false,
      clock,
      env: { DATABASE_URL: undefined, EMBEDDED_DATA_DIR: dataDir, JWT_SECRET: undefined, MIGRATIONS_RUN: undefined, DEMO_DATA: undefined },
    });
  let app: TestApp | undefined;
  afterAll(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the generated secret in the data directory, so a token survives; the demo is topped up to the new start', async () => {
    app = await start();
    const created = app.get(DemoData).status!;
    expect(created.password).toMatch(/^[A-Za-z0-9_-]{12}$/);
    const secretFile = join(dataDir, EMBEDDED_JWT_SECRET_FILE);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const login = await http(app).post('/api/v1/auth/login').send({ email: DEMO_EMAIL, password: created.password }).expect(200);
    const firstStart = clock.now();
    await app.close();

    // Thirty hours later: the service starts again on the same files.
    clock.advance(30 * HOUR);
    app = await start();
    const restarted = app.get(DemoData).status!;
    expect(restarted).toMatchObject({ organizationSlug: 'demo', email: DEMO_EMAIL, password: null });
    const me = await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${login.body.access_token}`).expect(200);
    expect(me.body.user.email).toBe(DEMO_EMAIL);

    const hours: { hour: Date; events: number }[] = await app.dataSource.query(
      `SELECT date_trunc('hour', occurred_at) AS hour, count(*)::int AS events FROM activity_events
        WHERE organization_id = $1 AND occurred_at > $2 GROUP BY 1 ORDER BY 1`,
      [me.body.organization.id, new Date(firstStart)],
    );
    const added = hours.reduce((sum, row) => sum + row.events, 0);
    expect(added).toBe(restarted.eventsAdded);
    // Thirty hours always include a daytime stretch: the gap is filled, not left at zero, and nothing lies ahead of "now".
    expect(hours.length).toBeGreaterThanOrEqual(12);
    expect(added).toBeGreaterThan(60);
    expect(Math.max(...hours.map((row) => new Date(row.hour).getTime()))).toBeLessThanOrEqual(clock.now());
    const [{ future }] = await app.dataSource.query(`SELECT count(*)::int AS future FROM activity_events WHERE occurred_at > $1`, [new Date(clock.now())]);
    expect(future).toBe(0);
  }, 240_000);
});
