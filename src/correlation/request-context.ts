import type { NextFunction, Request, Response } from 'express';
import { ClsServiceManager, type ClsStore } from 'nestjs-cls';
import type { Role } from '../database/entities/user.entity.js';
import type { Tier } from '../database/entities/organization.entity.js';

/** What the request context holds for one request, from the first middleware to the last log line. */
export interface RequestContext extends ClsStore {
  correlationId: string;
  requestId: string;
  parentCorrelationId?: string;
  chainDepth: number;
  traceId?: string;
  organizationId?: string;
  userId?: string;
  /** Set instead of userId when an API key authenticated the request. */
  apiKeyId?: string;
  role?: Role;
  tier?: Tier;
}

export type RequestIds = Pick<RequestContext, 'correlationId' | 'requestId' | 'parentCorrelationId' | 'chainDepth' | 'traceId' | 'organizationId' | 'userId' | 'apiKeyId'>;

/**
 * The request context lives in nestjs-cls: its ClsService (an AsyncLocalStorage) holds a plain object per request, filled
 * by the correlation middleware and the auth guard, read by log lines and problem documents wherever the request's work
 * continues. ClsModule is not imported: its forRoot registers a global guard and interceptor even when they do nothing,
 * which puts every route through rxjs (docs/performance.md); the store itself needs neither.
 */
const cls = ClsServiceManager.getClsService<RequestContext>();

/** The first middleware: everything after it, synchronous or not, runs in this request's context. */
export function requestContextMiddleware(_request: Request, _response: Response, next: NextFunction): void {
  cls.runWith({} as RequestContext, next);
}

/** The current request's context store (to fill it in), or undefined outside a request (CLI, start-up). */
export function requestContextStore(): Partial<RequestContext> | undefined {
  return cls.get() as Partial<RequestContext> | undefined;
}

/** The current request's ids, or undefined outside a request (CLI, start-up). */
export function currentRequestContext(): Partial<RequestIds> | undefined {
  const store = requestContextStore();
  return store && idsOf(store);
}

/** The ids of a context store, read when it is needed (auth adds the organization and user later). */
export function idsOf(store: Partial<RequestContext> | undefined): Partial<RequestIds> {
  if (!store) return {};
  return {
    correlationId: store.correlationId,
    requestId: store.requestId,
    parentCorrelationId: store.parentCorrelationId,
    chainDepth: store.chainDepth,
    traceId: store.traceId,
    organizationId: store.organizationId,
    userId: store.userId,
    apiKeyId: store.apiKeyId,
  };
}

/** The fields every log line of a request carries (snake_case, nulls until authenticated). */
export function logFieldsOf(ids: Partial<RequestIds>): Record<string, unknown> {
  if (ids.correlationId === undefined) return {};
  const fields: Record<string, unknown> = {
    correlation_id: ids.correlationId,
    request_id: ids.requestId,
    organization_id: ids.organizationId ?? null,
  };
  // A request made with an API key names the key, not a user (it has none).
  if (ids.apiKeyId) fields.api_key_id = ids.apiKeyId;
  else fields.user_id = ids.userId ?? null;
  if (ids.parentCorrelationId) fields.parent_correlation_id = ids.parentCorrelationId;
  if (ids.traceId) fields.trace_id = ids.traceId;
  return fields;
}
