import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { generateApiKey } from '../src/api-keys/api-key-secret.js';
import { Random } from '../src/seed/random.js';
import { LIVE_WINDOW_MS, type TimedPart } from './ingestion.js';

const ADL = 'http://adlnet.gov/expapi/verbs/';
/** What an LMS sends most: completions, assessments, session ends; one in six is a verb the service only stores. */
const VERBS = [`${ADL}completed`, `${ADL}completed`, `${ADL}passed`, `${ADL}failed`, `${ADL}terminated`, `${ADL}experienced`] as const;
export const XAPI_BATCH = 500;

export interface XapiIngestionResult {
  statements_per_second: number;
  statements: number;
  batches: number;
  concurrency: number;
  seconds: number;
}

/** An events:write API key of the organization, written straight into the bench database (only its hash is stored). */
export async function createBenchApiKey(databaseUrl: string, organizationId: string): Promise<{ prefix: string; key: string }> {
  const generated = generateApiKey();
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`INSERT INTO api_keys (organization_id, name, scopes, prefix, key_hash) VALUES ($1, 'bench xAPI', ARRAY['events:write'], $2, $3)`, [
      organizationId,
      generated.prefix,
      generated.hash,
    ]);
  } finally {
    await client.end();
  }
  return { prefix: generated.prefix, key: generated.key };
}

/** Batches of statements by `learners` account actors about 200 lessons and 50 quizzes over the live window, the last 6 hours (built before timing). */
function buildBodies(learners: number, batches: number, seed: number): string[] {
  const random = new Random(seed);
  const now = Date.now();
  return Array.from({ length: batches }, () =>
    JSON.stringify(
      Array.from({ length: XAPI_BATCH }, () => {
        const verb = random.pick(VERBS);
        const quiz = verb === `${ADL}passed` || verb === `${ADL}failed`;
        const activity = quiz ? `https://bench.example/quiz/${random.int(1, 50)}` : `https://bench.example/lesson/${random.int(1, 200)}`;
        return {
          // Not from the seeded stream, so that two runs never replay each other's statements.
          id: randomUUID(),
          actor: { objectType: 'Agent', account: { homePage: 'https://bench.example', name: `learner-${random.int(1, learners)}` } },
          verb: { id: verb },
          object: { objectType: 'Activity', id: activity, definition: { type: `http://adlnet.gov/expapi/activities/${quiz ? 'assessment' : 'lesson'}`, name: { 'en-US': activity } } },
          ...(verb === `${ADL}terminated` ? { result: { duration: `PT${random.int(2, 59)}M${random.int(0, 59)}S` } } : {}),
          ...(verb === `${ADL}completed` || quiz ? { result: { score: { scaled: random.int(30, 100) / 100 } } } : {}),
          timestamp: new Date(now - random.int(0, LIVE_WINDOW_MS)).toISOString(),
        };
      }),
    ),
  );
}

/** POST /api/v1/xapi/statements (HTTP Basic, as xAPI clients send) from `concurrency` clients; statements per second of wall time. */
export async function measureXapiIngestion(
  baseUrl: string,
  key: { prefix: string; key: string },
  learners: number,
  batches: number,
  concurrency: number,
  seed: number,
  timed: TimedPart = (work) => work(),
): Promise<XapiIngestionResult> {
  const bodies = buildBodies(learners, batches, seed);
  const headers = {
    Authorization: `Basic ${Buffer.from(`${key.prefix}:${key.key}`).toString('base64')}`,
    'Content-Type': 'application/json',
    'X-Experience-API-Version': '1.0.3',
  };
  let next = 0;
  let stored = 0;
  const client = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const response = await fetch(`${baseUrl}/api/v1/xapi/statements`, { method: 'POST', headers, body });
      const answer = (await response.json()) as unknown;
      if (response.status !== 200 || !Array.isArray(answer)) throw new Error(`POST /api/v1/xapi/statements answered ${response.status}: ${JSON.stringify(answer)}`);
      stored += answer.length;
    }
  };
  const seconds = await timed(async () => {
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, client));
    return (performance.now() - started) / 1000;
  });
  return { statements_per_second: Math.round(stored / seconds), statements: stored, batches, concurrency, seconds: Number(seconds.toFixed(2)) };
}
