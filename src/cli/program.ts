import type { INestApplicationContext } from '@nestjs/common';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type AppConfig, ConfigValidationError } from '../config/app-config.js';
import { CliError } from './cli-error.js';
import { isDatabaseUnavailable } from '../errors/database-errors.js';
import { TIERS } from '../database/entities/organization.entity.js';
import { OrganizationsRepository } from '../organizations/organizations.repository.js';
import { SEED_PROFILES, SeedProfile } from '../seed/seed-plan.js';
import { setOrganizationTier } from './set-tier.command.js';
import { SeedProgress, seedCommand } from './seed.command.js';
import { DataSource } from 'typeorm';
import { rebuildRollupsCommand } from '../rollups/rebuild-rollups.command.js';
import { AuthRepository } from '../auth/auth.repository.js';
import { HashQueue } from '../auth/hash-queue.js';
import { TenantTransactions } from '../database/tenant-transactions.js';
import { UsersRepository } from '../users/users.repository.js';
import { UsersService } from '../users/users.service.js';
import { type AccountServices, createOrganization, generatePassword, setUserPassword, setUserRole } from './account.commands.js';
import { readPassword } from './read-password.js';
import { ROLES } from '../database/entities/user.entity.js';

/** What the commands need from the outside world; main.ts gives the real ones, tests their own. */
export interface CliEnvironment {
  config: () => AppConfig;
  openContext: (config: AppConfig) => Promise<INestApplicationContext>;
  out: (text: string) => void;
  err: (text: string) => void;
  progress: () => SeedProgress;
  /** A password typed at a hidden prompt (terminal) or read from standard input (its first line); default: process.stdin. */
  readPassword?: (prompt: string) => Promise<string>;
}

function integer(name: string, min: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`${name} must be an integer of at least ${min}`);
    }
    return Number(value);
  };
}

function rate(value: string): number {
  const parsed = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || parsed > 1000) throw new InvalidArgumentError('must be a number from 0 to 1000');
  return parsed;
}

