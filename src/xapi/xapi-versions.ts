/** The xAPI versions this endpoint speaks, newest last (GET about lists them). */
export const XAPI_VERSIONS = ['1.0.3', '2.0.0'] as const;
export const XAPI_VERSION_HEADER = 'X-Experience-API-Version';

/**
 * The version to answer a client with: the highest supported within its major version (1.0.x → 1.0.3,
 * 2.0.0 → 2.0.0), or null when the client's header names a version this endpoint does not speak.
 */
export function negotiatedVersion(header: string | undefined): string | null {
  if (header === undefined) return null;
  const value = header.trim();
  if (/^1\.0(\.\d+)?$/.test(value)) return '1.0.3';
  if (value === '2.0.0') return '2.0.0';
  return null;
}
