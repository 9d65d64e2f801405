import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

const toBoolean = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? { true: true, false: false, '1': true, '0': false }[value.toLowerCase()] ?? value : value;
const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value);
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;

/** The file in the embedded data directory that keeps the generated JWT secret across restarts. */
export const EMBEDDED_JWT_SECRET_FILE = 'toolbox-jwt-secret';

/** Every setting of the service, read once from the environment and validated (see .env.example). */
export class AppConfig {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  /** Comma-separated replica URLs for read-only metric queries. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^\s*postgres(ql)?:\/\/[^,\s]+\s*(,\s*postgres(ql)?:\/\/[^,\s]+\s*)*$/, {
    message: 'DATABASE_READ_URLS must be a comma-separated list of postgres:// URLs',
  })
  DATABASE_READ_URLS?: string;

  /** A replica whose replay is further behind the primary than this is skipped (its reads go to the primary). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  REPLICA_MAX_LAG_SECONDS = 30;

  /** Longest wait for a connection to a replica before its read goes to the primary. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60000)
  REPLICA_CONNECT_TIMEOUT_MS = 2000;

  /** Longest a statement on a replica may take (server- and client-side) before its read goes to the primary. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600000)
  REPLICA_STATEMENT_TIMEOUT_MS = 3000;

  /** How often each replica's state and lag are checked. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60000)
  REPLICA_CHECK_INTERVAL_MS = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  /** Seconds an unused pool connection stays open; 0 keeps it (a new PostgreSQL backend's first queries cost more). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(86400)
  DATABASE_POOL_IDLE_SECONDS = 30;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  /** Comma-separated nodes of a Redis Cluster (instead of REDIS_URL); the rest of the cluster is discovered from them. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^\s*rediss?:\/\/[^,\s]+\s*(,\s*rediss?:\/\/[^,\s]+\s*)*$/, {
    message: 'REDIS_CLUSTER_URLS must be a comma-separated list of redis:// or rediss:// URLs',
  })
  REDIS_CLUSTER_URLS?: string;

  /** Prefix of every Redis key this service writes; lets several deployments or test runs share one Redis. */
  @IsString()
  @MaxLength(64)
  REDIS_KEY_PREFIX = 'tm';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  /** Access-token lifetime in seconds. */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(7 * 24 * 3600)
  JWT_TTL = 3600;

  @Transform(toBoolean)
  @IsOptional()
  @IsBoolean()
  MIGRATIONS_RUN?: boolean;

  @IsString()
  @MinLength(1)
  EMBEDDED_DATA_DIR = './data/pglite';

  /** Create the demo organization on start when the database has none (default: embedded mode only). */
  @Transform(toBoolean)
  @IsOptional()
  @IsBoolean()
  DEMO_DATA?: boolean;

