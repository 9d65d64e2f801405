import { createContent, http, signup, SignedUp } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

describe('content', () => {
  let app: TestApp;
  let admin: SignedUp;
  beforeAll(async () => {
    app = await createTestApp();
    admin = await signup(app);
  });
  afterAll(() => app.close());

  const auth = { Authorization: '' };
  beforeEach(() => {
    auth.Authorization = `Bearer ${admin.token}`;
  });

  it('creates a draft by default, authored by the caller', async () => {
    const response = await http(app).post('/api/v1/content').set(auth).send({ title: '  Fractions  ', content_type: 'lesson' }).expect(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      organization_id: admin.organization.id,
      author_id: admin.user.id,
      external_id: null,
      title: 'Fractions',
      content_type: 'lesson',
      status: 'draft',
      generation_time_ms: null,
      created_at: expect.any(String),
      published_at: null,
    });
  });

  it('stamps published_at when created published, at the backfilled created_at', async () => {
    const response = await http(app)
      .post('/api/v1/content')
      .set(auth)
      .send({ title: 'Imported quiz', content_type: 'quiz', status: 'published', generation_time_ms: 1234, created_at: '2025-03-04T05:06:07Z' })
      .expect(201);
    expect(response.body).toMatchObject({ status: 'published', generation_time_ms: 1234, created_at: '2025-03-04T05:06:07.000Z', published_at: '2025-03-04T05:06:07.000Z' });
  });

  it('sets published_at on the first publication only', async () => {
    const draft = await createContent(app, admin.token);
    const published = await http(app).patch(`/api/v1/content/${draft.id}`).set(auth).send({ status: 'published' }).expect(200);
    expect(published.body.status).toBe('published');
    const firstPublication = published.body.published_at;
    expect(Math.abs(Date.now() - Date.parse(firstPublication))).toBeLessThan(60_000);

    await http(app).patch(`/api/v1/content/${draft.id}`).set(auth).send({ status: 'archived' }).expect(200);
    const again = await http(app).patch(`/api/v1/content/${draft.id}`).set(auth).send({ status: 'published', title: 'Renamed' }).expect(200);
    expect(again.body).toMatchObject({ status: 'published', title: 'Renamed', published_at: firstPublication });
  });

  it('validates every field and names it', async () => {
    const response = await http(app)
      .post('/api/v1/content')
      .set(auth)
      .send({ title: '', content_type: 'video', status: 'live', generation_time_ms: -1, created_at: '2999-01-01T00:00:00Z', author_id: admin.user.id })
      .expect(400);
    expect(response.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'author_id', message: 'property author_id should not exist' },
        { field: 'title', message: 'title must be longer than or equal to 1 characters' },
        { field: 'content_type', message: 'content_type must be one of the following values: lesson, quiz, exercise, project, reference' },
        { field: 'status', message: 'status must be one of the following values: draft, published, archived' },
        { field: 'generation_time_ms', message: 'generation_time_ms must not be less than 0' },
        { field: 'created_at', message: 'created_at must be an ISO 8601 date-time with a time zone, not in the future' },
      ]),
    );
    expect(response.body.errors).toHaveLength(6);
    const huge = await http(app).post('/api/v1/content').set(auth).send({ title: 'Huge', content_type: 'lesson', generation_time_ms: 1e300 }).expect(400);
    expect(huge.body.errors).toEqual([{ field: 'generation_time_ms', message: 'generation_time_ms must not be greater than 86400000' }]);
    const patch = await http(app).patch(`/api/v1/content/${(await createContent(app, admin.token)).id}`).set(auth).send({ content_type: 'quiz' }).expect(400);
    expect(patch.body.errors).toEqual([{ field: 'content_type', message: 'property content_type should not exist' }]);
  });

  it('soft-deletes: gone from the list, PATCH and DELETE then 404, the row kept', async () => {
    const school = await signup(app);
    const kept = await createContent(app, school.token, { title: 'Kept' });
    const removed = await createContent(app, school.token, { title: 'Removed' });
    await http(app).delete(`/api/v1/content/${removed.id}`).set('Authorization', `Bearer ${school.token}`).expect(204);

    const list = await http(app).get('/api/v1/content').set('Authorization', `Bearer ${school.token}`).expect(200);
    expect(list.body.items.map((item: { id: string }) => item.id)).toEqual([kept.id]);
    const patch = await http(app).patch(`/api/v1/content/${removed.id}`).set('Authorization', `Bearer ${school.token}`).send({ title: 'Back' }).expect(404);
    expect(patch.body).toMatchObject({ status: 404, detail: 'No such content in this organization' });
    await http(app).delete(`/api/v1/content/${removed.id}`).set('Authorization', `Bearer ${school.token}`).expect(404);
    const [row] = await app.dataSource.query(`SELECT title, deleted_at IS NOT NULL AS deleted FROM educational_content WHERE id = $1`, [removed.id]);
    expect(row).toEqual({ title: 'Removed', deleted: true });
  });

  it('pages every item exactly once, filtered by status, including items with the same created_at', async () => {
    const school = await signup(app);
    const token = `Bearer ${school.token}`;
    const ids = new Set<string>();
    for (let i = 0; i < 9; i++) {
      // Three items share each timestamp: the cursor must break ties by id.
      const item = await createContent(app, school.token, { title: `Item ${i}`, status: i < 4 ? 'published' : 'draft', created_at: `2025-05-0${1 + Math.floor(i / 3)}T10:00:00Z` });
      ids.add(item.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; next_cursor: string | null } } = await http(app)
        .get('/api/v1/content')
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set('Authorization', token)
        .expect(200);
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(9);
    expect(new Set(seen)).toEqual(ids);

    const published = await http(app).get('/api/v1/content?status=published').set('Authorization', token).expect(200);
    expect(published.body.items).toHaveLength(4);
    expect(published.body.items.every((item: { status: string }) => item.status === 'published')).toBe(true);
  });
});
