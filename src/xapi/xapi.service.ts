import { ConflictException, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ApiKeyPrincipal } from '../api-keys/api-key-principal.js';
import { Clock } from '../common/clock.js';
import { TenantTransactions } from '../database/tenant-transactions.js';
import { ValidationFailedException } from '../errors/api-errors.js';
import type { FieldError } from '../errors/problem.js';
import { EventsRepository } from '../events/events.repository.js';
import { ExternalContent, ExternalIdsRepository, ExternalLearner } from '../events/external-ids.repository.js';
import type { StoredBatch } from '../events/events.repository.js';
import { ActivityChannel } from '../stream/activity-channel.js';
import { ChangeNotifier } from '../tenancy/change-notifier.js';
import { externalIdErrors, MappedStatement, mapStatement, statementSignature } from './statement-mapping.js';
import { isUuid, JsonObject, statementErrors } from './statement-validator.js';
import { XapiStats } from './xapi-stats.js';
import { XapiRepository } from './xapi.repository.js';

export const MAX_STATEMENTS = 1000;

/** Who sent the statements and how the stored copies name them. */
export interface StatementSource {
  key: ApiKeyPrincipal;
  /** The authority's account home page (this service's API-key resource). */
  authorityHomePage: string;
  /** The version the request negotiated, for statements that name none. */
  version: string;
}

interface Incoming {
  id: string;
  signature: string;
}

@Injectable()
export class XapiService {
  constructor(
    private readonly tx: TenantTransactions,
    private readonly statements: XapiRepository,
    private readonly events: EventsRepository,
    private readonly externalIds: ExternalIdsRepository,
    private readonly changes: ChangeNotifier,
    private readonly stats: XapiStats,
    private readonly clock: Clock,
    private readonly activity: ActivityChannel,
  ) {}

  /** POST: one statement or an array of them → their ids, in order. */
  async post(source: StatementSource, body: unknown, text: Buffer): Promise<string[]> {
    const batch = Array.isArray(body) ? body : [body];
    if (Array.isArray(body) && (body.length < 1 || body.length > MAX_STATEMENTS)) {
      throw new ValidationFailedException([{ field: 'statements', message: `send 1 to ${MAX_STATEMENTS} statements` }], 'The batch size is out of range; nothing was stored');
    }
    return this.store(source, batch, text, Array.isArray(body) ? 'statements' : 'statement');
  }

  /** PUT ?statementId=: one statement, stored under that id. */
  async put(source: StatementSource, statementId: unknown, body: unknown, text: Buffer): Promise<void> {
    if (!isUuid(statementId)) throw new ValidationFailedException([{ field: 'statementId', message: 'statementId must be a UUID' }], 'statementId is required');
    if (Array.isArray(body)) throw new ValidationFailedException([{ field: 'statement', message: 'PUT stores one statement, not an array' }]);
    if (typeof body === 'object' && body !== null && 'id' in body && String((body as JsonObject).id).toLowerCase() !== statementId.toLowerCase()) {
      throw new ValidationFailedException([{ field: 'statement.id', message: 'the statement’s id differs from statementId' }]);
    }
    const statement = typeof body === 'object' && body !== null ? { ...(body as JsonObject), id: statementId } : body;
    await this.store(source, [statement], text, 'statement');
  }

  async get(organizationId: string, statementId: string): Promise<JsonObject | null> {
    return this.statements.find(organizationId, statementId);
  }

