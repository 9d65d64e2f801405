import type { Role } from '../database/entities/user.entity.js';
import type { Tier } from '../database/entities/organization.entity.js';
import type { ApiKeyPrincipal } from '../api-keys/api-key-principal.js';

/** The authenticated caller, as read from the database (not the token) at most 30 s ago. */
export interface Principal {
  userId: string;
  organizationId: string;
  role: Role;
  tier: Tier;
}

export interface AccessTokenClaims {
  sub: string;
  org: string;
  role: Role;
}

/** Whoever a request authenticated as: a user's token, or an organization's API key (no user, no role; its scopes). */
export type Caller = Principal | ApiKeyPrincipal;
