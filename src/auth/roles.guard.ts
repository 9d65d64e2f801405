import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '../database/entities/user.entity.js';
import { IS_PUBLIC, ROLES } from './auth.decorators.js';
import { API_KEY_SCOPE, type ApiKeyScope } from '../api-keys/api-key-scopes.js';
import { isApiKeyPrincipal } from '../api-keys/api-key-principal.js';
import type { Caller } from './principal.js';

const DEFAULT_ROLES: Role[] = ['admin', 'teacher'];

/** Who may call a handler: its (or its controller's) @Roles, else admins and teachers. Shared with the cached-hit fast path. */
export function allowedRoles(reflector: Reflector, handler: Function, controller: Function): Role[] {
  return reflector.getAllAndOverride<Role[]>(ROLES, [handler, controller]) ?? DEFAULT_ROLES;
}

/** Runs after AuthGuard. Routes without @Roles admit admins and teachers: students are denied by default. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const principal = context.switchToHttp().getRequest<{ principal?: Caller }>().principal;
    if (isApiKeyPrincipal(principal)) {
      // A key has no role: it may call exactly the routes that name one of its scopes.
      const scope = this.reflector.getAllAndOverride<ApiKeyScope | undefined>(API_KEY_SCOPE, [context.getHandler(), context.getClass()]);
      if (!scope) throw new ForbiddenException('API keys may not use this endpoint; it needs a user’s token');
      if (!principal.scopes.includes(scope)) throw new ForbiddenException(`This API key lacks the ${scope} scope`);
      return true;
    }
    const allowed = allowedRoles(this.reflector, context.getHandler(), context.getClass());
    if (allowed.length === 0) throw new ForbiddenException('This endpoint is for API keys only');
    if (!principal || !allowed.includes(principal.role)) {
      throw new ForbiddenException(`This endpoint is for ${allowed.join(' or ')} users`);
    }
    return true;
  }
}
