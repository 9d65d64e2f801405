import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createUser, http, signup, uniqueEmail } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

/** The Citus calls docs/scaling.md gives, read from the page itself so that the page and this test cannot drift apart. */
const SCALING = readFileSync(join(__dirname, '..', 'docs', 'scaling.md'), 'utf8');
const calls = (fn: string) => [...SCALING.matchAll(new RegExp(`SELECT ${fn}\\('([a-z_]+)'`, 'g'))].map((match) => match[1]);
/** The tables keyed by organization that docs/scaling.md distributes with create_distributed_table. */
const DISTRIBUTED = calls('create_distributed_table');
/** Reference tables (copied to every node): the tenants themselves, and e-mail uniqueness across them. */
const REFERENCE = calls('create_reference_table');
/** Each create_distributed_table call whole: the table, its distribution column and what it is colocated with. */
const DISTRIBUTION_CALLS = [...SCALING.matchAll(/SELECT create_distributed_table\(([^)]*)\);/g)].map((match) => match[1]);
/** Tables that stay on the coordinator, as docs/scaling.md says: no organization_id, written only where they run. */
const COORDINATOR_ONLY = ['activity_events_retention', 'typeorm_migrations'];

/**
 * Ready for Citus on plain PostgreSQL: every table with an organization_id has it in its primary key, in every unique
 * constraint or index, and in every foreign key to another tenant table; e-mail uniqueness across organizations lives
 * in login_emails and still answers 409.
 */
describe('keys ready for distribution by organization', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(() => testApp.close());

  const query = <T>(sql: string, params: unknown[] = []): Promise<T[]> => testApp.dataSource.query(sql, params);

  /** Tables of the public schema with an organization_id column (partitions are covered by their parent). */
  async function tenantTables(): Promise<string[]> {
    const rows = await query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    );
    return rows.map((row) => row.name);
  }

  it('puts organization_id in every primary key and unique constraint or index of every tenant table', async () => {
    expect(REFERENCE.sort()).toEqual(['login_emails', 'organizations']);
    const tables = (await tenantTables()).filter((table) => !REFERENCE.includes(table));
    // Every tenant table, and only those, is distributed by docs/scaling.md: a new table needs its call there.
    expect([...DISTRIBUTED].sort()).toEqual(tables);
    expect(tables).toEqual(expect.arrayContaining(['activity_events', 'api_keys', 'demo_activity', 'users', 'xapi_statements']));
    const keys = await query<{ table: string; index: string; primary: boolean; has_organization: boolean }>(
      `SELECT t.relname AS table, i.relname AS index, x.indisprimary AS primary,
              EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'organization_id' AND a.attnum = ANY (x.indkey::int2[])) AS has_organization
         FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indisunique AND t.relname = ANY ($1) ORDER BY 1, 2`,
      [tables],
    );
    expect(keys.filter((key) => !key.has_organization)).toEqual([]);
    // Every tenant table has a primary key.
    expect([...new Set(keys.filter((key) => key.primary).map((key) => key.table))].sort()).toEqual([...tables].sort());
  });

  it('gives every table of the schema a place: distributed by organization_id and colocated, a reference table, or the coordinator', async () => {
    const all = await query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    );
    // A new table keyed some other way (by user_id alone, say) has no place until docs/scaling.md gives it one.
    expect(all.map((table) => table.name)).toEqual([...DISTRIBUTED, ...REFERENCE, ...COORDINATOR_ONLY].sort());
    for (const table of COORDINATOR_ONLY) expect(SCALING).toContain(`\`${table}\``);
    // The first distributed table is the colocation group; every other call joins it, all by organization_id.
    expect(DISTRIBUTION_CALLS).toHaveLength(DISTRIBUTED.length);
    expect(DISTRIBUTION_CALLS[0]).toBe(`'${DISTRIBUTED[0]}', 'organization_id'`);
    for (const [index, call] of DISTRIBUTION_CALLS.entries()) {
      if (index > 0) expect(call).toBe(`'${DISTRIBUTED[index]}', 'organization_id', colocate_with => '${DISTRIBUTED[0]}'`);
    }
  });

  it('distributes a referenced table before the tables whose foreign keys point at it, as Citus requires', async () => {
    const foreignKeys = await query<{ table: string; referenced: string }>(
      `SELECT DISTINCT t.relname AS table, r.relname AS referenced
         FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
        WHERE con.contype = 'f' AND con.conparentid = 0 AND t.relname = ANY ($1) AND r.relname = ANY ($1) AND t.relname <> r.relname`,
      [DISTRIBUTED],
    );
    expect(foreignKeys).toContainEqual({ table: 'activity_events', referenced: 'educational_content' });
    for (const key of foreignKeys) {
      expect({ ...key, before: DISTRIBUTED.indexOf(key.referenced) < DISTRIBUTED.indexOf(key.table) }).toEqual({ ...key, before: true });
    }
  });

  it('puts organization_id on both sides of every foreign key between tenant tables', async () => {
    const tables = await tenantTables();
    const foreignKeys = await query<{ name: string; table: string; referenced: string; columns: string[]; referenced_columns: string[] }>(
      `SELECT con.conname AS name, t.relname AS table, r.relname AS referenced,
              ARRAY(SELECT a.attname::text FROM unnest(con.conkey) k JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k) AS columns,
              ARRAY(SELECT a.attname::text FROM unnest(con.confkey) k JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k) AS referenced_columns
         FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
        WHERE con.contype = 'f' AND con.conparentid = 0 AND t.relname = ANY ($1) ORDER BY 1`,
      [tables],
    );
    expect(foreignKeys.map((key) => key.name)).toContain('activity_events_organization_id_content_id_fkey');
    for (const key of foreignKeys) {
      const position = key.columns.indexOf('organization_id');
      expect({ key: key.name, position: position >= 0 }).toEqual({ key: key.name, position: true });
      // The organization column pairs with the referenced table's organization (organizations' own id).
      expect(key.referenced_columns[position]).toBe(key.referenced === 'organizations' ? 'id' : 'organization_id');
    }
  });

  it('keeps e-mails unique across organizations in login_emails, and answers 409 for a duplicate in any case', async () => {
    const first = await signup(testApp);
    const email = uniqueEmail('shared');
    const user = await createUser(testApp, first.token, { email });
    const registered = await query<{ email: string; organization_id: string; user_id: string }>(`SELECT * FROM login_emails WHERE user_id = $1`, [user.id]);
    expect(registered).toEqual([{ email: email.toLowerCase(), organization_id: first.organization.id, user_id: user.id }]);

    const second = await signup(testApp);
    const shouting = email.toUpperCase();
    await http(testApp).post('/api/v1/users').set('Authorization', `Bearer ${second.token}`).send({ email: shouting, name: 'Other', role: 'student' }).expect(409);
    await http(testApp).post('/api/v1/users').set('Authorization', `Bearer ${first.token}`).send({ email, name: 'Same org', role: 'student' }).expect(409);
    await http(testApp)
      .post('/api/v1/auth/signup')
      .send({ organization_name: 'Clash', name: 'Clash Admin', email: shouting, password: 'correct horse battery' })
      .expect(409);
    // Nothing of the refused writes was kept.
    const owners = await query<{ count: number }>(`SELECT count(*)::int AS count FROM users WHERE lower(email) = lower($1)`, [email]);
    expect(owners[0].count).toBe(1);
    expect(await query(`SELECT 1 FROM organizations WHERE name = 'Clash'`)).toEqual([]);
  });
});
