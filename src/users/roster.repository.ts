import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { TenantTransactions } from '../database/tenant-transactions.js';
import type { RosterRow } from './roster-parser.js';

export interface RosterMatch {
  /** Index of the row in the roster. */
  row: number;
  userId: string;
  /** The row matched by e-mail a user whose external_id is another one. */
  externalIdClash: boolean;
  /** The row would change the matched user's role. */
  changesRole: boolean;
  /** Another row matched the same user. */
  sameUserAs: number | null;
}

export interface RosterOutcome {
  created: number;
  updated: number;
  unchanged: number;
  activeAdmins: number;
  /** Users whose role changed or who were deactivated: their earlier tokens no longer work. */
  revokedUserIds: string[];
}

/**
 * The roster import, set-based: the rows go into a temporary table in one statement, are matched to users (by
 * external_id, then e-mail) with two joins, and are applied by one UPDATE and one INSERT, so 50,000 rows cost a
 * few statements rather than 50,000. Runs inside the caller's transaction (TenantTransactions.run).
 */
@Injectable()
export class RosterRepository {
  constructor(private readonly tx: TenantTransactions) {}

  /** Loads the roster and matches each row to a user of the organization; returns the matches that need a look. */
  async match(organizationId: string, rows: RosterRow[]): Promise<RosterMatch[]> {
    return this.tx.run(organizationId, async (manager) => {
      await manager.query(`
        CREATE TEMPORARY TABLE roster (
          ord int PRIMARY KEY, external_id text, email text, name text NOT NULL, role text, is_active boolean, created_at timestamptz, user_id uuid
        ) ON COMMIT DROP`);
      await manager.query(
        `INSERT INTO roster (ord, external_id, email, name, role, is_active, created_at)
         SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::timestamptz[])`,
        [
          rows.map((_, index) => index),
          rows.map((row) => row.externalId),
          rows.map((row) => row.email),
          rows.map((row) => row.name),
          rows.map((row) => row.role),
          rows.map((row) => row.isActive),
          // ISO text, not Date objects: node-postgres formats 50,000 Dates several times slower than the server parses text.
          rows.map((row) => row.createdAt?.toISOString() ?? null),
        ],
      );
      // A fresh temporary table has no statistics: without them the planner guesses a few rows and joins badly.
      await manager.query(`ANALYZE roster`);
      await manager.query(
        `UPDATE roster r SET user_id = u.id FROM users u
          WHERE u.organization_id = $1 AND r.external_id IS NOT NULL AND u.external_id = r.external_id`,
        [organizationId],
      );
      // Matching by e-mail uses the comparison the unique index enforces (lower(email)).
      await manager.query(
        `UPDATE roster r SET user_id = u.id FROM users u
          WHERE u.organization_id = $1 AND r.user_id IS NULL AND r.email IS NOT NULL AND lower(u.email) = lower(r.email)`,
        [organizationId],
      );
      return readMatches(manager, organizationId);
    });
  }

  /** Which of these e-mails belong to users of other organizations (RLS hides them, and the unique index's report). */
  async takenElsewhere(organizationId: string, emails: string[]): Promise<Set<string>> {
    // Through the login lookup (SECURITY DEFINER), the one path that sees every tenant's e-mails.
    return this.tx.runWithoutTenant(async (manager) => {
      const rows: { email: string }[] = await manager.query(
        `SELECT e.email FROM unnest($2::text[]) AS e(email), LATERAL auth_find_login(e.email) AS f WHERE f.organization_id <> $1`,
        [organizationId, emails],
      );
      return new Set(rows.map((row) => row.email));
    });
  }

