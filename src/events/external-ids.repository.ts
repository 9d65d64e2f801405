import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ContentType } from '../database/entities/educational-content.entity.js';
import { TenantTransactions } from '../database/tenant-transactions.js';
import { cutToCharacters } from '../common/characters.js';

/** A learner named by the platform's id: created, if unknown, as a student without password. */
export interface ExternalLearner {
  externalId: string;
  name: string;
  /** The earliest moment the batch shows them active. */
  createdAt: Date;
}

/** Content named by the platform's id: created, if unknown, as published content of this type. */
export interface ExternalContent {
  externalId: string;
  title: string;
  contentType: ContentType;
  createdAt: Date;
}

const NAME_MAX = 200;
const TITLE_MAX = 300;

/**
 * Finds users and content by external id and creates the unknown ones, set-based (a lookup per table, and an insert
 * only when some are unknown, whatever the batch size). Meant to run inside the caller's transaction, so a batch that
 * fails later creates nobody.
 */
@Injectable()
export class ExternalIdsRepository {
  constructor(private readonly tx: TenantTransactions) {}

  /** external id → user id, for every learner given. */
  async resolveLearners(organizationId: string, learners: ExternalLearner[]): Promise<Map<string, string>> {
    if (learners.length === 0) return new Map();
    return this.tx.run(organizationId, (manager) =>
      this.resolve(
        manager,
        `INSERT INTO users (organization_id, external_id, name, role, created_at)
         SELECT $1, w.external_id, w.name, 'student', w.created_at FROM wanted w
          ORDER BY w.external_id
         ON CONFLICT (organization_id, external_id) DO NOTHING`,
        'users',
        [organizationId, learners.map((l) => l.externalId), learners.map((l) => cutToCharacters(l.name, NAME_MAX)), learners.map((l) => l.createdAt.toISOString()), learners.map(() => null)],
      ),
    );
  }

  /** external id → content id, for every content item given. */
  async resolveContent(organizationId: string, content: ExternalContent[]): Promise<Map<string, string>> {
    if (content.length === 0) return new Map();
    return this.tx.run(organizationId, (manager) =>
      this.resolve(
        manager,
        `INSERT INTO educational_content (organization_id, external_id, title, content_type, status, created_at, published_at)
         SELECT $1, w.external_id, w.name, w.kind, 'published', w.created_at, w.created_at FROM wanted w
          ORDER BY w.external_id
         ON CONFLICT (organization_id, external_id) DO NOTHING`,
        'educational_content',
        [organizationId, content.map((c) => c.externalId), content.map((c) => cutToCharacters(c.title, TITLE_MAX)), content.map((c) => c.createdAt.toISOString()), content.map((c) => c.contentType)],
      ),
    );
  }

  /**
   * Known ids first, with one probe each: once a platform's learners and content exist, that one query answers the
   * batch, and no insert runs (an insert's statement triggers fire even when it adds no row). Only the unknown ones
   * go to the insert, and any of those a concurrent batch created meanwhile are read after it.
   */
  private async resolve(manager: EntityManager, insert: string, table: 'users' | 'educational_content', params: unknown[]): Promise<Map<string, string>> {
    const [organizationId, externalIds] = params as [string, string[]];
    const ids = await this.idsOf(manager, table, organizationId, externalIds);
    const unknown = externalIds.flatMap((externalId, index) => (ids.has(externalId) ? [] : [index]));
    if (unknown.length === 0) return ids;

    const wanted = `wanted AS (SELECT * FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[]) AS w(external_id, name, created_at, kind))`;
    const columns = params.slice(1) as unknown[][];
    const created: { external_id: string; id: string }[] = await manager.query(`WITH ${wanted} ${insert} RETURNING external_id, id`, [
      organizationId,
      ...columns.map((column) => unknown.map((index) => column[index])),
    ]);
    for (const row of created) ids.set(row.external_id, row.id);
    if (ids.size < externalIds.length) {
      // Created meanwhile by a concurrent batch (ON CONFLICT skipped it, this statement's snapshot could not see it).
      const late = await this.idsOf(manager, table, organizationId, externalIds.filter((externalId) => !ids.has(externalId)));
      for (const [externalId, id] of late) ids.set(externalId, id);
    }
    return ids;
  }

  private async idsOf(manager: EntityManager, table: 'users' | 'educational_content', organizationId: string, externalIds: string[]): Promise<Map<string, string>> {
    const rows: { external_id: string; id: string }[] = await manager.query(
      `SELECT external_id, id FROM ${table} WHERE organization_id = $1 AND external_id = ANY($2::text[])`,
      [organizationId, externalIds],
    );
    return new Map(rows.map((row) => [row.external_id, row.id]));
  }
}
