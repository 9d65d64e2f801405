import { Type } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test, TestingModuleBuilder } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { Clock } from '../../src/common/clock';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { openApiDocumentOf } from '../../src/docs/docs.setup';
import { ExpressServerAdapter } from '../../src/http-server/express-server.adapter';
import { OpenApiResponseValidator, registerValidator, unregisterValidator } from './openapi-response-validator';
import { databaseUrl, TEST_REDIS_URL, workerDatabaseName } from './test-env';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-signing';

/** A clock tests move by hand: time-based rules (principal TTL, windows, penalties) without waiting. */
export class ManualClock extends Clock {
  constructor(private current = Date.now()) {
    super();
  }
  override now(): number {
    return this.current;
  }
  set(ms: number): void {
    this.current = ms;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export interface TestAppOptions {
  /** Environment overrides; DATABASE_URL: undefined selects the embedded PGlite. */
  env?: Record<string, string | undefined>;
  clock?: Clock;
  /** Further provider overrides. */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
  /** Use Redis (default true): a per-app key prefix keeps cache and counters of one test from another. */
  redis?: boolean;
}

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  dataSource: DataSource;
  /** Checks every response this app sends against its own /openapi.json (see openapi-response-validator.ts). */
  responses: OpenApiResponseValidator;
  get<T>(type: Type<T> | string | symbol): T;
  close(): Promise<void>;
}

/**
 * For tests that count a budget to the request: a pause of a loaded test host longer than the 200 ms default would divert
 * a count to process memory (the fallback a Redis timeout takes, tested in rate-limit-redis.spec.ts) and shift the count.
 */
export const EXACT_COUNTS_ENV = { RATE_LIMIT_REDIS_TIMEOUT_MS: '5000' };

/** The whole service on the worker's own PostgreSQL database and the real Redis, as main.ts builds it. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl(workerDatabaseName()),
    REDIS_URL: options.redis === false ? undefined : TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `t${randomBytes(4).toString('hex')}`,
    JWT_SECRET: TEST_JWT_SECRET,
    MIGRATIONS_RUN: 'false',
    DEMO_DATA: 'false',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_POOL_SIZE: '5',
    ...options.env,
  };
  const config = loadConfig(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv);
  let builder = Test.createTestingModule({ imports: [AppModule] }).overrideProvider(AppConfig).useValue(config);
  if (options.clock) builder = builder.overrideProvider(Clock).useValue(options.clock);
  if (options.override) builder = options.override(builder);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>(new ExpressServerAdapter(), { bodyParser: false, logger: false });
  await configureApp(app);
  // Every response of every e2e spec is checked against the document; violations fail the running test.
  const responses = new OpenApiResponseValidator(openApiDocumentOf(app) as never);
  responses.install(app.getHttpServer());
  registerValidator(responses);
  return {
    app,
    config,
    dataSource: app.get(DataSource),
    responses,
    get: <T>(type: Type<T> | string | symbol) => app.get<T>(type as Type<T>),
    close: async () => {
      await app.close();
      await new Promise((resolve) => setImmediate(resolve));
      unregisterValidator(responses);
      const left = responses.violations.splice(0);
      if (left.length > 0) throw new Error(`Responses that do not match the OpenAPI document:\n${left.join('\n')}`);
    },
  };
}
