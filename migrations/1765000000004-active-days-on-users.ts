import { MigrationInterface, QueryRunner } from 'typeorm';
import { USER_CHANGED_FUNCTION } from './1764200000000-rollups.js';
import { USERS_PASS_FUNCTION } from './1765000000002-events-trigger-users-pass.js';

/**
 * A user's active days as a bit string on the user's row instead of one user_active_days row per (user, day):
 * active_from is the first day with an event, bit k of active_days (from the left) the day active_from + k. The
 * events trigger already locks each of a batch's users and reads its row; the new days of the batch are its unset
 * bits and their neighbours are read from the same bits, so a batch no longer probes and inserts into an index of
 * every (user, day) and reads each new pair's neighbours from it. PostgreSQL's CPU per batch of 1,000 events fell
 * from 68.8 to 56.2 ms (four connections, six alternations on the bench data; docs/performance.md, "A sixth host").
 */

/** The latest active day before $3 (NULL: none). */
const ACTIVE_DAY_BEFORE = `
      CREATE OR REPLACE FUNCTION active_day_before(date, varbit, date) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN $2 IS NULL OR $3 <= $1 THEN NULL
                    ELSE $1 + NULLIF(length(rtrim(substring($2::text FROM 1 FOR LEAST($3 - $1, length($2))), '0')), 0) - 1 END
      $$`;

/** The earliest active day after $3 (NULL: none). */
const ACTIVE_DAY_AFTER = `
      CREATE OR REPLACE FUNCTION active_day_after(date, varbit, date) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN $2 IS NULL OR GREATEST($3 - $1 + 1, 0) >= length($2) THEN NULL
                    ELSE $1 + GREATEST($3 - $1 + 1, 0) + NULLIF(position('1' IN substring($2::text FROM GREATEST($3 - $1 + 1, 0) + 1)), 0) - 1 END
      $$`;

/** Whether $3 is an active day (CASE: get_bit must not see a position outside the bits). */
const IS_ACTIVE_DAY = `
      CREATE OR REPLACE FUNCTION is_active_day(date, varbit, date) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN $2 IS NULL OR $3 < $1 OR $3 - $1 >= length($2) THEN false ELSE get_bit($2, $3 - $1) = 1 END
      $$`;

/** Everything after the users' update in the previous function (the rollup rows), its pairs' neighbours read from arrays. */
const ROLLUPS_FROM_ARRAYS = replaced(
  USERS_PASS_FUNCTION.slice(USERS_PASS_FUNCTION.indexOf('        WITH event_days AS ('), USERS_PASS_FUNCTION.indexOf('        RETURN NULL;')),
  USERS_PASS_FUNCTION.slice(USERS_PASS_FUNCTION.indexOf('        ), new_active_days AS ('), USERS_PASS_FUNCTION.indexOf('        ), window_spans AS (')),
  `        ), new_active_days AS (
          SELECT * FROM unnest(added_organizations, added_users, added_days) AS n (organization_id, user_id, day)
        ), active_day_neighbours AS (
          SELECT * FROM unnest(added_organizations, added_days, added_created, added_previous, added_next) AS n (organization_id, day, created_day, previous_day, next_day)
`,
);

/**
 * The events' statement trigger. In this order, so that concurrent batches never wait on each other in a cycle:
 * the ids' registry; each user once, in id order, locked FOR NO KEY UPDATE (READ COMMITTED reads a row changed by
 * the batch it waited for again, so its times and bits are the latest committed ones), which also checks that every
 * user is the organization's; the users' new times and bits; then the rollup rows in day order.
 */
