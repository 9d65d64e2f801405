import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BENCH_PROFILES } from '../bench/profiles';

const ROOT = resolve(__dirname, '..');
const SCRIPT = join(ROOT, 'scripts/check-bench-results.js');

type Row = { target: string; goal: string; measured: string; pass?: boolean; note?: string };
type Results = { profiles: Record<string, Record<string, unknown> & { targets: Row[]; reported?: Row[] }> };

/** The committed results, which CI checks with this script. */
function committed(): Results {
  return JSON.parse(readFileSync(join(ROOT, 'bench/results.json'), 'utf8')) as Results;
}

describe('scripts/check-bench-results.js', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-results-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function check(results: Results, ...profiles: string[]): { status: number | null; stdout: string; stderr: string } {
    const file = join(dir, `results-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(results));
    const run = spawnSync(process.execPath, [SCRIPT, file, ...profiles], { encoding: 'utf8' });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  }

  it('accepts the committed results of both profiles', () => {
    const run = check(committed(), 'standard', 'xl');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('standard, xl hold every target row');
  });

  it('fails on a verdict that disagrees with its figure', () => {
    const results = committed();
    const row = results.profiles.standard.targets.find((target) => target.target === 'cached ÷ live throughput')!;
    row.pass = !row.pass;
    const run = check(results, 'standard');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('standard: "cached ÷ live throughput" says');
  });

  it('names each missing phase as a failure instead of crashing on it', () => {
    const results = committed();
    delete results.profiles.standard.ingestion;
    delete results.profiles.xl.streams;
    const run = check(results, 'standard', 'xl');
    expect(run.status).toBe(1);
    expect(run.stderr).not.toContain('TypeError');
    expect(run.stderr).toContain('standard: "ingestion" has no figure at ingestion.events_per_second');
    expect(run.stderr).toContain('standard: an ingestion phase has no rate');
    expect(run.stderr).toContain('xl: the streams phase has no figures');
    expect(run.stderr).toContain('xl: a write never reached the sampled stream');
  });

  it('holds xl to its latency targets and reports its ingestion rates with their figures', () => {
    const xl = committed().profiles.xl;
    expect(xl.targets.map((row) => row.target)).not.toContain('ingestion');
    expect(xl.reported?.map((row) => row.target)).toEqual(['ingestion', 'xAPI ingestion']);
    expect(xl.reported?.[0].measured).toBe(`${(xl.ingestion as { events_per_second: number }).events_per_second} events/s`);
  });

  it('expects the rates judged exactly on the profiles whose bench judges them (bench/profiles.ts)', () => {
    const { standard } = committed().profiles;
    for (const [name, settings] of Object.entries(BENCH_PROFILES)) {
      // The committed standard run under each profile's name: its rates are judged rows.
      const run = check({ profiles: { [name]: { ...standard, profile: name } } }, name);
      const refused = run.stderr.includes(`${name}: "ingestion" is judged, but ${name} only reports it`);
      expect({ name, refused }).toEqual({ name, refused: !settings.judgesIngestionRates });
    }
  });

  it('fails on an ingestion rate judged on xl or only reported on standard', () => {
    const results = committed();
    const { xl, standard } = results.profiles;
    xl.targets.push({ ...xl.reported![0], pass: false });
    standard.reported = standard.targets.filter((row) => row.target === 'xAPI ingestion');
    standard.targets = standard.targets.filter((row) => row.target !== 'xAPI ingestion');
    const run = check(results, 'standard', 'xl');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('xl: "ingestion" is judged, but xl only reports it');
    expect(run.stderr).toContain('standard: target "xAPI ingestion" missing');
    expect(run.stderr).toContain('standard: "xAPI ingestion" is only reported, but standard judges it');
  });

  it('names reported rows that are not a list of rows as missing, without crashing', () => {
    const results = committed();
    (results.profiles.xl as Record<string, unknown>).reported = 'ingestion';
    const run = check(results, 'xl');
    expect(run.status).toBe(1);
    expect(run.stderr).not.toContain('TypeError');
    expect(run.stderr).toContain('xl: reported row "ingestion" missing');
  });

  it('fails on a reported rate that is not its figure', () => {
    const results = committed();
    const row = results.profiles.xl.reported!.find((reported) => reported.target === 'xAPI ingestion')!;
    row.measured = '99999 statements/s';
    const run = check(results, 'xl');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('xl: reported "xAPI ingestion" says 99999 statements/s, its figure is');
  });

  it('fails on a profile that is not in the file', () => {
    const results = committed();
    delete results.profiles.xl;
    const run = check(results, 'standard', 'xl');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('xl: no results for this profile');
  });
});
