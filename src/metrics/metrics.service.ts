import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { RequestMetrics } from '../observability/request-metrics.js';
import type { ActivityResponse } from './dto/activity.response.js';
import type { DashboardResponse } from './dto/dashboard.response.js';
import type { StatisticsResponse } from './dto/statistics.response.js';
import { engagementScore } from './engagement-score.js';
import type { EngagementDay, SeriesBucket } from '../rollups/figure-types.js';
import { ActivitySeriesReader } from './activity-series.reader.js';
import { MetricsRepository } from './metrics.repository.js';
import { daysBefore, hoursWindow, Period, periodWindow, startOfUtcDay } from './periods.js';
import { percent, round2, summarize } from './statistics.js';
import { SystemMetricsReader } from './system-metrics.reader.js';
import { RollupsRepository } from '../rollups/rollups.repository.js';

const TREND_DAYS = 7;
const TOP_CONTENT = 5;

/** The statistics endpoint's six series, by the column of the activity series each one reads. */
export const STATISTICS_SERIES = {
  daily_active_users: 'active_users',
  new_users: 'new_users',
  content_created: 'content_created',
  lessons_completed: 'lessons_completed',
  assessments_submitted: 'assessments_submitted',
  avg_score: 'avg_score',
} as const satisfies Record<string, keyof SeriesBucket>;
export type StatisticsSeriesName = keyof typeof STATISTICS_SERIES;

/** The statistics series per UTC day, as the statistics endpoint reports them (avg_score to two decimals, null without assessments). */
export interface DailySeries {
  /** YYYY-MM-DD, oldest first; the last one is today, still under way. */
  days: string[];
  series: Record<StatisticsSeriesName, (number | null)[]>;
}

@Injectable()
export class MetricsService {
  constructor(
    private readonly metrics: MetricsRepository,
    private readonly rollups: RollupsRepository,
    private readonly series: ActivitySeriesReader,
    private readonly system: SystemMetricsReader,
    private readonly requests: RequestMetrics,
    private readonly clock: Clock,
  ) {}

  async dashboard(organizationId: string): Promise<DashboardResponse> {
    const now = this.clock.date();
    const today = startOfUtcDay(now);
    // The figure families come from the per-day rollups (src/rollups), which equal MetricsRepository's raw SQL
    // (test/rollups.spec.ts) without scanning raw events; the system figures are read alongside.
    const [{ users, content, engagement, engagementDays, trend }, system] = await Promise.all([
      this.rollups.dashboardFigures(organizationId, now, today, TREND_DAYS),
      this.system.read(),
    ]);
    const scores = engagementDays.map(toEngagementScore);
    return {
      timestamp: now.toISOString(),
      organization_id: organizationId,
      user_metrics: {
        total_users: users.total_users,
        active_users: users.active_last_24h,
        new_users_today: users.new_users_today,
        growth_rate: round2(percent(users.created_last_7_days - users.created_previous_7_days, users.created_previous_7_days)),
        user_retention: round2(percent(users.retained, users.retention_cohort)),
      },
      content_metrics: {
        total_content: content.total_content,
        published_content: content.published_content,
        draft_content: content.draft_content,
        content_created_today: content.content_created_today,
        avg_generation_time: content.avg_generation_ms === null ? null : round2(content.avg_generation_ms / 1000),
      },
      engagement_metrics: {
        daily_active_users: engagement.daily_active_users,
        avg_session_duration: engagement.avg_session_seconds === null ? null : round2(engagement.avg_session_seconds / 60),
        total_lessons_completed: engagement.total_lessons_completed,
        total_assessments: engagement.total_assessments,
        engagement_score: scores[scores.length - 1],
      },
      system_metrics: system,
      trends: {
        days: trend.map((bucket) => bucket.bucket_start.toISOString().slice(0, 10)),
        daily_active_users: trend.map((bucket) => bucket.active_users),
        new_users: trend.map((bucket) => bucket.new_users),
        content_created: trend.map((bucket) => bucket.content_created),
        lessons_completed: trend.map((bucket) => bucket.lessons_completed),
        assessments_submitted: trend.map((bucket) => bucket.assessments_submitted),
        engagement_score: scores,
      },
    };
  }