const EVENTS_TRIGGER_FUNCTION = `
      CREATE OR REPLACE FUNCTION rollups_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        locked_users bigint;
        locked_organizations uuid[];
        locked_ids uuid[];
        locked_created date[];
        locked_last_active timestamptz[];
        locked_last_login timestamptz[];
        locked_moves boolean[];
        locked_from date[];
        locked_days varbit[];
        added_organizations uuid[];
        added_users uuid[];
        added_days date[];
        added_created date[];
        added_previous date[];
        added_next date[];
        moved_organizations uuid[];
        moved_users uuid[];
        moved_last_active timestamptz[];
        moved_last_login timestamptz[];
        moved_from date[];
        moved_days varbit[];
      BEGIN
        INSERT INTO activity_event_ids (organization_id, id) SELECT organization_id, id FROM inserted_events ORDER BY 1, 2;
        SELECT count(*), array_agg(organization_id), array_agg(id), array_agg(created_day), array_agg(last_active_at), array_agg(last_login_at),
               array_agg(moves), array_agg(active_from), array_agg(active_days)
          INTO locked_users, locked_organizations, locked_ids, locked_created, locked_last_active, locked_last_login, locked_moves, locked_from, locked_days
          FROM (SELECT u.organization_id, u.id, (u.created_at AT TIME ZONE 'UTC')::date AS created_day, u.active_from, u.active_days,
                       GREATEST(u.last_active_at, a.last_active_at) AS last_active_at, GREATEST(u.last_login_at, a.last_login_at) AS last_login_at,
                       u.last_active_at IS DISTINCT FROM GREATEST(u.last_active_at, a.last_active_at)
                         OR u.last_login_at IS DISTINCT FROM GREATEST(u.last_login_at, a.last_login_at) AS moves
                  FROM users u
                  JOIN (SELECT organization_id, user_id, max(occurred_at) AS last_active_at, max(occurred_at) FILTER (WHERE type = 'login') AS last_login_at
                          FROM inserted_events GROUP BY 1, 2) a ON u.organization_id = a.organization_id AND u.id = a.user_id
                 ORDER BY u.organization_id, u.id
                   FOR NO KEY UPDATE OF u) locked;
        IF locked_users <> (SELECT count(*) FROM (SELECT DISTINCT organization_id, user_id FROM inserted_events) batch_users) THEN
          RAISE EXCEPTION 'activity_events.user_id must be a user of the event''s organization' USING ERRCODE = 'foreign_key_violation';
        END IF;
        -- The batch's new active days, taken as added one by one in day order: the previous active day may be an earlier
        -- new day of the batch, the next one only a day stored before.
        SELECT array_agg(organization_id), array_agg(user_id), array_agg(day), array_agg(created_day),
               array_agg(GREATEST(previous_new, active_day_before(active_from, active_days, day))), array_agg(active_day_after(active_from, active_days, day))
          INTO added_organizations, added_users, added_days, added_created, added_previous, added_next
          FROM (SELECT d.organization_id, d.user_id, d.day, l.created_day, l.active_from, l.active_days,
                       lag(d.day) OVER (PARTITION BY d.organization_id, d.user_id ORDER BY d.day) AS previous_new
                  FROM (SELECT DISTINCT organization_id, user_id, (occurred_at AT TIME ZONE 'UTC')::date AS day FROM inserted_events) d
                  JOIN unnest(locked_organizations, locked_ids, locked_created, locked_from, locked_days) AS l (organization_id, user_id, created_day, active_from, active_days)
                    ON l.organization_id = d.organization_id AND l.user_id = d.user_id
                 WHERE NOT is_active_day(l.active_from, l.active_days, d.day)) new_days;
        -- Each user whose times move or who has new days: the new days' bits (from the first of them) or'ed with the
        -- stored ones, both padded to the span of the two.
        WITH added_bits AS (
          SELECT organization_id, user_id, min(day) AS first_day, max(day) AS last_day,
                 string_agg(CASE WHEN previous IS NULL THEN '1' ELSE repeat('0', day - previous - 1) || '1' END, '' ORDER BY day) AS bits
            FROM (SELECT organization_id, user_id, day, lag(day) OVER (PARTITION BY organization_id, user_id ORDER BY day) AS previous
                    FROM unnest(added_organizations, added_users, added_days) AS n (organization_id, user_id, day)) a
           GROUP BY 1, 2
        )
        SELECT array_agg(organization_id), array_agg(user_id), array_agg(last_active_at), array_agg(last_login_at), array_agg(new_from), array_agg(new_days)
          INTO moved_organizations, moved_users, moved_last_active, moved_last_login, moved_from, moved_days
          FROM (SELECT l.organization_id, l.user_id, l.last_active_at, l.last_login_at,
                       COALESCE(LEAST(l.active_from, b.first_day), l.active_from) AS new_from,
                       CASE WHEN b.bits IS NULL THEN l.active_days
                            WHEN l.active_days IS NULL THEN b.bits::varbit
                            ELSE (repeat('0', l.active_from - LEAST(l.active_from, b.first_day)) || l.active_days::text
                                  || repeat('0', GREATEST(l.active_from + length(l.active_days) - 1, b.last_day) - l.active_from - length(l.active_days) + 1))::varbit
                               | (repeat('0', b.first_day - LEAST(l.active_from, b.first_day)) || b.bits
                                  || repeat('0', GREATEST(l.active_from + length(l.active_days) - 1, b.last_day) - b.first_day - length(b.bits) + 1))::varbit END AS new_days
                  FROM unnest(locked_organizations, locked_ids, locked_last_active, locked_last_login, locked_moves, locked_from, locked_days)
                         AS l (organization_id, user_id, last_active_at, last_login_at, moves, active_from, active_days)
                  LEFT JOIN added_bits b ON b.organization_id = l.organization_id AND b.user_id = l.user_id
                 WHERE l.moves OR b.user_id IS NOT NULL) m;
        -- By key from arrays: joined to a set the planner cannot size, the update could scan every user.
        UPDATE users u SET last_active_at = m.last_active_at, last_login_at = m.last_login_at, active_from = m.active_from, active_days = m.active_days
          FROM unnest(moved_organizations, moved_users, moved_last_active, moved_last_login, moved_from, moved_days)
                 AS m (organization_id, user_id, last_active_at, last_login_at, active_from, active_days)
         WHERE u.organization_id = m.organization_id AND u.id = m.user_id;
${ROLLUPS_FROM_ARRAYS}        RETURN NULL;
      END $$`;

