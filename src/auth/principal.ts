import type { Role } from '../database/entities/user.entity.js';
import type { Tier } from '../database/entities/organization.entity.js';
import type { ApiKeyPrincipal } from '../api-keys/api-key-principal.js';

/** The authenticated caller, as read from the database (not the token) at most PRINCIPAL_TTL_MS ago. */
export interface Principal {
  userId: string;
  organizationId: string;
  role: Role;
  tier: Tier;
  /** Tokens carry the version they were issued under; only those of the current one are accepted. */
  tokenVersion: number;
}

export interface AccessTokenClaims {
  sub: string;
  org: string;
  role: Role;
  /** Token id: what logout revokes. */
  jti: string;
  /** The user's token_version when the token was issued. */
  ver: number;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

/** Whoever a request authenticated as: a user's token, or an organization's API key (no user, no role; its scopes). */
export type Caller = Principal | ApiKeyPrincipal;
