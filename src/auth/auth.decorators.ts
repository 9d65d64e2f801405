import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Role } from '../database/entities/user.entity.js';
import type { Principal } from './principal.js';

export const IS_PUBLIC = 'auth:public';
export const ROLES = 'auth:roles';

/** No bearer token needed (signup, login, health, docs). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Who may call; without it a route admits admins and teachers, never students. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<{ principal: Principal }>().principal;
});

/** The id and expiry of the bearer token of this request (set by AuthGuard). */
export const CurrentToken = createParamDecorator((_data: unknown, context: ExecutionContext): { id: string; expiresAt: number } => {
  return context.switchToHttp().getRequest<{ accessToken: { id: string; expiresAt: number } }>().accessToken;
});