/** A user's created day moved: its counts move, and so does the retention span of each of its active days. */
const USER_CHANGED_FROM_BITS = replaced(
  USER_CHANGED_FUNCTION,
  `FROM user_active_days a WHERE a.organization_id = NEW.organization_id AND a.user_id = NEW.id) pair`,
  `FROM (SELECT NEW.active_from + (bit.n - 1)::int AS day
                              FROM string_to_table(COALESCE(NEW.active_days::text, ''), NULL) WITH ORDINALITY AS bit (value, n)
                             WHERE bit.value = '1') a) pair`,
);

function replaced(text: string, from: string, to: string): string {
  if (!from || !text.includes(from)) throw new Error('A trigger function is not the one this migration expects');
  return text.replace(from, to);
}

/** A user's bits from that user's distinct active days (a set of rows with user_id and day). */
function activeDaysBits(pairs: string): string {
  return `SELECT organization_id, user_id, min(day) AS active_from,
                 string_agg(CASE WHEN previous IS NULL THEN '1' ELSE repeat('0', day - previous - 1) || '1' END, '' ORDER BY day)::varbit AS active_days
            FROM (SELECT organization_id, user_id, day, lag(day) OVER (PARTITION BY organization_id, user_id ORDER BY day) AS previous FROM (${pairs}) p) s
           GROUP BY 1, 2`;
}

export class ActiveDaysOnUsers1765000000004 implements MigrationInterface {
  name = 'ActiveDaysOnUsers1765000000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE users ADD COLUMN active_from date, ADD COLUMN active_days bit varying`);
    await queryRunner.query(`COMMENT ON COLUMN users.active_days IS 'Days with an event: bit k (from the left) is active_from + k'`);
    await queryRunner.query(
      `UPDATE users u SET active_from = b.active_from, active_days = b.active_days
         FROM (${activeDaysBits('SELECT organization_id, user_id, day FROM user_active_days')}) b
        WHERE u.organization_id = b.organization_id AND u.id = b.user_id`,
    );
    for (const statement of [ACTIVE_DAY_BEFORE, ACTIVE_DAY_AFTER, IS_ACTIVE_DAY, EVENTS_TRIGGER_FUNCTION, USER_CHANGED_FROM_BITS]) await queryRunner.query(statement);
    await queryRunner.query(`DROP TABLE user_active_days`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE user_active_days (
        organization_id uuid NOT NULL,
        user_id uuid NOT NULL,
        day date NOT NULL,
        PRIMARY KEY (organization_id, user_id, day)
      )`);
    await queryRunner.query(`ALTER TABLE user_active_days ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY tenant_isolation ON user_active_days
        USING (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)
        WITH CHECK (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)`);
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON user_active_days TO toolbox_app`);
    await queryRunner.query(
      `INSERT INTO user_active_days (organization_id, user_id, day)
       SELECT u.organization_id, u.id, u.active_from + (bit.n - 1)::int
         FROM users u CROSS JOIN LATERAL string_to_table(u.active_days::text, NULL) WITH ORDINALITY AS bit (value, n)
        WHERE bit.value = '1'`,
    );
    await queryRunner.query(USERS_PASS_FUNCTION);
    await queryRunner.query(USER_CHANGED_FUNCTION);
    for (const name of ['active_day_before', 'active_day_after', 'is_active_day']) await queryRunner.query(`DROP FUNCTION ${name}(date, varbit, date)`);
    await queryRunner.query(`ALTER TABLE users DROP COLUMN active_from, DROP COLUMN active_days`);
  }
}
