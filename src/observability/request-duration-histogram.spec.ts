import { Histogram, type Metric, Registry } from 'prom-client';
import { RequestDurationHistogram } from './request-duration-histogram';

const BOUNDS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const NAME = 'http_request_duration_seconds';
const HELP = 'Duration of HTTP requests in seconds, by method, route template and status';

/** prom-client's own Histogram and ours, each in a registry of its own, fed the same observations. */
function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  const histogram = new Histogram({ name: NAME, help: HELP, labelNames: ['method', 'route', 'status'] as const, buckets: BOUNDS, registers: [theirs] });
  const durations = new RequestDurationHistogram(NAME, HELP, BOUNDS);
  ours.registerMetric(durations as unknown as Metric);
  const observe = (method: string, route: string, status: number, seconds: number) => {
    histogram.observe({ method, route, status: String(status) }, seconds);
    durations.observe(method, route, status, seconds);
  };
  return { theirs, ours, durations, observe };
}

describe('RequestDurationHistogram', () => {
  it("exposes exactly prom-client's lines for the same observations: bounds, edges, above the last bound, series order", async () => {
    const { theirs, ours, observe } = pair();
    expect(await ours.metrics()).toBe(await theirs.metrics());

    const routes = ['/health/live', '/api/v1/metrics/dashboard', '/api/v1/users/:id', 'unmatched'];
    const methods = ['GET', 'POST', 'PATCH'];
    const statuses = [200, 201, 401, 404, 429, 499, 503];
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 5000; i++) {
      const seconds = i % 97 === 0 ? BOUNDS[i % BOUNDS.length] : i % 89 === 0 ? 12.5 : i % 83 === 0 ? 0 : next() ** 3 * 3;
      observe(methods[i % 3], routes[Math.floor(next() * routes.length)], statuses[Math.floor(next() * statuses.length)], seconds);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain(`${NAME}_bucket{le="+Inf",method="GET",route="/health/live",status="200"}`);
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it('counts a value into the first bucket whose bound it does not exceed, and every bucket above cumulatively', async () => {
    const { ours, durations } = pair();
    durations.observe('GET', '/x', 200, 0.002);
    durations.observe('GET', '/x', 200, 0.0021);
    durations.observe('GET', '/x', 200, 11);
    const lines = (await ours.metrics()).split('\n');
    const bucket = (le: string) => Number(lines.find((line) => line.startsWith(`${NAME}_bucket{le="${le}",`))?.split(' ')[1]);
    expect([bucket('0.001'), bucket('0.002'), bucket('0.005'), bucket('10'), bucket('+Inf')]).toEqual([0, 1, 2, 2, 3]);
    expect(lines).toContain(`${NAME}_sum{method="GET",route="/x",status="200"} 11.0041`);
    expect(lines).toContain(`${NAME}_count{method="GET",route="/x",status="200"} 3`);
  });

  it('refuses a value that is not a finite number, as prom-client does, and forgets everything on reset', async () => {
    const { ours, durations } = pair();
    expect(() => durations.observe('GET', '/x', 200, Number.NaN)).toThrow(TypeError);
    durations.observe('GET', '/x', 200, 0.5);
    ours.resetMetrics();
    expect(await ours.metrics()).toBe(`# HELP ${NAME} ${HELP}\n# TYPE ${NAME} histogram\n`);
    expect(() => new RequestDurationHistogram(NAME, HELP, [0.1, 0.1])).toThrow(/increase/);
  });
});
