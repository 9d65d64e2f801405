import { Clock } from '../common/clock';
import type { AuthRepository, PrincipalRecord } from './auth.repository';
import { PRINCIPAL_TTL_MS, PrincipalCache } from './principal-cache';
import type { RevocationChannel, RevocationListener } from './revocation-channel';

class FixedClock extends Clock {
  current = 1_000_000;
  override now(): number {
    return this.current;
  }
}

/** A repository double returning what the test sets, counting reads: the cache logic alone, no database. */
function repository(record: () => PrincipalRecord | null) {
  const reads: string[] = [];
  const repo = { findPrincipal: async (organizationId: string, userId: string) => (reads.push(`${organizationId}:${userId}`), record()) };
  return { repo: repo as unknown as AuthRepository, reads };
}

/** A channel double: the test plays the messages other instances would send. */
function channel() {
  const listeners: RevocationListener[] = [];
  return { channel: { listen: (listener: RevocationListener) => listeners.push(listener) } as unknown as RevocationChannel, listeners };
}

describe('PrincipalCache', () => {
  const base: PrincipalRecord = { user_id: 'u1', organization_id: 'o1', role: 'teacher', is_active: true, tier: 'basic', token_version: 3 };

  it('keeps a principal for at most 5 s', async () => {
    expect(PRINCIPAL_TTL_MS).toBe(5_000);
    let current = base;
    const { repo, reads } = repository(() => current);
    const clock = new FixedClock();
    const cache = new PrincipalCache(repo, clock, channel().channel);
    expect(await cache.resolve('o1', 'u1')).toEqual({ userId: 'u1', organizationId: 'o1', role: 'teacher', tier: 'basic', tokenVersion: 3 });
    current = { ...base, tier: 'enterprise', token_version: 4 };
    clock.current += PRINCIPAL_TTL_MS - 1;
    expect((await cache.resolve('o1', 'u1'))?.tier).toBe('basic');
    clock.current += 1;
    expect(await cache.resolve('o1', 'u1')).toMatchObject({ tier: 'enterprise', tokenVersion: 4 });
    expect(reads).toEqual(['o1:u1', 'o1:u1']);
  });

  it('caches an inactive or missing user as no principal, and forgets on demand', async () => {
    let current: PrincipalRecord | null = { ...base, is_active: false };
    const { repo, reads } = repository(() => current);
    const cache = new PrincipalCache(repo, new FixedClock(), channel().channel);
    expect(await cache.resolve('o1', 'u1')).toBeNull();
    current = base;
    expect(await cache.resolve('o1', 'u1')).toBeNull();
    cache.forget('o1', 'u1');
    expect((await cache.resolve('o1', 'u1'))?.role).toBe('teacher');
    current = null;
    cache.forget('o1', 'u1');
    expect(await cache.resolve('o1', 'u1')).toBeNull();
    expect(reads).toHaveLength(3);
  });

  it('forgets a user another instance changed; a lost channel leaves the rest to the TTL', async () => {
    const { repo, reads } = repository(() => base);
    const { channel: revocations, listeners } = channel();
    const cache = new PrincipalCache(repo, new FixedClock(), revocations);
    await cache.resolve('o1', 'u1');
    await cache.resolve('o1', 'u2');
    listeners.forEach((listener) => listener.principalChanged?.('o1', 'u1'));
    expect([cache.peek('o1', 'u1'), cache.peek('o1', 'u2')?.userId]).toEqual([undefined, 'u1']);
    listeners.forEach((listener) => listener.lost?.());
    expect(cache.peek('o1', 'u2')?.userId).toBe('u1');
    expect(reads).toHaveLength(2);
  });
});
