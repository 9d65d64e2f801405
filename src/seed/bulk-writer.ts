import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EntityManager } from 'typeorm';
import { ACTIVE_DAYS_BITS } from '../rollups/active-days.js';

export interface UserSeedRow {
  id: string;
  email: string;
  name: string;
  role: string;
  passwordHash: string | null;
  createdAt: Date;
}

export interface ContentSeedRow {
  id: string;
  authorId: string;
  title: string;
  contentType: string;
  status: string;
  generationTimeMs: number | null;
  createdAt: Date;
  publishedAt: Date | null;
}

export interface EventSeedRow {
  id: string;
  userId: string;
  type: string;
  contentId: string | null;
  occurredAt: Date;
  durationSeconds: number | null;
  score: number | null;
}

/**
 * Multi-row inserts through unnest(): one statement per few thousand rows, never one INSERT per row. With `copy`
 * (a real PostgreSQL connection: the seed command) events stream in through COPY, the fastest load path.
 */
export class BulkWriter {
  constructor(
    private readonly manager: EntityManager,
    private readonly copy = false,
  ) {}

  async users(organizationId: string, rows: UserSeedRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.manager.query(
      `INSERT INTO users (organization_id, id, email, name, role, password_hash, created_at)
       SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])`,
      [organizationId, ...columns(rows, ['id', 'email', 'name', 'role', 'passwordHash', 'createdAt'])],
    );
  }

  async content(organizationId: string, rows: ContentSeedRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.manager.query(
      `INSERT INTO educational_content (organization_id, id, author_id, title, content_type, status, generation_time_ms, created_at, published_at)
       SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[], $8::timestamptz[], $9::timestamptz[])`,
      [organizationId, ...columns(rows, ['id', 'authorId', 'title', 'contentType', 'status', 'generationTimeMs', 'createdAt', 'publishedAt'])],
    );
  }

  events(organizationId: string, rows: EventSeedRow[]): Promise<void> {
    return this.prepareEvents(organizationId, rows)();
  }

  /**
   * Readies a batch of events and returns what writes it. For COPY the text is built here, so that a caller can build
   * it while the database still loads the previous batch, and the connection never waits on the generator.
   */
  prepareEvents(organizationId: string, rows: EventSeedRow[]): () => Promise<void> {
    if (rows.length === 0) return async () => undefined;
    if (!this.copy) return () => this.insertEvents(organizationId, rows);
    const text = copyText(organizationId, rows);
    return () => this.copyEvents(text);
  }

  private async insertEvents(organizationId: string, rows: EventSeedRow[]): Promise<void> {
    await this.manager.query(
      `INSERT INTO activity_events (organization_id, id, user_id, type, content_id, occurred_at, duration_seconds, score, received_at)
       SELECT $1, t.*, t.occurred_at FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::timestamptz[], $7::int[], $8::float8[])
         AS t(id, user_id, type, content_id, occurred_at, duration_seconds, score)`,
      [organizationId, ...columns(rows, ['id', 'userId', 'type', 'contentId', 'occurredAt', 'durationSeconds', 'score'])],
    );
  }

  private async copyEvents(text: string): Promise<void> {
    const client = (this.manager.queryRunner as unknown as { databaseConnection?: PoolClient } | undefined)?.databaseConnection;
    if (!client) throw new Error('COPY needs the transaction\'s own connection');
    const stream = client.query(
      copyFrom(`COPY activity_events (organization_id, id, user_id, type, content_id, occurred_at, duration_seconds, score, received_at) FROM STDIN`),
    );
    stream.end(text);
    await finished(stream);
  }

  /**
   * Activity timestamps and active days follow the generated events, as ingestion would have set them: in the one
   * update of each user the seed makes anyway (a rebuild then finds the bits right and rewrites no row).
   */
  async refreshUserActivity(organizationId: string): Promise<void> {
    await this.manager.query(
      `UPDATE users u SET last_active_at = a.last_active_at, last_login_at = a.last_login_at, active_from = a.active_from, active_days = a.active_days
         FROM (SELECT user_id, max(last_active_at) AS last_active_at, max(last_login_at) AS last_login_at, min(day) AS active_from,
                      ${ACTIVE_DAYS_BITS} AS active_days
                 FROM (SELECT user_id, day, last_active_at, last_login_at, lag(day) OVER (PARTITION BY user_id ORDER BY day) AS previous_day
                         FROM (SELECT user_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, max(occurred_at) AS last_active_at,
                                      max(occurred_at) FILTER (WHERE type = 'login') AS last_login_at
                                 FROM activity_events WHERE organization_id = $1 GROUP BY 1, 2) days) ordered
                GROUP BY user_id) a
        WHERE u.organization_id = $1 AND u.id = a.user_id`,
      [organizationId],
    );
  }
}

/** COPY in text format: uuids, type names, numbers and ISO timestamps need no escaping; a backslash-N is NULL. */
function copyText(organizationId: string, rows: EventSeedRow[]): string {
  const nullable = (value: string | number | null) => (value === null ? '\\N' : String(value));
  const lines: string[] = [];
  for (const row of rows) {
    const at = row.occurredAt.toISOString();
    lines.push(`${organizationId}\t${row.id}\t${row.userId}\t${row.type}\t${nullable(row.contentId)}\t${at}\t${nullable(row.durationSeconds)}\t${nullable(row.score)}\t${at}\n`);
  }
  return lines.join('');
}

function columns<T>(rows: T[], keys: (keyof T)[]): unknown[][] {
  return keys.map((key) => rows.map((row) => row[key] ?? null));
}
