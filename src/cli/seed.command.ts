import type { INestApplicationContext } from '@nestjs/common';
import { DataSource, QueryFailedError } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { estimatedEvents, planSeed, SeedRequest } from '../seed/seed-plan.js';
import { runSeed, SeededOrganization } from '../seed/seed-runner.js';
import { CliError } from './cli-error.js';

/** How the seed shows its progress: a cli-progress bar in a terminal, nothing in tests. */
export interface SeedProgress {
  start(totalEvents: number): void;
  add(events: number): void;
  stop(): void;
}

export interface SeedOutcome {
  organizations: SeededOrganization[];
  seconds: number;
}

/** seed: generates the planned organizations into the PostgreSQL server of DATABASE_URL. */
export async function seedCommand(
  config: AppConfig,
  openContext: () => Promise<INestApplicationContext>,
  request: SeedRequest,
  progress: SeedProgress,
  now = new Date(),
): Promise<SeedOutcome> {
  if (!config.DATABASE_URL) {
    throw new CliError('seed needs DATABASE_URL (a PostgreSQL server whose migrations have run); it does not write to the embedded database');
  }
  const plans = planSeed(request);
  const context = await openContext();
  const started = Date.now();
  progress.start(plans.reduce((sum, plan) => sum + estimatedEvents(plan), 0));
  try {
    const organizations = await runSeed(context.get(DataSource), plans, now, (count) => progress.add(count));
    return { organizations, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    throw explainSeedError(error);
  } finally {
    progress.stop();
    await context.close();
  }
}

function explainSeedError(error: unknown): unknown {
  if (!(error instanceof QueryFailedError)) return error;
  const driverError = error.driverError as { code?: string; constraint?: string };
  if (driverError.code === '42P01') return new CliError('The database has no schema yet: run npm run migration:run first');
  if (driverError.code === '23505' && driverError.constraint?.startsWith('organizations_')) {
    return new CliError('These organizations were already seeded with this --seed: pass another --seed or use a fresh database');
  }
  return error;
}
