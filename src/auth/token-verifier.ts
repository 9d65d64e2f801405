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

  constructor(private readonly jwt: JwtService) {}

  /** The claims of a valid token; null when it is malformed, wrongly signed, expired, not yet valid or lacks the ids, jti, ver or exp. */
  verify(token: string): AccessTokenClaims | null {
    const now = Math.floor(Date.now() / 1000);
    const known = this.verified.get(token);
    if (known) {
      if (inWindow(known, now)) return known.claims;
      this.verified.delete(token);
      return null;
    }
    let payload: AccessTokenClaims & { nbf?: number };
    try {
      payload = this.jwt.verify<AccessTokenClaims & { nbf?: number }>(token);
    } catch {
      return null;
    }
    if (typeof payload.sub !== 'string' || typeof payload.org !== 'string' || !UUID.test(payload.sub) || !UUID.test(payload.org)) return null;
    // Without an id and a version a token could be neither logged out nor outdated: tokens of earlier versions are refused.
    if (typeof payload.jti !== 'string' || !UUID.test(payload.jti) || !Number.isSafeInteger(payload.ver) || !Number.isSafeInteger(payload.exp)) return null;
    if (this.verified.size >= MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { claims: payload, exp: payload.exp, nbf: payload.nbf });
    return payload;
  }
}

/** jsonwebtoken's rules without clock tolerance: expired once now >= exp, not active while nbf > now. */
function inWindow(token: Verified, now: number): boolean {
  return (token.exp === undefined || now < token.exp) && (token.nbf === undefined || token.nbf <= now);
}
