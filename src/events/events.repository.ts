import { Injectable } from '@nestjs/common';
import { TenantTransactions } from '../database/tenant-transactions.js';
import type { EventType } from '../database/entities/activity-event.entity.js';

export interface NewEvent {
  id: string;
  userId: string;
  type: EventType;
  contentId: string | null;
  occurredAt: Date;
  durationSeconds: number | null;
  score: number | null;
}

@Injectable()
export class EventsRepository {
  constructor(private readonly tx: TenantTransactions) {}

  /**
   * One statement: insert what is new (ids already stored are skipped), then move each user's
   * last_active_at / last_login_at forward from the inserted events only, never backward. The insert's trigger
   * adds the stored events to the daily rollups (migrations/1764200000000-rollups.ts) in the same transaction.
   */
  async insertBatch(organizationId: string, events: NewEvent[]): Promise<number> {
    return this.tx.run(organizationId, async (manager) => {
      // The batch's users, locked in id order before the statement's unordered UPDATE: concurrent batches sharing
      // users queue instead of deadlocking, and the rollup trigger reads each user's active days settled.
      await manager.query(`SELECT 1 FROM users WHERE organization_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE`, [
        organizationId,
        [...new Set(events.map((e) => e.userId))],
      ]);
      const rows: { accepted: number }[] = await manager.query(
        `WITH input AS (
           SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::timestamptz[], $7::int[], $8::float8[])
             AS t(id, user_id, type, content_id, occurred_at, duration_seconds, score)
         ), inserted AS (
           INSERT INTO activity_events (organization_id, id, user_id, type, content_id, occurred_at, duration_seconds, score)
           SELECT $1, id, user_id, type, content_id, occurred_at, duration_seconds, score FROM input
           ON CONFLICT (organization_id, id) DO NOTHING
           RETURNING user_id, type, occurred_at
         ), activity AS (
           SELECT user_id, max(occurred_at) AS last_active_at, max(occurred_at) FILTER (WHERE type = 'login') AS last_login_at
             FROM inserted GROUP BY user_id
         ), touched AS (
           UPDATE users u
              SET last_active_at = GREATEST(u.last_active_at, a.last_active_at),
                  last_login_at = GREATEST(u.last_login_at, a.last_login_at)
             FROM activity a
            WHERE u.organization_id = $1 AND u.id = a.user_id
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM inserted)::int AS accepted`,
        [
          organizationId,
          events.map((e) => e.id),
          events.map((e) => e.userId),
          events.map((e) => e.type),
          events.map((e) => e.contentId),
          events.map((e) => e.occurredAt),
          events.map((e) => e.durationSeconds),
          events.map((e) => e.score),
        ],
      );
      return rows[0].accepted;
    });
  }
}
