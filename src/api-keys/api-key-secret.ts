import { createHash, randomBytes } from 'node:crypto';

/** tbm_<12 hex: the public prefix, found by lookup>_<43 base64url: 256 random bits>. */
const KEY_FORMAT = /^tbm_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

export interface GeneratedKey {
  prefix: string;
  key: string;
  hash: Buffer;
}

export function generateApiKey(): GeneratedKey {
  const prefix = randomBytes(6).toString('hex');
  const key = `tbm_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { prefix, key, hash: hashApiKey(key) };
}

/**
 * SHA-256, not a password hash: a key carries 256 random bits, so no guessing attack benefits from a slow hash,
 * and every API request verifies one, which argon2 or scrypt would make cost tens of milliseconds.
 */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** The prefix of a well-formed key, or null. */
export function prefixOf(key: string): string | null {
  return KEY_FORMAT.exec(key)?.[1] ?? null;
}

export type PresentedKey = { key: string; prefix: string } | { malformed: string };

/**
 * The API key an Authorization header presents: `Bearer tbm_…`, or HTTP Basic with the key's prefix as the user
 * name and the whole key as the password (how xAPI clients authenticate). Null when the header is not an API-key
 * credential at all (a JWT bearer token, Basic credentials without a key, or no header).
 */
export function presentedKey(header: unknown): PresentedKey | null {
  if (typeof header !== 'string') return null;
  const bearer = /^Bearer\s+(tbm_\S*)$/i.exec(header.trim());
  if (bearer) {
    const prefix = prefixOf(bearer[1]);
    return prefix ? { key: bearer[1], prefix } : { malformed: 'The API key is malformed' };
  }
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const [user, password] = colon < 0 ? [decoded, ''] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
  // Basic credentials that carry no key are no API key at all (the guard answers as for any non-bearer header).
  if (!password.startsWith('tbm_')) return null;
  const prefix = prefixOf(password);
  if (!prefix) return { malformed: 'The API key is malformed' };
  if (user !== prefix) return { malformed: 'HTTP Basic needs the API key’s prefix as the user name' };
  return { key: password, prefix };
}
