import { Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { Clock } from '../common/clock.js';
import type { ApiKeyPrincipal } from './api-key-principal.js';
import { hashApiKey, presentedKey } from './api-key-secret.js';
import { ApiKeyCredentialRecord, ApiKeysRepository } from './api-keys.repository.js';

/** A key record is trusted this long: a revocation reaches every instance within it. */
export const API_KEY_CACHE_MS = 5_000;
/** last_used_at is written at most this often per key (and per instance; the SQL guards across instances). */
export const LAST_USED_INTERVAL_MS = 60_000;
const MAX_ENTRIES = 10_000;

/**
 * Turns an API-key credential (Bearer tbm_… or HTTP Basic) into the key's principal. Records are cached per
 * prefix for at most API_KEY_CACHE_MS, so a request costs one SHA-256 and no query, and a revoked key stops
 * working on every instance within that time without any message between instances.
 */
@Injectable()
export class ApiKeyAuthenticator {
  private readonly logger = new Logger(ApiKeyAuthenticator.name);
  private readonly records = new Map<string, { records: ApiKeyCredentialRecord[]; readAt: number }>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly repository: ApiKeysRepository,
    private readonly clock: Clock,
  ) {}

  /** Whether the Authorization header presents an API key (well-formed or not) rather than a user's token. */
  handles(header: unknown): boolean {
    return presentedKey(header) !== null;
  }

  async authenticate(header: unknown): Promise<ApiKeyPrincipal> {
    const presented = presentedKey(header);
    if (presented === null) throw new UnauthorizedException('An API key is required');
    if ('malformed' in presented) throw new UnauthorizedException(presented.malformed);
    const record = await this.recordOf(presented.prefix, presented.key, API_KEY_CACHE_MS);
    const now = this.clock.now();
    if (!record || record.revoked_at !== null) throw new UnauthorizedException('The API key is invalid or revoked');
    if (record.expires_at !== null && record.expires_at.getTime() <= now) throw new UnauthorizedException('The API key has expired');
    this.noteUse(record, now);
    return { apiKeyId: record.id, organizationId: record.organization_id, tier: record.tier, scopes: record.scopes };
  }

  /**
   * Whether a key that was accepted is still good, from a record at most maxAgeMs old (long-lived requests such as the
   * metrics stream ask again while they last). Not a use of the key: last_used_at is left alone.
   */
  async status(header: unknown, maxAgeMs: number): Promise<'active' | 'revoked' | 'expired'> {
    const presented = presentedKey(header);
    if (presented === null || 'malformed' in presented) return 'revoked';
    const record = await this.recordOf(presented.prefix, presented.key, Math.min(maxAgeMs, API_KEY_CACHE_MS));
    if (!record || record.revoked_at !== null) return 'revoked';
    if (record.expires_at !== null && record.expires_at.getTime() <= this.clock.now()) return 'expired';
    return 'active';
  }

  /** This instance stops honouring a key it revoked at once; the others within API_KEY_CACHE_MS. */
  forget(prefix: string): void {
    this.records.delete(prefix);
  }

  private async recordOf(prefix: string, key: string, maxAgeMs: number): Promise<ApiKeyCredentialRecord | undefined> {
    const hash = hashApiKey(key);
    return (await this.recordsOf(prefix, maxAgeMs)).find((candidate) => timingSafeEqual(candidate.key_hash, hash));
  }

  private async recordsOf(prefix: string, maxAgeMs: number): Promise<ApiKeyCredentialRecord[]> {
    const now = this.clock.now();
    const cached = this.records.get(prefix);
    if (cached && cached.readAt + maxAgeMs > now) return cached.records;
    const records = await this.repository.findCredential(prefix);
    this.records.delete(prefix);
    if (this.records.size >= MAX_ENTRIES) this.records.delete(this.records.keys().next().value as string);
    this.records.set(prefix, { records, readAt: now });
    return records;
  }

  /** Written after the response is decided, never delaying it; a failed write only loses a timestamp. */
  private noteUse(record: ApiKeyCredentialRecord, now: number): void {
    const last = this.touched.get(record.id);
    if (last !== undefined && now - last < LAST_USED_INTERVAL_MS) return;
    if (this.touched.size >= MAX_ENTRIES) this.touched.delete(this.touched.keys().next().value as string);
    this.touched.set(record.id, now);
    this.repository.touch(record.organization_id, record.id).catch((error: unknown) => this.logger.warn({ msg: 'could not record API key use', api_key_id: record.id, err: error }));
  }
}