/** The operations CLI: npm run cli -- <command>. Errors the operator caused are CliErrors (exit code 1). */
export function buildProgram(environment: CliEnvironment): Command {
  const program = new Command('toolbox-metrics')
    .description('Operations on the toolbox-metrics database (same configuration as the service)')
    .exitOverride()
    .configureOutput({ writeOut: environment.out, writeErr: environment.err });

  program
    .command('org:set-tier')
    .description('Change an organization’s plan; signed-in users see it within 60 s')
    .argument('<organization>', 'organization id or slug')
    .argument('<tier>', `one of ${TIERS.join(', ')}`)
    .action(async (organization: string, tier: string) => {
      const config = environment.config();
      const context = await environment.openContext(config);
      try {
        const updated = await setOrganizationTier(context.get(OrganizationsRepository), organization, tier);
        environment.out(`Organization ${updated.slug} (${updated.id}) is now on tier ${updated.tier}\n`);
      } finally {
        await context.close();
      }
    });

  /** Opens the application context, runs the account command on it, closes it. */
  const withAccounts = async <T>(work: (services: AccountServices) => Promise<T>): Promise<T> => {
    const context = await environment.openContext(environment.config());
    try {
      return await work({
        tx: context.get(TenantTransactions),
        organizations: context.get(OrganizationsRepository),
        users: context.get(UsersRepository),
        usersService: context.get(UsersService),
        auth: context.get(AuthRepository),
        hashes: context.get(HashQueue),
      });
    } finally {
      await context.close();
    }
  };

  program
    .command('org:create')
    .description('Create an organization (free tier) with its first admin; prints a generated password unless --password-stdin')
    .argument('<name>', 'organization name (1-200 characters)')
    .requiredOption('--admin <email>', 'e-mail of the first admin')
    .option('--admin-name <name>', 'display name of the first admin', 'Administrator')
    .option('--password-stdin', 'read the admin password from a hidden prompt or standard input instead of generating one')
    .action(async (name: string, options: { admin: string; adminName: string; passwordStdin?: boolean }) => {
      environment.config();
      const password = options.passwordStdin ? await (environment.readPassword ?? readPassword)('Password for the admin: ') : generatePassword();
      const { organization, user } = await withAccounts((services) => createOrganization(services, name, options.admin, options.adminName, password));
      environment.out(`Organization ${organization.slug} (${organization.id}) created with admin ${user.email}\n`);
      if (!options.passwordStdin) environment.out(`Password (shown once): ${password}\n`);
    });

  program
    .command('user:set-role')
    .description('Give a user another role (an organization keeps at least one active admin); their earlier tokens stop working')
    .argument('<email>', 'the user’s e-mail')
    .argument('<role>', `one of ${ROLES.join(', ')}`)
    .action(async (email: string, role: string) => {
      environment.config();
      const user = await withAccounts((services) => setUserRole(services, email, role));
      environment.out(`User ${user.email} (${user.id}) is now ${user.role}\n`);
    });

  program
    .command('user:set-password')
    .description('Set a user’s password, read from a hidden prompt or standard input (never from the command line), or generated; their earlier tokens stop working')
    .argument('<email>', 'the user’s e-mail')
    .option('--generate', 'generate a password and print it once')
    .action(async (email: string, options: { generate?: boolean }) => {
      environment.config();
      const password = options.generate ? generatePassword() : await (environment.readPassword ?? readPassword)('New password: ');
      const user = await withAccounts((services) => setUserPassword(services, email, password));
      environment.out(`Password of ${user.email} (${user.id}) changed; the tokens issued before no longer work\n`);
      if (options.generate) environment.out(`Password (shown once): ${password}\n`);
    });

  program
    .command('seed')
    .description('Generate realistic organizations, users, content and activity (needs DATABASE_URL)')
    .addOption(new Option('--profile <profile>', 'demo: a few small schools; bench: the benchmark data set (one large organization of 100,000 users and 2,000,000 events over 90 days, and 50 ordinary ones); bench-xl: its large organization with 1,000,000 users and 20,000,000 events over 365 days; bench-tiny: a small one to check the benchmark code').choices(SEED_PROFILES).default('demo'))
    .option('--orgs <n>', 'ordinary organizations', integer('--orgs', 0))
    .option('--users <n>', 'users per ordinary organization', integer('--users', 1))
    .option('--days <n>', 'days of activity, ending today', integer('--days', 1))
    .option('--events-per-user-per-day <x>', 'average events per user and day', rate)
    .option('--content <n>', 'content items per ordinary organization', integer('--content', 0))
    .option('--seed <n>', 'random seed: the same seed builds the same data', integer('--seed', 0))
    .action(async (options: { profile: SeedProfile; orgs?: number; users?: number; days?: number; eventsPerUserPerDay?: number; content?: number; seed?: number }) => {
      const config = environment.config();
      const outcome = await seedCommand(config, () => environment.openContext(config), options, environment.progress());
      const events = outcome.organizations.reduce((sum, organization) => sum + organization.events, 0);
      for (const organization of outcome.organizations) {
        environment.out(`${organization.slug}\t${organization.organizationId}\t${organization.users} users\t${organization.content} content\t${organization.events} events\n`);
      }
      environment.out(`Seeded ${outcome.organizations.length} organizations and ${events} events in ${outcome.seconds.toFixed(1)} s (${Math.round(events / Math.max(outcome.seconds, 0.001))} events/s)\n`);
    });

  program
    .command('rollups:rebuild')
    .description('Recompute the dashboard rollups from the raw tables (repair tool; writes wait until it commits)')
    .argument('[organization]', 'organization id or slug (default: every organization)')
    .action(async (organization?: string) => {
      const config = environment.config();
      const context = await environment.openContext(config);
      try {
        for (const rebuilt of await rebuildRollupsCommand(context.get(DataSource), organization)) {
          environment.out(`Rebuilt the rollups of ${rebuilt.slug} in ${rebuilt.seconds.toFixed(1)} s\n`);
        }
      } finally {
        await context.close();
      }
    });

  return program;
}

/** Runs one command line (without "node main.js") and returns the process exit code; every failure is reported on err. */
export async function runCli(args: string[], environment: CliEnvironment): Promise<number> {
  try {
    await buildProgram(environment).parseAsync(args, { from: 'user' });
    return 0;
  } catch (error) {
    // commander has already printed its own usage errors.
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof CliError) {
      environment.err(`${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ConfigValidationError) {
      environment.err(`${error.message}\n`);
      return 1;
    }
    if (isDatabaseUnavailable(error)) {
      environment.err(`The database is unreachable (check DATABASE_URL): ${(error as Error).message}\n`);
      return 1;
    }
    environment.err(`${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}
