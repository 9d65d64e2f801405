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

/** What one insert stored: ids already stored are not counted. */
export interface StoredBatch {
  accepted: number;
  byType: Partial<Record<EventType, number>>;
}

@Injectable()
export class EventsRepository {
  constructor(private readonly tx: TenantTransactions) {}

  /**
   * One statement: insert what is new (ids already stored are skipped). The insert's statement trigger
   * (migrations/1764300000000-ingestion-throughput.ts) then locks the stored events' users in id order, moves their
   * last_active_at / last_login_at forward (never backward) and adds the events to the rollups, in this transaction.
   */
  async insertBatch(organizationId: string, events: NewEvent[]): Promise<StoredBatch> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: { type: EventType; stored: number }[] = await manager.query(
        `WITH inserted AS (
           INSERT INTO activity_events (organization_id, id, user_id, type, content_id, occurred_at, duration_seconds, score)
           SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::timestamptz[], $7::int[], $8::float8[])
           ON CONFLICT (organization_id, id) DO NOTHING
           RETURNING type
         )
         SELECT type, count(*)::int AS stored FROM inserted GROUP BY type`,
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
      const byType: Partial<Record<EventType, number>> = {};
      for (const row of rows) byType[row.type] = row.stored;
      return { accepted: rows.reduce((total, row) => total + row.stored, 0), byType };
    });
  }
}
