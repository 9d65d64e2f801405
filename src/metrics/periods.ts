import type { SeriesWindow } from '../rollups/figure-types.js';

export const PERIODS = ['24h', '7d', '30d', '90d'] as const;
export type Period = (typeof PERIODS)[number];

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** 00:00 UTC of the day holding `now`: where "today" starts (SPEC §6). */
export function startOfUtcDay(now: Date): Date {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
}

export function daysBefore(day: Date, days: number): Date {
  return new Date(day.getTime() - days * DAY_MS);
}

/** 24h is rolling from now in 24 hourly buckets; the others are the N UTC calendar days ending today. */
export function periodWindow(period: Period, now: Date): SeriesWindow & { bucket: 'hour' | 'day' } {
  if (period === '24h') return { bucket: 'hour', since: new Date(now.getTime() - 24 * HOUR_MS), bucketSeconds: 3600, buckets: 24, now };
  const days = Number(period.slice(0, -1));
  return { bucket: 'day', since: daysBefore(startOfUtcDay(now), days - 1), bucketSeconds: 86400, buckets: days, now };
}

/** The activity window: `hours` rolling hours ending now, one bucket per hour. */
export function hoursWindow(hours: number, now: Date): SeriesWindow {
  return { since: new Date(now.getTime() - hours * HOUR_MS), bucketSeconds: 3600, buckets: hours, now };
}
