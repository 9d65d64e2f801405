import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config.js';
import { problem, sendProblem } from '../errors/problem.js';
import { type PlainField, writeInfoLine } from '../observability/logger.js';
import { RequestMetrics } from '../observability/request-metrics.js';
import { formatDuration, IncomingCorrelation, readCorrelation } from './correlation-headers.js';
import { idsOf, logFieldsOf, requestContextStore, RequestIds } from './request-context.js';

/**
 * First middleware of every request after the request context's, before body parsing and routing, so that even
 * a 404, a 413 or a malformed body carries the correlation headers. It fills the request context,
 * stamps the duration when the headers are written (whoever writes them: Nest, sendProblem, a stream),
 * and at the end records the request once in RequestMetrics and logs one completion line.
 */
export function correlationMiddleware(config: AppConfig, metrics: RequestMetrics, logger: Logger): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const incoming = readCorrelation(request.headers);
    const requestId = randomUUID();
    // Filled in later by auth; 'finish'/'close' may fire outside the request's async context, so the store itself is kept.
    const store = requestContextStore() ?? {};
    store.correlationId = incoming.correlationId;
    store.requestId = requestId;
    store.chainDepth = incoming.chainDepth;
    if (incoming.parentCorrelationId) store.parentCorrelationId = incoming.parentCorrelationId;
    if (incoming.traceId) store.traceId = incoming.traceId;

    const headers = correlationHeaders(incoming, requestId, config.SERVICE_NAME);
    for (const name in headers) response.setHeader(name, headers[name]);

    const elapsedSeconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    stampDurationOnWrite(response, elapsedSeconds);

    whenDone(response, () => recordCompletion(metrics, logger, idsOf(store), request.method, routeTemplate(request), response, elapsedSeconds()));

    if (incoming.chainDepth > config.MAX_CHAIN_DEPTH) {
      const detail = `Chain depth ${incoming.chainDepth} exceeds the maximum of ${config.MAX_CHAIN_DEPTH}`;
      sendProblem(response, problem(508, detail, request.originalUrl, incoming.correlationId));
      return;
    }
    next();
  };
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

/** When each response's headers were written, in seconds after its request arrived. */
const headersWrittenAfter = new WeakMap<ServerResponse, number>();

/** Sets X-Request-Duration when the headers are written, whoever writes them (Nest, sendProblem, a stream). */
export function stampDurationOnWrite(response: ServerResponse, elapsedSeconds: () => number): void {
  const writeHead = response.writeHead;
  // Node's implicit header write (end/write without writeHead) goes through this.writeHead as well.
  response.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    if (!this.headersSent) {
      const elapsed = elapsedSeconds();
      headersWrittenAfter.set(this, elapsed);
      this.setHeader('X-Request-Duration', formatDuration(elapsed));
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}

/** An event stream (GET /metrics/stream) lasts as long as its client stays: its time to open is its response time. */
function isEventStream(response: ServerResponse): boolean {
  return String(response.getHeader('Content-Type') ?? '').startsWith('text/event-stream');
}

/**
 * Calls done once, when the response has been sent or the client has gone first (which never sees 'finish'): a
 * ServerResponse emits 'close' exactly once in both cases, after 'finish' when there is one.
 */
export function whenDone(response: ServerResponse, done: () => void): void {
  response.on('close', done);
}

/** Records a finished request once in RequestMetrics and logs its one completion line, whichever path served it. */
export function recordCompletion(
  metrics: RequestMetrics,
  logger: Logger,
  ids: Partial<RequestIds>,
  method: string,
  route: string,
  response: ServerResponse,
  elapsedSeconds: number,
): void {
  const stream = isEventStream(response) && headersWrittenAfter.has(response);
  // A stream's client always leaves first: that is how it ends, not an abort.
  const aborted = !response.writableFinished && !stream;
  const durationMs = Math.round((stream ? (headersWrittenAfter.get(response) as number) : elapsedSeconds) * 1e6) / 1e3;
  // No status was ever sent to a client that left early: count it as 499, as nginx does.
  const status = aborted && !response.headersSent ? 499 : response.statusCode;
  metrics.record(route, method, status, durationMs);
  const fields = logFieldsOf(ids) as Record<string, PlainField>;
  fields.method = method;
  fields.route = route;
  fields.status = status;
  fields.duration_ms = durationMs;
  if (stream) fields.stream_seconds = Math.round(elapsedSeconds * 1e3) / 1e3;
  if (aborted) fields.aborted = true;
  writeInfoLine(logger, fields, aborted ? 'request aborted by the client' : 'request completed');
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
