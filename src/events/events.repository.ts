import { Injectable } from '@nestjs/common';
import { arrayLiteral } from '../database/array-literal.js';
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

/** What one insert stored: ids already stored are not counted. */
export interface StoredBatch {
  accepted: number;
  byType: Partial<Record<EventType, number>>;
}

@Injectable()
export class EventsRepository {
  constructor(private readonly tx: TenantTransactions) {}

  /**
   * One statement: insert what is new. Ids already stored (activity_event_ids, every month, retention included) and
   * repeats inside the batch (the first one counts) are skipped. An id that a concurrent batch is storing makes this
   * insert wait for it and then raise a unique violation on the event keys, which runs the whole transaction again
   * (TenantTransactions): the second time the id is stored and skipped. That costs a retry in a rare race instead of an
   * ON CONFLICT check of the partition's key for every event (docs/performance.md, "A fourth host"). The insert's statement trigger
   * (migrations/1764600000000-partitioned-events.ts) registers the ids, locks the stored events' users in id order,
   * moves their last_active_at / last_login_at forward (never backward) and adds the events to the rollups.
   */
  async insertBatch(organizationId: string, events: NewEvent[]): Promise<StoredBatch> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: { type: EventType; stored: number }[] = await manager.query(
        `WITH batch AS (
           SELECT DISTINCT ON (b.id) b.*
             FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::timestamptz[], $7::int[], $8::float8[])
                  WITH ORDINALITY AS b (id, user_id, type, content_id, occurred_at, duration_seconds, score, position)
            ORDER BY b.id, b.position
         ), inserted AS (
           INSERT INTO activity_events (organization_id, id, user_id, type, content_id, occurred_at, duration_seconds, score)
           SELECT $1, b.id, b.user_id, b.type, b.content_id, b.occurred_at, b.duration_seconds, b.score
             FROM batch b
            WHERE NOT EXISTS (SELECT 1 FROM activity_event_ids r WHERE r.organization_id = $1 AND r.id = b.id)
            ORDER BY b.position
           RETURNING type
         )
         SELECT type, count(*)::int AS stored FROM inserted GROUP BY type`,
        [
          organizationId,
          // Array literals: every value here is a UUID, a fixed word, a time as ISO 8601 text or a number.
          arrayLiteral(events.map((e) => e.id)),
          arrayLiteral(events.map((e) => e.userId)),
          arrayLiteral(events.map((e) => e.type)),
          arrayLiteral(events.map((e) => e.contentId)),
          arrayLiteral(events.map((e) => e.occurredAt.toISOString())),
          arrayLiteral(events.map((e) => e.durationSeconds)),
          arrayLiteral(events.map((e) => e.score)),
        ],
      );
      const byType: Partial<Record<EventType, number>> = {};
      for (const row of rows) byType[row.type] = row.stored;
      return { accepted: rows.reduce((total, row) => total + row.stored, 0), byType };
    });
  }
}
