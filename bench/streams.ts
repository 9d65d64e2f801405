import { randomUUID } from 'node:crypto';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { percentile } from './http-load.js';

/** Live ingestion's mix, as in ingestion.ts: a third of the events are lessons completed. */
const TYPES = ['login', 'session', 'session', 'lesson_completed', 'lesson_completed', 'assessment_submitted'] as const;

export interface StreamsResult {
  streams: number;
  /** Resident memory of the service before the streams opened, with them open (after their first event), and the cost. */
  rss_mb_before: number;
  rss_mb_with_streams: number;
  kb_per_stream: number;
  writes: number;
  events_per_write: number;
  /** From a write's 202 to the first `dashboard` event on the sampled stream whose figures include it. */
  write_to_event_ms: { p50: number; p95: number; max: number };
  /** How much later than the sampled stream the other streams received the same `dashboard` event. */
  fan_out_spread_ms: { p95: number; max: number };
  dashboard_events_per_stream: number;
  activity_events_per_stream: number;
  /** Dashboard events received by every stream minus those of the sampled one (0: every stream got every event). */
  missed_dashboard_events: number;
}

interface Listener {
  request: ClientRequest;
  /** Arrival time (ms) of each dashboard event by its id. */
  dashboards: Map<string, number>;
  activities: number;
  /** On the sampled stream only: arrival time and total_lessons_completed of each dashboard event. */
  totals: { at: number; lessons: number }[];
  ready: Promise<void>;
}

function residentMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? 'VmRSS: 0 kB';
  return Number(line.replace(/\D+/g, '')) / 1024;
}

/** One stream read the way a browser's fetch() reads it; only the sampled one parses the (large) dashboard bodies. */
function listen(port: number, token: string, sampled: boolean): Listener {
  let ready!: () => void;
  let failed!: (error: Error) => void;
  const listener: Listener = {
    request: undefined as unknown as ClientRequest,
    dashboards: new Map(),
    activities: 0,
    totals: [],
    ready: new Promise<void>((resolve, reject) => ((ready = resolve), (failed = reject))),
  };
  listener.request = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/metrics/stream', agent: false, headers: { Authorization: `Bearer ${token}` } }, (response) => {
    if (response.statusCode !== 200) return failed(new Error(`GET /api/v1/metrics/stream answered ${response.statusCode}`));
    response.setEncoding('utf8');
    let buffer = '';
    response.on('data', (chunk: string) => {
      buffer += chunk;
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const at = Date.now();
        const event = /^event: (.*)$/m.exec(block)?.[1];
        if (event === 'init') ready();
        else if (event === 'activity') listener.activities++;
        else if (event === 'dashboard') {
          listener.dashboards.set(/^id: (.*)$/m.exec(block)?.[1] ?? '', at);
          if (sampled) {
            const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? '{}') as { engagement_metrics: { total_lessons_completed: number } };
            listener.totals.push({ at, lessons: data.engagement_metrics.total_lessons_completed });
          }
        }
      }
    });
  });
  listener.request.on('error', (error) => failed(error));
  listener.request.end();
  return listener;
}

async function lessonsCompleted(baseUrl: string, token: string): Promise<number> {
  const response = await fetch(`${baseUrl}/api/v1/metrics/dashboard?force_refresh=true`, { headers: { Authorization: `Bearer ${token}` } });
  return ((await response.json()) as { engagement_metrics: { total_lessons_completed: number } }).engagement_metrics.total_lessons_completed;
}

/**
 * Holds `count` streams on the organization open while one client ingests `writes` batches back to back, and measures
 * what the streams cost in the service's memory and how long a write takes to reach them. `pid`: the service's process.
 */
export async function measureStreams(baseUrl: string, token: string, userIds: string[], pid: number, count: number, writes: number, batchSize: number): Promise<StreamsResult> {
  const port = Number(new URL(baseUrl).port);
  const before = residentMb(pid);
  const listeners = Array.from({ length: count }, (_, index) => listen(port, token, index === 0));
  await Promise.all(listeners.map((listener) => listener.ready));
  // Let the allocations of the opening settle before reading the resident size.
  await new Promise((done) => setTimeout(done, 1_000));
  const withStreams = residentMb(pid);

  let lessons = await lessonsCompleted(baseUrl, token);
  const acknowledged: { at: number; lessons: number }[] = [];
  for (let write = 0; write < writes; write++) {
    const now = Date.now();
    const events = Array.from({ length: batchSize }, (_, index) => {
      const type = TYPES[(write + index) % TYPES.length];
      return {
        id: randomUUID(),
        type,
        user_id: userIds[(write * batchSize + index) % userIds.length],
        occurred_at: new Date(now - ((index * 7_919) % 21_600_000)).toISOString(),
        ...(type === 'session' ? { duration_seconds: 600 } : {}),
        ...(type === 'lesson_completed' || type === 'assessment_submitted' ? { score: 80 } : {}),
      };
    });
    const response = await fetch(`${baseUrl}/api/v1/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    if (response.status !== 202) throw new Error(`POST /api/v1/events answered ${response.status}`);
    await response.json();
    lessons += events.filter((event) => event.type === 'lesson_completed').length;
    acknowledged.push({ at: Date.now(), lessons });
  }
  // The last write's event: within the 2 s bound, plus margin.
  await new Promise((done) => setTimeout(done, 3_000));
  for (const listener of listeners) listener.request.destroy();

  const sampled = listeners[0];
  const delays = acknowledged.map((write) => {
    const seen = sampled.totals.find((event) => event.lessons >= write.lessons);
    return seen ? Math.max(0, seen.at - write.at) : Infinity;
  });
  const spread: number[] = [];
  let missed = 0;
  for (const listener of listeners.slice(1)) {
    for (const [id, at] of sampled.dashboards) {
      const other = listener.dashboards.get(id);
      if (other === undefined) missed++;
      else spread.push(Math.max(0, other - at));
    }
  }
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    streams: count,
    rss_mb_before: round(before),
    rss_mb_with_streams: round(withStreams),
    kb_per_stream: round(((withStreams - before) * 1024) / count),
    writes,
    events_per_write: batchSize,
    write_to_event_ms: { p50: round(percentile(delays, 50)), p95: round(percentile(delays, 95)), max: round(Math.max(...delays)) },
    fan_out_spread_ms: spread.length ? { p95: round(percentile(spread, 95)), max: round(Math.max(...spread)) } : { p95: 0, max: 0 },
    dashboard_events_per_stream: sampled.dashboards.size,
    activity_events_per_stream: sampled.activities,
    missed_dashboard_events: missed,
  };
}
