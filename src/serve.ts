import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { AppConfig } from './config/app-config.js';
import { ExpressServerAdapter } from './http-server/express-server.adapter.js';
import { DemoData } from './demo/demo-data.service.js';
import { startUpBanner } from './observability/start-up-banner.js';
import { PINO_LOGGER } from './observability/observability.module.js';

/** Builds the application, listens on PORT and prints the banner (or the JSON "Listening" line). */
export async function serve(config: AppConfig): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, new ExpressServerAdapter(), { bodyParser: false, bufferLogs: true });
  await configureApp(app);
  await app.listen(config.PORT);
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  const demo = app.get(DemoData).status;
  if (config.logFormat === 'json') {
    app.get<Logger>(PINO_LOGGER).info({ port, url: `http://localhost:${port}`, demo: demo && { organization: demo.organizationSlug, email: demo.email, created: demo.password !== null } }, 'Listening');
  } else {
    process.stdout.write(startUpBanner(config, port, demo));
  }
}
