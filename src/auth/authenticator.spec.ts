import type { AccessTokenClaims, Principal } from './principal';
import type { PrincipalCache } from './principal-cache';
import { Authenticator } from './authenticator';
import { type RevocationListener } from './revocation-channel';
import type { RevocationChannel } from './revocation-channel';
import type { TokenVerifier } from './token-verifier';

const claims: AccessTokenClaims = { sub: 'u1', org: 'o1', role: 'teacher', jti: 'j1', ver: 2, exp: 2_000_000_000 };
const principal: Principal = { userId: 'u1', organizationId: 'o1', role: 'teacher', tier: 'free', tokenVersion: 2 };

/** The three collaborators as doubles whose answers each test sets. */
function setUp() {
  const state = { claims: claims as AccessTokenClaims | null, revoked: new Set<string>(), live: true, cached: principal as Principal | null | undefined, stored: principal as Principal | null };
  const listeners: RevocationListener[] = [];
  const tokens = { verify: () => state.claims, verifyHeader: () => state.claims } as unknown as TokenVerifier;
  const principals = { resolve: async () => state.stored, peek: () => state.cached } as unknown as PrincipalCache;
  const revocations = {
    isRevoked: async (id: string) => state.revoked.has(id),
    isRevokedLocally: (id: string) => state.revoked.has(id),
    get live() {
      return state.live;
    },
    listen: (listener: RevocationListener) => {
      listeners.push(listener);
      return () => listeners.splice(listeners.indexOf(listener), 1);
    },
  } as unknown as RevocationChannel;
  return { state, listeners, authenticator: new Authenticator(tokens, principals, revocations) };
}

describe('Authenticator', () => {
  it('accepts a valid, unrevoked token of the current version, with its id and expiry', async () => {
    const { authenticator } = setUp();
    expect(await authenticator.authenticate('t')).toEqual({ principal, token: { id: 'j1', expiresAt: 2_000_000_000_000 } });
    expect(authenticator.peek('t')).toBe(principal);
    expect(authenticator.peekHeader('Bearer t', {})).toBe(principal);
  });

  it('refuses a bad, revoked or outdated token, or one of an inactive user', async () => {
    for (const change of [
      (s: ReturnType<typeof setUp>['state']) => (s.claims = null),
      (s: ReturnType<typeof setUp>['state']) => s.revoked.add('j1'),
      (s: ReturnType<typeof setUp>['state']) => ((s.stored = { ...principal, tokenVersion: 3 }), (s.cached = s.stored)),
      (s: ReturnType<typeof setUp>['state']) => ((s.stored = null), (s.cached = null)),
    ]) {
      const { state, authenticator } = setUp();
      change(state);
      expect(await authenticator.authenticate('t')).toBeNull();
      expect(authenticator.peek('t')).toBeNull();
      expect(authenticator.peekHeader('Bearer t', {})).toBeNull();
    }
  });

  it('cannot tell without I/O when the channel is not live or the user is not cached', () => {
    const notLive = setUp();
    notLive.state.live = false;
    expect(notLive.authenticator.peek('t')).toBeUndefined();
    expect(notLive.authenticator.peekHeader('Bearer t', {})).toBeUndefined();
    const notCached = setUp();
    notCached.state.cached = undefined;
    expect(notCached.authenticator.peek('t')).toBeUndefined();
    expect(notCached.authenticator.peekHeader('Bearer t', {})).toBeUndefined();
  });

  it('calls a long-lived response back on every revocation until it stops listening', () => {
    const { authenticator, listeners } = setUp();
    const calls: string[] = [];
    const stop = authenticator.onRevocation(() => calls.push('check'));
    listeners.forEach((listener) => listener.tokenRevoked?.('x'));
    listeners.forEach((listener) => listener.principalChanged?.('o1', 'u1'));
    stop();
    listeners.forEach((listener) => listener.lost?.());
    expect([calls, listeners.length]).toEqual([['check', 'check'], 0]);
  });
});
