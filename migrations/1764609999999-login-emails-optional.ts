import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Learners known only by an external id have no e-mail: login_emails records only users who have one, and a user who
 * gets an e-mail later (a roster import) or loses it is added or removed.
 */
export class LoginEmailsOptional1764609999999 implements MigrationInterface {
  name = 'LoginEmailsOptional1764609999999';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION login_emails_users_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO login_emails (email, organization_id, user_id)
        SELECT lower(email), organization_id, id FROM inserted_users WHERE email IS NOT NULL ORDER BY 1;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION login_emails_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' OR NEW.email IS NULL THEN
          DELETE FROM login_emails WHERE email = lower(OLD.email) AND organization_id = OLD.organization_id AND user_id = OLD.id;
          RETURN NULL;
        END IF;
        IF OLD.email IS NULL THEN
          INSERT INTO login_emails (email, organization_id, user_id) VALUES (lower(NEW.email), NEW.organization_id, NEW.id);
          RETURN NULL;
        END IF;
        UPDATE login_emails SET email = lower(NEW.email) WHERE email = lower(OLD.email) AND organization_id = OLD.organization_id AND user_id = OLD.id;
        RETURN NULL;
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION login_emails_users_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO login_emails (email, organization_id, user_id)
        SELECT lower(email), organization_id, id FROM inserted_users ORDER BY 1;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION login_emails_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          DELETE FROM login_emails WHERE email = lower(OLD.email) AND organization_id = OLD.organization_id AND user_id = OLD.id;
          RETURN NULL;
        END IF;
        UPDATE login_emails SET email = lower(NEW.email) WHERE email = lower(OLD.email) AND organization_id = OLD.organization_id AND user_id = OLD.id;
        RETURN NULL;
      END $$`);
  }
}
