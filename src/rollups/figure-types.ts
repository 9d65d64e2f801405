/**
 * The shapes of the metric figures, shared by the rollups (which compute them from per-day counters) and by the
 * metrics layer above (which also computes them by raw SQL, the correctness baseline). They live here, below both,
 * so that data flows one way: metrics imports rollups, rollups imports nothing from metrics.
 */

export interface UserFigures {
  total_users: number;
  new_users_today: number;
  created_last_7_days: number;
  created_previous_7_days: number;
  retention_cohort: number;
  retained: number;
  active_last_24h: number;
}

export interface ContentFigures {
  total_content: number;
  published_content: number;
  draft_content: number;
  content_created_today: number;
  avg_generation_ms: number | null;
}

export interface EngagementFigures {
  daily_active_users: number;
  avg_session_seconds: number | null;
  total_lessons_completed: number;
  total_assessments: number;
}

export interface EngagementDay {
  day: Date;
  daily_active_users_sum_w7: number;
  active_users_w7: number;
  active_users_w30: number;
  sessions_w7: number;
  session_seconds_w7: number;
  lessons_completed_w7: number;
}

/** One bucket of the activity series; every count is zero-filled, the averages null when undefined. */
export interface SeriesBucket {
  bucket_start: Date;
  active_users: number;
  new_users: number;
  content_created: number;
  content_published: number;
  avg_generation_seconds: number | null;
  events: number;
  sessions: number;
  avg_session_minutes: number | null;
  lessons_completed: number;
  assessments_submitted: number;
  avg_score: number | null;
}

/** Buckets of equal length from `since`: bucket i holds [since + i·size, since + (i+1)·size), the last one up to now. */
export interface SeriesWindow {
  since: Date;
  bucketSeconds: number;
  buckets: number;
  now: Date;
}
