import { flatUuid } from '../common/flat-uuid.js';
import { performance } from 'node:perf_hooks';
import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config.js';
import { problem, sendProblem } from '../errors/problem.js';
import { type PlainField, PlainInfoLine, writeInfoLine } from '../observability/logger.js';
import { RequestMetrics } from '../observability/request-metrics.js';
import { formatDuration, IncomingCorrelation, readCorrelation } from './correlation-headers.js';
import { observeResponse, type ResponseObserver } from '../http-server/express-server.adapter.js';
import { type RequestContext, requestContextStore, type RequestIds } from './request-context.js';

/**
 * First middleware of every request after the request context's, before body parsing and routing, so that even
 * a 404, a 413 or a malformed body carries the correlation headers. It fills the request context,
 * stamps the duration when the headers are written (whoever writes them: Nest, sendProblem, a stream),
 * and at the end records the request once in RequestMetrics and logs one completion line.
 */
export function correlationMiddleware(config: AppConfig, metrics: RequestMetrics, logger: Logger): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    const started = performance.now();
    const incoming = readCorrelation(request.headers);
    const requestId = flatUuid();
    // Filled in later by auth; 'close' may come outside the request's async context, so the store itself is kept.
    const store = requestContextStore() ?? {};
    store.correlationId = incoming.correlationId;
    store.requestId = requestId;
    store.chainDepth = incoming.chainDepth;
    if (incoming.parentCorrelationId) store.parentCorrelationId = incoming.parentCorrelationId;
    if (incoming.traceId) store.traceId = incoming.traceId;

    const headers = correlationHeaders(incoming, requestId, config.SERVICE_NAME);
    for (const name in headers) response.setHeader(name, headers[name]);
    observeResponse(response, new RequestCompletion(metrics, logger, store, request.method, request, started, true));

    if (incoming.chainDepth > config.MAX_CHAIN_DEPTH) {
      const detail = `Chain depth ${incoming.chainDepth} exceeds the maximum of ${config.MAX_CHAIN_DEPTH}`;
      sendProblem(response, problem(508, detail, request.originalUrl, incoming.correlationId));
      return;
    }
    next();
  };
}

/** Seconds since `started`, a performance.now() reading. */
export function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}

/**
 * One request's response observer: stamps X-Request-Duration when the headers are written (unless the writer sets
 * it itself, as a cached hit does) and, when the response closes, records the request once in RequestMetrics and
 * logs its completion line.
 */
export class RequestCompletion implements ResponseObserver {
  /** When the headers were written, in seconds after the request arrived: an event stream's response time. */
  private headersWrittenAfter: number | undefined = undefined;

  /**
   * @param ids the request's ids, read when it ends (auth adds the organization and user to a context store later)
   * @param route the route template, or the Express request whose matched route gives it when the request ends
   * @param started when the request arrived (performance.now())
   * @param stampDuration whether headersWriting sets X-Request-Duration
   * @param completedRun completedRun(…) of this request's organization, user, method, route and expected status, rendered
   *   once by a caller that serves many alike (the cached-hit fast path): the line of a request that ends as expected
   *   is then written around it
   */
  constructor(
    private readonly metrics: RequestMetrics,
    private readonly logger: Logger,
    private readonly ids: Partial<RequestContext>,
    private readonly method: string,
    private readonly route: string | Request,
    private readonly started: number,
    public stampDuration: boolean,
    private readonly completedRun?: CompletedRun,
  ) {}

  headersWriting(response: ServerResponse): void {
    const elapsed = secondsSince(this.started);
    this.headersWrittenAfter = elapsed;
    if (this.stampDuration) response.setHeader('X-Request-Duration', formatDuration(elapsed));
  }

  closed(response: ServerResponse): void {
    const route = typeof this.route === 'string' ? this.route : routeTemplate(this.route);
    recordCompletion(this.metrics, this.logger, this.ids, this.method, route, response, secondsSince(this.started), this.headersWrittenAfter, this.completedRun);
  }
}

/**
 * The completion line of a user's request (not an API key's) with no parent correlation or trace id, ended with the
 * given status: only its correlation id, request id and duration vary, so the rest is rendered once (PlainInfoLine).
 * recordCompletion writes it for a request that fits, byte for byte the line completionFields gives.
 */
export class CompletedRun extends PlainInfoLine {
  constructor(organizationId: string, userId: string, method: string, route: string, status: number) {
    super('correlation_id', 'request_id', { organization_id: organizationId, user_id: userId, method, route, status }, 'duration_ms', 'request completed');
  }

  /** Whether this is the completion line of a request with these ids, method and route that ended with this status. */
  fits(ids: Partial<RequestIds>, method: string, route: string, status: number): boolean {
    const { fields } = this;
    return (
      fields.status === status &&
      fields.organization_id === ids.organizationId &&
      fields.user_id === ids.userId &&
      fields.method === method &&
      fields.route === route &&
      !ids.apiKeyId &&
      !ids.parentCorrelationId &&
      !ids.traceId
    );
  }
}

