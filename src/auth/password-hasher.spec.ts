import { hashPassword, verifyPassword } from './password-hasher';

describe('password hashing', () => {
  it('stores scrypt parameters, a fresh salt and the hash, never the password', async () => {
    const first = await hashPassword('correct horse battery');
    const second = await hashPassword('correct horse battery');
    expect(first).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain('correct');
  });

  it('verifies the right password only', async () => {
    const stored = await hashPassword('correct horse battery');
    await expect(verifyPassword('correct horse battery', stored)).resolves.toBe(true);
    await expect(verifyPassword('correct horse batterY', stored)).resolves.toBe(false);
    await expect(verifyPassword('', stored)).resolves.toBe(false);
  });

  it('refuses stored values of another scheme or shape', async () => {
    await expect(verifyPassword('x', 'plain$text')).resolves.toBe(false);
    await expect(verifyPassword('x', 'bcrypt$10$abc$def$ghi$jkl')).resolves.toBe(false);
    await expect(verifyPassword('x', '')).resolves.toBe(false);
  });
});
