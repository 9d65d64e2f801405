import { generateApiKey, hashApiKey, presentedKey } from './api-key-secret.js';

describe('API key secrets', () => {
  it('generates tbm_<prefix>_<256-bit secret> and hashes it with SHA-256', () => {
    const first = generateApiKey();
    const second = generateApiKey();
    expect(first.key).toMatch(/^tbm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(first.key.startsWith(`tbm_${first.prefix}_`)).toBe(true);
    expect(first.key).not.toBe(second.key);
    expect(first.hash.equals(hashApiKey(first.key))).toBe(true);
    expect(first.hash).toHaveLength(32);
  });

  it('reads a key from Bearer or HTTP Basic, and tells a JWT from a key', () => {
    const { key, prefix } = generateApiKey();
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    expect(presentedKey(`Bearer ${key}`)).toEqual({ key, prefix });
    expect(presentedKey(basic(prefix, key))).toEqual({ key, prefix });
    expect(presentedKey(basic('someone', key))).toEqual({ malformed: 'HTTP Basic needs the API key’s prefix as the user name' });
    expect(presentedKey(basic(prefix, 'tbm_short'))).toEqual({ malformed: 'The API key is malformed' });
    expect(presentedKey('Bearer tbm_nope')).toEqual({ malformed: 'The API key is malformed' });
    // Basic credentials without a key are not an API-key credential: the guard refuses them as it refuses any non-bearer header.
    expect(presentedKey(basic(prefix, 'password'))).toBeNull();
    expect(presentedKey('Basic !!!')).toBeNull();
    expect(presentedKey('Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig')).toBeNull();
    expect(presentedKey(undefined)).toBeNull();
  });
});