/**
 * The headers every response carries, whichever path answers it (X-Request-Duration aside, stamped when the headers
 * are written): the correlation headers, and nosniff so no browser second-guesses a declared content type.
 */
export function correlationHeaders(incoming: IncomingCorrelation, requestId: string, serviceName: string): Record<string, string> {
  const headers: Record<string, string> = { 'X-Correlation-ID': incoming.correlationId, 'X-Request-ID': requestId };
  if (incoming.parentCorrelationId) headers['X-Parent-Correlation-ID'] = incoming.parentCorrelationId;
  headers['X-Service-Name'] = serviceName;
  headers['X-Chain-Depth'] = String(incoming.chainDepth);
  headers['X-Content-Type-Options'] = 'nosniff';
  return headers;
}

/** An event stream (GET /metrics/stream) lasts as long as its client stays: its time to open is its response time. */
function isEventStream(response: ServerResponse): boolean {
  return String(response.getHeader('Content-Type') ?? '').startsWith('text/event-stream');
}

/** Records a finished request once in RequestMetrics and logs its one completion line, whichever path served it. */
function recordCompletion(
  metrics: RequestMetrics,
  logger: Logger,
  ids: Partial<RequestIds>,
  method: string,
  route: string,
  response: ServerResponse,
  elapsedSeconds: number,
  headersWrittenAfter: number | undefined,
  completedRun: CompletedRun | undefined,
): void {
  const stream = headersWrittenAfter !== undefined && isEventStream(response);
  // A stream's client always leaves first: that is how it ends, not an abort.
  const aborted = !response.writableFinished && !stream;
  const durationMs = Math.round((stream ? (headersWrittenAfter as number) : elapsedSeconds) * 1e6) / 1e3;
  // No status was ever sent to a client that left early: count it as 499, as nginx does.
  const status = aborted && !response.headersSent ? 499 : response.statusCode;
  metrics.record(route, method, status, durationMs);
  const { correlationId, requestId } = ids;
  if (completedRun && !aborted && !stream && correlationId !== undefined && requestId !== undefined && completedRun.fits(ids, method, route, status)) {
    completedRun.write(logger, correlationId, requestId, durationMs);
    return;
  }
  const fields = completionFields(ids, method, route, status, durationMs, stream ? Math.round(elapsedSeconds * 1e3) / 1e3 : undefined, aborted);
  writeInfoLine(logger, fields as unknown as Record<string, PlainField>, aborted ? 'request aborted by the client' : 'request completed');
}

/** The completion line's fields in the order they are written; undefined ones are left out of the line. */
interface CompletionFields {
  correlation_id: string | undefined;
  request_id: string | undefined;
  organization_id: string | null | undefined;
  api_key_id: string | undefined;
  user_id: string | null | undefined;
  parent_correlation_id: string | undefined;
  trace_id: string | undefined;
  method: string;
  route: string;
  status: number;
  duration_ms: number;
  stream_seconds: number | undefined;
  aborted: true | undefined;
}

/**
 * logFieldsOf(ids) followed by the request's own fields, as one object of one shape: every request's line used to
 * build two objects and grow one of them key by key (docs/performance.md, "An eighteenth host"); the line is the same.
 */
export function completionFields(
  ids: Partial<RequestIds>,
  method: string,
  route: string,
  status: number,
  durationMs: number,
  streamSeconds: number | undefined,
  aborted: boolean,
): CompletionFields {
  const named = ids.correlationId !== undefined;
  // A request made with an API key names the key, not a user (it has none).
  const apiKeyId = named && ids.apiKeyId ? ids.apiKeyId : undefined;
  return {
    correlation_id: named ? ids.correlationId : undefined,
    request_id: named ? ids.requestId : undefined,
    organization_id: named ? (ids.organizationId ?? null) : undefined,
    api_key_id: apiKeyId,
    user_id: named && apiKeyId === undefined ? (ids.userId ?? null) : undefined,
    parent_correlation_id: named && ids.parentCorrelationId ? ids.parentCorrelationId : undefined,
    trace_id: named && ids.traceId ? ids.traceId : undefined,
    method,
    route,
    status,
    duration_ms: durationMs,
    stream_seconds: streamSeconds,
    aborted: aborted ? true : undefined,
  };
}

/**
 * The matched route template (/api/v1/users/:id), never the raw path, so labels stay bounded.
 * Nest answers unknown paths (and wrong methods on excluded paths) through catch-all routes registered
 * for every method (`router.all`), whereas each controller method gets a route of its own method; no
 * controller of ours uses @All, so a route of several methods means that no route matched.
 */
export function routeTemplate(request: Request): string {
  const route = request.route as { path?: unknown; methods?: Record<string, boolean> } | undefined;
  if (typeof route?.path !== 'string' || !route.methods || Object.keys(route.methods).length !== 1 || route.methods._all) return 'unmatched';
  return `${request.baseUrl ?? ''}${route.path}`;
}
