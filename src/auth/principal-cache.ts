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
/**
 * Within this long of its expiry, a principal still in use is read again in the background: requests keep being answered
 * from the cache (the cached-hit fast path included) instead of all waiting, at the moment it expires, on lookups of their own.
 */
export const PRINCIPAL_REFRESH_AHEAD_MS = 1_000;
const MAX_ENTRIES = 10_000;

/** The entries' key of a user. */
const joinedKey = (organizationId: string, userId: string) => `${organizationId}:${userId}`;

/**
 * Caches who a token's user is now, so a request costs no extra query, yet changes apply within 5 s everywhere: an answer
 * is kept for 5 s from the moment its lookup began. One lookup per user runs at a time, however many requests ask.
 */
@Injectable()
export class PrincipalCache {
  private readonly entries = new Map<string, { principal: Principal | null; expiresAt: number }>();
  /** Each user's lookup in flight; forget removes it, and a lookup no longer here when it ends stores nothing. */
  private readonly lookups = new Map<string, Promise<Principal | null>>();
  /** `organization:user` for the pairs asked about, built once: a cached hit then hashes no new string. */
  private readonly keys = new Map<string, Map<string, string>>();
  private keyCount = 0;

  constructor(
    private readonly repository: AuthRepository,
    private readonly clock: Clock,
    revocations: RevocationChannel,
  ) {
    // A lost message costs nothing more than the TTL: entries are not cleared when the channel drops.
    revocations.listen({ principalChanged: (organizationId, userId) => this.forget(organizationId, userId) });
  }

  async resolve(organizationId: string, userId: string): Promise<Principal | null> {
    const key = this.keyOf(organizationId, userId);
    const cached = this.fresh(key, organizationId, userId);
    return cached !== undefined ? cached : this.lookup(key, organizationId, userId);
  }

  /**
   * The cached answer without a query: the principal, null for a user known to be unknown or inactive, or
   * undefined when nothing fresh is cached (the cached-hit fast path then leaves the request to the guards).
   */
  peek(organizationId: string, userId: string): Principal | null | undefined {
    return this.fresh(this.keyOf(organizationId, userId), organizationId, userId);
  }

  forget(organizationId: string, userId: string): void {
    // Not remembered: every instance's user changes arrive here, most of them for users this one has never seen.
    const key = this.keys.get(organizationId)?.get(userId) ?? joinedKey(organizationId, userId);
    this.entries.delete(key);
    // What a lookup begun before the change read may predate it: the next request reads the user again, and that
    // lookup, no longer registered, keeps its answer to itself.
    this.lookups.delete(key);
  }

  /** The entries' key of a user, the same string each time (all are forgotten past MAX_ENTRIES, and built again). */
  private keyOf(organizationId: string, userId: string): string {
    let key = this.keys.get(organizationId)?.get(userId);
    if (key !== undefined) return key;
    if (this.keyCount >= MAX_ENTRIES) {
      this.keys.clear();
      this.keyCount = 0;
    }
    let byUser = this.keys.get(organizationId);
    if (byUser === undefined) this.keys.set(organizationId, (byUser = new Map()));
    key = joinedKey(organizationId, userId);
    byUser.set(userId, key);
    this.keyCount++;
    return key;
  }

  /** The cached answer until it expires; near its expiry, one background lookup renews it. */
  private fresh(key: string, organizationId: string, userId: string): Principal | null | undefined {
    const cached = this.entries.get(key);
    if (!cached) return undefined;
    const now = this.clock.now();
    if (cached.expiresAt <= now) return undefined;
    if (cached.expiresAt - now <= PRINCIPAL_REFRESH_AHEAD_MS && !this.lookups.has(key)) {
      // A failed renewal changes nothing: the entry expires, and the next request looks the user up itself.
      this.lookup(key, organizationId, userId).catch(() => undefined);
    }
    return cached.principal;
  }

  /** The user's lookup in flight, or a new one; its answer is cached for the TTL from the moment it began. */
  private lookup(key: string, organizationId: string, userId: string): Promise<Principal | null> {
    const inFlight = this.lookups.get(key);
    if (inFlight) return inFlight;
    const began = this.clock.now();
    const lookup = this.repository.findPrincipal(organizationId, userId).then(
      (record) => {
        const principal: Principal | null =
          record && record.is_active
            ? { userId: record.user_id, organizationId: record.organization_id, role: record.role, tier: record.tier, tokenVersion: record.token_version }
            : null;
        if (this.lookups.get(key) === lookup) {
          this.lookups.delete(key);
          this.store(key, principal, began + PRINCIPAL_TTL_MS);
        }
        return principal;
      },
      (error: unknown) => {
        if (this.lookups.get(key) === lookup) this.lookups.delete(key);
        throw error;
      },
    );
    this.lookups.set(key, lookup);
    return lookup;
  }

  private store(key: string, principal: Principal | null, expiresAt: number): void {
    this.entries.delete(key);
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { principal, expiresAt });
  }
}
