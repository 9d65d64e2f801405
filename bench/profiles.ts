/** The bench's data-set profiles: which seed profile fills their database, and how long each phase runs. */
export const BENCH_PROFILES = {
  tiny: {
    seedProfile: 'bench-tiny',
    database: 'toolbox_bench_tiny',
    seconds: 2,
    uncachedSamples: 20,
    baselineSamples: 2,
    readSamples: 10,
    ingestBatches: 4,
    ingestWarmupBatches: 1,
    streams: 20,
    streamWrites: 3,
    seedLimitSeconds: null,
    judgesIngestionRates: true,
  },
  standard: {
    seedProfile: 'bench',
    database: 'toolbox_bench',
    seconds: 10,
    uncachedSamples: 200,
    baselineSamples: 10,
    readSamples: 50,
    ingestBatches: 60,
    ingestWarmupBatches: 8,
    streams: 500,
    streamWrites: 30,
    seedLimitSeconds: null,
    judgesIngestionRates: true,
  },
  xl: {
    seedProfile: 'bench-xl',
    database: 'toolbox_bench_xl',
    seconds: 10,
    uncachedSamples: 200,
    // Each baseline sample aggregates 20,000,000 raw events: a few are enough for the ratio.
    baselineSamples: 3,
    readSamples: 50,
    ingestBatches: 60,
    ingestWarmupBatches: 8,
    streams: 500,
    streamWrites: 30,
    seedLimitSeconds: 20 * 60,
    // The ingestion rates are the standard profile's targets; xl is held to the latency targets (a read's cost must not
    // grow with the events), while a write's cost does grow with indexes that outgrow the server's buffer cache.
    judgesIngestionRates: false,
  },
} as const;

export type BenchProfile = keyof typeof BENCH_PROFILES;

/** `--profile <name>` or `--profile=<name>` among the arguments; standard when absent. */
export function benchProfileFromArgs(args: string[]): BenchProfile {
  const index = args.findIndex((arg) => arg === '--profile' || arg.startsWith('--profile='));
  if (index === -1) return 'standard';
  const value = args[index].includes('=') ? args[index].split('=')[1] : args[index + 1];
  if (value === undefined || !(value in BENCH_PROFILES)) throw new Error(`--profile must be one of ${Object.keys(BENCH_PROFILES).join(', ')} (got ${value ?? 'nothing'})`);
  return value as BenchProfile;
}

export type TargetRow = { target: string; goal: string; measured: string; pass: boolean };
export type ReportedRow = { target: string; goal: string; measured: string; note: string };

/** The ingestion rates as target rows where the profile judges them, else as reported rows without a verdict. */
export function ingestionRateRows(profile: BenchProfile, rates: TargetRow[]): { judged: TargetRow[]; reported: ReportedRow[] } {
  if (BENCH_PROFILES[profile].judgesIngestionRates) return { judged: rates, reported: [] };
  return {
    judged: [],
    reported: rates.map(({ target, goal, measured }) => ({ target, goal: `${goal} on the standard profile`, measured, note: `not a target on ${profile}` })),
  };
}
