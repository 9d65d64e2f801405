import { performance } from 'node:perf_hooks';
import { percentile } from './http-load.js';

export interface LoginFloodResult {
  logins: number;
  concurrency: number;
  seconds: number;
  /** How the logins were answered: 401 (hashed and refused), 503 (the hash queue was full), anything else. */
  statuses: Record<string, number>;
  live: { p50_ms: number; p95_ms: number; max_ms: number; samples: number };
}

/**
 * `logins` wrong-password logins from this one client (one IP) for a real e-mail, `concurrency` at a time, while one
 * client probes GET /health/live back to back: how much a login flood slows everything else down. With the limits off
 * (as the bench runs) every login reaches the password hash, so this is the flood at its most expensive.
 */
export async function measureLoginFlood(base: string, email: string, logins: number, concurrency: number): Promise<LoginFloodResult> {
  const statuses: Record<string, number> = {};
  const liveTimes: number[] = [];
  let flooding = true;
  const probe = (async () => {
    while (flooding) {
      const started = performance.now();
      const response = await fetch(`${base}/health/live`);
      await response.arrayBuffer();
      liveTimes.push(performance.now() - started);
      if (response.status !== 200) throw new Error(`GET /health/live answered ${response.status} during the login flood`);
    }
  })();

  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < logins) {
      const attempt = next++;
      const response = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password: `wrong password number ${attempt}` }),
      });
      await response.arrayBuffer();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, logins) }, worker));
  } finally {
    flooding = false;
    await probe;
  }
  const seconds = (performance.now() - started) / 1000;
  const round = (value: number) => Number(value.toFixed(2));
  return {
    logins,
    concurrency,
    seconds: round(seconds),
    statuses,
    live: { p50_ms: round(percentile(liveTimes, 50)), p95_ms: round(percentile(liveTimes, 95)), max_ms: round(Math.max(...liveTimes)), samples: liveTimes.length },
  };
}
