import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { AppConfig, ConfigValidationError, loadConfig } from './config/app-config.js';
import { loadEnvFile } from './config/env-file.js';
import { DemoData } from './demo/demo-data.service.js';
import { startUpBanner } from './observability/start-up-banner.js';
import { PINO_LOGGER } from './observability/observability.module.js';

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    loadEnvFile();
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // V8 reads this factor at every full collection, so setting it before the app starts is enough (docs/performance.md).
  if (config.HEAP_GROWING_PERCENT > 0) setFlagsFromString(`--heap-growing-percent=${config.HEAP_GROWING_PERCENT}`);
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { bodyParser: false, bufferLogs: true });
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

void bootstrap();
