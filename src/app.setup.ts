import { NotFoundException, RequestMethod } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { RequestListener, Server } from 'node:http';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import { API_PREFIX } from './common/api-prefix.js';
import { AppConfig } from './config/app-config.js';
import { answerClientErrors } from './correlation/client-error.handler.js';
import { correlationMiddleware } from './correlation/correlation.middleware.js';
import { requestContextMiddleware } from './correlation/request-context.js';
import { ProblemDetailsFilter } from './errors/problem-details.filter.js';
import { corsOptions, securityHeadersMiddleware } from './http-security/security-headers.js';
import { CachedHitFastPath } from './fast-path/cached-hit-fast-path.js';
import { createValidationPipe } from './errors/validation.pipe.js';
import { serveDashboardPage } from './dashboard-page/dashboard-page.js';
import { sendProblem } from './errors/problem.js';
import { PinoNestLogger } from './observability/logger.js';
import { PINO_LOGGER } from './observability/observability.module.js';
import { RequestMetrics } from './observability/request-metrics.js';
import { installRosterBodyParsers } from './users/roster-body-parsers.js';
import { installStatementsBodyParser } from './xapi/statements-body.js';
import { setUpDocs } from './docs/docs.setup.js';
import { pagesBehindOneTest, routerLength } from './http-server/page-routes.js';

export { API_PREFIX };

/** Everything main.ts and the e2e tests share: middleware order, prefix, pipes, filter, docs; then init. */
export async function configureApp(app: NestExpressApplication): Promise<NestExpressApplication> {
  const config = app.get(AppConfig);
  const logger = app.get<Logger>(PINO_LOGGER);
  app.useLogger(new PinoNestLogger(logger));
  app.disable('x-powered-by');
  // No ETag: every body is fresh per request, and hashing each one costs throughput on the hot cached path.
  app.disable('etag');
  // The client IP of per-IP rate limits: X-Forwarded-For only from the proxies configured in TRUST_PROXY.
  if (config.trustProxy !== false) app.set('trust proxy', config.trustProxy);

  // Order matters: request context and correlation headers first, so even a body the parser rejects
  // (400, 413) or an unknown route (404) is answered with them.
  app.use(requestContextMiddleware);
  app.use(correlationMiddleware(config, app.get(RequestMetrics), logger));
  app.use(securityHeadersMiddleware(config, logger));
  // Closed unless CORS_ORIGINS names origins; after the correlation middleware, so a preflight carries its headers.
  if (config.corsOrigins.length > 0) app.enableCors(corsOptions(config));
  answerClientErrors(app.getHttpServer() as Server, config, logger);
  installFastPath(app.getHttpServer() as Server, app.get(CachedHitFastPath));
  installRosterBodyParsers(app, config);
  installStatementsBodyParser(app, config);
  app.useBodyParser('json', { limit: config.BODY_LIMIT_BYTES });

  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks();
  const express = app.getHttpAdapter().getInstance() as import('express').Express;
  const pagesFrom = routerLength(express);
  setUpDocs(app, config);
  serveDashboardPage(express);
  pagesBehindOneTest(express, pagesFrom);
  await app.init();

  // Appended after the routes: unknown paths and errors raised outside Nest's handlers (body parsing)
  // still leave through the one problem+json filter.
  const filter = new ProblemDetailsFilter();
  express.use((request: Request, response: Response) => {
    sendProblem(response, filter.toProblem(new NotFoundException(`Cannot ${request.method} ${request.path}`), request.originalUrl));
  });
  express.use((error: unknown, request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) return next(error);
    sendProblem(response, filter.toProblem(error, request.originalUrl));
  });
  return app;
}

/** Cache hits are answered before Express sees the request; everything else reaches Express as before. */
function installFastPath(server: Server, fastPath: CachedHitFastPath): void {
  const listeners = server.listeners('request') as RequestListener[];
  if (listeners.length !== 1) throw new Error(`Expected Express as the one request listener, found ${listeners.length}`);
  server.removeListener('request', listeners[0]);
  server.on('request', fastPath.listener(listeners[0]));
}
