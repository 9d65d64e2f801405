import { TIERS } from '../database/entities/organization.entity.js';
import type { OrganizationSeedOptions } from './organization-generator.js';

export const SEED_PROFILES = ['demo', 'bench', 'bench-xl', 'bench-tiny'] as const;
export type SeedProfile = (typeof SEED_PROFILES)[number];

/** What the seed command was asked for; unset figures come from the profile. */
export interface SeedRequest {
  profile: SeedProfile;
  orgs?: number;
  users?: number;
  days?: number;
  eventsPerUserPerDay?: number;
  content?: number;
  seed?: number;
}

export type OrganizationPlan = Omit<OrganizationSeedOptions, 'now' | 'admin'>;

/** The ordinary organizations of each profile (options override these). */
const ORDINARY: Record<SeedProfile, { orgs: number; users: number; days: number; eventsPerUserPerDay: number; content: number }> = {
  demo: { orgs: 3, users: 200, days: 30, eventsPerUserPerDay: 1.5, content: 60 },
  bench: { orgs: 50, users: 100, days: 90, eventsPerUserPerDay: 0.3, content: 50 },
  'bench-xl': { orgs: 50, users: 100, days: 90, eventsPerUserPerDay: 0.3, content: 50 },
  'bench-tiny': { orgs: 3, users: 20, days: 30, eventsPerUserPerDay: 0.5, content: 10 },
};

/** The one large organization of each benchmark profile: standard, xl (ten times the users and events, a year), and tiny (to check the bench code). */
export const BENCH_LARGE = { users: 100_000, totalEvents: 2_000_000, days: 90, contentItems: 5_000 };
export const BENCH_LARGE_XL = { users: 1_000_000, totalEvents: 20_000_000, days: 365, contentItems: 5_000 };
export const BENCH_LARGE_TINY = { users: 2_000, totalEvents: 20_000, days: 365, contentItems: 200 };
const LARGE: Partial<Record<SeedProfile, typeof BENCH_LARGE>> = { bench: BENCH_LARGE, 'bench-xl': BENCH_LARGE_XL, 'bench-tiny': BENCH_LARGE_TINY };

export const DEFAULT_SEED = 20_251_125;

/** Organizations to generate, in order; deterministic for a given request (slugs carry the seed, so reruns do not collide). */
export function planSeed(request: SeedRequest): OrganizationPlan[] {
  const seed = request.seed ?? DEFAULT_SEED;
  const ordinary = ORDINARY[request.profile];
  const plans: OrganizationPlan[] = [];
  const large = LARGE[request.profile];
  if (large) plans.push({ name: 'Bench Large University', slug: `bench-large-${seed}`, tier: 'enterprise', seed, ...large });
  const orgs = request.orgs ?? ordinary.orgs;
  for (let i = 1; i <= orgs; i++) {
    plans.push({
      name: `${large ? 'Bench' : 'Seeded'} School ${i}`,
      slug: `${request.profile}-${seed}-${i}`,
      tier: TIERS[(i - 1) % TIERS.length],
      users: request.users ?? ordinary.users,
      days: request.days ?? ordinary.days,
      eventsPerUserPerDay: request.eventsPerUserPerDay ?? ordinary.eventsPerUserPerDay,
      contentItems: request.content ?? ordinary.content,
      seed: seed + i,
    });
  }
  return plans;
}

/** Roughly how many events a plan writes, for the progress bar's total before the real count is known. */
export function estimatedEvents(plan: OrganizationPlan): number {
  return Math.round(plan.totalEvents ?? plan.users * plan.days * (plan.eventsPerUserPerDay ?? 1) * 0.9);
}
