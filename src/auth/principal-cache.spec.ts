import { Clock } from '../common/clock';
import type { AuthRepository, PrincipalRecord } from './auth.repository';
import { PRINCIPAL_TTL_MS, PrincipalCache } from './principal-cache';

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

describe('PrincipalCache', () => {
  const base: PrincipalRecord = { user_id: 'u1', organization_id: 'o1', role: 'teacher', is_active: true, tier: 'basic' };

  it('keeps a principal for at most 30 s, well inside the 60 s the spec allows', async () => {
    expect(PRINCIPAL_TTL_MS).toBe(30_000);
    let current = base;
    const { repo, reads } = repository(() => current);
    const clock = new FixedClock();
    const cache = new PrincipalCache(repo, clock);
    expect(await cache.resolve('o1', 'u1')).toEqual({ userId: 'u1', organizationId: 'o1', role: 'teacher', tier: 'basic' });
    current = { ...base, tier: 'enterprise', is_active: true };
    clock.current += PRINCIPAL_TTL_MS - 1;
    expect((await cache.resolve('o1', 'u1'))?.tier).toBe('basic');
    clock.current += 1;
    expect((await cache.resolve('o1', 'u1'))?.tier).toBe('enterprise');
    expect(reads).toEqual(['o1:u1', 'o1:u1']);
  });

  it('caches an inactive or missing user as no principal, and forgets on demand', async () => {
    let current: PrincipalRecord | null = { ...base, is_active: false };
    const { repo, reads } = repository(() => current);
    const cache = new PrincipalCache(repo, new FixedClock());
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
});
