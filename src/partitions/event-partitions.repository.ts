import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

/** A month of activity_events: the first day of the month, UTC. */
export type PartitionMonth = string;

/**
 * The monthly partitions of activity_events, for all organizations at once: a platform operation that runs as the
 * connecting (owning) user, never under the application role. The work is done by the SQL functions of
 * migrations/1764600000000-partitioned-events.ts, so that the seed, the migration and the service share one rule.
 */
@Injectable()
export class EventPartitionsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Creates the month's partition when missing (moving its rows out of the default partition); true if created. */
  async createMonth(month: PartitionMonth): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      // DDL waits for the table's readers and writers: give up quickly and try again at the next run.
      await manager.query(`SET LOCAL lock_timeout = '5s'`);
      return createEventPartition(manager, month);
    });
  }

  /** The months that have rows waiting in the default partition (imports of months without a partition). */
  async monthsInDefault(): Promise<PartitionMonth[]> {
    const rows: { month: string }[] = await this.dataSource.query(
      `SELECT DISTINCT to_char(date_trunc('month', occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS month FROM activity_events_default ORDER BY 1`,
    );
    return rows.map((row) => row.month);
  }

  /** The existing monthly partitions, oldest first. */
  async months(): Promise<PartitionMonth[]> {
    const rows: { month: string }[] = await this.dataSource.query(
      `SELECT replace(substr(c.relname, 18), '_', '-') || '-01' AS month
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'activity_events'::regclass AND c.relname ~ '^activity_events_p[0-9]{4}_[0-9]{2}$'
        ORDER BY 1`,
    );
    return rows.map((row) => row.month);
  }

  /** Drops the partitions of the months that ended at or before the cutoff; returns their names. */
  async dropBefore(cutoff: Date): Promise<string[]> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL lock_timeout = '5s'`);
      const rows: { name: string }[] = await manager.query(`SELECT activity_events_drop_partitions_before($1) AS name`, [cutoff]);
      return rows.map((row) => row.name);
    });
  }
}

/** Inside an open owner transaction (the seed's): the partition of the month holding `month`. */
export async function createEventPartition(manager: EntityManager, month: PartitionMonth): Promise<boolean> {
  const [row]: { created: boolean }[] = await manager.query(`SELECT activity_events_create_partition($1::date) AS created`, [month]);
  return row.created;
}

/** The first day of each UTC month from the one holding `from` to the one holding `to`, as YYYY-MM-DD. */
export function monthsBetween(from: Date, to: Date): PartitionMonth[] {
  const months: PartitionMonth[] = [];
  let year = from.getUTCFullYear();
  let month = from.getUTCMonth();
  while (year < to.getUTCFullYear() || (year === to.getUTCFullYear() && month <= to.getUTCMonth())) {
    months.push(`${year}-${String(month + 1).padStart(2, '0')}-01`);
    month += 1;
    if (month === 12) {
      month = 0;
      year += 1;
    }
  }
  return months;
}
