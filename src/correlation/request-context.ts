import { ClsServiceManager, ClsStore } from 'nestjs-cls';
import type { Role } from '../database/entities/user.entity.js';
import type { Tier } from '../database/entities/organization.entity.js';

/** What nestjs-cls holds for one request, from the first middleware to the last log line. */
export interface RequestContext extends ClsStore {
  correlationId: string;
  requestId: string;
  parentCorrelationId?: string;
  chainDepth: number;
  traceId?: string;
  organizationId?: string;
  userId?: string;
  role?: Role;
  tier?: Tier;
}

/** The current request's context, or undefined outside a request (CLI, start-up). */
export function currentRequestContext(): Partial<RequestContext> | undefined {
  const cls = ClsServiceManager.getClsService<RequestContext>();
  if (!cls.isActive()) return undefined;
  return {
    correlationId: cls.get('correlationId'),
    requestId: cls.get('requestId'),
    organizationId: cls.get('organizationId'),
    userId: cls.get('userId'),
  };
}
