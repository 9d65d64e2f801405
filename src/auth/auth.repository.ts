import { Injectable } from '@nestjs/common';
import { TenantTransactions } from '../database/tenant-transactions.js';
import type { Role } from '../database/entities/user.entity.js';
import type { Tier } from '../database/entities/organization.entity.js';

export interface LoginRecord {
  user_id: string;
  organization_id: string;
  password_hash: string | null;
  is_active: boolean;
  token_version: number;
}

export interface PrincipalRecord {
  user_id: string;
  organization_id: string;
  role: Role;
  is_active: boolean;
  tier: Tier;
  token_version: number;
}

@Injectable()
export class AuthRepository {
  constructor(private readonly tx: TenantTransactions) {}

  /** Login knows only an e-mail (normalized by normalizeEmail, stored so): the SECURITY DEFINER function returns what login needs and nothing else. */
  async findLoginByEmail(email: string): Promise<LoginRecord | null> {
    return this.tx.runWithoutTenant(async (manager) => {
      const rows: LoginRecord[] = await manager.query(`SELECT user_id, organization_id, password_hash, is_active, token_version FROM auth_find_login($1)`, [email]);
      return rows[0] ?? null;
    });
  }

  async findPrincipal(organizationId: string, userId: string): Promise<PrincipalRecord | null> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: PrincipalRecord[] = await manager.query(
        `SELECT u.id AS user_id, u.organization_id, u.role, u.is_active, o.tier, u.token_version
           FROM users u JOIN organizations o ON o.id = u.organization_id
          WHERE u.organization_id = $1 AND u.id = $2`,
        [organizationId, userId],
      );
      return rows[0] ?? null;
    });
  }

  async recordLogin(organizationId: string, userId: string, at: Date): Promise<void> {
    await this.tx.run(organizationId, (manager) =>
      manager.query(
        `UPDATE users SET last_login_at = GREATEST(last_login_at, $3)
          WHERE organization_id = $1 AND id = $2`,
        [organizationId, userId, at],
      ),
    );
  }

  /** A stronger hash of the same password (at login), unless the password changed meanwhile. */
  async upgradePasswordHash(organizationId: string, userId: string, previousHash: string, newHash: string): Promise<void> {
    await this.tx.run(organizationId, (manager) =>
      manager.query(`UPDATE users SET password_hash = $4 WHERE organization_id = $1 AND id = $2 AND password_hash = $3`, [organizationId, userId, previousHash, newHash]),
    );
  }
}