  /** Rows (their index) that would create a new admin: nothing stored matched them. */
  async newAdminRows(organizationId: string): Promise<number[]> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: { ord: number }[] = await manager.query(`SELECT ord FROM roster WHERE user_id IS NULL AND role = 'admin' ORDER BY ord`);
      return rows.map((row) => row.ord);
    });
  }

  /** Applies the matched roster: changed users updated, unmatched ones created; counts what happened. */
  async apply(organizationId: string): Promise<RosterOutcome> {
    return this.tx.run(organizationId, async (manager) => {
      // As PATCH /users/:id does, first the organization's row (changes that could remove the last admin run one at a
      // time), then its rollup lock before any user row (the insert below would take it after the updates' rows, which
      // a concurrent batch of events may be waiting for while it shares the lock).
      await manager.query(`SELECT id FROM organizations WHERE id = $1 FOR NO KEY UPDATE`, [organizationId]);
      await manager.query(`SELECT lock_organization_rollups_of($1, true)`, [organizationId]);
      // Read before the update, which loses the old role: as through PATCH /users/:id, these users' tokens end.
      const revoked: { id: string }[] = await manager.query(
        `SELECT u.id FROM users u JOIN roster r ON u.id = r.user_id
          WHERE u.organization_id = $1 AND ((r.role IS NOT NULL AND r.role <> u.role) OR (r.is_active = false AND u.is_active))`,
        [organizationId],
      );
      const revokedUserIds = revoked.map((row) => row.id);
      const [, updated]: [unknown, number] = await manager.query(
        `UPDATE users u
            SET external_id = COALESCE(r.external_id, u.external_id),
                email = COALESCE(r.email, u.email),
                name = r.name,
                role = COALESCE(r.role, u.role),
                is_active = COALESCE(r.is_active, u.is_active),
                created_at = COALESCE(r.created_at, u.created_at),
                token_version = u.token_version + CASE WHEN u.id = ANY($2::uuid[]) THEN 1 ELSE 0 END
           FROM roster r
          WHERE u.organization_id = $1 AND u.id = r.user_id
            AND (u.external_id, u.email, u.name, u.role, u.is_active, u.created_at)
                IS DISTINCT FROM (COALESCE(r.external_id, u.external_id), COALESCE(r.email, u.email), r.name,
                                  COALESCE(r.role, u.role), COALESCE(r.is_active, u.is_active), COALESCE(r.created_at, u.created_at))`,
        [organizationId, revokedUserIds],
      );
      const created: { count: number }[] = await manager.query(
        `WITH inserted AS (
           INSERT INTO users (organization_id, external_id, email, name, role, is_active, created_at)
           SELECT $1, external_id, email, name, COALESCE(role, 'student'), COALESCE(is_active, true), COALESCE(created_at, now())
             FROM roster WHERE user_id IS NULL ORDER BY ord
           RETURNING 1
         )
         SELECT count(*)::int AS count FROM inserted`,
        [organizationId],
      );
      const totals: { matched: number; admins: number }[] = await manager.query(
        `SELECT (SELECT count(*)::int FROM roster WHERE user_id IS NOT NULL) AS matched,
                (SELECT count(*)::int FROM users WHERE organization_id = $1 AND role = 'admin' AND is_active) AS admins`,
        [organizationId],
      );
      return { created: created[0].count, updated, unchanged: totals[0].matched - updated, activeAdmins: totals[0].admins, revokedUserIds };
    });
  }
}

/** Only the matched rows that break a rule (or that an API key may not apply): the rest need no look. */
async function readMatches(manager: EntityManager, organizationId: string): Promise<RosterMatch[]> {
  const rows: { ord: number; user_id: string; external_id_clash: boolean; changes_role: boolean; first_ord: number }[] = await manager.query(
    `SELECT * FROM (
       SELECT r.ord, r.user_id,
              (r.external_id IS NOT NULL AND u.external_id IS NOT NULL AND u.external_id <> r.external_id) AS external_id_clash,
              (r.role IS NOT NULL AND u.role <> r.role) AS changes_role,
              min(r.ord) OVER (PARTITION BY r.user_id) AS first_ord
         FROM roster r JOIN users u ON u.organization_id = $1 AND u.id = r.user_id
     ) m
     WHERE external_id_clash OR changes_role OR first_ord <> ord
     ORDER BY ord`,
    [organizationId],
  );
  return rows.map((row) => ({
    row: row.ord,
    userId: row.user_id,
    externalIdClash: row.external_id_clash,
    changesRole: row.changes_role,
    sameUserAs: row.first_ord === row.ord ? null : row.first_ord,
  }));
}
