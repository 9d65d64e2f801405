import { MigrationInterface, QueryRunner } from 'typeorm';
import { EVENTS_TRIGGER_FUNCTION } from './1764600000000-partitioned-events.js';

/** The users lock and the users update of migrations/1764600000000-partitioned-events.ts's events trigger. */
const LOCK_THEN_UPDATE = `
        PERFORM 1 FROM users u WHERE (u.organization_id, u.id) IN (SELECT organization_id, user_id FROM inserted_events)
          ORDER BY u.organization_id, u.id FOR NO KEY UPDATE;
        GET DIAGNOSTICS locked_users = ROW_COUNT;
        IF locked_users <> (SELECT count(*) FROM (SELECT DISTINCT organization_id, user_id FROM inserted_events) batch_users) THEN
          RAISE EXCEPTION 'activity_events.user_id must be a user of the event''s organization' USING ERRCODE = 'foreign_key_violation';
        END IF;
        UPDATE users u
           SET last_active_at = GREATEST(u.last_active_at, a.last_active_at), last_login_at = GREATEST(u.last_login_at, a.last_login_at)
          FROM (SELECT organization_id, user_id, max(occurred_at) AS last_active_at, max(occurred_at) FILTER (WHERE type = 'login') AS last_login_at
                  FROM inserted_events GROUP BY 1, 2) a
         WHERE u.organization_id = a.organization_id AND u.id = a.user_id
           AND (u.last_active_at IS DISTINCT FROM GREATEST(u.last_active_at, a.last_active_at)
                OR u.last_login_at IS DISTINCT FROM GREATEST(u.last_login_at, a.last_login_at));`;

/**
 * One pass over the batch's users instead of two: the lock (in id order, as before) also reads each user's times and
 * keeps the users whose last_active_at / last_login_at move forward (about a quarter of a live batch's); only those
 * are updated, by key from arrays. The update joined all of them to a second aggregate of the transition table while
 * holding the locks other batches wait for. A user row changed by another batch while this one waited for its lock
 * is read again (READ COMMITTED's recheck of a locked row), so the times compared are the latest committed ones.
 */
const LOCK_READING_TIMES = `
        SELECT count(*), array_agg(organization_id) FILTER (WHERE moves), array_agg(id) FILTER (WHERE moves),
               array_agg(last_active_at) FILTER (WHERE moves), array_agg(last_login_at) FILTER (WHERE moves)
          INTO locked_users, moved_organizations, moved_users, moved_last_active, moved_last_login
          FROM (SELECT u.organization_id, u.id,
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
        UPDATE users u SET last_active_at = m.last_active_at, last_login_at = m.last_login_at
          FROM unnest(moved_organizations, moved_users, moved_last_active, moved_last_login) AS m (organization_id, user_id, last_active_at, last_login_at)
         WHERE u.organization_id = m.organization_id AND u.id = m.user_id;`;

/** The id registry's insert: ON CONFLICT DO NOTHING, then a count that raises when an id was already there. */
const REGISTER_COUNTING = `
        INSERT INTO activity_event_ids (organization_id, id) SELECT organization_id, id FROM inserted_events ORDER BY 1, 2 ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS registered_ids = ROW_COUNT;
        IF registered_ids <> (SELECT count(*) FROM inserted_events) THEN
          RAISE EXCEPTION 'an event with the same id is already stored for this organization'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'activity_event_ids_pkey';
        END IF;`;

/**
 * A plain insert raises the same error (unique_violation on activity_event_ids_pkey) for an id stored before, and
 * waits for a concurrent batch storing the same id as before; it skips ON CONFLICT's speculative insertion (a probe
 * of the index and one more WAL record per id).
 */
const REGISTER_PLAIN = `
        INSERT INTO activity_event_ids (organization_id, id) SELECT organization_id, id FROM inserted_events ORDER BY 1, 2;`;

const DECLARATIONS = `
        locked_users bigint;
        registered_ids bigint;`;

function replaced(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error('The events trigger function is not the one this migration expects');
  return text.replace(from, to);
}

export const USERS_PASS_FUNCTION = replaced(
  replaced(replaced(EVENTS_TRIGGER_FUNCTION, REGISTER_COUNTING, REGISTER_PLAIN), LOCK_THEN_UPDATE, LOCK_READING_TIMES),
  DECLARATIONS,
  `
        locked_users bigint;
        moved_organizations uuid[];
        moved_users uuid[];
        moved_last_active timestamptz[];
        moved_last_login timestamptz[];`,
);

/**
 * Less work per ingested batch in the events trigger, with the same results and errors: the id registry's plain
 * insert, and one pass over the batch's users (docs/performance.md, "Ingestion").
 */
export class EventsTriggerUsersPass1765000000002 implements MigrationInterface {
  name = 'EventsTriggerUsersPass1765000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(USERS_PASS_FUNCTION);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(EVENTS_TRIGGER_FUNCTION);
  }
}
