import type { DataSource } from 'typeorm';
import { rebuildOrganizationRollups } from '../rollups/rollup-rebuild.js';
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
 * row-level security: a platform operation). Returns what was written.
 */
export async function runSeed(dataSource: DataSource, plans: OrganizationPlan[], now: Date, onEvents: (count: number) => void): Promise<SeededOrganization[]> {
  const bulk = await mayBypassTriggers(dataSource);
  const seeded: SeededOrganization[] = [];
  for (const plan of plans) {
    const result = await dataSource.transaction(async (manager) => {
      // A superuser loads without the per-statement rollup triggers and foreign-key checks (the generator keeps
      // references consistent), then rebuilds the organization's rollups once, in the same transaction.
      if (bulk) await manager.query(`SET LOCAL session_replication_role = replica`);
      const organization = await seedOrganization(manager, { ...plan, now, copy: true }, onEvents);
      if (bulk) {
        await manager.query(`SET LOCAL session_replication_role = origin`);
        // A new organization has all its raw events here, those behind the retention horizon included.
        await rebuildOrganizationRollups(manager, organization.organizationId, { rawEventsComplete: true });
        // The login e-mails the users' trigger would have registered (a duplicate e-mail fails the seed here).
        await manager.query(`INSERT INTO login_emails (email, organization_id, user_id) SELECT lower(email), organization_id, id FROM users WHERE organization_id = $1`, [
          organization.organizationId,
        ]);
      }
      return organization;
    });
    seeded.push({ ...result, slug: plan.slug });
  }
  // Fresh statistics, so the first metric queries are planned for the real volumes.
  await dataSource.query('ANALYZE');
  return seeded;
}

/** Only a superuser may switch triggers off; anyone else seeds through them (slower, same result). */
async function mayBypassTriggers(dataSource: DataSource): Promise<boolean> {
  const [role]: { rolsuper: boolean }[] = await dataSource.query(`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`);
  return role?.rolsuper === true;
}
