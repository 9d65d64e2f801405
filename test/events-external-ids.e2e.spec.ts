import { randomUUID } from 'node:crypto';
import { createContent, createUser, http, signup, SignedUp } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

describe('events naming learners and content by external id', () => {
  let app: TestApp;
  let admin: SignedUp;
  beforeAll(async () => {
    app = await createTestApp();
    admin = await signup(app);
  });
  afterAll(() => app.close());

  const push = (events: unknown[]) => http(app).post('/api/v1/events').set('Authorization', `Bearer ${admin.token}`).send({ events });
  const learners = (externalIds: string[]) =>
    app.dataSource.query(
      `SELECT external_id, name, role, email, password_hash IS NULL AS no_password, created_at FROM users WHERE organization_id = $1 AND external_id = ANY($2) ORDER BY external_id`,
      [admin.organization.id, externalIds],
    );

  it('creates unknown learners (created at their earliest event) and content, and reuses them afterwards', async () => {
    const batch = [
      { type: 'login', user_external_id: 'lms-1', user_name: 'Ada', occurred_at: '2025-05-02T09:00:00.000Z' },
      { type: 'lesson_completed', user_external_id: 'lms-1', content_external_id: 'course-7/lesson-3', content_title: 'Fractions', score: 75, occurred_at: '2025-05-01T08:00:00.000Z' },
      { type: 'session', user_external_id: 'lms-2', duration_seconds: 600, occurred_at: '2025-05-03T10:00:00.000Z' },
    ];
    expect((await push(batch).expect(202)).body).toEqual({ accepted: 3, duplicates: 0 });
    expect(await learners(['lms-1', 'lms-2'])).toEqual([
      { external_id: 'lms-1', name: 'Ada', role: 'student', email: null, no_password: true, created_at: new Date('2025-05-01T08:00:00.000Z') },
      { external_id: 'lms-2', name: 'lms-2', role: 'student', email: null, no_password: true, created_at: new Date('2025-05-03T10:00:00.000Z') },
    ]);
    const [content] = await app.dataSource.query(
      `SELECT id, title, content_type, status, published_at FROM educational_content WHERE organization_id = $1 AND external_id = 'course-7/lesson-3'`,
      [admin.organization.id],
    );
    expect(content).toMatchObject({ title: 'Fractions', content_type: 'lesson', status: 'published' });

    // Known now: a second batch creates nobody and its events point at the same rows.
    await push([{ type: 'lesson_completed', user_external_id: 'lms-1', content_external_id: 'course-7/lesson-3', occurred_at: '2025-05-04T08:00:00.000Z' }]).expect(202);
    const [counts] = await app.dataSource.query(
      `SELECT (SELECT count(*)::int FROM users WHERE organization_id = $1 AND external_id = 'lms-1') AS users,
              (SELECT count(*)::int FROM activity_events WHERE organization_id = $1 AND content_id = $2) AS completions`,
      [admin.organization.id, content.id],
    );
    expect(counts).toEqual({ users: 1, completions: 2 });
  });

  it('mixes uuids and external ids, and finds users and content given an external_id on creation', async () => {
    const learner = await createUser(app, admin.token, { external_id: 'sis-42' });
    const lesson = await createContent(app, admin.token, { external_id: 'cms-9', status: 'published' });
    await push([
      { type: 'lesson_completed', user_external_id: 'sis-42', content_id: lesson.id, occurred_at: new Date().toISOString() },
      { type: 'lesson_completed', user_id: learner.id, content_external_id: 'cms-9', occurred_at: new Date().toISOString() },
    ]).expect(202);
    const [row] = await app.dataSource.query(
      `SELECT count(*)::int AS n FROM activity_events WHERE organization_id = $1 AND user_id = $2 AND content_id = $3`,
      [admin.organization.id, learner.id, lesson.id],
    );
    expect(row.n).toBe(2);
  });

  it('accepts concurrent batches that create the same new learners and content, each once', async () => {
    const now = Date.now();
    const batch = (seed: number) =>
      Array.from({ length: 200 }, (_, index) => ({
        type: 'lesson_completed',
        user_external_id: `race-learner-${(index * 7 + seed * 13) % 60}`,
        content_external_id: `race-lesson-${(index * 11 + seed * 5) % 40}`,
        score: 80,
        occurred_at: new Date(now - index * 60_000).toISOString(),
      }));
    const answers = await Promise.all([1, 2, 3, 4, 5, 6].map((seed) => push(batch(seed))));
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202, 202]);
    const [created] = await app.dataSource.query(
      `SELECT (SELECT count(*)::int FROM users WHERE organization_id = $1 AND external_id LIKE 'race-learner-%') AS learners,
              (SELECT count(*)::int FROM educational_content WHERE organization_id = $1 AND external_id LIKE 'race-lesson-%') AS lessons`,
      [admin.organization.id],
    );
    expect(created).toEqual({ learners: 60, lessons: 40 });
  });

  it('creates nobody when the batch fails', async () => {
    const before = await app.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE organization_id = $1`, [admin.organization.id]);
    const response = await push([
      { type: 'login', user_external_id: 'ghost-1', occurred_at: new Date().toISOString() },
      { type: 'lesson_completed', user_external_id: 'ghost-2', content_external_id: 'ghost-lesson', occurred_at: new Date().toISOString() },
      { type: 'session', user_external_id: 'ghost-3', occurred_at: new Date().toISOString() },
      { type: 'login', user_id: randomUUID(), occurred_at: new Date().toISOString() },
    ]).expect(400);
    expect(response.body.errors).toEqual([
      { field: 'events[2].duration_seconds', message: 'duration_seconds is required for session events' },
      { field: 'events[3].user_id', message: 'user_id is not a user of this organization' },
    ]);
    expect(await learners(['ghost-1', 'ghost-2', 'ghost-3'])).toEqual([]);
    const [content] = await app.dataSource.query(`SELECT count(*)::int AS n FROM educational_content WHERE organization_id = $1 AND external_id = 'ghost-lesson'`, [admin.organization.id]);
    expect(content.n).toBe(0);
    const after = await app.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE organization_id = $1`, [admin.organization.id]);
    expect(after).toEqual(before);
  });

  it('refuses both ids at once, names without external ids, and over-long external ids', async () => {
    const learner = await createUser(app, admin.token);
    const response = await push([
      { type: 'login', user_id: learner.id, user_external_id: 'both', occurred_at: new Date().toISOString() },
      { type: 'login', user_id: learner.id, user_name: 'Named', occurred_at: new Date().toISOString() },
      { type: 'login', user_external_id: 'x'.repeat(256), occurred_at: new Date().toISOString() },
      { type: 'login', occurred_at: new Date().toISOString() },
    ]).expect(400);
    expect(response.body.errors.map((error: { field: string }) => error.field)).toEqual([
      'events[0].user_external_id',
      'events[1].user_name',
      'events[2].user_external_id',
      'events[3].user_id',
    ]);
  });

  it('trims external ids, as the roster, user and content creation do, and refuses blank ones', async () => {
    await push([{ type: 'lesson_completed', user_external_id: '  lms-trim  ', content_external_id: '\tcourse-trim ', occurred_at: new Date().toISOString() }]).expect(202);
    await push([{ type: 'login', user_external_id: 'lms-trim', occurred_at: new Date().toISOString() }]).expect(202);
    expect((await learners(['lms-trim'])).map((row: { external_id: string; name: string }) => [row.external_id, row.name])).toEqual([['lms-trim', 'lms-trim']]);
    const [content] = await app.dataSource.query(`SELECT count(*)::int AS n FROM educational_content WHERE organization_id = $1 AND external_id = 'course-trim'`, [
      admin.organization.id,
    ]);
    expect(content.n).toBe(1);
    const user = await createUser(app, admin.token, { external_id: ' sis-trim ' });
    expect(await app.dataSource.query(`SELECT external_id FROM users WHERE organization_id = $1 AND id = $2`, [admin.organization.id, user.id])).toEqual([{ external_id: 'sis-trim' }]);

    const before = await app.dataSource.query(`SELECT count(*)::int AS n FROM activity_events WHERE organization_id = $1`, [admin.organization.id]);
    const refused = await push([
      { type: 'login', user_external_id: '   ', occurred_at: new Date().toISOString() },
      { type: 'lesson_completed', user_external_id: 'lms-trim', content_external_id: ' ', occurred_at: new Date().toISOString() },
    ]).expect(400);
    expect(refused.body.errors.map((error: { field: string }) => error.field)).toEqual(['events[0].user_external_id', 'events[1].content_external_id']);
    expect(await app.dataSource.query(`SELECT count(*)::int AS n FROM activity_events WHERE organization_id = $1`, [admin.organization.id])).toEqual(before);
  });

  it('creates only the unknown ones of a batch that names known ones too, each from its own events, and never finds another organization\'s', async () => {
    await push([
      { type: 'login', user_external_id: 'mix-known-1', user_name: 'Known One', occurred_at: '2025-06-01T08:00:00.000Z' },
      { type: 'lesson_completed', user_external_id: 'mix-known-1', content_external_id: 'mix-lesson-known', content_title: 'Known lesson', occurred_at: '2025-06-01T09:00:00.000Z' },
    ]).expect(202);
    const [known] = await learners(['mix-known-1']);
    // Known ids first in the batch, so that the new ones' names and times must follow them through the insert of the unknown alone.
    const batch = [
      { type: 'login', user_external_id: 'mix-known-1', user_name: 'Renamed? No', occurred_at: '2025-06-02T08:00:00.000Z' },
      { type: 'lesson_completed', user_external_id: 'mix-known-1', content_external_id: 'mix-lesson-known', content_title: 'Retitled? No', occurred_at: '2025-06-02T09:00:00.000Z' },
      { type: 'login', user_external_id: 'mix-new-b', user_name: 'Bea', occurred_at: '2025-06-03T10:00:00.000Z' },
      { type: 'lesson_completed', user_external_id: 'mix-new-a', user_name: 'Al', content_external_id: 'mix-lesson-new', content_title: 'New lesson', occurred_at: '2025-06-04T11:00:00.000Z' },
      { type: 'login', user_external_id: 'mix-new-a', occurred_at: '2025-06-03T07:00:00.000Z' },
    ];
    expect((await push(batch).expect(202)).body).toEqual({ accepted: 5, duplicates: 0 });
    expect(await learners(['mix-known-1', 'mix-new-a', 'mix-new-b'])).toEqual([
      { ...known },
      { external_id: 'mix-new-a', name: 'Al', role: 'student', email: null, no_password: true, created_at: new Date('2025-06-03T07:00:00.000Z') },
      { external_id: 'mix-new-b', name: 'Bea', role: 'student', email: null, no_password: true, created_at: new Date('2025-06-03T10:00:00.000Z') },
    ]);
    const titles = `SELECT external_id, title FROM educational_content WHERE organization_id = $1 AND external_id LIKE 'mix-lesson-%' ORDER BY external_id`;
    expect(await app.dataSource.query(titles, [admin.organization.id])).toEqual([
      { external_id: 'mix-lesson-known', title: 'Known lesson' },
      { external_id: 'mix-lesson-new', title: 'New lesson' },
    ]);

    // Another organization naming the same ids gets learners and content of its own; the first organization's stay as they were.
    const other = await signup(app);
    await http(app).post('/api/v1/events').set('Authorization', `Bearer ${other.token}`).send({ events: batch }).expect(202);
    const perOrganization = `SELECT o.slug, count(DISTINCT u.id)::int AS learners, count(DISTINCT c.id)::int AS lessons, count(e.id)::int AS events
                               FROM activity_events e JOIN users u ON u.organization_id = e.organization_id AND u.id = e.user_id
                               JOIN organizations o ON o.id = e.organization_id
                               LEFT JOIN educational_content c ON c.organization_id = e.organization_id AND c.id = e.content_id
                              WHERE e.organization_id = ANY($1) AND u.external_id LIKE 'mix-%'
                              GROUP BY o.slug ORDER BY o.slug`;
    expect(await app.dataSource.query(perOrganization, [[admin.organization.id, other.organization.id]])).toEqual(
      [
        { slug: admin.organization.slug, learners: 3, lessons: 2, events: 7 },
        { slug: other.organization.slug, learners: 3, lessons: 2, events: 5 },
      ].sort((a, b) => a.slug.localeCompare(b.slug)),
    );
    const [otherFirst] = await app.dataSource.query(`SELECT name FROM users WHERE organization_id = $1 AND external_id = 'mix-known-1'`, [other.organization.id]);
    expect(otherFirst).toEqual({ name: 'Renamed? No' });
  });

  it('keeps external ids unique within an organization (409) but not across organizations', async () => {
    await createUser(app, admin.token, { external_id: 'dup-1' });
    await http(app).post('/api/v1/users').set('Authorization', `Bearer ${admin.token}`).send({ external_id: 'dup-1', name: 'Again', role: 'student' }).expect(409);
    const other = await signup(app);
    await createUser(app, other.token, { external_id: 'dup-1' });
  });
});
