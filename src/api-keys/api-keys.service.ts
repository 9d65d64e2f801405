import { Injectable, NotFoundException } from '@nestjs/common';
import type { CreateApiKeyRequest, CreatedApiKeyResponse } from './dto/api-key.dto.js';
import { ApiKeyAuthenticator } from './api-key-authenticator.js';
import { generateApiKey } from './api-key-secret.js';
import { ApiKeyRow, ApiKeysRepository } from './api-keys.repository.js';

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly authenticator: ApiKeyAuthenticator,
  ) {}

  /** The whole key is returned here and never again: only its SHA-256 is stored. */
  async create(organizationId: string, request: CreateApiKeyRequest): Promise<CreatedApiKeyResponse> {
    const generated = generateApiKey();
    const row = await this.keys.create(organizationId, {
      name: request.name,
      scopes: request.scopes,
      prefix: generated.prefix,
      hash: generated.hash,
      expiresAt: request.expires_at ? new Date(request.expires_at) : null,
    });
    return { id: row.id, name: row.name, scopes: row.scopes, prefix: row.prefix, key: generated.key, created_at: row.created_at, expires_at: row.expires_at };
  }

  list(organizationId: string): Promise<ApiKeyRow[]> {
    return this.keys.list(organizationId);
  }

  async revoke(organizationId: string, id: string): Promise<void> {
    const key = (await this.keys.list(organizationId)).find((candidate) => candidate.id === id);
    if (!key || !(await this.keys.revoke(organizationId, id))) throw new NotFoundException('No such API key in this organization');
    this.authenticator.forget(key.prefix);
  }
}
