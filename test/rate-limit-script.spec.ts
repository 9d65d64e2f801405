import { createClient, RedisClientType } from '@redis/client';
import { randomBytes } from 'node:crypto';
import { MemoryRateLimitStore } from '../src/rate-limit/memory-rate-limit-store';
import { RATE_LIMIT_SCRIPT, RATE_LIMIT_SCRIPT_SHA } from '../src/rate-limit/rate-limit-script';
import type { HitOutcome, RateLimitHit } from '../src/rate-limit/rate-limit-window';
import { TEST_REDIS_URL } from './support/test-env';

/** A small deterministic generator (mulberry32), so a failing sequence can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the Lua script and the memory store (the fallback) apply the same rules', () => {
  const prefix = `t${randomBytes(4).toString('hex')}:rl`;
  let client: RedisClientType;
  beforeAll(async () => {
    client = createClient({ url: TEST_REDIS_URL }) as RedisClientType;
    await client.connect();
    expect(await client.scriptLoad(RATE_LIMIT_SCRIPT)).toBe(RATE_LIMIT_SCRIPT_SHA);
  });
  afterAll(async () => {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 100 })) if (keys.length) await client.del(keys);
    await client.close();
  });

  it('gives identical counts, resets, blocks and violation numbers along 600 random requests on 3 budgets', async () => {
    const memory = new MemoryRateLimitStore();
    const next = random(20261125);
    let now = Date.UTC(2026, 0, 1);
    const seen = { blocked: 0, violations: new Set<number>(), capped: 0 };
    for (let step = 0; step < 600; step++) {
      // Mostly bursts, sometimes long pauses that end windows, blocks and the violation memory.
      now += next() < 0.85 ? Math.floor(next() * 3_000) : Math.floor(next() * 400_000);
      const key = `{u:${Math.floor(next() * 3)}}:GET /x`;
      const hit: RateLimitHit = { now, limit: 4, windowMs: 60_000, basePenaltyMs: 20_000, capMs: 150_000, violationMemoryMs: 900_000 };
      const expected = memory.hit(key, hit);
      const actual = (await client.evalSha(RATE_LIMIT_SCRIPT_SHA, {
        keys: [`${prefix}:${key}`, `${prefix}:${key}:v`],
        arguments: [hit.now, hit.windowMs, hit.limit, hit.basePenaltyMs, hit.capMs, hit.violationMemoryMs].map(String),
      })) as HitOutcome;
      expect({ step, outcome: actual }).toEqual({ step, outcome: expected });
      if (expected[2] > now) seen.blocked++;
      if (expected[3]) seen.violations.add(expected[3]);
      if (expected[3] && expected[2] - now === 150_000) seen.capped++;
    }
    // The sequence reached every rule: blocks, escalation past the first violation, and the cap.
    expect(seen.blocked).toBeGreaterThan(50);
    expect(Math.max(...seen.violations)).toBeGreaterThanOrEqual(4);
    expect(seen.capped).toBeGreaterThan(0);
  });
});
