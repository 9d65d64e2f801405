import { Injectable } from '@nestjs/common';
import { PrincipalCache } from './principal-cache.js';
import type { AccessTokenClaims, Principal } from './principal.js';
import { RevocationChannel } from './revocation-channel.js';
import { TokenVerifier } from './token-verifier.js';

/** A bearer token that passed every rule, with who it stands for. */
export interface Authenticated {
  principal: Principal;
  /** The token's id (jti) and expiry in ms: what logout revokes. */
  token: { id: string; expiresAt: number };
}

/**
 * The one place that decides whether a bearer token is good now: signature, algorithm, expiry (TokenVerifier); not
 * logged out (RevocationChannel, shared by every instance); its user still exists, is active, and has not changed
 * password or role since it was issued (token version, PrincipalCache). The auth guard, the cached-hit fast path and
 * long-lived responses (which re-check on every revocation message) all ask here.
 */
@Injectable()
export class Authenticator {
  constructor(
    private readonly tokens: TokenVerifier,
    private readonly principals: PrincipalCache,
    private readonly revocations: RevocationChannel,
  ) {}

  /** The caller behind a token, or null when the token must be refused (401). May read the database or Redis. */
  async authenticate(token: string): Promise<Authenticated | null> {
    const claims = this.tokens.verify(token);
    if (!claims || (await this.revocations.isRevoked(claims.jti))) return null;
    const principal = await this.principals.resolve(claims.org, claims.sub);
    if (!principal || principal.tokenVersion !== claims.ver) return null;
    return { principal, token: { id: claims.jti, expiresAt: claims.exp * 1000 } };
  }

  /**
   * The same decision without I/O: the principal, null when the token must be refused, or undefined when it cannot be
   * told without asking the database or Redis (the caller then goes through authenticate).
   */
  peek(token: string): Principal | null | undefined {
    return this.peekClaims(this.tokens.verify(token));
  }

  /** peek() for an Authorization header received on a connection (null without a well-formed bearer token). */
  peekHeader(header: unknown, connection: object): Principal | null | undefined {
    return this.peekClaims(this.tokens.verifyHeader(header, connection));
  }

  private peekClaims(claims: AccessTokenClaims | null): Principal | null | undefined {
    if (!claims) return null;
    if (this.revocations.isRevokedLocally(claims.jti)) return null;
    if (!this.revocations.live) return undefined;
    const principal = this.principals.peek(claims.org, claims.sub);
    if (principal === undefined) return undefined;
    return principal && principal.tokenVersion === claims.ver ? principal : null;
  }

  /**
   * Calls back on every revocation or user change anywhere (and when such news may have been missed), so a long-lived
   * response can re-check its token with authenticate; the returned function stops the callbacks.
   */
  onRevocation(callback: () => void): () => void {
    return this.revocations.listen({ tokenRevoked: callback, principalChanged: callback, lost: callback });
  }
}
