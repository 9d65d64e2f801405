import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiKeyAuthenticator } from '../api-keys/api-key-authenticator.js';
import { requestContextStore } from '../correlation/request-context.js';
import { IS_PUBLIC } from './auth.decorators.js';
import { type Authenticated, Authenticator } from './authenticator.js';
import type { Caller } from './principal.js';
import { bearerToken } from './token-verifier.js';

export type AuthenticatedRequest = Request & { principal?: Caller; accessToken?: Authenticated['token'] };

/**
 * The first global guard: resolves the bearer token to a principal (user, organization, role, tier) through the one
 * Authenticator, or an API key to its principal (organization, tier, scopes), and puts it into the request context,
 * so the roles and rate-limit guards after it can use it.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly apiKeys: ApiKeyAuthenticator,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Public routes (the probes among them) pass synchronously: no promise per request.
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    return this.authenticate(context);
  }

  private async authenticate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (this.apiKeys.handles(header)) {
      // An organization's API key (Bearer tbm_… or HTTP Basic): role-less, limited to its scopes by RolesGuard.
      const key = await this.apiKeys.authenticate(header);
      request.principal = key;
      const store = requestContextStore();
      if (store) Object.assign(store, { organizationId: key.organizationId, apiKeyId: key.apiKeyId, tier: key.tier });
      return true;
    }
    const token = bearerToken(header);
    if (!token) throw new UnauthorizedException(header ? 'The Authorization header is not a bearer token' : 'A bearer token is required');
    const authenticated = await this.authenticator.authenticate(token);
    if (!authenticated) throw new UnauthorizedException('The access token is invalid or expired');

    const { principal } = authenticated;
    request.principal = principal;
    request.accessToken = authenticated.token;
    const store = requestContextStore();
    if (store) Object.assign(store, { organizationId: principal.organizationId, userId: principal.userId, role: principal.role, tier: principal.tier });
    return true;
  }
}
