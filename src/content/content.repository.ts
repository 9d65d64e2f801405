import { Injectable } from '@nestjs/common';
import { TenantTransactions } from '../database/tenant-transactions.js';
import type { ContentStatus, ContentType } from '../database/entities/educational-content.entity.js';
import type { PageCursor } from '../common/pagination.js';

export interface ContentRow {
  id: string;
  organization_id: string;
  author_id: string | null;
  external_id: string | null;
  title: string;
  content_type: ContentType;
  status: ContentStatus;
  generation_time_ms: number | null;
  created_at: Date;
  published_at: Date | null;
}

const CONTENT_COLUMNS = 'id, organization_id, author_id, external_id, title, content_type, status, generation_time_ms, created_at, published_at';

export interface NewContent {
  authorId: string;
  externalId?: string | null;
  title: string;
  contentType: ContentType;
  status: ContentStatus;
  generationTimeMs: number | null;
  createdAt?: Date;
}

@Injectable()
export class ContentRepository {
  constructor(private readonly tx: TenantTransactions) {}

  async create(organizationId: string, content: NewContent): Promise<ContentRow> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: ContentRow[] = await manager.query(
        `INSERT INTO educational_content (organization_id, author_id, title, content_type, status, generation_time_ms, created_at, published_at, external_id)
         VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, now()), CASE WHEN $5 = 'published' THEN COALESCE($7, now()) END, $8)
         RETURNING ${CONTENT_COLUMNS}`,
        [organizationId, content.authorId, content.title, content.contentType, content.status, content.generationTimeMs, content.createdAt ?? null, content.externalId ?? null],
      );
      return rows[0];
    });
  }

  /** Publishing stamps published_at the first time only; deleted content is not found. */
  async update(organizationId: string, id: string, patch: { title?: string; status?: ContentStatus }): Promise<ContentRow | null> {
    return this.tx.run(organizationId, async (manager) => {
      const [rows]: [ContentRow[], number] = await manager.query(
        `UPDATE educational_content
            SET title = COALESCE($3, title),
                status = COALESCE($4, status),
                published_at = CASE WHEN $4 = 'published' AND published_at IS NULL THEN now() ELSE published_at END
          WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL
          RETURNING ${CONTENT_COLUMNS}`,
        [organizationId, id, patch.title ?? null, patch.status ?? null],
      );
      return rows[0] ?? null;
    });
  }

  async softDelete(organizationId: string, id: string): Promise<boolean> {
    return this.tx.run(organizationId, async (manager) => {
      const [, count]: [unknown[], number] = await manager.query(
        `UPDATE educational_content SET deleted_at = now() WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL`,
        [organizationId, id],
      );
      return count > 0;
    });
  }

  async list(organizationId: string, filter: { status?: ContentStatus; limit: number; after?: PageCursor }): Promise<ContentRow[]> {
    return this.tx.run(
      organizationId,
      (manager) =>
        manager.query(
          `SELECT ${CONTENT_COLUMNS} FROM educational_content
            WHERE organization_id = $1 AND deleted_at IS NULL
              AND ($2::text IS NULL OR status = $2)
              AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
            ORDER BY created_at DESC, id DESC
            LIMIT $5`,
          [organizationId, filter.status ?? null, filter.after?.createdAt ?? null, filter.after?.id ?? null, filter.limit],
        ),
      { readOnly: true },
    );
  }

  /** Which of these ids are content of the organization (deleted content still exists for old events). */
  async existingIds(organizationId: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    return this.tx.run(organizationId, async (manager) => {
      const rows: { id: string }[] = await manager.query(`SELECT id FROM educational_content WHERE organization_id = $1 AND id = ANY($2::uuid[])`, [
        organizationId,
        ids,
      ]);
      return new Set(rows.map((row) => row.id));
    });
  }
}
