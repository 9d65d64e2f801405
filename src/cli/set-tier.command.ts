import { TIERS, type Tier } from '../database/entities/organization.entity.js';
import type { OrganizationRow, OrganizationsRepository } from '../organizations/organizations.repository.js';
import { CliError } from './cli-error.js';

/** org:set-tier: a platform operation; signed-in users see the new tier within 60 s (PrincipalCache TTL). */
export async function setOrganizationTier(organizations: OrganizationsRepository, organizationIdOrSlug: string, tier: string): Promise<OrganizationRow> {
  if (!(TIERS as readonly string[]).includes(tier)) {
    throw new CliError(`Invalid tier "${tier}": allowed values are ${TIERS.join(', ')}`);
  }
  const updated = await organizations.setTierAsOperator(organizationIdOrSlug, tier as Tier);
  if (!updated) throw new CliError(`No organization with id or slug "${organizationIdOrSlug}"`);
  return updated;
}
