import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { readFileSync } from 'node:fs';
import { AppConfig } from '../config/app-config.js';
import { DEMO_EMAIL } from '../demo/demo-data.service.js';
import { documentIntegration } from '../api-keys/integration.openapi.js';
import { documentRateLimits } from '../rate-limit/rate-limit.openapi.js';
import { finalizeContract } from './openapi-contract.js';

const documents = new WeakMap<INestApplication, OpenAPIObject>();

/** The OpenAPI document an application serves at /openapi.json (the tests validate every response against it). */
export function openApiDocumentOf(app: INestApplication): OpenAPIObject {
  const document = documents.get(app);
  if (!document) throw new Error('The application has no OpenAPI document yet: run configureApp first');
  return document;
}

/** Swagger UI at /docs, ReDoc at /redoc, the document at /openapi.json and a favicon: all from this process, nothing from another host. */
export function setUpDocs(app: INestApplication, config: AppConfig): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('toolbox-metrics')
      .setDescription(
        'Metrics backend of a multi-tenant learning platform. Log in (or sign up) under auth, then press Authorize and paste the access_token. ' +
          'Errors are RFC 9457 problem details (`application/problem+json`); every response carries `X-Correlation-ID` and `X-Request-ID`.',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .build(),
  );
  document.info.contact = { name: 'toolbox-metrics maintainers' };
  documentDashboardPage(document);
  documentIntegration(document);
  documentRateLimits(document);
  finalizeContract(document, { loginExampleEmail: config.demoData ? DEMO_EMAIL : undefined });
  documents.set(app, document);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'openapi.json',
    customfavIcon: '/favicon.ico',
    // No validator badge: Swagger UI would send the document to a validator on another host.
    swaggerOptions: { persistAuthorization: true, validatorUrl: null },
  });
  serveRedoc(app);
  serveFavicon(app);
}

/** GET / is served by Express (src/dashboard-page), outside Nest's controllers: documented here so that clients know it. */
function documentDashboardPage(document: OpenAPIObject): void {
  document.paths['/'] = {
    get: {
      operationId: 'DashboardPage_get',
      tags: ['dashboard'],
      summary: 'The organization’s dashboard page (HTML)',
      description: 'An HTML page that logs in and reads the metrics endpoints with the token; its scripts and styles are served under /dashboard/.',
      responses: {
        '200': { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } },
        '304': { description: 'Not modified since the copy the browser holds' },
      },
    },
  };
}

/** ReDoc at /redoc from the installed package, its one remote image (the vendor logo) pointed at a local copy. */
function serveRedoc(app: INestApplication): void {
  const bundle = readFileSync(require.resolve('redoc/bundles/redoc.standalone.js'), 'utf8').replaceAll('https://cdn.redoc.ly/redoc/logo-mini.svg', '/redoc/logo-mini.svg');
  const logo =
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#32329f"/><path d="M4 11V5h3.5a2 2 0 0 1 0 4H6m1.5 0L10 11" stroke="#fff" stroke-width="1.5" fill="none"/></svg>';
  const page = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>toolbox-metrics API</title><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="/favicon.ico"></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="/redoc/redoc.standalone.js"></script></body></html>`;
  const express = app.getHttpAdapter().getInstance() as import('express').Express;
  express.get('/redoc', (_request: Request, response: Response) => {
    response.type('html').send(page);
  });
  express.get('/redoc/redoc.standalone.js', (_request: Request, response: Response) => {
    response.type('application/javascript').set('Cache-Control', 'public, max-age=86400').send(bundle);
  });
  express.get('/redoc/logo-mini.svg', (_request: Request, response: Response) => {
    response.type('image/svg+xml').set('Cache-Control', 'public, max-age=86400').send(logo);
  });
}

/** /favicon.ico: Swagger UI's 32×32 PNG inside an ICO container (browsers read PNG entries in ICO files). */
function serveFavicon(app: INestApplication): void {
  const png = readFileSync(require.resolve('swagger-ui-dist/favicon-32x32.png'));
  const header = Buffer.alloc(22);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(1, 4); // one image
  header.writeUInt8(32, 6); // width
  header.writeUInt8(32, 7); // height
  header.writeUInt8(0, 8); // no palette
  header.writeUInt8(0, 9); // reserved
  header.writeUInt16LE(1, 10); // colour planes
  header.writeUInt16LE(32, 12); // bits per pixel
  header.writeUInt32LE(png.length, 14); // image size
  header.writeUInt32LE(22, 18); // image offset
  const icon = Buffer.concat([header, png]);
  const express = app.getHttpAdapter().getInstance() as import('express').Express;
  express.get('/favicon.ico', (_request: Request, response: Response) => {
    response.type('image/x-icon').set('Cache-Control', 'public, max-age=86400').send(icon);
  });
}
