import { createHash } from 'node:crypto';
import type { EventSeedRow } from '../seed/bulk-writer.js';
import { seedEvent } from '../seed/organization-generator.js';
import { Random } from '../seed/random.js';

export const HOUR_MS = 3_600_000;

export interface DemoUser {
  id: string;
  createdAt: Date;
}

export interface DemoContent {
  id: string;
  contentType: string;
}

/** Average events per user and day on a weekday; weekends are quieter. */
const EVENTS_PER_USER_PER_DAY = 3;
/** The share of a day's activity in each UTC hour: quiet nights, a school-day peak, some evening study. */
const HOUR_WEIGHTS = [0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 1.2, 2, 2.6, 2.8, 2.6, 2, 2.3, 2.6, 2.4, 1.9, 1.5, 1.3, 1.3, 1.1, 0.8, 0.5, 0.3];
const WEIGHT_SUM = HOUR_WEIGHTS.reduce((sum, weight) => sum + weight, 0);
const ACTIVITY_TYPES = ['session', 'session', 'lesson_completed', 'lesson_completed', 'assessment_submitted'] as const;

/**
 * The demo's activity in the interval (from, to]: generated hour by hour, each (hour, user) pair from its own seeded
 * stream, so one hour always holds the same events however the interval is cut. A start that stopped halfway
 * through an hour wrote that hour's first part; the next start writes exactly the rest of it.
 */
export function demoActivity(seed: number, users: DemoUser[], content: DemoContent[], from: number, to: number): EventSeedRow[] {
  const lessons = content.filter((item) => item.contentType === 'lesson' || item.contentType === 'exercise');
  const quizzes = content.filter((item) => item.contentType === 'quiz' || item.contentType === 'project');
  const rows: EventSeedRow[] = [];
  for (let hour = Math.floor(from / HOUR_MS); hour * HOUR_MS <= to; hour++) {
    const start = hour * HOUR_MS;
    const date = new Date(start);
    const weekday = date.getUTCDay();
    const expected = (EVENTS_PER_USER_PER_DAY * (weekday === 0 || weekday === 6 ? 0.5 : 1) * HOUR_WEIGHTS[date.getUTCHours()]) / WEIGHT_SUM;
    for (const user of users) {
      const random = new Random(mix(seed, hour, user.id));
      const count = Math.floor(expected) + (random.next() < expected - Math.floor(expected) ? 1 : 0);
      for (let k = 0; k < count; k++) {
        const at = start + random.int(0, HOUR_MS - 1);
        const type = random.chance(0.2) ? 'login' : random.pick(ACTIVITY_TYPES);
        // The id from the whole (seed, hour, user, k), not from the 32-bit stream: two of tens of thousands of
        // streams share a seed often enough (about one new demo in five) that their events would share ids.
        const row = { ...seedEvent(random, user.id, type, at, lessons, quizzes), id: demoEventId(seed, hour, user.id, k) };
        if (at > from && at <= to && at >= user.createdAt.getTime()) rows.push(row);
      }
    }
  }
  return rows.sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
}

/** A UUID (version 8: custom) from SHA-256 of the event's place in the demo: the same at every start, unique per event. */
export function demoEventId(seed: number, hour: number, userId: string, k: number): string {
  const hex = createHash('sha256').update(`${seed}:${hour}:${userId}:${k}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** FNV-1a over the seed, the hour and the user id: one independent stream per (hour, user). */
export function mix(seed: number, hour: number, userId: string): number {
  let hash = 0x811c9dc5;
  for (const char of `${seed}:${hour}:${userId}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
