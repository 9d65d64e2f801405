import type { DataSource } from 'typeorm';
import { OrganizationPlan } from './seed-plan.js';
import { seedOrganization } from './organization-generator.js';

export interface SeededOrganization {
  organizationId: string;
  slug: string;
  users: number;
  content: number;
  events: number;
}

/**
 * Writes each planned organization in its own transaction as the owning connection user (not under
 * row-level security: a platform operation). Returns what was written, so later steps (rollups) can follow.
 */
export async function runSeed(dataSource: DataSource, plans: OrganizationPlan[], now: Date, onEvents: (count: number) => void): Promise<SeededOrganization[]> {
  const seeded: SeededOrganization[] = [];
  for (const plan of plans) {
    const result = await dataSource.transaction((manager) => seedOrganization(manager, { ...plan, now }, onEvents));
    seeded.push({ ...result, slug: plan.slug });
  }
  // Fresh statistics, so the first metric queries are planned for the real volumes.
  await dataSource.query('ANALYZE organizations, users, educational_content, activity_events');
  return seeded;
}
