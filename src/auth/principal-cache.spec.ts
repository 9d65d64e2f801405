import { Clock } from '../common/clock';
import type { AuthRepository, PrincipalRecord } from './auth.repository';
import { PRINCIPAL_REFRESH_AHEAD_MS, PRINCIPAL_TTL_MS, PrincipalCache } from './principal-cache';
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

/** A repository double whose lookups stay in flight until the test releases them, in the order they began. */
function heldLookups() {
  const releases: Array<(record: PrincipalRecord) => void> = [];
  const repo = { findPrincipal: () => new Promise<PrincipalRecord>((done) => releases.push(done)) };
  return { repo: repo as unknown as AuthRepository, releases };
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

  it('keeps each user of each organization apart, past the 10,000 entries it holds', async () => {
    const repo = { findPrincipal: async (organizationId: string, userId: string) => ({ ...base, organization_id: organizationId, user_id: userId }) };
    const cache = new PrincipalCache(repo as unknown as AuthRepository, new FixedClock(), channel().channel);
    // The same user id in two organizations, then more users than the cache holds.
    const pairs: [string, string][] = [['o1', 'u1'], ['o2', 'u1']];
    for (let i = 0; i < 10_050; i++) pairs.push([`org-${i % 7}`, `user-${i}`]);
    for (const [organizationId, userId] of pairs) expect(await cache.resolve(organizationId, userId)).toMatchObject({ organizationId, userId });
    for (const [organizationId, userId] of pairs.slice(-100)) expect(cache.peek(organizationId, userId)).toMatchObject({ organizationId, userId });
    for (const [organizationId, userId] of pairs.slice(0, 2)) {
      const principal = cache.peek(organizationId, userId);
      // Forgotten (past the bound) or still its own: never another pair's.
      if (principal !== undefined) expect(principal).toMatchObject({ organizationId, userId });
    }
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

  it('asks the database once for a user however many requests ask at the same time', async () => {
    let release: (record: PrincipalRecord) => void = () => undefined;
    const reads: string[] = [];
    const repo = { findPrincipal: (organizationId: string, userId: string) => (reads.push(`${organizationId}:${userId}`), new Promise<PrincipalRecord>((done) => (release = done))) };
    const cache = new PrincipalCache(repo as unknown as AuthRepository, new FixedClock(), channel().channel);
    const answers = Promise.all(Array.from({ length: 50 }, () => cache.resolve('o1', 'u1')));
    release(base);
    expect((await answers).map((principal) => principal?.role)).toEqual(Array(50).fill('teacher'));
    expect(reads).toEqual(['o1:u1']);
    expect(cache.peek('o1', 'u1')?.role).toBe('teacher');
  });

  it('renews a principal in use during its last second, so the requests after its expiry find it cached', async () => {
    let current = base;
    const { repo, reads } = repository(() => current);
    const clock = new FixedClock();
    const cache = new PrincipalCache(repo, clock, channel().channel);
    await cache.resolve('o1', 'u1');
    current = { ...base, role: 'admin' };

    clock.current += PRINCIPAL_TTL_MS - PRINCIPAL_REFRESH_AHEAD_MS - 1;
    expect(cache.peek('o1', 'u1')?.role).toBe('teacher');
    expect(reads).toHaveLength(1);
    clock.current += 1;
    // Still the answer read 4 s ago (it is within its 5 s), while one lookup renews it, however often it is asked for.
    expect([cache.peek('o1', 'u1')?.role, cache.peek('o1', 'u1')?.role]).toEqual(['teacher', 'teacher']);
    await new Promise((done) => setImmediate(done));
    expect(reads).toHaveLength(2);

    clock.current += PRINCIPAL_REFRESH_AHEAD_MS;
    expect(cache.peek('o1', 'u1')?.role).toBe('admin');
    // Kept for 5 s from when its lookup began, not from when it arrived.
    clock.current += PRINCIPAL_TTL_MS - PRINCIPAL_REFRESH_AHEAD_MS - 1;
    expect(cache.peek('o1', 'u1')?.role).toBe('admin');
    clock.current += 1;
    expect(cache.peek('o1', 'u1')).toBeUndefined();
  });

  it('does not keep what a lookup read when the user was changed while it ran, nor lets the next request join it', async () => {
    const { repo, releases } = heldLookups();
    const cache = new PrincipalCache(repo, new FixedClock(), channel().channel);
    const before = cache.resolve('o1', 'u1');
    cache.forget('o1', 'u1');
    const after = cache.resolve('o1', 'u1');
    expect(releases).toHaveLength(2);
    releases[0](base);
    expect((await before)?.role).toBe('teacher');
    expect(cache.peek('o1', 'u1')).toBeUndefined();
    releases[1]({ ...base, role: 'admin' });
    expect((await after)?.role).toBe('admin');
    expect(cache.peek('o1', 'u1')?.role).toBe('admin');
  });

  it("keeps what a lookup read when only another user changed while it ran (streams forget theirs on every write)", async () => {
    const { repo, releases } = heldLookups();
    const cache = new PrincipalCache(repo, new FixedClock(), channel().channel);
    const lookup = cache.resolve('o1', 'u1');
    cache.forget('o1', 'u2');
    cache.forget('o2', 'u1');
    releases[0](base);
    expect((await lookup)?.role).toBe('teacher');
    expect(cache.peek('o1', 'u1')?.role).toBe('teacher');
    expect(releases).toHaveLength(1);
  });

  it('lets a failed renewal pass: the principal expires as usual and the next request looks it up', async () => {
    let fail = false;
    const reads: string[] = [];
    const repo = {
      findPrincipal: async (organizationId: string, userId: string) => {
        reads.push(`${organizationId}:${userId}`);
        if (fail) throw new Error('connection terminated');
        return base;
      },
    };
    const clock = new FixedClock();
    const cache = new PrincipalCache(repo as unknown as AuthRepository, clock, channel().channel);
    await cache.resolve('o1', 'u1');
    fail = true;
    clock.current += PRINCIPAL_TTL_MS - 1;
    expect(cache.peek('o1', 'u1')?.role).toBe('teacher');
    await new Promise((done) => setImmediate(done));
    clock.current += 1;
    expect(cache.peek('o1', 'u1')).toBeUndefined();
    await expect(cache.resolve('o1', 'u1')).rejects.toThrow('connection terminated');
    fail = false;
    expect((await cache.resolve('o1', 'u1'))?.role).toBe('teacher');
    expect(reads).toHaveLength(4);
  });
});
