import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ContentRepository } from '../content/content.repository.js';
import { TenantTransactions } from '../database/tenant-transactions.js';
import { ValidationFailedException } from '../errors/api-errors.js';
import type { FieldError } from '../errors/problem.js';
import { ChangeNotifier } from '../tenancy/change-notifier.js';
import { UsersRepository } from '../users/users.repository.js';
import type { EventInput, IngestEventsResponse } from './dto/event.dto.js';
import { EventsRepository, NewEvent } from './events.repository.js';

@Injectable()
export class EventsService {
  constructor(
    private readonly tx: TenantTransactions,
    private readonly events: EventsRepository,
    private readonly users: UsersRepository,
    private readonly content: ContentRepository,
    private readonly changes: ChangeNotifier,
  ) {}

  /** All or nothing: every rule is checked for every event first, and one bad event writes none. */
  async ingest(organizationId: string, batch: EventInput[]): Promise<IngestEventsResponse> {
    const accepted = await this.tx.run(organizationId, async () => {
      const userIds = [...new Set(batch.map((event) => event.user_id))];
      const contentIds = [...new Set(batch.flatMap((event) => (event.content_id ? [event.content_id] : [])))];
      const knownUsers = await this.users.existingIds(organizationId, userIds);
      const knownContent = await this.content.existingIds(organizationId, contentIds);

      const errors: FieldError[] = [];
      batch.forEach((event, index) => {
        if (!knownUsers.has(event.user_id)) errors.push({ field: `events[${index}].user_id`, message: 'user_id is not a user of this organization' });
        if (event.content_id && !knownContent.has(event.content_id)) {
          errors.push({ field: `events[${index}].content_id`, message: 'content_id is not content of this organization' });
        }
        if (event.type === 'session' && event.duration_seconds === undefined) {
          errors.push({ field: `events[${index}].duration_seconds`, message: 'duration_seconds is required for session events' });
        }
      });
      if (errors.length > 0) throw new ValidationFailedException(errors, `${new Set(errors.map((e) => e.field.split('.')[0])).size} event(s) are invalid; nothing was written`);

      return this.events.insertBatch(organizationId, batch.map(toNewEvent));
    });
    await this.changes.notify(organizationId);
    return { accepted, duplicates: batch.length - accepted };
  }
}

function toNewEvent(event: EventInput): NewEvent {
  return {
    id: event.id ?? randomUUID(),
    userId: event.user_id,
    type: event.type,
    contentId: event.content_id ?? null,
    occurredAt: new Date(event.occurred_at),
    durationSeconds: event.duration_seconds ?? null,
    score: event.score ?? null,
  };
}
