import { Injectable } from '@nestjs/common';
import { TenantTransactions } from '../database/tenant-transactions.js';
import { DailyRollupRow, DashboardFigures, dashboardFiguresFromRollups } from './rollup-figures.js';
import { rebuildOrganizationRollups } from './rollup-rebuild.js';

const ROLLUP_COLUMNS = `day::text AS day, new_users, new_users_active, content_created, content_generated, content_generation_ms::float8 AS content_generation_ms,
  content_draft, content_published, content_archived, lessons_completed, assessments, sessions, session_seconds::float8 AS session_seconds,
  daily_active_users, active_7d_delta, active_30d_delta, retained_30d_delta`;

/** The dashboard's figures from the per-day rollups: two index range reads, never a scan of raw events. */
@Injectable()
export class RollupsRepository {
  constructor(private readonly tx: TenantTransactions) {}

  dashboardFigures(organizationId: string, now: Date, today: Date, trendDays: number): Promise<DashboardFigures> {
    return this.tx.run(
      organizationId,
      async (manager) => {
        const rows: DailyRollupRow[] = await manager.query(
          `SELECT ${ROLLUP_COLUMNS} FROM daily_rollups WHERE organization_id = $1 AND day <= $2::date ORDER BY day`,
          [organizationId, today.toISOString().slice(0, 10)],
        );
        // last_active_at is the user's latest event time (kept by ingestion), so this is "an event in the last 24 h".
        const [active]: { count: number }[] = await manager.query(
          `SELECT count(*)::int AS count FROM users WHERE organization_id = $1 AND last_active_at > $2`,
          [organizationId, new Date(now.getTime() - 86_400_000)],
        );
        return dashboardFiguresFromRollups(rows, active.count, today, trendDays);
      },
      { readOnly: true },
    );
  }

  /** Recomputes the organization's rollups from the raw tables (repair tool). */
  rebuild(organizationId: string): Promise<void> {
    return this.tx.run(organizationId, (manager) => rebuildOrganizationRollups(manager, organizationId));
  }
}
