import XAPI from '@xapi/xapi';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { http, signup, SignedUp } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

const ADL = 'http://adlnet.gov/expapi/verbs/';
const LESSON = 'https://lms.example/courses/7/lessons/3';
const QUIZ = 'https://lms.example/courses/7/quiz';

/** One statement as an LMS would send it; `minutesAgo` keeps every event inside today's and the 24 h windows. */
function statement(actor: object, verb: string, object: object, extra: Record<string, unknown> = {}) {
  return { id: randomUUID(), actor, verb: { id: verb, display: { 'en-US': verb.split('/').pop() } }, object, timestamp: new Date(Date.now() - 60_000).toISOString(), ...extra };
}
const activity = (id: string, type: string, name: string) => ({ objectType: 'Activity', id, definition: { type: `http://adlnet.gov/expapi/activities/${type}`, name: { 'de-DE': `${name} (de)`, 'en-US': name } } });

describe('xAPI statements through a real xAPI client', () => {
  let app: TestApp;
  let admin: SignedUp;
  let endpoint: string;
  let key: { id: string; prefix: string; key: string };
  let lrs: XAPI;

  beforeAll(async () => {
    app = await createTestApp();
    await app.app.listen(0, '127.0.0.1');
    endpoint = `http://127.0.0.1:${(app.app.getHttpServer().address() as AddressInfo).port}/api/v1/xapi/`;
    admin = await signup(app);
    key = (await http(app).post('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).send({ name: 'LMS', scopes: ['events:write'] }).expect(201)).body;
    // Configured as an LMS is: the endpoint, and the key as HTTP Basic credentials.
    lrs = new XAPI({ endpoint, auth: XAPI.toBasicAuth(key.prefix, key.key), version: '1.0.3' });
  });
  afterAll(() => app.close());

  const events = async () =>
    (await app.dataSource.query(`SELECT count(*)::int AS n FROM activity_events WHERE organization_id = $1`, [admin.organization.id]))[0].n as number;
  const dashboard = async () => (await http(app).get('/api/v1/metrics/dashboard?force_refresh=true').set('Authorization', `Bearer ${admin.token}`).expect(200)).body;

  it('answers about without authentication', async () => {
    const about = await lrs.getAbout();
    expect(about.data).toEqual({ version: ['1.0.3', '2.0.0'] });
    expect(about.headers['x-experience-api-version']).toBe('1.0.3');
  });

  it('turns an LMS’s statements into the dashboard’s figures', async () => {
    const ada = { objectType: 'Agent', name: 'Ada Lovelace', mbox: 'mailto:ada@school.example' };
    const bob = { account: { homePage: 'https://lms.example', name: 'u-2002' }, name: 'Bob Byte' };
    const before = await dashboard();
    const statements = [
      statement(ada, `${ADL}completed`, activity(LESSON, 'lesson', 'Fractions'), { result: { completion: true, score: { scaled: 0.9 } } }),
      statement(ada, `${ADL}passed`, activity(QUIZ, 'assessment', 'Fractions quiz'), { result: { success: true, score: { raw: 8, min: 0, max: 10 } } }),
      statement(bob, `${ADL}failed`, activity(QUIZ, 'assessment', 'Fractions quiz'), { result: { success: false, score: { scaled: -0.5 } } }),
      statement(bob, `${ADL}terminated`, activity(LESSON, 'lesson', 'Fractions'), { result: { duration: 'PT25M30S' } }),
      statement(ada, 'https://w3id.org/xapi/adl/verbs/logged-in', { id: 'https://lms.example' }),
      // Valid, stored, but no event: a verb outside the mapping, an object that is not an Activity, a session without duration.
      statement(bob, `${ADL}experienced`, activity(LESSON, 'lesson', 'Fractions')),
      statement(ada, `${ADL}completed`, { objectType: 'Agent', mbox: 'mailto:tutor@school.example' }),
      statement(bob, `${ADL}suspended`, activity(LESSON, 'lesson', 'Fractions')),
    ];
    const response = await lrs.sendStatements({ statements: statements as never });
    expect(response.data).toEqual(statements.map((s) => s.id));
    expect(response.headers['x-experience-api-version']).toBe('1.0.3');

    const after = await dashboard();
    expect(after.user_metrics.total_users - before.user_metrics.total_users).toBe(2);
    expect(after.user_metrics.new_users_today - before.user_metrics.new_users_today).toBe(2);
    expect(after.engagement_metrics.total_lessons_completed - before.engagement_metrics.total_lessons_completed).toBe(1);
    expect(after.engagement_metrics.total_assessments - before.engagement_metrics.total_assessments).toBe(2);
    // The only session: 1,530 s = 25.5 minutes.
    expect(after.engagement_metrics.avg_session_duration).toBe(25.5);
    expect(after.content_metrics.total_content - before.content_metrics.total_content).toBe(2);
    expect(after.content_metrics.published_content - before.content_metrics.published_content).toBe(2);

    const activityFigures = (await http(app).get('/api/v1/metrics/activity?hours=24').set('Authorization', `Bearer ${admin.token}`).expect(200)).body;
    expect(activityFigures.top_content).toEqual([{ id: expect.any(String), title: 'Fractions', content_type: 'lesson', completions: 1, avg_score: 90 }]);
    expect(activityFigures.recent_assessments).toBe(2);
    expect(activityFigures.recent_sessions).toBe(1);

    const learners = await app.dataSource.query(
      `SELECT external_id, name, role, email, password_hash IS NULL AS no_password FROM users WHERE organization_id = $1 AND external_id IS NOT NULL ORDER BY external_id`,
      [admin.organization.id],
    );
    expect(learners).toEqual([
      { external_id: 'https://lms.example|u-2002', name: 'Bob Byte', role: 'student', email: null, no_password: true },
      { external_id: 'mailto:ada@school.example', name: 'Ada Lovelace', role: 'student', email: null, no_password: true },
    ]);
    const content = await app.dataSource.query(
      `SELECT external_id, title, content_type, status FROM educational_content WHERE organization_id = $1 AND external_id IS NOT NULL ORDER BY external_id`,
      [admin.organization.id],
    );
    expect(content).toEqual([
      { external_id: LESSON, title: 'Fractions', content_type: 'lesson', status: 'published' },
      { external_id: QUIZ, title: 'Fractions quiz', content_type: 'quiz', status: 'published' },
    ]);
    const scores = await app.dataSource.query(
      `SELECT e.type, e.score, e.duration_seconds, u.external_id FROM activity_events e JOIN users u ON u.organization_id = e.organization_id AND u.id = e.user_id
        WHERE e.organization_id = $1 ORDER BY e.type, e.score NULLS LAST`,
      [admin.organization.id],
    );
    expect(scores).toEqual([
      { type: 'assessment_submitted', score: 0, duration_seconds: null, external_id: 'https://lms.example|u-2002' },
      { type: 'assessment_submitted', score: 80, duration_seconds: null, external_id: 'mailto:ada@school.example' },
      { type: 'lesson_completed', score: 90, duration_seconds: null, external_id: 'mailto:ada@school.example' },
      { type: 'login', score: null, duration_seconds: null, external_id: 'mailto:ada@school.example' },
      { type: 'session', score: null, duration_seconds: 1530, external_id: 'https://lms.example|u-2002' },
    ]);

    const metrics = (await http(app).get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/toolbox_xapi_statements_total\{mapped="true"\} 5\b/);
    expect(metrics).toMatch(/toolbox_xapi_statements_total\{mapped="false"\} 3\b/);
  });

  it('returns a stored statement with stored and authority, and 404 for an unknown id', async () => {
    const sent = statement({ mbox: 'mailto:carol@school.example' }, `${ADL}completed`, activity(LESSON, 'lesson', 'Fractions'));
    await lrs.sendStatement({ statement: sent as never });
    const fetched = await lrs.getStatement({ statementId: sent.id });
    expect(fetched.data).toEqual({
      ...sent,
      stored: expect.any(String),
      authority: { objectType: 'Agent', account: { homePage: expect.stringMatching(/\/api\/v1\/api-keys$/), name: key.id } },
      version: '1.0.0',
    });
    expect(Date.now() - Date.parse((fetched.data as { stored: string }).stored)).toBeLessThan(60_000);
    await expect(lrs.getStatement({ statementId: randomUUID() })).rejects.toMatchObject({ response: { status: 404 } });
  });

  it('stores each statement from the text its client sent, in any charset, with id, stored, authority and the missing timestamp and version set', async () => {
    // fetch, which sends the bytes as they are (supertest would serialize a Buffer as JSON).
    const post = async (body: Buffer, contentType: string) => {
      const response = await fetch(`${endpoint}statements`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key.key}`, 'X-Experience-API-Version': '1.0.3', 'Content-Type': contentType },
        body: new Uint8Array(body),
      });
      return { status: response.status, body: (await response.json()) as string[] };
    };
    const get = async (id: string) =>
      (await http(app).get(`/api/v1/xapi/statements?statementId=${id}`).set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').expect(200)).body;
    const at = new Date(Date.now() - 60_000).toISOString();
    // Escapes, spacing, an upper-case id, a statement without id or timestamp, and a stored and an authority to overwrite.
    const text = (id: string, learner: string, name: string) => `[
      {"id": "${id.toUpperCase()}", "actor": {"mbox": "mailto:${learner}@school.example", "name": "${name}"},
       "verb": {"id": "${ADL}completed"}, "object": {"id": "${LESSON}"}, "result": {"score": {"scaled": 0.50}},
       "timestamp": "${at}", "version": "1.0.3", "stored": "2001-01-01T00:00:00Z", "authority": {"mbox": "mailto:forged@school.example"}},
      {"actor": {"mbox": "mailto:${learner}@school.example"}, "verb": {"id": "${ADL}experienced"}, "object": {"id": "${LESSON}"}}
    ]`;
    const variants = [
      { learner: 'utf8', contentType: 'application/json', body: (t: string) => Buffer.from(t), name: 'Zo\\u00eb', stored: 'Zoë' },
      { learner: 'bom', contentType: 'application/json; charset=utf-8', body: (t: string) => Buffer.from(`\ufeff${t}`), name: 'Zoë', stored: 'Zoë' },
      { learner: 'utf16', contentType: 'application/json; charset=utf-16le', body: (t: string) => Buffer.from(t, 'utf16le'), name: 'Zoë', stored: 'Zoë' },
      // Not UTF-8: the invalid byte is read as U+FFFD, as everywhere in the API.
      { learner: 'latin1', contentType: 'application/json', body: (t: string) => Buffer.from(t, 'latin1'), name: 'Zoë', stored: 'Zo\ufffd' },
    ];
    const authority = { objectType: 'Agent', account: { homePage: expect.stringMatching(/\/api\/v1\/api-keys$/), name: key.id } };
    for (const variant of variants) {
      const id = randomUUID();
      const count = await events();
      const answer = await post(variant.body(text(id, variant.learner, variant.name)), variant.contentType);
      expect({ variant: variant.learner, status: answer.status, body: answer.body }).toEqual({ variant: variant.learner, status: 200, body: [id, expect.any(String)] });
      const ids = answer.body;
      const [first, second] = [await get(ids[0]), await get(ids[1])];
      expect({ variant: variant.learner, first }).toEqual({
        variant: variant.learner,
        first: {
          id,
          actor: { mbox: `mailto:${variant.learner}@school.example`, name: variant.stored },
          verb: { id: `${ADL}completed` },
          object: { id: LESSON },
          result: { score: { scaled: 0.5 } },
          timestamp: at,
          version: '1.0.3',
          stored: expect.any(String),
          authority,
        },
      });
      expect(Date.now() - Date.parse(first.stored)).toBeLessThan(60_000);
      // No timestamp: the time it was stored. No version: the one the request spoke.
      expect(second).toEqual({
        id: ids[1],
        actor: { mbox: `mailto:${variant.learner}@school.example` },
        verb: { id: `${ADL}experienced` },
        object: { id: LESSON },
        timestamp: first.stored,
        version: '1.0.0',
        stored: first.stored,
        authority,
      });
      // The completion made one event; experienced makes none.
      expect(await events()).toBe(count + 1);
    }
  });

  it('keeps each organization’s statements apart: one id stored by two organizations, each read back only with its own key', async () => {
    const other = await signup(app);
    const otherKey = (await http(app).post('/api/v1/api-keys').set('Authorization', `Bearer ${other.token}`).send({ name: 'LMS', scopes: ['events:write'] }).expect(201)).body;
    const get = (id: string, bearer: string) =>
      http(app).get(`/api/v1/xapi/statements?statementId=${id}`).set('Authorization', `Bearer ${bearer}`).set('X-Experience-API-Version', '1.0.3');
    const count = async (organizationId: string) =>
      (await app.dataSource.query(`SELECT count(*)::int AS n FROM activity_events WHERE organization_id = $1`, [organizationId]))[0].n as number;
    const [ours, theirs] = [await count(admin.organization.id), await count(other.organization.id)];
    const mine = statement({ mbox: 'mailto:kim@school.example' }, `${ADL}completed`, activity(LESSON, 'lesson', 'Fractions'), { result: { score: { scaled: 0.9 } } });
    // The same id with a different statement: another organization's, so neither a repeat nor a conflict.
    const yours = { ...mine, actor: { mbox: 'mailto:lee@other.example' }, result: { score: { scaled: 0.2 } } };
    await http(app).post('/api/v1/xapi/statements').set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').send([mine]).expect(200);
    await http(app).post('/api/v1/xapi/statements').set('Authorization', `Bearer ${otherKey.key}`).set('X-Experience-API-Version', '1.0.3').send([yours]).expect(200);

    const [first, second] = [(await get(mine.id, key.key).expect(200)).body, (await get(mine.id, otherKey.key).expect(200)).body];
    expect({ actor: first.actor, result: first.result, authority: first.authority.account.name }).toEqual({ actor: mine.actor, result: { score: { scaled: 0.9 } }, authority: key.id });
    expect({ actor: second.actor, result: second.result, authority: second.authority.account.name }).toEqual({ actor: yours.actor, result: { score: { scaled: 0.2 } }, authority: otherKey.id });
    const rows = await app.dataSource.query(`SELECT organization_id, api_key_id FROM xapi_statements WHERE id = $1 ORDER BY organization_id = $2 DESC`, [mine.id, admin.organization.id]);
    expect(rows).toEqual([
      { organization_id: admin.organization.id, api_key_id: key.id },
      { organization_id: other.organization.id, api_key_id: otherKey.id },
    ]);
    // One event each, in its own organization.
    expect([await count(admin.organization.id), await count(other.organization.id)]).toEqual([ours + 1, theirs + 1]);
    // A statement only the other organization holds is not found with this key.
    const only = statement({ mbox: 'mailto:max@other.example' }, `${ADL}completed`, activity(LESSON, 'lesson', 'Fractions'));
    await http(app).post('/api/v1/xapi/statements').set('Authorization', `Bearer ${otherKey.key}`).set('X-Experience-API-Version', '1.0.3').send(only).expect(200);
    await get(only.id, key.key).expect(404);
  });

  it('accepts an equal statement again without a second event, and refuses a different one with the same id (409)', async () => {
    const sent = statement({ mbox: 'mailto:dan@school.example' }, `${ADL}completed`, activity(LESSON, 'lesson', 'Fractions'), { result: { score: { scaled: 0.5 } } });
    await lrs.sendStatement({ statement: sent as never });
    const count = await events();
    // Equal: the verb's display and the activity's definition are not part of the comparison.
    const again = { ...sent, verb: { id: sent.verb.id, display: { 'en-GB': 'completed' } }, object: { id: LESSON } };
    expect((await lrs.sendStatement({ statement: again as never })).data).toEqual([sent.id]);
    await http(app).put(`/api/v1/xapi/statements?statementId=${sent.id}`).set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').send(sent).expect(204);
    // A UUID is the same id in either letter case.
    await http(app).put(`/api/v1/xapi/statements?statementId=${sent.id.toUpperCase()}`).set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').send(sent).expect(204);
    expect(await events()).toBe(count);

    const fresh = statement({ mbox: 'mailto:erin@school.example' }, `${ADL}completed`, activity(LESSON, 'lesson', 'Fractions'));
    const different = { ...sent, result: { score: { scaled: 0.6 } } };
    const conflict = await http(app).post('/api/v1/xapi/statements').set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').send([fresh, different]).expect(409);
    expect(conflict.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(conflict.body.errors).toEqual([{ field: 'statements[1].id', message: 'a different statement is stored under this id' }]);
    // Atomic: the new statement of the refused batch is not stored either.
    await http(app).get(`/api/v1/xapi/statements?statementId=${fresh.id}`).set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').expect(404);
    expect(await events()).toBe(count);
    await expect(lrs.sendStatement({ statement: different as never })).rejects.toMatchObject({ response: { status: 409 } });
  });

  it('refuses a statement holding a NUL character or a lone surrogate (which PostgreSQL cannot store) with 400, storing nothing', async () => {
    const count = await events();
    const good = statement({ mbox: 'mailto:gil@school.example' }, `${ADL}completed`, activity(LESSON, 'lesson', 'Fractions'));
    const nul = statement({ mbox: 'mailto:gil@school.example' }, `${ADL}completed`, activity(LESSON, 'lesson', 'Fractions'), { result: { response: 'a\u0000b' } });
    const refused = await http(app).post('/api/v1/xapi/statements').set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').send([good, nul]).expect(400);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    await http(app).get(`/api/v1/xapi/statements?statementId=${good.id}`).set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').expect(404);
    expect(await events()).toBe(count);
    // A lone surrogate escape, which JSON.parse takes and PostgreSQL's jsonb does not, sent as text as a client would.
    const lone = JSON.stringify([good]).replace('"Fractions"', '"Fractions \\ud800"');
    const surrogate = await http(app).post('/api/v1/xapi/statements').set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').set('Content-Type', 'application/json').send(lone);
    expect({ status: surrogate.status, type: surrogate.headers['content-type'] }).toEqual({ status: 400, type: expect.stringMatching(/^application\/problem\+json/) });
    await http(app).get(`/api/v1/xapi/statements?statementId=${good.id}`).set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').expect(404);
    expect(await events()).toBe(count);
  });

  it('refuses invalid statements, naming each, and stores nothing of the batch', async () => {
    const good = statement({ mbox: 'mailto:fay@school.example' }, `${ADL}completed`, activity(LESSON, 'lesson', 'Fractions'));
    const bad = [
      statement({ mbox: 'mailto:fay@school.example', openid: 'https://id.example/fay' }, `${ADL}completed`, { id: LESSON }),
      statement({ name: 'nobody' }, `${ADL}completed`, { id: LESSON }),
      statement({ mbox: 'fay@school.example' }, `${ADL}completed`, { id: LESSON }),
      statement({ mbox: 'mailto:fay@school.example' }, 'completed', { id: LESSON }),
      { ...statement({ mbox: 'mailto:fay@school.example' }, `${ADL}completed`, { id: LESSON }), object: undefined },
      statement({ mbox: 'mailto:fay@school.example' }, `${ADL}completed`, { id: LESSON }, { id: 'not-a-uuid' }),
      statement({ mbox: 'mailto:fay@school.example' }, `${ADL}completed`, { id: LESSON }, { timestamp: '2025-01-01T10:00:00' }),
      statement({ mbox: 'mailto:fay@school.example' }, `${ADL}scored`, { id: QUIZ }, { result: { score: { scaled: 1.5 } } }),
      statement({ mbox: 'mailto:fay@school.example' }, `${ADL}scored`, { id: QUIZ }, { result: { score: { raw: 11, min: 0, max: 10 } } }),
      statement({ mbox: 'mailto:fay@school.example' }, `${ADL}terminated`, { id: LESSON }, { result: { duration: '25 minutes' } }),
      statement({ mbox: 'mailto:fay@school.example' }, `${ADL}completed`, { id: LESSON }, { result: null }),
      statement({ mbox: 'mailto:fay@school.example' }, `${ADL}completed`, { id: LESSON }, { mood: 'happy' }),
      statement({ objectType: 'Group', member: [] }, `${ADL}completed`, { id: LESSON }),
    ];
    const response = await http(app)
      .post('/api/v1/xapi/statements')
      .set('Authorization', `Bearer ${key.key}`)
      .set('X-Experience-API-Version', '1.0.3')
      .send([good, ...bad])
      .expect(400);
    expect(response.headers['x-experience-api-version']).toBe('1.0.3');
    const fields = response.body.errors.map((error: { field: string }) => error.field);
    expect(fields).toEqual([
      'statements[1].actor',
      'statements[2].actor',
      'statements[3].actor.mbox',
      'statements[4].verb.id',
      'statements[5].object',
      'statements[6].id',
      'statements[7].timestamp',
      'statements[8].result.score.scaled',
      'statements[9].result.score.raw',
      'statements[10].result.duration',
      'statements[11].result',
      'statements[12].mood',
      'statements[13].actor.objectType',
    ]);
    await http(app).get(`/api/v1/xapi/statements?statementId=${good.id}`).set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').expect(404);
  });

  it('names an identifier too long to keep as an external id (400, nothing stored), and cuts long names and titles to fit', async () => {
    const post = (body: object) => http(app).post('/api/v1/xapi/statements').set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').send(body);
    const count = await events();
    const longActivity = `https://lms.example/${'a'.repeat(256 - 'https://lms.example/'.length)}`;
    const longAccount = { account: { homePage: 'https://lms.example', name: 'x'.repeat(256 - 'https://lms.example|'.length) } };
    const good = statement({ mbox: 'mailto:hal@school.example' }, `${ADL}completed`, activity(LESSON, 'lesson', 'Fractions'));
    const refused = await post([good, statement({ mbox: 'mailto:hal@school.example' }, `${ADL}completed`, { id: longActivity }), statement(longAccount, `${ADL}completed`, { id: LESSON })]).expect(400);
    expect(refused.body.errors).toEqual([
      { field: 'statements[1].object.id', message: 'the activity id is 256 characters; at most 255 are kept as the content\'s external id' },
      { field: 'statements[2].actor', message: "the learner's identifier makes an external id of 256 characters; at most 255 are kept" },
    ]);
    expect(await events()).toBe(count);
    // A statement that makes no event (a verb outside the mapping) keeps no external id: stored whatever the length.
    await post(statement({ mbox: 'mailto:hal@school.example' }, 'http://adlnet.gov/expapi/verbs/experienced', { id: longActivity })).expect(200);

    // 255 characters fit; display text beyond the columns' 200 (name) and 300 (title) characters is cut, by characters.
    const fitting = `https://lms.example/${'b'.repeat(255 - 'https://lms.example/'.length)}`;
    const name = '名'.repeat(250);
    const title = '😀'.repeat(350);
    await post(statement({ mbox: 'mailto:ida@school.example', name }, `${ADL}completed`, { objectType: 'Activity', id: fitting, definition: { name: { 'en-US': title } } })).expect(200);
    expect(await events()).toBe(count + 1);
    const [stored] = await app.dataSource.query(
      `SELECT u.name, c.title, c.external_id FROM activity_events e JOIN users u ON u.organization_id = e.organization_id AND u.id = e.user_id
         JOIN educational_content c ON c.organization_id = e.organization_id AND c.id = e.content_id WHERE e.organization_id = $1 AND u.external_id = $2`,
      [admin.organization.id, 'mailto:ida@school.example'],
    );
    expect(stored).toEqual({ name: '名'.repeat(200), title: '😀'.repeat(300), external_id: fitting });
  });

  it('requires X-Experience-API-Version on the statements resource and answers with the highest version of the client’s major', async () => {
    const sent = statement({ mbox: 'mailto:gil@school.example' }, `${ADL}experienced`, { id: LESSON });
    const post = (version?: string) => {
      const request = http(app).post('/api/v1/xapi/statements').set('Authorization', `Bearer ${key.key}`);
      return (version ? request.set('X-Experience-API-Version', version) : request).send(sent);
    };
    const missing = await post().expect(400);
    expect(missing.body.errors).toEqual([{ field: 'X-Experience-API-Version', message: 'X-Experience-API-Version is required' }]);
    expect(missing.headers['x-experience-api-version']).toBe('2.0.0');
    await post('0.95').expect(400);
    await post('1.1.0').expect(400);
    expect((await post('1.0.1').expect(200)).headers['x-experience-api-version']).toBe('1.0.3');
    expect((await post('2.0.0').expect(200)).headers['x-experience-api-version']).toBe('2.0.0');
    const about = await http(app).get('/api/v1/xapi/about').expect(200);
    expect(about.headers['x-experience-api-version']).toBe('2.0.0');
  });

  it('needs an API key with events:write', async () => {
    const sent = statement({ mbox: 'mailto:hal@school.example' }, `${ADL}experienced`, { id: LESSON });
    const metricsKey = (await http(app).post('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).send({ name: 'reader', scopes: ['metrics:read'] }).expect(201)).body;
    const post = () => http(app).post('/api/v1/xapi/statements').set('X-Experience-API-Version', '1.0.3');
    await post().send(sent).expect(401);
    await post().set('Authorization', `Bearer ${metricsKey.key}`).send(sent).expect(403);
    await post().set('Authorization', `Bearer ${admin.token}`).send(sent).expect(403);
    const reader = new XAPI({ endpoint, auth: XAPI.toBasicAuth(metricsKey.prefix, metricsKey.key), version: '1.0.3' });
    await expect(reader.sendStatement({ statement: sent as never })).rejects.toMatchObject({ response: { status: 403 } });
  });

  it('stores under the PUT statementId and refuses a mismatching id', async () => {
    const id = randomUUID();
    const sent = statement({ mbox: 'mailto:ivy@school.example' }, `${ADL}completed`, activity(LESSON, 'lesson', 'Fractions'));
    const { id: _ignored, ...withoutId } = sent;
    const put = (statementId: string, body: unknown) =>
      http(app).put(`/api/v1/xapi/statements?statementId=${statementId}`).set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').send(body as object);
    await put(id, withoutId).expect(204);
    await put(randomUUID(), { ...withoutId, id }).expect(400);
    await put('nope', withoutId).expect(400);
    const fetched = await http(app).get(`/api/v1/xapi/statements?statementId=${id}`).set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').expect(200);
    expect(fetched.body.id).toBe(id);
    expect(fetched.headers['x-experience-api-consistent-through']).toBeDefined();
    const [row] = await app.dataSource.query(`SELECT count(*)::int AS n FROM activity_events WHERE organization_id = $1 AND id = (SELECT event_id FROM xapi_statements WHERE organization_id = $1 AND id = $2)`, [admin.organization.id, id]);
    expect(row.n).toBe(1);
  });
});
