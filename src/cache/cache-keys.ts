/** Query parameter that asks for a recomputation; it never takes part in a key. */
export const FORCE_REFRESH = 'force_refresh';

/** The hash tag: Redis Cluster hashes only the part in braces, so one organization's keys share a slot. */
export function organizationTag(organizationId: string): string {
  return `{org:${organizationId}}`;
}

/** Where an organization's generation counter lives. */
export function generationKey(prefix: string, organizationId: string): string {
  return `${prefix}:metrics:${organizationTag(organizationId)}:generation`;
}

/** Where the primary's WAL position after the organization's last write lives (read replicas must have replayed it). */
export function lastWriteKey(prefix: string, organizationId: string): string {
  return `${prefix}:metrics:${organizationTag(organizationId)}:last-write`;
}

/** The key of one cached result: prefix, organization, its generation, route and normalized query. */
export function entryKey(prefix: string, organizationId: string, generation: number, route: string, normalizedQuery: string): string {
  const query = normalizedQuery ? `?${normalizedQuery}` : '';
  return `${prefix}:metrics:${organizationTag(organizationId)}:g${generation}:${route}${query}`;
}

/** Entry keys remembered at most (all are forgotten past it, and built again as asked). */
const MAX_REMEMBERED_ENTRY_KEYS = 10_000;

/**
 * entryKey() built once per organization, generation, route and query. A cached hit looks its entry up by strings the
 * service keeps (the organization's id, the route template, the normalized query) and gets the same key string back,
 * whose hash V8 has kept: it neither concatenates nor hashes a new 130-character key on every request.
 */
export class EntryKeys {
  private readonly byOrganization = new Map<string, { generation: number; byRoute: Map<string, Map<string, string>> }>();
  private remembered = 0;

  constructor(
    private readonly prefix: string,
    private readonly max = MAX_REMEMBERED_ENTRY_KEYS,
  ) {}

  get(organizationId: string, generation: number, route: string, normalizedQuery: string): string {
    if (this.remembered >= this.max) this.clear();
    let organization = this.byOrganization.get(organizationId);
    if (organization === undefined || organization.generation !== generation) {
      // The organization's keys under an earlier generation are never asked for again.
      if (organization !== undefined) this.forget(organizationId);
      organization = { generation, byRoute: new Map() };
      this.byOrganization.set(organizationId, organization);
    }
    let byQuery = organization.byRoute.get(route);
    if (byQuery === undefined) organization.byRoute.set(route, (byQuery = new Map()));
    let key = byQuery.get(normalizedQuery);
    if (key === undefined) {
      key = entryKey(this.prefix, organizationId, generation, route, normalizedQuery);
      byQuery.set(normalizedQuery, key);
      this.remembered++;
    }
    return key;
  }

  get size(): number {
    return this.remembered;
  }

  private forget(organizationId: string): void {
    for (const byQuery of this.byOrganization.get(organizationId)?.byRoute.values() ?? []) this.remembered -= byQuery.size;
    this.byOrganization.delete(organizationId);
  }

  private clear(): void {
    this.byOrganization.clear();
    this.remembered = 0;
  }
}

// The only integers the query DTOs turn into numbers (plain decimal): 024 and 24 are the same hours.
const DECIMAL_INTEGER = /^-?\d{1,15}$/;

/**
 * One spelling per value: an integer parameter (one whose default is an integer) in its shortest decimal
 * form, anything else as sent (the validation pipe refuses what it does not know).
 */
function canonicalValue(value: string, defaultValue: string): string {
  return DECIMAL_INTEGER.test(defaultValue) && DECIMAL_INTEGER.test(value) ? String(Number(value) + 0) : value;
}

/**
 * The query as a canonical string: defaults applied, integers in one spelling, parameters sorted, force_refresh left out.
 * Queries that mean the same thing (hours=024 and hours=24, any order, a default given or left out) share one key.
 * Null when the query holds a parameter the route does not declare or a repeated one: such a request
 * bypasses the cache, so the validation pipe answers it exactly as it would without a cache.
 */
export function normalizeQuery(query: Record<string, unknown>, defaults: Record<string, string>): string | null {
  const values: Record<string, string> = { ...defaults };
  for (const [name, value] of Object.entries(query)) {
    if (!(name in defaults) || typeof value !== 'string') return null;
    values[name] = canonicalValue(value, defaults[name]);
  }
  delete values[FORCE_REFRESH];
  const sorted = Object.keys(values)
    .sort()
    .map((name): [string, string] => [name, values[name]]);
  return new URLSearchParams(sorted).toString();
}

/** true / false for a declared force_refresh; null when the value is not one the route accepts. */
export function readForceRefresh(query: Record<string, unknown>, defaults: Record<string, string>): boolean | null {
  const value = query[FORCE_REFRESH];
  if (value === undefined) return false;
  if (!(FORCE_REFRESH in defaults) || (value !== 'true' && value !== 'false')) return null;
  return value === 'true';
}
