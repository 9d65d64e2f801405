import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { AuthRepository } from './auth.repository.js';
import type { Principal } from './principal.js';
import { RevocationChannel } from './revocation-channel.js';

/**
 * How long an instance trusts what it read about a user: a role change, a deactivation, a password change or a tier
 * change reaches every instance within this time even when the message announcing it is lost (it usually arrives
 * within milliseconds, and this instance learns of its own changes at once).
 */
export const PRINCIPAL_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

/** Caches who a token's user is now, so a request costs no extra query, yet changes apply within 5 s everywhere. */
@Injectable()
export class PrincipalCache {
  private readonly entries = new Map<string, { principal: Principal | null; expiresAt: number }>();

  constructor(
    private readonly repository: AuthRepository,
    private readonly clock: Clock,
    revocations: RevocationChannel,
  ) {
    // A lost message costs nothing more than the TTL: entries are not cleared when the channel drops.
    revocations.listen({ principalChanged: (organizationId, userId) => this.forget(organizationId, userId) });
  }

  async resolve(organizationId: string, userId: string): Promise<Principal | null> {
    const key = `${organizationId}:${userId}`;
    const now = this.clock.now();
    const cached = this.entries.get(key);
    if (cached && cached.expiresAt > now) return cached.principal;

    const record = await this.repository.findPrincipal(organizationId, userId);
    const principal =
      record && record.is_active
        ? { userId: record.user_id, organizationId: record.organization_id, role: record.role, tier: record.tier, tokenVersion: record.token_version }
        : null;
    this.entries.delete(key);
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { principal, expiresAt: now + PRINCIPAL_TTL_MS });
    return principal;
  }

  /**
   * The cached answer without a query: the principal, null for a user known to be unknown or inactive, or
   * undefined when nothing fresh is cached (the cached-hit fast path then leaves the request to the guards).
   */
  peek(organizationId: string, userId: string): Principal | null | undefined {
    const cached = this.entries.get(`${organizationId}:${userId}`);
    return cached && cached.expiresAt > this.clock.now() ? cached.principal : undefined;
  }

  forget(organizationId: string, userId: string): void {
    this.entries.delete(`${organizationId}:${userId}`);
  }
}
