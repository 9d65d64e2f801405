import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Random } from '../src/seed/random.js';

/** How far back the ingestion phases date their events and statements: live traffic of the last 6 hours. */
export const LIVE_WINDOW_MS = 6 * 3_600_000;

const TYPES = ['login', 'session', 'session', 'lesson_completed', 'lesson_completed', 'assessment_submitted'] as const;

export interface IngestionResult {
  events_per_second: number;
  events: number;
  batches: number;
  concurrency: number;
  seconds: number;
}

/** Live traffic: batches of `batchSize` new events of random users over the live window (bodies built before timing). */
function buildBodies(userIds: string[], batches: number, batchSize: number, seed: number): string[] {
  const random = new Random(seed);
  const now = Date.now();
  return Array.from({ length: batches }, () =>
    JSON.stringify({
      events: Array.from({ length: batchSize }, () => {
        const type = random.pick(TYPES);
        return {
          // Not from the seeded stream: two runs' seeds can give overlapping streams, and a replayed id counts as a duplicate.
          id: randomUUID(),
          type,
          user_id: random.pick(userIds),
          occurred_at: new Date(now - random.int(0, LIVE_WINDOW_MS)).toISOString(),
          ...(type === 'session' ? { duration_seconds: random.int(120, 3600) } : {}),
          ...(type === 'lesson_completed' || type === 'assessment_submitted' ? { score: random.int(30, 100) } : {}),
        };
      }),
    }),
  );
}

/** Wraps the timed part of a phase (after its bodies are built), e.g. to measure its CPU (bench/cpu-split.ts). */
export type TimedPart = <T>(work: () => Promise<T>) => Promise<T>;

/** POST /api/v1/events from `concurrency` clients until every batch is accepted; events per second of wall time. */
export async function measureIngestion(
  baseUrl: string,
  token: string,
  userIds: string[],
  batches: number,
  concurrency: number,
  seed: number,
  timed: TimedPart = (work) => work(),
): Promise<IngestionResult> {
  const batchSize = 1000;
  const bodies = buildBodies(userIds, batches, batchSize, seed);
  let next = 0;
  let accepted = 0;
  const client = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const response = await fetch(`${baseUrl}/api/v1/events`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body });
      const answer = (await response.json()) as { accepted?: number };
      if (response.status !== 202) throw new Error(`POST /api/v1/events answered ${response.status}: ${JSON.stringify(answer)}`);
      accepted += answer.accepted ?? 0;
    }
  };
  const seconds = await timed(async () => {
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, client));
    return (performance.now() - started) / 1000;
  });
  return { events_per_second: Math.round(accepted / seconds), events: accepted, batches, concurrency, seconds: Number(seconds.toFixed(2)) };
}
