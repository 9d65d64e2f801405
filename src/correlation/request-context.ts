import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';
import type { Role } from '../database/entities/user.entity.js';
import type { Tier } from '../database/entities/organization.entity.js';

/** What the request context holds for one request, from the first middleware to the last log line. */
export interface RequestContext {
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
 * One AsyncLocalStorage for the request context: a plain object per request, filled by the correlation middleware and
 * the auth guard, read by log lines and problem documents wherever the request's work continues.
 */
const storage = new AsyncLocalStorage<Partial<RequestContext>>();

/** The first middleware: everything after it, synchronous or not, runs in this request's context. */
export function requestContextMiddleware(_request: Request, _response: Response, next: NextFunction): void {
  storage.run({}, next);
}

/** The current request's context store (to fill it in), or undefined outside a request (CLI, start-up). */
export function requestContextStore(): Partial<RequestContext> | undefined {
  return storage.getStore();
}

/** The current request's ids, or undefined outside a request (CLI, start-up). */
export function currentRequestContext(): Partial<RequestIds> | undefined {
  const store = storage.getStore();
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
