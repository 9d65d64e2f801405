import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig, ConfigValidationError, EMBEDDED_JWT_SECRET_FILE, loadConfig } from './app-config';

function load(env: Record<string, string>): AppConfig {
  return loadConfig(env as NodeJS.ProcessEnv);
}

function failure(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig', () => {
  it('refuses an empty EMBEDDED_DATA_DIR by name, instead of failing later on mkdir', () => {
    expect(failure({ EMBEDDED_DATA_DIR: '' })).toMatch(/EMBEDDED_DATA_DIR/);
  });

  it('applies the documented defaults to an empty environment', () => {
    const config = load({});
    expect({
      NODE_ENV: config.NODE_ENV,
      PORT: config.PORT,
      DATABASE_URL: config.DATABASE_URL,
      REDIS_URL: config.REDIS_URL,
      JWT_TTL: config.JWT_TTL,
      EMBEDDED_DATA_DIR: config.EMBEDDED_DATA_DIR,
      SERVICE_NAME: config.SERVICE_NAME,
      MAX_CHAIN_DEPTH: config.MAX_CHAIN_DEPTH,
      RATE_LIMIT_PENALTY_SECONDS: config.RATE_LIMIT_PENALTY_SECONDS,
      LOG_LEVEL: config.LOG_LEVEL,
      DATABASE_POOL_SIZE: config.DATABASE_POOL_SIZE,
      DATABASE_POOL_IDLE_SECONDS: config.DATABASE_POOL_IDLE_SECONDS,
      BODY_LIMIT_BYTES: config.BODY_LIMIT_BYTES,
      HEAP_GROWING_PERCENT: config.HEAP_GROWING_PERCENT,
    }).toEqual({
      NODE_ENV: 'development',
      PORT: 3000,
      DATABASE_URL: undefined,
      REDIS_URL: undefined,
      JWT_TTL: 3600,
      EMBEDDED_DATA_DIR: './data/pglite',
      SERVICE_NAME: 'toolbox-metrics',
      MAX_CHAIN_DEPTH: 10,
      RATE_LIMIT_PENALTY_SECONDS: 300,
      LOG_LEVEL: 'info',
      DATABASE_POOL_SIZE: 10,
      DATABASE_POOL_IDLE_SECONDS: 30,
      BODY_LIMIT_BYTES: 2_097_152,
      HEAP_GROWING_PERCENT: 20,
    });
    expect(config.embeddedDatabase).toBe(true);
    expect(config.migrationsRun).toBe(true);
    expect(config.demoData).toBe(true);
    expect(config.readUrls).toEqual([]);
    expect(config.logFormat).toBe('pretty');
  });

  it('keeps the embedded mode\'s generated secret in its data directory, readable by the owner only', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'tm-config-')), 'pglite');
    try {
      const secret = load({ EMBEDDED_DATA_DIR: dataDir }).jwtSecret;
      expect(secret).toMatch(/^[A-Za-z0-9_-]{64}$/);
      const file = join(dataDir, EMBEDDED_JWT_SECRET_FILE);
      expect(readFileSync(file, 'utf8').trim()).toBe(secret);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      // The next start reads the same secret; JWT_SECRET still wins.
      expect(load({ EMBEDDED_DATA_DIR: dataDir }).jwtSecret).toBe(secret);
      expect(load({ EMBEDDED_DATA_DIR: dataDir, JWT_SECRET: 'j'.repeat(32) }).jwtSecret).toBe('j'.repeat(32));
      writeFileSync(file, 'short\n');
      expect(() => load({ EMBEDDED_DATA_DIR: dataDir }).jwtSecret).toThrow(/toolbox-jwt-secret holds fewer than 32 characters/);
    } finally {
      rmSync(join(dataDir, '..'), { recursive: true, force: true });
    }
  });

  it('makes a process-local secret in memory or with a PostgreSQL server, and writes no file while validating', () => {
    const memory = load({ EMBEDDED_DATA_DIR: 'memory://' });
    expect(memory.jwtSecret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(memory.jwtSecret).toBe(memory.jwtSecret);
    expect(load({ EMBEDDED_DATA_DIR: 'memory://' }).jwtSecret).not.toBe(memory.jwtSecret);
    expect(load({ DATABASE_URL: 'postgres://x/y', EMBEDDED_DATA_DIR: '/nonexistent/never-created' }).jwtSecret).toMatch(/^[A-Za-z0-9_-]{64}$/);
  });

  it('logs JSON in production or when asked, human-readable lines otherwise', () => {
    expect(load({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }).logFormat).toBe('json');
    expect(load({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(load({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(failure({ LOG_FORMAT: 'xml' })).toContain('LOG_FORMAT: LOG_FORMAT must be one of the following values: json, pretty');
  });

  it('reads typed values and derives the modes from them', () => {
    const config = load({
      PORT: '8080',
      DATABASE_URL: 'postgres://app@db:5432/metrics',
      DATABASE_READ_URLS: 'postgres://app@r1/metrics, postgresql://app@r2/metrics',
      REDIS_URL: 'rediss://cache:6380/1',
      JWT_SECRET: 's'.repeat(32),
      MIGRATIONS_RUN: 'TRUE',
      DEMO_DATA: '0',
      LOG_LEVEL: 'debug',
    });
    expect(config.PORT).toBe(8080);
    expect(config.embeddedDatabase).toBe(false);
    expect(config.migrationsRun).toBe(true);
    expect(config.demoData).toBe(false);
    expect(config.readUrls).toEqual(['postgres://app@r1/metrics', 'postgresql://app@r2/metrics']);
    expect(config.jwtSecret).toBe('s'.repeat(32));
    expect(config.REPLICA_MAX_LAG_SECONDS).toBe(30);
    expect([config.REPLICA_CONNECT_TIMEOUT_MS, config.REPLICA_STATEMENT_TIMEOUT_MS, config.REPLICA_CHECK_INTERVAL_MS]).toEqual([2000, 3000, 1000]);
    expect(load({ REDIS_CLUSTER_URLS: 'redis://a:7000, rediss://u:p@b:7001' }).redisClusterUrls).toEqual(['redis://a:7000', 'rediss://u:p@b:7001']);
    expect(load({ REPLICA_MAX_LAG_SECONDS: '5' }).REPLICA_MAX_LAG_SECONDS).toBe(5);
    expect(load({ DATABASE_POOL_IDLE_SECONDS: '0' }).DATABASE_POOL_IDLE_SECONDS).toBe(0);
    expect(load({ DATABASE_URL: 'postgres://x/y' }).migrationsRun).toBe(false);
    expect(load({ DATABASE_URL: '' }).embeddedDatabase).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT: PORT must not be greater than 65535; PORT must not be less than 0; PORT must be an integer number'],
    [{ PORT: '70000' }, 'PORT: PORT must not be greater than 65535'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL: REDIS_URL must be a redis:// or rediss:// URL'],
    [{ DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL: DATABASE_URL must be a postgres:// URL'],
    [{ DATABASE_READ_URLS: 'postgres://a/b,http://c' }, 'DATABASE_READ_URLS: DATABASE_READ_URLS must be a comma-separated list of postgres:// URLs'],
    [{ REDIS_CLUSTER_URLS: 'redis://a:7000,http://b' }, 'REDIS_CLUSTER_URLS: REDIS_CLUSTER_URLS must be a comma-separated list of redis:// or rediss:// URLs'],
    [{ REDIS_URL: 'redis://a', REDIS_CLUSTER_URLS: 'redis://b:7000' }, 'REDIS_CLUSTER_URLS: set either REDIS_URL or REDIS_CLUSTER_URLS, not both'],
    [{ REPLICA_MAX_LAG_SECONDS: '0' }, 'REPLICA_MAX_LAG_SECONDS: REPLICA_MAX_LAG_SECONDS must not be less than 1'],
    [{ REPLICA_STATEMENT_TIMEOUT_MS: '50' }, 'REPLICA_STATEMENT_TIMEOUT_MS: REPLICA_STATEMENT_TIMEOUT_MS must not be less than 100'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET: required when NODE_ENV=production'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET: JWT_SECRET must be at least 32 characters'],
    [{ JWT_TTL: '10' }, 'JWT_TTL: JWT_TTL must not be less than 60'],
    [{ MIGRATIONS_RUN: 'maybe' }, 'MIGRATIONS_RUN: MIGRATIONS_RUN must be a boolean value'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: LOG_LEVEL must be one of the following values: fatal, error, warn, info, debug, trace, silent'],
    [{ MAX_CHAIN_DEPTH: '0' }, 'MAX_CHAIN_DEPTH: MAX_CHAIN_DEPTH must not be less than 1'],
    [{ SERVICE_NAME: 'has spaces' }, 'SERVICE_NAME: SERVICE_NAME must be 1-64 letters, digits, dots, dashes or underscores'],
    [{ METRICS_TOKEN: 'tiny' }, 'METRICS_TOKEN: METRICS_TOKEN must be at least 16 characters'],
    [{ HEAP_GROWING_PERCENT: '-5' }, 'HEAP_GROWING_PERCENT: HEAP_GROWING_PERCENT must not be less than 0'],
    [{ DATABASE_POOL_IDLE_SECONDS: '-1' }, 'DATABASE_POOL_IDLE_SECONDS: DATABASE_POOL_IDLE_SECONDS must not be less than 0'],
    [{ DATABASE_POOL_IDLE_SECONDS: '1.5' }, 'DATABASE_POOL_IDLE_SECONDS: DATABASE_POOL_IDLE_SECONDS must not be greater than 86400; DATABASE_POOL_IDLE_SECONDS must not be less than 0; DATABASE_POOL_IDLE_SECONDS must be an integer number'],
  ])('refuses %j with a message naming the variable', (env, line) => {
    const message = failure(env as Record<string, string>);
    expect(message.startsWith('Invalid configuration:\n')).toBe(true);
    expect(message.split('\n').slice(1).map((text) => text.trim())).toContain(line);
  });

  it('names every invalid variable at once', () => {
    const message = failure({ PORT: '-1', NODE_ENV: 'staging', RATE_LIMIT_PENALTY_SECONDS: '0' });
    expect(message.split('\n').slice(1).map((line) => line.split(':')[0].trim()).sort()).toEqual(['NODE_ENV', 'PORT', 'RATE_LIMIT_PENALTY_SECONDS']);
  });

  it('accepts production with a secret', () => {
    expect(load({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }).NODE_ENV).toBe('production');
  });
});
