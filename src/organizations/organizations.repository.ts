import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TenantTransactions } from '../database/tenant-transactions.js';
import type { Tier } from '../database/entities/organization.entity.js';

export interface OrganizationRow {
  id: string;
  name: string;
  slug: string;
  tier: Tier;
  created_at: Date;
}

@Injectable()
export class OrganizationsRepository {
  constructor(
    private readonly tx: TenantTransactions,
    private readonly dataSource: DataSource,
  ) {}

  async create(organizationId: string, organization: { name: string; slug: string }): Promise<OrganizationRow> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: OrganizationRow[] = await manager.query(
        `INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3) RETURNING id, name, slug, tier, created_at`,
        [organizationId, organization.name, organization.slug],
      );
      return rows[0];
    });
  }

  async findById(organizationId: string): Promise<OrganizationRow | null> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: OrganizationRow[] = await manager.query(`SELECT id, name, slug, tier, created_at FROM organizations WHERE id = $1`, [
        organizationId,
      ]);
      return rows[0] ?? null;
    });
  }

  /**
   * A platform operation (npm run cli -- org:set-tier), not a tenant one: it runs as the owning
   * connection user, outside any organization's row-level security.
   */
  async setTierAsOperator(organizationIdOrSlug: string, tier: Tier): Promise<OrganizationRow | null> {
    const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(organizationIdOrSlug);
    const [rows]: [OrganizationRow[], number] = await this.dataSource.query(
      `UPDATE organizations SET tier = $2 WHERE ${isUuid ? 'id = $1::uuid' : 'slug = $1'} RETURNING id, name, slug, tier, created_at`,
      [organizationIdOrSlug, tier],
    );
    return rows[0] ?? null;
  }
}
