import type { DataSource } from 'typeorm';
import { CliError } from '../cli/cli-error.js';
import { rebuildOrganizationRollups } from './rollup-rebuild.js';

/**
 * rollups:rebuild [organization]: recomputes the rollups of one organization (id or slug) or of all, from the
 * raw tables, each in its own transaction as the owning connection user (a platform operation, like the seed).
 */
export async function rebuildRollupsCommand(dataSource: DataSource, organizationIdOrSlug: string | undefined): Promise<{ slug: string; seconds: number }[]> {
  const organizations: { id: string; slug: string }[] = await dataSource.query(
    `SELECT id, slug FROM organizations WHERE $1::text IS NULL OR id::text = $1 OR slug = $1 ORDER BY slug`,
    [organizationIdOrSlug ?? null],
  );
  if (organizationIdOrSlug !== undefined && organizations.length === 0) throw new CliError(`No organization with id or slug "${organizationIdOrSlug}"`);
  const rebuilt: { slug: string; seconds: number }[] = [];
  for (const organization of organizations) {
    const started = Date.now();
    await dataSource.transaction((manager) => rebuildOrganizationRollups(manager, organization.id));
    rebuilt.push({ slug: organization.slug, seconds: (Date.now() - started) / 1000 });
  }
  return rebuilt;
}
