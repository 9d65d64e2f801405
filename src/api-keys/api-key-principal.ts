import type { Tier } from '../database/entities/organization.entity.js';
import type { ApiKeyScope } from './api-key-scopes.js';

/** A request authenticated by an organization's API key: no user and no role, only the key's scopes. */
export interface ApiKeyPrincipal {
  apiKeyId: string;
  organizationId: string;
  tier: Tier;
  scopes: readonly ApiKeyScope[];
}

export function isApiKeyPrincipal(principal: object | undefined): principal is ApiKeyPrincipal {
  return principal !== undefined && 'apiKeyId' in principal;
}
