import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '../database/entities/user.entity.js';
import { IS_PUBLIC, ROLES } from './auth.decorators.js';
import type { Principal } from './principal.js';

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
    const allowed = allowedRoles(this.reflector, context.getHandler(), context.getClass());
    const principal = context.switchToHttp().getRequest<{ principal?: Principal }>().principal;
    if (!principal || !allowed.includes(principal.role)) {
      throw new ForbiddenException(`This endpoint is for ${allowed.join(' or ')} users`);
    }
    return true;
  }
}
