'use strict';
// Checks a results file of `npm run bench` (bench/results.json, or bench/results-tiny.json after `--profile tiny`):
// every profile named has every target row, each row's pass/fail agrees with its figure and goal, and the figures
// the targets are judged on are there and consistent (every login answered, no stream missing an event).
// Usage: node scripts/check-bench-results.js <results file> <profile> [<profile> ...]
const { readFileSync } = require('node:fs');

const [file, ...profiles] = process.argv.slice(2);
if (!file || profiles.length === 0) {
  process.stderr.write('usage: node scripts/check-bench-results.js <results file> <profile> [<profile> ...]\n');
  process.exit(2);
}

const TARGETS = [
  'cached dashboard p50',
  'cached dashboard p99',
  'cached ÷ bare node:http throughput',
  'cached ÷ live throughput',
  'live ÷ bare Express 5 throughput',
  'uncached dashboard p95',
  'baseline SQL ÷ uncached',
  'uncached statistics 30d p95',
  'uncached statistics 90d p95',
  'export 90d json p95',
  'export 90d csv p95',
  'export 90d xlsx p95',
  'GET /health/live p95 during a login flood',
  'peak resident memory',
];
// The ingestion rates: judged on every profile but xl, where they are written as `reported` rows with their figures
// (bench/profiles.ts, judgesIngestionRates: xl is held to the latency targets, seeding, ratios and memory).
const RATES = ['ingestion', 'xAPI ingestion'];
const RATES_REPORTED_ONLY = new Set(['xl']);

const failures = [];
const check = (condition, message) => {
  if (!condition) failures.push(message);
};
const positive = (value) => typeof value === 'number' && Number.isFinite(value) && value > 0;

const results = JSON.parse(readFileSync(file, 'utf8'));
for (const name of profiles) {
  const run = results.profiles?.[name];
  if (!run) {
    failures.push(`${name}: no results for this profile in ${file}`);
    continue;
  }
  const at = (message) => `${name}: ${message}`;
  check(run.profile === name, at(`profile is "${run.profile}"`));
  check(!Number.isNaN(Date.parse(run.date)), at(`date "${run.date}" is not a time`));
  check(positive(run.machine?.cpus) && typeof run.machine?.node === 'string', at('machine (cores, Node.js) missing'));

  const rows = new Map();
  for (const row of run.targets ?? []) {
    const shaped = typeof row.target === 'string' && typeof row.goal === 'string' && typeof row.measured === 'string' && typeof row.pass === 'boolean';
    check(shaped, at(`a target row is not {target, goal, measured, pass}: ${JSON.stringify(row)}`));
    rows.set(row.target, row);
  }
  for (const target of TARGETS) check(rows.has(target), at(`target "${target}" missing`));
  // A reported row that is not an object, or a `reported` that is not a list, counts as no row (named below), never a crash.
  const reported = new Map((Array.isArray(run.reported) ? run.reported : []).filter((row) => row !== null && typeof row === 'object').map((row) => [row.target, row]));
  for (const target of RATES) {
    if (RATES_REPORTED_ONLY.has(name)) {
      check(!rows.has(target), at(`"${target}" is judged, but ${name} only reports it`));
      const row = reported.get(target);
      check(row !== undefined && typeof row.measured === 'string' && typeof row.note === 'string', at(`reported row "${target}" missing`));
    } else {
      check(rows.has(target), at(`target "${target}" missing`));
      check(!reported.has(target), at(`"${target}" is only reported, but ${name} judges it`));
    }
  }
  check([...rows.keys()].some((target) => target.startsWith('write → dashboard event')), at('the streams target is missing'));
  if (name === 'xl') check(rows.has('seeding'), at('the xl seeding target is missing'));

  // Each verdict recomputed from the figure it judges; a figure that is missing (a phase that did not run) is a failure.
  const verdict = (target, figurePath, passes) => {
    const value = figurePath.reduce((object, key) => (object === null || typeof object !== 'object' ? undefined : object[key]), run);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      failures.push(at(`"${target}" has no figure at ${figurePath.join('.')}`));
      return;
    }
    const row = rows.get(target);
    if (row) check(row.pass === passes(value), at(`"${target}" says ${row.pass ? 'pass' : 'miss'} for ${row.measured} (goal ${row.goal})`));
  };
  verdict('cached dashboard p50', ['cached_dashboard', 'p50_ms'], (ms) => ms <= 2);
  verdict('cached dashboard p99', ['cached_dashboard', 'p99_ms'], (ms) => ms <= 10);
  verdict('cached ÷ bare node:http throughput', ['ratios', 'cached_over_bare_http_throughput'], (ratio) => ratio >= 0.5);
  verdict('cached ÷ live throughput', ['ratios', 'cached_over_live_throughput'], (ratio) => ratio >= 2);
  verdict('live ÷ bare Express 5 throughput', ['ratios', 'live_over_bare_express_throughput'], (ratio) => ratio >= 0.5);
  verdict('uncached dashboard p95', ['uncached_dashboard', 'p95_ms'], (ms) => ms <= 30);
  verdict('baseline SQL ÷ uncached', ['ratios', 'baseline_over_uncached_p50'], (ratio) => ratio >= 50);
  verdict('uncached statistics 30d p95', ['statistics', '30d', 'p95_ms'], (ms) => ms <= 100);
  verdict('uncached statistics 90d p95', ['statistics', '90d', 'p95_ms'], (ms) => ms <= 100);
  for (const format of ['json', 'csv', 'xlsx']) verdict(`export 90d ${format} p95`, ['exports', format, 'p95_ms'], (ms) => ms <= 100);
  verdict('ingestion', ['ingestion', 'events_per_second'], (rate) => rate >= 20000);
  verdict('xAPI ingestion', ['xapi_ingestion', 'statements_per_second'], (rate) => rate >= 10000);
  for (const [target, figure] of [['ingestion', run.ingestion?.events_per_second], ['xAPI ingestion', run.xapi_ingestion?.statements_per_second]]) {
    const row = reported.get(target);
    if (row) check(typeof row.measured === 'string' && row.measured.startsWith(`${figure} `), at(`reported "${target}" says ${row.measured}, its figure is ${figure}`));
  }
  verdict('GET /health/live p95 during a login flood', ['login_flood', 'live', 'p95_ms'], (ms) => ms < 50);
  verdict('peak resident memory', ['peak_rss_mb'], (mb) => mb <= 200);

  for (const load of ['live', 'bare_express', 'cached_dashboard', 'bare_http']) {
    check(positive(run[load]?.requests_per_second), at(`${load} has no throughput`));
    check(run[load]?.non_2xx === 0 && run[load]?.errors === 0, at(`${load} had failed requests`));
  }
  check(positive(run.ingestion?.events_per_second) && positive(run.xapi_ingestion?.statements_per_second), at('an ingestion phase has no rate'));
  const answered = Object.values(run.login_flood?.statuses ?? {}).reduce((total, count) => total + count, 0);
  check(answered === run.login_flood?.logins, at(`the login flood counted ${answered} answers for ${run.login_flood?.logins} logins`));
  check(run.streams?.missed_dashboard_events === 0, at(run.streams ? `streams missed ${run.streams.missed_dashboard_events} dashboard events` : 'the streams phase has no figures'));
  check(Number.isFinite(run.streams?.write_to_event_ms?.max), at('a write never reached the sampled stream'));
}

if (failures.length > 0) {
  process.stderr.write(`${file}:\n  ${failures.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(`${file}: ${profiles.join(', ')} hold every target row, each verdict agrees with its figure\n`);
