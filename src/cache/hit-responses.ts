/** Bounds of the process-local copy of hit responses: small next to the service's 300 MB budget. */
export const HIT_RESPONSES_MAX_ENTRIES = 1_000;
export const HIT_RESPONSES_MAX_BYTES = 16 * 1024 * 1024;

interface HitResponse {
  body: Buffer;
  /** Wall-clock ms (Date.now) when the stored entry expires, as Keyv and Redis count it. */
  expiresAt: number;
}

/**
 * The L1 of the metrics cache: the finished JSON bytes of a hit response by cache key (the key names the
 * organization's generation), kept until the stored entry's own expiry. Bounded in entries and bytes; the
 * least recently stored entry goes first. Whether a key may be looked up at all (is its generation still
 * current?) is the caller's question: this map only keeps bytes and expiries.
 */
export class HitResponses {
  private readonly entries = new Map<string, HitResponse>();
  private totalBytes = 0;

  constructor(
    private readonly maxEntries = HIT_RESPONSES_MAX_ENTRIES,
    private readonly maxBytes = HIT_RESPONSES_MAX_BYTES,
  ) {}

  get(key: string, now: number): Buffer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > now) return entry.body;
    this.delete(key);
    return undefined;
  }

  /**
   * Keeps the response of the entry that expires last: a force refresh's newer entry replaces an older one,
   * while a slow read of the older entry, finishing later, does not put it back.
   */
  set(key: string, body: Buffer, expiresAt: number, now: number): void {
    if (expiresAt <= now || body.length > this.maxBytes) return;
    const existing = this.entries.get(key);
    if (existing && existing.expiresAt > expiresAt) return;
    this.delete(key);
    this.entries.set(key, { body, expiresAt });
    this.totalBytes += body.length;
    while (this.entries.size > this.maxEntries || this.totalBytes > this.maxBytes) this.delete(this.entries.keys().next().value as string);
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.body.length;
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }
}
