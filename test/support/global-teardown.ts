import { Client } from 'pg';
import { ADMIN_DATABASE_URL } from './test-env';

export default async function globalTeardown(): Promise<void> {
  const id = process.env.TEST_RUN_ID;
  if (!id) return;
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`tm_test_${id}_%`]);
  for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
}
