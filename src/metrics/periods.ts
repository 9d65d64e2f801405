import type { SeriesWindow } from '../rollups/figure-types.js';

export const PERIODS = ['24h', '7d', '30d', '90d'] as const;
export type Period = (typeof PERIODS)[number];

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** 00:00 UTC of the day holding `now`: where "today" starts. */
export function startOfUtcDay(now: Date): Date {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
}

export function daysBefore(day: Date, days: number): Date {
  return new Date(day.getTime() - days * DAY_MS);
}

/** hh:00:00.000 UTC of the hour holding `now`. */
export function startOfUtcHour(now: Date): Date {
  return new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
}

/** 24h is 24 whole UTC hours ending with the current one; the others are the N UTC calendar days ending today. */
export function periodWindow(period: Period, now: Date): SeriesWindow & { bucket: 'hour' | 'day' } {
  if (period === '24h') return { bucket: 'hour', ...hoursWindow(24, now) };
  const days = Number(period.slice(0, -1));
  return { bucket: 'day', since: daysBefore(startOfUtcDay(now), days - 1), bucketSeconds: 86400, buckets: days, now };
}

/**
 * `hours` whole UTC hours: the hours − 1 before the current one plus the current one so far, so that every
 * bucket label is hh:00:00.000Z and two requests a minute apart show the same labels.
 */
export function hoursWindow(hours: number, now: Date): SeriesWindow {
  return { since: new Date(startOfUtcHour(now).getTime() - (hours - 1) * HOUR_MS), bucketSeconds: 3600, buckets: hours, now };
}
