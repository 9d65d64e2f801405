import { randomBytes, scryptSync } from 'node:crypto';
import { hashPassword, needsRehash, verifyPassword } from './password-hasher';

/** A hash as the first version stored it: scrypt N = 2^14. */
function legacyScrypt(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 64, { N: 16384, r: 8, p: 1 });
  return ['scrypt', 16384, 8, 1, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

describe('password hashing', () => {
  it('stores argon2id at 19 MiB, 2 passes, 1 lane, with a fresh salt, never the password', async () => {
    const first = await hashPassword('correct horse battery');
    const second = await hashPassword('correct horse battery');
    expect(first).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain('correct');
    expect(needsRehash(first)).toBe(false);
  });

  it('verifies the right password only', async () => {
    const stored = await hashPassword('correct horse battery');
    await expect(verifyPassword('correct horse battery', stored)).resolves.toBe(true);
    await expect(verifyPassword('correct horse batterY', stored)).resolves.toBe(false);
    await expect(verifyPassword('', stored)).resolves.toBe(false);
  });

  it('still verifies the scrypt hashes of earlier versions, and marks them for an upgrade', async () => {
    const stored = legacyScrypt('an older password');
    await expect(verifyPassword('an older password', stored)).resolves.toBe(true);
    await expect(verifyPassword('an older passworD', stored)).resolves.toBe(false);
    expect(needsRehash(stored)).toBe(true);
    expect(needsRehash('$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaA')).toBe(true);
  });

  it('refuses stored values of another scheme or shape', async () => {
    await expect(verifyPassword('x', 'plain$text')).resolves.toBe(false);
    await expect(verifyPassword('x', 'bcrypt$10$abc$def$ghi$jkl')).resolves.toBe(false);
    await expect(verifyPassword('x', '$argon2id$broken')).resolves.toBe(false);
    await expect(verifyPassword('x', '')).resolves.toBe(false);
  });
});