  @IsString()
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'SERVICE_NAME must be 1-64 letters, digits, dots, dashes or underscores' })
  SERVICE_NAME = 'toolbox-metrics';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_CHAIN_DEPTH = 10;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  RATE_LIMIT_PENALTY_SECONDS = 300;

  /** Off only for benchmarks and local experiments: no request is rate-limited. */
  @Transform(toBoolean)
  @IsBoolean()
  RATE_LIMIT_ENABLED = true;

  /** Longest wait for a rate-limit counter in Redis before counting in process memory instead. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(5000)
  RATE_LIMIT_REDIS_TIMEOUT_MS = 200;

  /**
   * Which proxies' X-Forwarded-For to believe for the client IP (per-IP rate limits): empty trusts none, a number
   * trusts that many hops, or a comma-separated list of addresses, subnets or loopback/linklocal/uniquelocal.
   */
  @Matches(/^$|^\d{1,2}$|^[A-Za-z0-9.:/]+( *, *[A-Za-z0-9.:/]+)*$/, {
    message: 'TRUST_PROXY must be empty, a hop count, or a comma-separated list of addresses, subnets or loopback/linklocal/uniquelocal',
  })
  TRUST_PROXY = '';

  /** Origins (scheme://host[:port], comma-separated) whose browser pages may call the API; empty keeps CORS closed. */
  @Matches(/^$|^ *https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})? *(, *https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})? *)*$/, {
    message: 'CORS_ORIGINS must be empty or a comma-separated list of origins such as https://app.example.com',
  })
  CORS_ORIGINS = '';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  /** json: one JSON object a line (for log collectors); pretty: short human-readable lines. Default: json in production. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(LOG_FORMATS)
  LOG_FORMAT?: (typeof LOG_FORMATS)[number];

  /** When set, GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  METRICS_TOKEN?: string;

  @Transform(toBoolean)
  @IsBoolean()
  METRICS_ENABLED = true;

  /** Largest accepted JSON body, in bytes. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(50 * 1024 * 1024)
  BODY_LIMIT_BYTES = 2 * 1024 * 1024;

  /** Largest roster import body (CSV or JSON), in bytes: 50,000 rows need several MB. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(200 * 1024 * 1024)
  IMPORT_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

  /** A client whose request headers have not all arrived after this long gets 408 (slow-header attacks). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  HTTP_HEADERS_TIMEOUT_MS = 10_000;

  /** A client whose whole request (headers and body) has not arrived after this long gets 408. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  HTTP_REQUEST_TIMEOUT_MS = 30_000;

  /**
   * How far V8 lets the heap grow past what the last full collection kept, in percent, before the next one; 0 keeps
   * V8's own rule, which under thousands of requests a second lets a ~45 MB live heap grow to ~200 MB.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1000)
  HEAP_GROWING_PERCENT = 20;

  /**
   * Days of raw activity events to keep; unset keeps everything. Whole monthly partitions that ended before
   * now − this are dropped (the rollups keep every figure). At least 31: the activity endpoint and the 24 h
   * figures read raw events of the last 7 days, and a month is the unit that is dropped.
   */
  @Transform(({ value }) => (value === '' ? undefined : toInt({ value })))
  @IsOptional()
  @IsInt()
  @Min(31)
  @Max(36_500)
  EVENT_RETENTION_DAYS?: number;

  /** Seconds between the comment lines that keep an idle metrics stream (and the proxies on its way) open. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(300)
  STREAM_HEARTBEAT_SECONDS = 15;

  /** Seconds between checks that an open stream's token is still valid (expiry closes it at the exact second anyway). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(60)
  STREAM_AUTH_CHECK_SECONDS = 5;

  /** Open metrics streams allowed per organization across all instances; one more gets 429. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  STREAM_MAX_PER_ORGANIZATION = 20;

  get embeddedDatabase(): boolean {
    return !this.DATABASE_URL;
  }

  get migrationsRun(): boolean {
    return this.MIGRATIONS_RUN ?? this.embeddedDatabase;
  }

  get demoData(): boolean {
    return this.DEMO_DATA ?? this.embeddedDatabase;
  }

  /** The value for Express's "trust proxy", or false to take the socket's address. */
  get trustProxy(): number | string | false {
    if (this.TRUST_PROXY === '') return false;
    return /^\d+$/.test(this.TRUST_PROXY) ? Number(this.TRUST_PROXY) : this.TRUST_PROXY;
  }

  get corsOrigins(): string[] {
    return this.CORS_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean);
  }

  get logFormat(): (typeof LOG_FORMATS)[number] {
    return this.LOG_FORMAT ?? (this.NODE_ENV === 'production' ? 'json' : 'pretty');
  }

  get readUrls(): string[] {
    return this.DATABASE_READ_URLS ? this.DATABASE_READ_URLS.split(',').map((url) => url.trim()) : [];
  }

  get redisClusterUrls(): string[] {
    return this.REDIS_CLUSTER_URLS ? this.REDIS_CLUSTER_URLS.split(',').map((url) => url.trim()) : [];
  }

  #jwtSecret?: string;

  /**
   * JWT_SECRET when set. Otherwise (never in production): the embedded mode generates one and keeps it in its data
   * directory, so tokens survive a restart; with memory:// or a PostgreSQL server it is process-local.
   * Read lazily, so validating a configuration never writes a file.
   */
  get jwtSecret(): string {
    this.#jwtSecret ??=
      this.JWT_SECRET ??
      (this.embeddedDatabase && !this.EMBEDDED_DATA_DIR.startsWith('memory://') ? embeddedJwtSecret(this.EMBEDDED_DATA_DIR) : randomSecret());
    return this.#jwtSecret;
  }
}

export class ConfigValidationError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new AppConfig()).concat(['DATABASE_URL', 'DATABASE_READ_URLS', 'REDIS_URL', 'REDIS_CLUSTER_URLS', 'JWT_SECRET', 'MIGRATIONS_RUN', 'METRICS_TOKEN', 'DEMO_DATA', 'EVENT_RETENTION_DAYS', 'LOG_FORMAT']);
  const raw: Record<string, unknown> = {};
  for (const key of known) if (env[key] !== undefined) raw[key] = env[key];
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: false, forbidUnknownValues: true });
  const messages = errors.map((error) => `${error.property}: ${Object.values(error.constraints ?? {}).join('; ')}`);
  if (config.REDIS_URL && config.REDIS_CLUSTER_URLS) messages.push('REDIS_CLUSTER_URLS: set either REDIS_URL or REDIS_CLUSTER_URLS, not both');
  if (config.NODE_ENV === 'production' && !config.JWT_SECRET) messages.push('JWT_SECRET: required when NODE_ENV=production');
  if (messages.length > 0) throw new ConfigValidationError(`Invalid configuration:\n  ${messages.join('\n  ')}`);
  return config;
}

function randomSecret(): string {
  return randomBytes(48).toString('base64url');
}

/** Reads the data directory's secret, or creates it readable by its owner only (0600) on the first start. */
function embeddedJwtSecret(dataDir: string): string {
  const path = join(dataDir, EMBEDDED_JWT_SECRET_FILE);
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, `${randomSecret()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const secret = readFileSync(path, 'utf8').trim();
  if (secret.length < 32) throw new ConfigValidationError(`JWT_SECRET: ${path} holds fewer than 32 characters; delete it to generate a new secret`);
  return secret;
}
