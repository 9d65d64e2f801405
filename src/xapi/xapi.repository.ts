import { Injectable } from '@nestjs/common';
import { TenantTransactions } from '../database/tenant-transactions.js';
import type { JsonObject } from './statement-validator.js';

export interface NewStatement {
  id: string;
  /** As it will be returned: with stored, authority and timestamp set. */
  statement: JsonObject;
  signature: string;
  eventId: string | null;
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

  /** Stores what is new; returns the ids actually inserted (a concurrent request may have stored some first). */
  async insert(organizationId: string, apiKeyId: string, statements: NewStatement[]): Promise<Set<string>> {
    return this.tx.run(organizationId, async (manager) => {
      // One JSON document for the whole batch: PostgreSQL parses it once, and no array literal has to be escaped.
      const rows: { id: string }[] = await manager.query(
        `INSERT INTO xapi_statements (organization_id, id, statement, signature, stored, api_key_id, event_id)
         SELECT $1, s.id, s.statement, s.signature, s.stored, $2, s.event_id
           FROM jsonb_to_recordset($3::jsonb) AS s(id uuid, statement jsonb, signature text, stored timestamptz, event_id uuid)
         ON CONFLICT (organization_id, id) DO NOTHING
         RETURNING id`,
        [
          organizationId,
          apiKeyId,
          JSON.stringify(statements.map((s) => ({ id: s.id, statement: s.statement, signature: s.signature, stored: s.statement.stored, event_id: s.eventId }))),
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
