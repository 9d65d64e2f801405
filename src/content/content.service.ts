import { Injectable, NotFoundException } from '@nestjs/common';
import { decodeCursor, Page, toPage } from '../common/pagination.js';
import { ChangeNotifier } from '../tenancy/change-notifier.js';
import { ContentRepository, ContentRow } from './content.repository.js';
import type { CreateContentRequest, ListContentQuery, UpdateContentRequest } from './dto/content.dto.js';

@Injectable()
export class ContentService {
  constructor(
    private readonly content: ContentRepository,
    private readonly changes: ChangeNotifier,
  ) {}

  async create(organizationId: string, authorId: string, request: CreateContentRequest): Promise<ContentRow> {
    const row = await this.content.create(organizationId, {
      authorId,
      externalId: request.external_id ?? null,
      title: request.title,
      contentType: request.content_type,
      status: request.status ?? 'draft',
      generationTimeMs: request.generation_time_ms ?? null,
      createdAt: request.created_at ? new Date(request.created_at) : undefined,
    });
    await this.changes.notify(organizationId);
    return row;
  }

  async update(organizationId: string, id: string, request: UpdateContentRequest): Promise<ContentRow> {
    const row = await this.content.update(organizationId, id, request);
    if (!row) throw new NotFoundException('No such content in this organization');
    await this.changes.notify(organizationId);
    return row;
  }

  async remove(organizationId: string, id: string): Promise<void> {
    if (!(await this.content.softDelete(organizationId, id))) throw new NotFoundException('No such content in this organization');
    await this.changes.notify(organizationId);
  }

  async list(organizationId: string, query: ListContentQuery): Promise<Page<ContentRow>> {
    const rows = await this.content.list(organizationId, { status: query.status, limit: query.limit + 1, after: decodeCursor(query.cursor) });
    return toPage(rows, query.limit);
  }
}
