import { randomUUID } from 'node:crypto';
import { TenantTransactions } from '../src/database/tenant-transactions';
import { createContent, createUser, event, http, signup, SignedUp } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

const TENANT_TABLES = ['users', 'educational_content', 'activity_events'] as const;

describe('tenant isolation', () => {
  let app: TestApp;
  let a: SignedUp;
  let b: SignedUp;
  let aUser: string;
  let aContent: string;
  let aEvent: string;
  beforeAll(async () => {
    app = await createTestApp();
    a = await signup(app);
    b = await signup(app);
    aUser = (await createUser(app, a.token)).id;
    aContent = (await createContent(app, a.token, { title: 'A only' })).id;
    aEvent = randomUUID();
    await http(app).post('/api/v1/events').set('Authorization', `Bearer ${a.token}`).send({ events: [event(aUser, { id: aEvent })] }).expect(202);
    await createUser(app, b.token);
    await createContent(app, b.token, { title: 'B only' });
  });
  afterAll(() => app.close());

  const asB = () => ({ Authorization: `Bearer ${b.token}` });

  describe('through the API', () => {
    it('does not list A’s users or content to B', async () => {
      const users = await http(app).get('/api/v1/users?limit=100').set(asB()).expect(200);
      expect(users.body.items.every((user: { organization_id: string }) => user.organization_id === b.organization.id)).toBe(true);
      expect(users.body.items).toHaveLength(2);
      const content = await http(app).get('/api/v1/content?limit=100').set(asB()).expect(200);
      expect(content.body.items.map((item: { title: string }) => item.title)).toEqual(['B only']);
    });

    it('answers 404 when B changes or deletes A’s rows, and leaves them unchanged', async () => {
      await http(app).patch(`/api/v1/users/${aUser}`).set(asB()).send({ name: 'Taken over', is_active: false }).expect(404);
      await http(app).patch(`/api/v1/users/${a.user.id}`).set(asB()).send({ role: 'student' }).expect(404);
      await http(app).patch(`/api/v1/content/${aContent}`).set(asB()).send({ title: 'Defaced' }).expect(404);
      await http(app).delete(`/api/v1/content/${aContent}`).set(asB()).expect(404);
      const [user] = await app.dataSource.query(`SELECT name, is_active FROM users WHERE id = $1`, [aUser]);
      expect(user).toEqual({ name: 'Learner', is_active: true });
      const [admin] = await app.dataSource.query(`SELECT role FROM users WHERE id = $1`, [a.user.id]);
      expect(admin.role).toBe('admin');
      const [content] = await app.dataSource.query(`SELECT title, deleted_at FROM educational_content WHERE id = $1`, [aContent]);
      expect(content).toEqual({ title: 'A only', deleted_at: null });
    });

    it('refuses B’s events that reference A’s user or content (400), writing nothing', async () => {
      const bUser = (await createUser(app, b.token)).id;
      const response = await http(app)
        .post('/api/v1/events')
        .set(asB())
        .send({ events: [event(aUser), event(bUser, { type: 'lesson_completed', content_id: aContent })] })
        .expect(400);
      expect(response.body.errors).toEqual([
        { field: 'events[0].user_id', message: 'user_id is not a user of this organization' },
        { field: 'events[1].content_id', message: 'content_id is not content of this organization' },
      ]);
      const [counts] = await app.dataSource.query(`SELECT count(*)::int AS n FROM activity_events WHERE organization_id = $1`, [b.organization.id]);
      expect(counts.n).toBe(0);
    });

    it('treats an event id A already used as new for B: ids are per organization', async () => {
      const bUser = (await createUser(app, b.token)).id;
      const response = await http(app).post('/api/v1/events').set(asB()).send({ events: [event(bUser, { id: aEvent })] }).expect(202);
      expect(response.body).toEqual({ accepted: 1, duplicates: 0 });
      const rows = await app.dataSource.query(`SELECT organization_id, user_id FROM activity_events WHERE id = $1 ORDER BY user_id = $2 DESC`, [aEvent, aUser]);
      expect(rows).toEqual([
        { organization_id: a.organization.id, user_id: aUser },
        { organization_id: b.organization.id, user_id: bUser },
      ]);
    });

    it('shows each caller its own organization in /auth/me', async () => {
      const me = await http(app).get('/api/v1/auth/me').set(asB()).expect(200);
      expect(me.body.organization.id).toBe(b.organization.id);
      expect(me.body.user.id).toBe(b.user.id);
    });
  });

  describe('in the database (row-level security)', () => {
    let tx: TenantTransactions;
    beforeAll(() => {
      tx = app.get(TenantTransactions);
    });

    /**
     * Every table with an organization_id column, including those added after this spec (rollups). Partitions are
     * left out: requests reach them only through their parent's policy (they carry no grant of their own).
     */
    async function tenantTables(): Promise<string[]> {
      const rows: { table_name: string }[] = await app.dataSource.query(
        `SELECT col.table_name FROM information_schema.columns col
           JOIN pg_class c ON c.relname = col.table_name AND c.relnamespace = 'public'::regnamespace
          WHERE col.table_schema = 'public' AND col.column_name = 'organization_id' AND NOT c.relispartition ORDER BY col.table_name`,
      );
      return rows.map((row) => row.table_name);
    }

    it('has row-level security with a tenant policy on every table that carries organization_id', async () => {
      const tables = await tenantTables();
      expect(tables).toEqual(expect.arrayContaining([...TENANT_TABLES]));
      const rows: { relname: string; relrowsecurity: boolean; policies: number }[] = await app.dataSource.query(
        `SELECT c.relname, c.relrowsecurity, (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
           FROM pg_class c WHERE c.relname = ANY($1) AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
        [tables],
      );
      expect(rows).toEqual(tables.map((relname) => ({ relname, relrowsecurity: true, policies: 1 })));
    });

    it('sees only A’s rows, and none without an organization, in every tenant table (including later ones)', async () => {
      for (const table of await tenantTables()) {
        const mine: { organization_id: string }[] = await tx.run(a.organization.id, (manager) => manager.query(`SELECT organization_id FROM ${table}`));
        const [owner] = await app.dataSource.query(`SELECT count(*) FILTER (WHERE organization_id = $1)::int AS mine FROM ${table}`, [a.organization.id]);
        expect({ table, rows: mine.length, others: mine.filter((row) => row.organization_id !== a.organization.id).length }).toEqual({ table, rows: owner.mine, others: 0 });
        expect({ table, rows: (await tx.runWithoutTenant((manager) => manager.query(`SELECT 1 FROM ${table}`))).length }).toEqual({ table, rows: 0 });
      }
    });

    it.each(TENANT_TABLES)('a query on %s without WHERE inside A’s transaction sees only A’s rows', async (table) => {
      const rows: { organization_id: string }[] = await tx.run(a.organization.id, (manager) => manager.query(`SELECT organization_id FROM ${table}`));
      const [owner] = await app.dataSource.query(`SELECT count(*) FILTER (WHERE organization_id = $1)::int AS mine, count(*)::int AS total FROM ${table}`, [a.organization.id]);
      expect(owner.total).toBeGreaterThan(owner.mine);
      expect(rows).toHaveLength(owner.mine);
      expect(new Set(rows.map((row) => row.organization_id))).toEqual(new Set([a.organization.id]));
    });

    it('organizations: A’s transaction sees A’s organization only', async () => {
      const rows = await tx.run(a.organization.id, (manager) => manager.query(`SELECT id FROM organizations`));
      expect(rows).toEqual([{ id: a.organization.id }]);
    });

    it.each([...TENANT_TABLES, 'organizations'])('%s: with no organization set, a query sees no row', async (table) => {
      const rows = await tx.runWithoutTenant((manager) => manager.query(`SELECT * FROM ${table}`));
      expect(rows).toEqual([]);
      const [owner] = await app.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`);
      expect(owner.n).toBeGreaterThan(0);
    });

    it('runs as a role that is neither superuser nor table owner', async () => {
      const [role] = await tx.run(a.organization.id, (manager) =>
        manager.query(`SELECT current_user AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypass FROM pg_roles r WHERE r.rolname = current_user`),
      );
      expect(role).toEqual({ name: 'toolbox_app', superuser: false, bypass: false });
    });

    it('fails an INSERT for another organization inside A’s transaction with a row-level security violation', async () => {
      const attempts = [
        `INSERT INTO users (organization_id, email, name, role) VALUES ('${b.organization.id}', 'intruder-${randomUUID()}@example.test', 'X', 'student')`,
        `INSERT INTO educational_content (organization_id, title, content_type) VALUES ('${b.organization.id}', 'X', 'lesson')`,
        `INSERT INTO activity_events (organization_id, user_id, type, occurred_at) VALUES ('${b.organization.id}', '${b.user.id}', 'login', now())`,
      ];
      for (const sql of attempts) {
        await expect(tx.run(a.organization.id, (manager) => manager.query(sql))).rejects.toThrow(/new row violates row-level security policy/);
      }
      // Moving A's row to B fails the same way.
      await expect(
        tx.run(a.organization.id, (manager) => manager.query(`UPDATE users SET organization_id = $1 WHERE id = $2`, [b.organization.id, aUser])),
      ).rejects.toThrow(/new row violates row-level security policy for table "users"/);
      const [owner] = await app.dataSource.query(`SELECT organization_id FROM users WHERE id = $1`, [aUser]);
      expect(owner.organization_id).toBe(a.organization.id);
    });

    it('keeps an UPDATE or DELETE without WHERE inside A’s transaction to A’s rows', async () => {
      const [, count] = await tx.run(a.organization.id, (manager) => manager.query(`UPDATE educational_content SET title = title`));
      const [owner] = await app.dataSource.query(`SELECT count(*)::int AS n FROM educational_content WHERE organization_id = $1`, [a.organization.id]);
      expect(count).toBe(owner.n);
      await expect(tx.run(a.organization.id, (manager) => manager.query(`DELETE FROM activity_events`))).rejects.toThrow(/permission denied/);
    });

    it('refuses to nest one organization’s work inside another’s transaction', async () => {
      await expect(tx.run(a.organization.id, () => tx.run(b.organization.id, async () => 1))).rejects.toThrow('A transaction for one organization cannot nest work for another');
    });
  });
});
