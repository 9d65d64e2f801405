import { TIERS } from '../database/entities/organization.entity.js';
import type { OrganizationSeedOptions } from './organization-generator.js';

export const SEED_PROFILES = ['demo', 'bench'] as const;
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
const ORDINARY = {
  demo: { orgs: 3, users: 200, days: 30, eventsPerUserPerDay: 1.5, content: 60 },
  bench: { orgs: 50, users: 100, days: 90, eventsPerUserPerDay: 0.3, content: 50 },
};

/** The one large organization of the benchmark. */
export const BENCH_LARGE = { users: 100_000, totalEvents: 2_000_000, days: 90, contentItems: 5_000 };

export const DEFAULT_SEED = 20_251_125;

/** Organizations to generate, in order; deterministic for a given request (slugs carry the seed, so reruns do not collide). */
export function planSeed(request: SeedRequest): OrganizationPlan[] {
  const seed = request.seed ?? DEFAULT_SEED;
  const ordinary = ORDINARY[request.profile];
  const plans: OrganizationPlan[] = [];
  if (request.profile === 'bench') {
    plans.push({ name: 'Bench Large University', slug: `bench-large-${seed}`, tier: 'enterprise', seed, ...BENCH_LARGE });
  }
  const orgs = request.orgs ?? ordinary.orgs;
  for (let i = 1; i <= orgs; i++) {
    plans.push({
      name: `${request.profile === 'bench' ? 'Bench' : 'Seeded'} School ${i}`,
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
