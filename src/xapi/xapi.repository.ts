import { Injectable } from '@nestjs/common';
import { arrayLiteral } from '../database/array-literal.js';
import { TenantTransactions } from '../database/tenant-transactions.js';
import type { JsonObject } from './statement-validator.js';

/** A new statement's row beside its text: its id (lowercase), what makes it "the same", and the event it made. */
export interface NewStatement {
  id: string;
  signature: string;
  eventId: string | null;
}

/** A batch as sent, and what this service sets on each stored copy. */
export interface SentStatements {
  /** UTF-8 JSON text: one statement or an array of them, in the order of the rows. */
  text: Buffer;
  /** When they are stored (ISO 8601), also each one's timestamp when it names none. */
  stored: string;
  authority: JsonObject;
  /** The version of those that name none. */
  version: string;
}

@Injectable()
export class XapiRepository {
  constructor(private readonly tx: TenantTransactions) {}

  /** id → signature of the statements already stored among these ids. */
  async signatures(organizationId: string, ids: string[]): Promise<Map<string, string>> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: { id: string; signature: string }[] = await manager.query(
        `SELECT id, signature FROM xapi_statements WHERE organization_id = $1 AND id = ANY($2::uuid[])`,
        [organizationId, ids],
      );
      return new Map(rows.map((row) => [row.id, row.signature]));
    });
  }

  /**
   * Stores what is new, each statement from the text as sent with id, stored, authority, and timestamp and version
   * when absent, set over it; returns the ids actually inserted (a concurrent request may have stored some first).
   */
  async insert(organizationId: string, apiKeyId: string, sent: SentStatements, statements: NewStatement[]): Promise<Set<string>> {
    return this.tx.run(organizationId, async (manager) => {
      // The client's text goes as bytes and PostgreSQL builds the stored statements from it; nothing is serialized
      // again here. The rows' arrays hold only UUIDs and hex digests, which an array literal needs no quoting for. The
      // text is split as json (each statement's text copied once) and each statement made jsonb on its own, in memory
      // reused row after row: one jsonb of the whole batch spent as much in allocating fresh memory as in parsing.
      const rows: { id: string }[] = await manager.query(
        `WITH sent AS MATERIALIZED (SELECT convert_from($3::bytea, 'UTF8')::json AS body),
         statements AS MATERIALIZED (
           SELECT element::jsonb AS statement, position
             FROM sent, json_array_elements(CASE json_typeof(sent.body) WHEN 'array' THEN sent.body ELSE json_build_array(sent.body) END)
                  WITH ORDINALITY AS e (element, position)
         )
         INSERT INTO xapi_statements (organization_id, id, statement, signature, stored, api_key_id, event_id)
         SELECT $1, r.id,
                s.statement || jsonb_build_object('id', r.id, 'stored', $4::text, 'authority', $5::jsonb,
                  'timestamp', coalesce(s.statement -> 'timestamp', to_jsonb($4::text)), 'version', coalesce(s.statement -> 'version', to_jsonb($6::text))),
                r.signature, $4::timestamptz, $2, r.event_id
           FROM statements s
           JOIN unnest($7::uuid[], $8::text[], $9::uuid[]) WITH ORDINALITY AS r (id, signature, event_id, position) USING (position)
         ON CONFLICT (organization_id, id) DO NOTHING
         RETURNING id`,
        [
          organizationId,
          apiKeyId,
          sent.text,
          sent.stored,
          JSON.stringify(sent.authority),
          sent.version,
          arrayLiteral(statements.map((s) => s.id)),
          arrayLiteral(statements.map((s) => s.signature)),
          arrayLiteral(statements.map((s) => s.eventId)),
        ],
      );
      return new Set(rows.map((row) => row.id));
    });
  }

  async find(organizationId: string, id: string): Promise<JsonObject | null> {
    return this.tx.run(
      organizationId,
      async (manager) => {
        const rows: { statement: JsonObject }[] = await manager.query(`SELECT statement FROM xapi_statements WHERE organization_id = $1 AND id = $2`, [organizationId, id]);
        return rows[0]?.statement ?? null;
      },
      { readOnly: true },
    );
  }
}
