import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { http, signup, SignedUp } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

/** The fenced blocks of a language in docs/integration.md, in order. */
function blocks(language: string): string[] {
  const text = readFileSync(join(ROOT, 'docs/integration.md'), 'utf8');
  return [...text.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1]);
}

describe('docs/integration.md, run as written', () => {
  let app: TestApp;
  let admin: SignedUp;
  const env: Record<string, string> = {};
  beforeAll(async () => {
    app = await createTestApp();
    await app.app.listen(0, '127.0.0.1');
    admin = await signup(app);
    env.TOOLBOX_URL = `http://127.0.0.1:${(app.app.getHttpServer().address() as AddressInfo).port}`;
    env.ADMIN_TOKEN = admin.token;
  });
  afterAll(() => app.close());

  const shell = async (script: string) => (await run('bash', ['-c', script], { env: { ...process.env, ...env } })).stdout;
  const count = async (sql: string) => (await app.dataSource.query(sql, [admin.organization.id]))[0].n as number;

  it('has the four examples: three curl commands and one xAPI client', () => {
    expect(blocks('bash')).toHaveLength(3);
    expect(blocks('js')).toHaveLength(1);
  });

  it('creates a key, sends events by external id, imports a roster and sends a statement', async () => {
    const [createKey, sendEvents, importRoster] = blocks('bash');
    const created = JSON.parse(await shell(createKey));
    expect(created).toMatchObject({ name: 'LMS production', scopes: ['events:write', 'metrics:read', 'users:write'], key: expect.stringMatching(/^tbm_/) });
    env.TBM_KEY = created.key;
    env.TBM_PREFIX = created.prefix;

    expect(JSON.parse(await shell(sendEvents))).toEqual({ accepted: 2, duplicates: 0 });
    expect(await count(`SELECT count(*)::int AS n FROM users WHERE organization_id = $1 AND external_id = 'lms-user-1001' AND name = 'Ada Lovelace'`)).toBe(1);

    expect(JSON.parse(await shell(importRoster))).toEqual({ created: 2, updated: 1, unchanged: 0 });
    const [ada] = await app.dataSource.query(`SELECT email, created_at FROM users WHERE organization_id = $1 AND external_id = 'lms-user-1001'`, [admin.organization.id]);
    expect(ada).toEqual({ email: 'ada@school.example', created_at: new Date('2025-08-15T08:00:00Z') });
    expect(await count(`SELECT count(*)::int AS n FROM users WHERE organization_id = $1 AND external_id = 'lms-user-1003' AND name = 'Hopper, Grace' AND NOT is_active`)).toBe(1);

    // The JS example, as a file beside node_modules so that require('@xapi/xapi') resolves.
    const file = join(ROOT, `.integration-doc-${process.pid}.cjs`);
    writeFileSync(file, blocks('js')[0]);
    try {
      const { stdout } = await run(process.execPath, [file], { env: { ...process.env, ...env } });
      const ids = JSON.parse(stdout);
      expect(ids).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/)]);
    } finally {
      rmSync(file, { force: true });
    }
    expect(await count(`SELECT count(*)::int AS n FROM activity_events WHERE organization_id = $1 AND type = 'assessment_submitted' AND score = 80`)).toBe(1);
    const dashboard = (await http(app).get('/api/v1/metrics/dashboard').set('Authorization', `Bearer ${env.TBM_KEY}`).expect(200)).body;
    expect(dashboard.engagement_metrics.total_lessons_completed).toBe(1);
    expect(dashboard.engagement_metrics.total_assessments).toBe(1);
  });
});
