import 'reflect-metadata';
import { setFlagsFromString } from 'node:v8';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { AppConfig, ConfigValidationError, loadConfig } from './config/app-config.js';
import { DemoData } from './demo/demo-data.service.js';

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
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
  const url = `http://localhost:${config.PORT}`;
  const demo = app.get(DemoData).createdCredentials;
  const lines = [`toolbox-metrics listening on ${url} — API docs at ${url}/docs`];
  lines.push(`Dashboard page: ${url}/`);
  if (demo) lines.push(`Demo organization "${demo.organizationSlug}": log in as ${demo.email} with password ${demo.password} (shown once)`);
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
}

void bootstrap();
