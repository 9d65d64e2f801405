import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ContentRepository } from '../content/content.repository.js';
import { TenantTransactions } from '../database/tenant-transactions.js';
import { ValidationFailedException } from '../errors/api-errors.js';
import { isForeignKeyViolation } from '../errors/database-errors.js';
import type { FieldError } from '../errors/problem.js';
import { ActivityChannel } from '../stream/activity-channel.js';
import { ChangeNotifier } from '../tenancy/change-notifier.js';
import { UsersRepository } from '../users/users.repository.js';
import type { EventInput, IngestEventsResponse } from './dto/event.dto.js';
import { EventsRepository, NewEvent, StoredBatch } from './events.repository.js';
import { ExternalContent, ExternalIdsRepository, ExternalLearner } from './external-ids.repository.js';

@Injectable()
export class EventsService {
  constructor(
    private readonly tx: TenantTransactions,
    private readonly events: EventsRepository,
    private readonly users: UsersRepository,
    private readonly content: ContentRepository,
    private readonly externalIds: ExternalIdsRepository,
    private readonly changes: ChangeNotifier,
    private readonly activity: ActivityChannel,
  ) {}

  /**
   * All or nothing. The usual batch (well-formed, its users and content in the organization) is stored by one
   * statement, whose checks (the events trigger's user lookup, the content key) refuse anything else. Only a batch
   * with errors is examined event by event, every rule for every event, so that one 400 names every bad event.
   * Learners and content named by external id are found or created in the same transaction as the events.
   */
  async ingest(organizationId: string, batch: EventInput[], eventErrors: FieldError[] = []): Promise<IngestEventsResponse> {
    let stored: StoredBatch | null = null;
    if (eventErrors.length === 0 && !batch.some(lacksDuration)) {
      const store = batch.some(namesExternalIds)
        ? this.tx.run(organizationId, async () => this.events.insertBatch(organizationId, await this.withExternalIds(organizationId, batch)))
        : this.events.insertBatch(organizationId, batch.map((event) => toNewEvent(event)));
      stored = await store.catch((error: unknown) => {
        if (isForeignKeyViolation(error)) return null;
        throw error;
      });
    }
    stored ??= await this.checkEachAndInsert(organizationId, batch, eventErrors);
    await this.changes.notify(organizationId);
    // Best effort and never throws: the answer does not wait for it (a hung Redis would hold it up to the publish timeout).
    void this.activity.publish(organizationId, stored.byType);
    return { accepted: stored.accepted, duplicates: batch.length - stored.accepted };
  }

  private checkEachAndInsert(organizationId: string, batch: EventInput[], eventErrors: FieldError[]): Promise<StoredBatch> {
    return this.tx.run(organizationId, async () => {
      // Ids the pipe already refused (not UUIDs) are not looked up.
      const refused = new Set(eventErrors.map((error) => error.field));
      const wellFormed = (index: number, field: string, value: string | undefined): value is string => typeof value === 'string' && !refused.has(`events[${index}].${field}`);
      const userIds = [...new Set(batch.filter((event, index) => wellFormed(index, 'user_id', event.user_id)).map((event) => event.user_id as string))];
      const contentIds = [...new Set(batch.filter((event, index) => wellFormed(index, 'content_id', event.content_id)).map((event) => event.content_id as string))];
      const knownUsers = await this.users.existingIds(organizationId, userIds);
      const knownContent = await this.content.existingIds(organizationId, contentIds);

      const errorsByIndex = new Map<number, FieldError[]>();
      const add = (index: number, error: FieldError) => errorsByIndex.set(index, [...(errorsByIndex.get(index) ?? []), error]);
      for (const error of eventErrors) add(Number(/^events\[(\d+)\]/.exec(error.field)?.[1]), error);
      batch.forEach((event, index) => {
        if (wellFormed(index, 'user_id', event.user_id) && !knownUsers.has(event.user_id)) {
          add(index, { field: `events[${index}].user_id`, message: 'user_id is not a user of this organization' });
        }
        if (wellFormed(index, 'content_id', event.content_id) && !knownContent.has(event.content_id)) {
          add(index, { field: `events[${index}].content_id`, message: 'content_id is not content of this organization' });
        }
        if (lacksDuration(event)) {
          add(index, { field: `events[${index}].duration_seconds`, message: 'duration_seconds is required for session events' });
        }
      });
      if (errorsByIndex.size > 0) {
        const errors = [...errorsByIndex.entries()].sort(([a], [b]) => a - b).flatMap(([, list]) => list);
        throw new ValidationFailedException(errors, `${errorsByIndex.size} event(s) are invalid; nothing was written`);
      }

      return this.events.insertBatch(organizationId, await this.withExternalIds(organizationId, batch));
    });
  }

  /**
   * The batch's events with the learners and content it names by external id found or created (inside the caller's
   * transaction): a learner's created_at is their earliest occurred_at in the batch, a name or title the first given.
   */
  private async withExternalIds(organizationId: string, batch: EventInput[]): Promise<NewEvent[]> {
    const learners = new Map<string, ExternalLearner>();
    const content = new Map<string, ExternalContent>();
    for (const event of batch) {
      const at = new Date(event.occurred_at);
      if (event.user_external_id) {
        const known = learners.get(event.user_external_id);
        if (!known) learners.set(event.user_external_id, { externalId: event.user_external_id, name: event.user_name ?? event.user_external_id, createdAt: at });
        else {
          if (at < known.createdAt) known.createdAt = at;
          if (event.user_name && known.name === known.externalId) known.name = event.user_name;
        }
      }
      if (event.content_external_id) {
        const known = content.get(event.content_external_id);
        if (!known) {
          content.set(event.content_external_id, { externalId: event.content_external_id, title: event.content_title ?? event.content_external_id, contentType: 'lesson', createdAt: at });
        } else {
          if (at < known.createdAt) known.createdAt = at;
          if (event.content_title && known.title === known.externalId) known.title = event.content_title;
        }
      }
    }
    const userIds = await this.externalIds.resolveLearners(organizationId, [...learners.values()]);
    const contentIds = await this.externalIds.resolveContent(organizationId, [...content.values()]);
    return batch.map((event) =>
      toNewEvent(event, event.user_external_id ? userIds.get(event.user_external_id) : undefined, event.content_external_id ? contentIds.get(event.content_external_id) : undefined),
    );
  }
}

const namesExternalIds = (event: EventInput) => Boolean(event.user_external_id || event.content_external_id);

const lacksDuration = (event: EventInput) => event.type === 'session' && (event.duration_seconds === undefined || event.duration_seconds === null);

function toNewEvent(event: EventInput, userId = event.user_id, contentId = event.content_id): NewEvent {
  return {
    id: event.id ?? randomUUID(),
    userId: userId as string,
    type: event.type,
    contentId: contentId ?? null,
    occurredAt: new Date(event.occurred_at),
    durationSeconds: event.duration_seconds ?? null,
    score: event.score ?? null,
  };
}
