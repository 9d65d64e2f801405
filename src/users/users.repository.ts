import { Injectable } from '@nestjs/common';
import { TenantTransactions } from '../database/tenant-transactions.js';
import type { Role } from '../database/entities/user.entity.js';
import { PageCursor } from '../common/pagination.js';

export interface UserRow {
  id: string;
  organization_id: string;
  email: string | null;
  external_id: string | null;
  name: string;
  role: Role;
  is_active: boolean;
  created_at: Date;
  last_login_at: Date | null;
  last_active_at: Date | null;
}

const USER_COLUMNS = 'id, organization_id, email, external_id, name, role, is_active, created_at, last_login_at, last_active_at';

export interface NewUser {
  email: string | null;
  externalId?: string | null;
  name: string;
  role: Role;
  passwordHash: string | null;
  createdAt?: Date;
}

export interface UserPatch {
  name?: string;
  role?: Role;
  isActive?: boolean;
}

@Injectable()
export class UsersRepository {
  constructor(private readonly tx: TenantTransactions) {}

  async create(organizationId: string, user: NewUser): Promise<UserRow> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: UserRow[] = await manager.query(
        `INSERT INTO users (organization_id, email, name, role, password_hash, created_at, external_id)
         VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()), $7)
         RETURNING ${USER_COLUMNS}`,
        [organizationId, user.email, user.name, user.role, user.passwordHash, user.createdAt ?? null, user.externalId ?? null],
      );
      return rows[0];
    });
  }

  async findById(organizationId: string, id: string): Promise<UserRow | null> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: UserRow[] = await manager.query(`SELECT ${USER_COLUMNS} FROM users WHERE organization_id = $1 AND id = $2`, [organizationId, id]);
      return rows[0] ?? null;
    });
  }

  /** Newest first, keyset-paginated on (created_at, id) so pages stay stable while users are added. */
  async list(organizationId: string, filter: { role?: Role; limit: number; after?: PageCursor }): Promise<UserRow[]> {
    return this.tx.run(
      organizationId,
      (manager) =>
        manager.query(
          `SELECT ${USER_COLUMNS} FROM users
            WHERE organization_id = $1
              AND ($2::text IS NULL OR role = $2)
              AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
            ORDER BY created_at DESC, id DESC
            LIMIT $5`,
          [organizationId, filter.role ?? null, filter.after?.createdAt ?? null, filter.after?.id ?? null, filter.limit],
        ),
      { readOnly: true },
    );
  }

  /** A role change or a deactivation moves token_version: the user's earlier tokens never work again (reactivation keeps it). */
  async update(organizationId: string, id: string, patch: UserPatch): Promise<UserRow | null> {
    return this.tx.run(organizationId, async (manager) => {
      // A deactivation moves the user's rollup rows: take the organization's rollup lock (shared) before the user's row,
      // as batches of events do, or a batch that creates learners could hold those rows while waiting for this user.
      await manager.query(`SELECT lock_organization_rollups_of($1, false)`, [organizationId]);
      const [rows]: [UserRow[], number] = await manager.query(
        `UPDATE users SET name = COALESCE($3, name), role = COALESCE($4, role), is_active = COALESCE($5, is_active),
                token_version = token_version + CASE WHEN ($4::text IS NOT NULL AND $4::text <> role) OR ($5::boolean = false AND is_active) THEN 1 ELSE 0 END
          WHERE organization_id = $1 AND id = $2
          RETURNING ${USER_COLUMNS}`,
        [organizationId, id, patch.name ?? null, patch.role ?? null, patch.isActive ?? null],
      );
      return rows[0] ?? null;
    });
  }

  /** A new password hash; the tokens issued before never work again. */
  async setPasswordHash(organizationId: string, id: string, passwordHash: string): Promise<UserRow | null> {
    return this.tx.run(organizationId, async (manager) => {
      const [rows]: [UserRow[], number] = await manager.query(
        `UPDATE users SET password_hash = $3, token_version = token_version + 1 WHERE organization_id = $1 AND id = $2 RETURNING ${USER_COLUMNS}`,
        [organizationId, id, passwordHash],
      );
      return rows[0] ?? null;
    });
  }

  /**
   * Locks the organization's row until the transaction ends: changes that could remove its last active admin run one
   * at a time, so two admins demoting each other at once cannot both succeed. NO KEY UPDATE: inserts that reference the
   * organization (their foreign key takes KEY SHARE) do not wait for it.
   */
  async lockAdmins(organizationId: string): Promise<void> {
    await this.tx.run(organizationId, (manager) => manager.query(`SELECT id FROM organizations WHERE id = $1 FOR NO KEY UPDATE`, [organizationId]));
  }

  /** Active admins of the organization other than this user. */
  async countOtherActiveAdmins(organizationId: string, id: string): Promise<number> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: { count: number }[] = await manager.query(
        `SELECT count(*)::int AS count FROM users WHERE organization_id = $1 AND role = 'admin' AND is_active AND id <> $2`,
        [organizationId, id],
      );
      return rows[0].count;
    });
  }

  /** Which of these ids are users of the organization (RLS and the filter both say so). */
  async existingIds(organizationId: string, ids: string[]): Promise<Set<string>> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: { id: string }[] = await manager.query(`SELECT id FROM users WHERE organization_id = $1 AND id = ANY($2::uuid[])`, [organizationId, ids]);
      return new Set(rows.map((row) => row.id));
    });
  }
}
