import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { API_PREFIX } from '../common/api-prefix.js';
import { AppConfig } from '../config/app-config.js';

/**
 * What an HTML page of the service (Swagger UI, ReDoc, the dashboard page) may load: its own origin only. Inline
 * styles are allowed because Swagger UI and ReDoc write them (no origin can be named through them); data: images are
 * Swagger UI's inline icons, blob: workers ReDoc's search index. No other origin is allowed anywhere, and no page may
 * be framed.
 */
export const HTML_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * HTML pages get X-Frame-Options: DENY and the same-origin Content-Security-Policy, whoever writes them (Swagger's
 * module, ReDoc's route, a static page); every other response already carries nosniff (correlationHeaders). A request
 * with X-Forwarded-For while no proxy is trusted is warned about once: per-IP limits then see the proxy's address.
 */
export function securityHeadersMiddleware(config: AppConfig, logger: Logger): RequestHandler {
  let warnedAboutProxy = false;
  const apiPath = `/${API_PREFIX}/`;
  return (request: Request, response: Response, next: NextFunction) => {
    if (!warnedAboutProxy && config.trustProxy === false && request.headers['x-forwarded-for'] !== undefined) {
      warnedAboutProxy = true;
      logger.warn(
        'Requests carry X-Forwarded-For but TRUST_PROXY is empty: the client IP of the per-IP limits is the proxy’s address, so every client behind it shares one login budget. Set TRUST_PROXY to the proxy (see .env.example).',
      );
    }
    // API answers, the probes and the Prometheus text are never pages: only the other paths can be.
    const path = request.path;
    if (!path.startsWith(apiPath) && !path.startsWith('/health/') && path !== '/metrics') protectHtmlOnWrite(response);
    next();
  };
}

function protectHtmlOnWrite(response: ServerResponse): void {
  const writeHead = response.writeHead;
  response.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    const type = this.getHeader('content-type');
    if (!this.headersSent && typeof type === 'string' && type.startsWith('text/html')) {
      this.setHeader('X-Frame-Options', 'DENY');
      // A page that states its own same-origin policy (the dashboard page) keeps it.
      if (!this.hasHeader('Content-Security-Policy')) this.setHeader('Content-Security-Policy', HTML_CONTENT_SECURITY_POLICY);
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}

/** CORS for the configured origins only (nothing when CORS_ORIGINS is empty): Express's cors through Nest. */
export function corsOptions(config: AppConfig) {
  return {
    origin: config.corsOrigins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    // X-Experience-API-Version: every xAPI call sends it (a browser-based xAPI client); Last-Event-ID: a stream's resume.
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Correlation-ID', 'X-Parent-Correlation-ID', 'X-Chain-Depth', 'traceparent', 'X-Experience-API-Version', 'Last-Event-ID'],
    exposedHeaders: [
      'X-Correlation-ID',
      'X-Request-ID',
      'X-Request-Duration',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
      'Retry-After',
      'WWW-Authenticate',
      'Content-Disposition',
      'X-Experience-API-Version',
      'X-Experience-API-Consistent-Through',
    ],
    maxAge: 600,
  };
}
