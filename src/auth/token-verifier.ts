import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AccessTokenClaims } from './principal.js';

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Verified tokens remembered at most (oldest forgotten first): a few MB at worst. */
const MAX_VERIFIED = 10_000;

interface Verified {
  claims: AccessTokenClaims;
  exp?: number;
  nbf?: number;
}

/** The token of an Authorization header, or null when the header is not a well-formed bearer token. */
export function bearerToken(header: unknown): string | null {
  return typeof header === 'string' ? (BEARER.exec(header.trim())?.[1] ?? null) : null;
}

/**
 * Access-token verification for the auth guard and the cached-hit fast path alike: HS256 with the service's
 * secret (JwtService, as configured in AuthModule), then sub and org must be UUIDs. A token that verified is
 * remembered by its exact string, so the signature is checked once; its exp and nbf are checked on every
 * use, the way jsonwebtoken checks them (Date.now, whole seconds). Only the token itself: whether it was revoked or
 * outdated is Authenticator's question.
 */
@Injectable()
export class TokenVerifier {
  private readonly verified = new Map<string, Verified>();
  /** Each connection's last Authorization header that verified, with what it held (forgotten with the connection). */
  private readonly lastOnConnection = new WeakMap<object, { header: string; token: Verified }>();

  constructor(private readonly jwt: JwtService) {}

  /** The claims of a valid token; null when it is malformed, wrongly signed, expired, not yet valid or lacks the ids, jti, ver or exp. */
  verify(token: string): AccessTokenClaims | null {
    return this.lookUp(token)?.claims ?? null;
  }

  /**
   * verify() for the token of an Authorization header received on a connection (null without a well-formed bearer
   * token). A keep-alive client sends the same header on every request: the same header string as the connection's
   * last good one skips the parsing and the lookup of its 250-odd characters; the expiry is still checked every time.
   */
  verifyHeader(header: unknown, connection: object): AccessTokenClaims | null {
    const last = this.lastOnConnection.get(connection);
    if (last !== undefined && last.header === header) {
      if (inWindow(last.token, Math.floor(Date.now() / 1000))) return last.token.claims;
      this.lastOnConnection.delete(connection);
      return null;
    }
    const token = bearerToken(header);
    const verified = token === null ? undefined : this.lookUp(token);
    if (verified === undefined) return null;
    this.lastOnConnection.set(connection, { header: header as string, token: verified });
    return verified.claims;
  }

  /** The token as verified now: remembered and still in its window, or newly verified; undefined when it fails. */
  private lookUp(token: string): Verified | undefined {
    const known = this.verified.get(token);
    if (known === undefined) return this.verifyNew(token);
    if (inWindow(known, Math.floor(Date.now() / 1000))) return known;
    this.verified.delete(token);
    return undefined;
  }

  /** Checks a token not verified before (signature, window, claims) and remembers it when it passed. */
  private verifyNew(token: string): Verified | undefined {
    let payload: AccessTokenClaims & { nbf?: number };
    try {
      payload = this.jwt.verify<AccessTokenClaims & { nbf?: number }>(token);
    } catch {
      return undefined;
    }
    if (typeof payload.sub !== 'string' || typeof payload.org !== 'string' || !UUID.test(payload.sub) || !UUID.test(payload.org)) return undefined;
    // Without an id and a version a token could be neither logged out nor outdated: tokens of earlier versions are refused.
    if (typeof payload.jti !== 'string' || !UUID.test(payload.jti) || !Number.isSafeInteger(payload.ver) || !Number.isSafeInteger(payload.exp)) return undefined;
    if (this.verified.size >= MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value as string);
    const verified: Verified = { claims: payload, exp: payload.exp, nbf: payload.nbf };
    this.verified.set(token, verified);
    return verified;
  }
}

/** jsonwebtoken's rules without clock tolerance: expired once now >= exp, not active while nbf > now. */
function inWindow(token: Verified, now: number): boolean {
  return (token.exp === undefined || now < token.exp) && (token.nbf === undefined || token.nbf <= now);
}
