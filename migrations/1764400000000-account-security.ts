import { MigrationInterface, QueryRunner } from 'typeorm';

/** The e-mail normalization of this release, frozen here (src/auth/email.ts may evolve; a landed migration may not). */
function normalizeEmail(email: string): string {
  let lowered = '';
  for (const character of email.trim().normalize('NFC')) lowered += character === '\u0130' ? 'i' : character.toLowerCase();
  return lowered.normalize('NFC');
}

/**
 * Accounts that hold against abuse:
 * - users.token_version: every access token carries the version it was issued under; a password change, a role change
 *   or a deactivation moves it, so the tokens issued before never work again (reactivation does not move it back);
 * - e-mails are stored normalized (one function in the service) and compared exactly, so the login lookup uses the
 *   same rule as the rate-limit keys (lower() and JavaScript disagree on U+0130);
 * - auth_find_login compares exactly (lower() = lower() first, so the index on lower(email) finds the row) and
 *   returns the token version too.
 */
export class AccountSecurity1764400000000 implements MigrationInterface {
  name = 'AccountSecurity1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0`);

    // Only addresses that are not already plain lowercase ASCII without surrounding spaces can change.
    const rows: { organization_id: string; id: string; email: string }[] = await queryRunner.query(
      `SELECT organization_id, id, email FROM users WHERE email ~ '[A-Z]' OR email ~ '[^ -~]' OR email <> btrim(email)`,
    );
    const seen = new Map<string, string>();
    const changes = rows.map((row) => ({ ...row, normalized: normalizeEmail(row.email) })).filter((row) => row.normalized !== row.email);
    if (changes.length > 0) {
      const all: { email: string; id: string }[] = await queryRunner.query(`SELECT id, email FROM users WHERE email = ANY($1::text[])`, [changes.map((c) => c.normalized)]);
      for (const row of all) seen.set(row.email, row.id);
    }
    for (const change of changes) {
      const holder = seen.get(change.normalized);
      if (holder && holder !== change.id) {
        throw new Error(`Users ${holder} and ${change.id} have the same normalized e-mail "${change.normalized}": change one of them, then migrate again`);
      }
      seen.set(change.normalized, change.id);
      await queryRunner.query(`UPDATE users SET email = $3 WHERE organization_id = $1 AND id = $2`, [change.organization_id, change.id, change.normalized]);
    }
    // The unique index on lower(email) stays: over normalized addresses it is the same rule, and the lookup uses it.

    await queryRunner.query(`DROP FUNCTION auth_find_login(text)`);
    await queryRunner.query(`
      CREATE FUNCTION auth_find_login(p_email text)
      RETURNS TABLE (user_id uuid, organization_id uuid, password_hash text, is_active boolean, token_version integer)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT u.id, u.organization_id, u.password_hash, u.is_active, u.token_version FROM users u
         WHERE lower(u.email) = lower(p_email) AND u.email = p_email
      $$`);
    await queryRunner.query(`REVOKE ALL ON FUNCTION auth_find_login(text) FROM PUBLIC`);
    await queryRunner.query(`GRANT EXECUTE ON FUNCTION auth_find_login(text) TO toolbox_app`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION auth_find_login(text)`);
    await queryRunner.query(`
      CREATE FUNCTION auth_find_login(p_email text)
      RETURNS TABLE (user_id uuid, organization_id uuid, password_hash text, is_active boolean)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT u.id, u.organization_id, u.password_hash, u.is_active FROM users u WHERE lower(u.email) = lower(p_email)
      $$`);
    await queryRunner.query(`REVOKE ALL ON FUNCTION auth_find_login(text) FROM PUBLIC`);
    await queryRunner.query(`GRANT EXECUTE ON FUNCTION auth_find_login(text) TO toolbox_app`);
    await queryRunner.query(`ALTER TABLE users DROP COLUMN token_version`);
  }
}