  async activity(organizationId: string, hours: number, limit: number): Promise<ActivityResponse> {
    const now = this.clock.date();
    const window = hoursWindow(hours, now);
    const [counts, hourly, top, recent] = await Promise.all([
      this.metrics.windowCounts(organizationId, window.since, now),
      this.metrics.activitySeries(organizationId, window),
      this.metrics.topContent(organizationId, window.since, now, TOP_CONTENT),
      this.metrics.recentEvents(organizationId, window.since, now, limit),
    ]);
    return {
      organization_id: organizationId,
      window_hours: hours,
      since: window.since.toISOString(),
      recent_lessons: counts.lessons_completed,
      recent_assessments: counts.assessments_submitted,
      recent_sessions: counts.sessions,
      new_users: counts.new_users,
      content_published: counts.content_published,
      hourly: hourly.map((bucket) => ({ hour: bucket.bucket_start.toISOString(), events: bucket.events })),
      top_content: top.map((row) => ({ ...row, avg_score: round2(row.avg_score) })),
      recent_events: recent.map((row) => ({
        id: row.id,
        type: row.type,
        occurred_at: row.occurred_at.toISOString(),
        user: { id: row.user_id, name: row.user_name },
        content: row.content_id === null ? null : { id: row.content_id, title: row.content_title ?? '' },
      })),
    };
  }

  /** The statistics series over the `days` UTC days ending today (insights look further back than a period). */
  async dailySeries(organizationId: string, days: number): Promise<DailySeries> {
    const now = this.clock.date();
    // From the rollups like the statistics: exact after retention dropped old raw events, and as cheap for any span.
    const buckets = await this.series.read(organizationId, { since: daysBefore(startOfUtcDay(now), days - 1), bucketSeconds: 86400, buckets: days, now });
    const series = Object.fromEntries(
      Object.entries(STATISTICS_SERIES).map(([name, column]) => [name, buckets.map((bucket) => (column === 'avg_score' ? round2(bucket.avg_score) : bucket[column]))]),
    ) as DailySeries['series'];
    return { days: buckets.map((bucket) => bucket.bucket_start.toISOString().slice(0, 10)), series };
  }

  async statistics(organizationId: string, period: Period): Promise<StatisticsResponse> {
    const now = this.clock.date();
    const window = periodWindow(period, now);
    const buckets = await this.series.read(organizationId, window);
    const series = Object.fromEntries(
      Object.entries(STATISTICS_SERIES).map(([name, column]) => {
        const values = buckets.map((bucket) => (column === 'avg_score' ? round2(bucket.avg_score) : bucket[column]));
        return [
          name,
          {
            points: buckets.map((bucket, index): [string, number | null] => [bucket.bucket_start.toISOString(), values[index]]),
            summary: summarize(values),
          },
        ];
      }),
    ) as unknown as StatisticsResponse['series'];
    const requests = this.requests.summary();
    return {
      period,
      bucket: window.bucket,
      since: window.since.toISOString(),
      series,
      api_performance: {
        p50_ms: requests.p50Ms,
        p95_ms: requests.p95Ms,
        p99_ms: requests.p99Ms,
        error_rate: requests.errorRatePct,
        requests: requests.requests,
      },
      generated_at: now.toISOString(),
    };
  }
}

function toEngagementScore(day: EngagementDay): number {
  return engagementScore({
    dailyActiveUsersSumW7: day.daily_active_users_sum_w7,
    activeUsersW7: day.active_users_w7,
    activeUsersW30: day.active_users_w30,
    sessionsW7: day.sessions_w7,
    sessionSecondsW7: day.session_seconds_w7,
    lessonsCompletedW7: day.lessons_completed_w7,
  });
}