  /**
   * Atomic: every statement valid or nothing stored. A statement id already stored with an equal statement is
   * accepted again without a second event; with a different one → 409. New statements are stored from `text` (the
   * body's JSON, `batch` parsed) with id, stored, authority and (when absent) timestamp and version set, and the
   * mapped ones become events, their learners and content found or created by external id, all in one transaction.
   */
  private async store(source: StatementSource, batch: unknown[], text: Buffer, path: string): Promise<string[]> {
    const errors: FieldError[] = batch.flatMap((statement, index) => {
      const at = path === 'statements' ? `statements[${index}]` : path;
      const invalid = statementErrors(statement, at);
      return invalid.length > 0 ? invalid : externalIdErrors(statement as JsonObject, at);
    });
    if (errors.length > 0) throw new ValidationFailedException(errors, `${new Set(errors.map((error) => error.field.split('.')[0])).size} statement(s) are invalid; nothing was stored`);
    const storedAt = this.clock.date();
    const mapped = new Map<string, MappedStatement>();
    const incoming: Incoming[] = (batch as JsonObject[]).map((statement) => {
      const id = typeof statement.id === 'string' ? statement.id.toLowerCase() : randomUUID();
      const event = mapStatement(statement, id, storedAt);
      if (event) mapped.set(id, event);
      return { id, signature: statementSignature(statement) };
    });
    // Everything needed of the parsed statements is taken: emptying the batch (the request's own parsed body, which
    // nothing reads later) lets young collections free them while the transaction waits, instead of promoting them to
    // the old generation (the service's CPU per batch of 500: 44.3 → 38.5 ms, docs/performance.md "A fifth host").
    batch.length = 0;
    const seen = new Set<string>();
    const repeated = incoming.findIndex((item) => seen.size === seen.add(item.id).size);
    if (repeated >= 0) throw new ValidationFailedException([{ field: `statements[${repeated}].id`, message: 'the batch holds two statements with this id' }]);

    const organizationId = source.key.organizationId;
    const outcome = await this.tx.run(organizationId, async () => {
      // Insert first, then look at what was there: one round trip less for the usual batch of new statements, and
      // a conflict found afterwards still stores nothing (it rolls this transaction back).
      const inserted = await this.statements.insert(
        organizationId,
        source.key.apiKeyId,
        {
          text,
          stored: storedAt.toISOString(),
          // The credentials that sent it (xAPI: the LRS overwrites any authority given).
          authority: { objectType: 'Agent', account: { homePage: source.authorityHomePage, name: source.key.apiKeyId } },
          version: source.version.startsWith('2.') ? '2.0.0' : '1.0.0',
        },
        incoming.map((item) => ({ id: item.id, signature: item.signature, eventId: mapped.get(item.id)?.eventId ?? null })),
      );
      if (inserted.size < incoming.length) {
        // Stored before, or meanwhile by a concurrent request: equal is accepted again, different is a conflict.
        const earlier = await this.statements.signatures(organizationId, incoming.filter((item) => !inserted.has(item.id)).map((item) => item.id));
        refuseConflicts(incoming, earlier, path);
      }
      const events = [...mapped.entries()].filter(([id]) => inserted.has(id)).map(([, event]) => event);
      const batch = events.length > 0 ? await this.storeEvents(organizationId, events) : null;
      return { mapped: events.length, unmapped: inserted.size - events.length, byType: batch?.byType ?? {} };
    });
    this.stats.record(outcome.mapped, outcome.unmapped);
    if (outcome.mapped > 0) {
      await this.changes.notify(organizationId);
      // Live dashboards hear of xAPI activity as of any other batch of events (best effort, not awaited).
      void this.activity.publish(organizationId, outcome.byType);
    }
    return incoming.map((item) => item.id);
  }

  private async storeEvents(organizationId: string, events: MappedStatement[]): Promise<StoredBatch> {
    const learners = new Map<string, ExternalLearner>();
    const content = new Map<string, ExternalContent>();
    for (const event of events) {
      const learner = learners.get(event.learner.externalId);
      if (!learner) learners.set(event.learner.externalId, { ...event.learner, createdAt: event.occurredAt });
      else if (event.occurredAt < learner.createdAt) learner.createdAt = event.occurredAt;
      if (event.content) {
        const item = content.get(event.content.externalId);
        if (!item) content.set(event.content.externalId, { ...event.content, createdAt: event.occurredAt });
        else if (event.occurredAt < item.createdAt) item.createdAt = event.occurredAt;
      }
    }
    const userIds = await this.externalIds.resolveLearners(organizationId, [...learners.values()]);
    const contentIds = await this.externalIds.resolveContent(organizationId, [...content.values()]);
    return this.events.insertBatch(
      organizationId,
      events.map((event) => ({
        id: event.eventId,
        userId: userIds.get(event.learner.externalId) as string,
        type: event.type,
        contentId: event.content ? (contentIds.get(event.content.externalId) ?? null) : null,
        occurredAt: event.occurredAt,
        durationSeconds: event.durationSeconds,
        score: event.score,
      })),
    );
  }
}

function refuseConflicts(incoming: Incoming[], stored: Map<string, string>, path: string): void {
  const conflicts = incoming.flatMap((item, index) => {
    const signature = stored.get(item.id);
    return signature !== undefined && signature !== item.signature ? [{ index, id: item.id }] : [];
  });
  if (conflicts.length === 0) return;
  throw new ConflictException({
    message: `${conflicts.map((conflict) => conflict.id).join(', ')}: a different statement is already stored under this id; nothing was stored`,
    errors: conflicts.map((conflict) => ({ field: path === 'statements' ? `statements[${conflict.index}].id` : 'statement.id', message: 'a different statement is stored under this id' })),
  });
}

