import { Injectable } from '@nestjs/common';
import { TenantTransactions } from '../database/tenant-transactions.js';
import type { Tier } from '../database/entities/organization.entity.js';
import type { ApiKeyScope } from './api-key-scopes.js';

export interface ApiKeyRow {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  prefix: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
}

/** What authentication needs of a key, found by prefix before the organization is known. */
export interface ApiKeyCredentialRecord {
  id: string;
  organization_id: string;
  key_hash: Buffer;
  scopes: ApiKeyScope[];
  expires_at: Date | null;
  revoked_at: Date | null;
  tier: Tier;
}

export interface NewApiKey {
  name: string;
  scopes: ApiKeyScope[];
  prefix: string;
  hash: Buffer;
  expiresAt: Date | null;
}

const KEY_COLUMNS = 'id, name, scopes, prefix, created_at, expires_at, last_used_at';

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly tx: TenantTransactions) {}

  async create(organizationId: string, key: NewApiKey): Promise<ApiKeyRow> {
    return this.tx.run(organizationId, async (manager) => {
      const rows: ApiKeyRow[] = await manager.query(
        `INSERT INTO api_keys (organization_id, name, scopes, prefix, key_hash, expires_at)
         VALUES ($1, $2, $3::text[], $4, $5, $6)
         RETURNING ${KEY_COLUMNS}`,
        [organizationId, key.name, key.scopes, key.prefix, key.hash, key.expiresAt],
      );
      return rows[0];
    });
  }

  /** The organization's keys that are not revoked, newest first. */
  async list(organizationId: string): Promise<ApiKeyRow[]> {
    return this.tx.run(organizationId, (manager) =>
      manager.query(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE organization_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC`, [organizationId]),
    );
  }

  /** True when a live key was revoked now; false when there is no such key (or it was revoked before). */
  async revoke(organizationId: string, id: string): Promise<boolean> {
    return this.tx.run(organizationId, async (manager) => {
      const [, count]: [unknown, number] = await manager.query(
        `UPDATE api_keys SET revoked_at = now() WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL`,
        [organizationId, id],
      );
      return count > 0;
    });
  }

  /** Moves last_used_at to now unless it was set less than a minute ago (another instance may have just done it). */
  async touch(organizationId: string, id: string): Promise<void> {
    await this.tx.run(organizationId, (manager) =>
      manager.query(
        `UPDATE api_keys SET last_used_at = now()
          WHERE organization_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
        [organizationId, id],
      ),
    );
  }

  /** The one cross-tenant read, through the SECURITY DEFINER function that returns only what authentication needs. */
  async findCredential(prefix: string): Promise<ApiKeyCredentialRecord[]> {
    return this.tx.runWithoutTenant((manager) =>
      manager.query(`SELECT id, organization_id, key_hash, scopes, expires_at, revoked_at, tier FROM api_key_find($1)`, [prefix]),
    );
  }
}
