import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { lastWriteKey } from '../src/cache/cache-keys';
import { GenerationChannel } from '../src/cache/generation-channel';
import { loadConfig } from '../src/config/app-config';
import { ReadReplicas } from '../src/database/read-replicas';
import { RedisConnection } from '../src/redis/redis-connection';
import { createUser, http, signup, SignedUp, uniqueEmail } from './support/factories';
import { ReplicatedPostgres } from './support/pg-replication';
import { freePort, startRedis, stopRedis, waitFor } from './support/private-redis';
import { createTestApp, TestApp } from './support/test-app';

const DASHBOARD = '/api/v1/metrics/dashboard';
const USERS = '/api/v1/users?limit=100';

/**
 * Read replicas against a real primary and streaming standby started here (initdb + pg_basebackup on free ports):
 * where reads go, read-your-writes for the cache with replay paused, and a replica that is down, hung or lagging.
 */
describe('read replicas', () => {
  let pg: ReplicatedPostgres;
  let app: TestApp;
  let admin: SignedUp;
  const prefix = `t${randomBytes(4).toString('hex')}`;

  const replicaEnv = (overrides: Record<string, string> = {}) => ({
    DATABASE_URL: pg.primaryUrl('metrics'),
    DATABASE_READ_URLS: pg.standbyUrl('metrics'),
    RATE_LIMIT_ENABLED: 'false',
    REPLICA_MAX_LAG_SECONDS: '3600',
    REPLICA_CHECK_INTERVAL_MS: '200',
    REPLICA_CONNECT_TIMEOUT_MS: '1000',
    REPLICA_STATEMENT_TIMEOUT_MS: '1000',
    ...overrides,
  });
  const get = (target: TestApp, path: string) => http(target).get(path).set('Authorization', `Bearer ${admin.token}`);
  const ready = async (target: TestApp) => (await http(target).get('/health/ready')).body as { replicas: { name: string; state: string; lag_seconds: number | null }[] };
  const replicaState = async (target: TestApp) => (await ready(target)).replicas[0]?.state;
  /** Waits until the instance reports its (first) replica in this state. */
  const replicaBecomes = (target: TestApp, state: string, what: string, timeoutMs?: number) =>
    waitFor(async () => (await replicaState(target)) === state, what, timeoutMs);
  /** The large organization's user count computed now (not cached) by an instance whose replica has caught up and is up. */
  const usersOnCaughtUpReplica = async (target: TestApp) => {
    await pg.waitForReplay();
    await replicaBecomes(target, 'up', 'the instance to see the replica up');
    return (await get(target, `${DASHBOARD}?force_refresh=true`).expect(200)).body.user_metrics.total_users as number;
  };
  const insertDirectly = async () => {
    const email = uniqueEmail('direct');
    // Straight into the primary, behind the service's back: only a read from the primary can see this user.
    await pg.query('primary', `INSERT INTO users (organization_id, email, name, role) VALUES ($1, $2, 'Direct', 'student')`, [admin.organization.id, email], 'metrics');
    return email;
  };
  const listedEmails = async (target: TestApp) => ((await get(target, USERS).expect(200)).body.items as { email: string }[]).map((user) => user.email);

  beforeAll(async () => {
    pg = await ReplicatedPostgres.start();
    await pg.query('primary', 'CREATE DATABASE metrics');
    app = await createTestApp({ env: { ...replicaEnv(), MIGRATIONS_RUN: 'true', REDIS_KEY_PREFIX: prefix } });
    admin = await signup(app);
    await createUser(app, admin.token);
    await pg.waitForReplay();
    await replicaBecomes(app, 'up', 'the replica to be up');
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await pg?.stop();
  }, 60_000);

  it('sends read-only queries to the replica (under the application role and row-level security there too)', async () => {
    const onPrimaryAndReplica = await listedEmails(app);
    expect(onPrimaryAndReplica).toHaveLength(2);
    await pg.pauseReplay();
    try {
      const direct = await insertDirectly();
      // The list and the dashboard do not see the row the primary has: they were read on the paused replica.
      expect(await listedEmails(app)).toEqual(onPrimaryAndReplica);
      const dashboard = await get(app, `${DASHBOARD}?force_refresh=true`).expect(200);
      expect(dashboard.body.user_metrics.total_users).toBe(2);
      const [{ count }] = await pg.query<{ count: number }>('primary', 'SELECT count(*)::int AS count FROM users WHERE organization_id = $1', [admin.organization.id], 'metrics');
      expect(count).toBe(3);
      // The replica's connections are the service's, named after it.
      const sessions = await pg.query<{ count: number }>('standby', `SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = 'toolbox-metrics-replica-1'`);
      expect(sessions[0].count).toBeGreaterThan(0);
      // Row-level security holds on the replica: another organization's admin sees only its own users there.
      const other = await signup(app);
      await pg.resumeReplay();
      await pg.waitForReplay();
      const connect = jest.spyOn(app.get(ReadReplicas), 'connect');
      try {
        const theirs = await http(app).get(USERS).set('Authorization', `Bearer ${other.token}`).expect(200);
        expect(theirs.body.items.map((user: { email: string }) => user.email)).toEqual([other.user.email]);
        // Read on the replica (asked for a connection), under the other organization's policy there.
        expect(connect).toHaveBeenCalledTimes(1);
      } finally {
        connect.mockRestore();
      }
      expect(await listedEmails(app)).toEqual(expect.arrayContaining([...onPrimaryAndReplica, direct]));
    } finally {
      await pg.resumeReplay();
    }
  });

  it('never caches figures from a replica that has not replayed the last write: the next read is fresh, and so is every instance’s hit', async () => {
    const primaryOnly = await createTestApp({ env: { DATABASE_URL: pg.primaryUrl('metrics'), RATE_LIMIT_ENABLED: 'false', REDIS_KEY_PREFIX: prefix } });
    try {
      await pg.waitForReplay();
      // Recomputed now that the standby has replayed everything: the first case cached figures that missed a row inserted behind the service's back.
      const before = (await get(app, `${DASHBOARD}?force_refresh=true`).expect(200)).body;
      const users = before.user_metrics.total_users as number;
      expect((await get(app, DASHBOARD).expect(200)).body.cache_metadata.cache_hit).toBe(true);

      await pg.pauseReplay();
      await createUser(app, admin.token);
      const after = (await get(app, DASHBOARD).expect(200)).body;
      expect(after.cache_metadata.cache_hit).toBe(false);
      expect(after.user_metrics.total_users).toBe(users + 1);
      // Not because the replica was skipped for lag: it is up, only behind this organization's last write.
      expect(await replicaState(app)).toBe('up');
      const [{ behind }] = await pg.query<{ behind: boolean }>('standby', 'SELECT pg_last_wal_replay_lsn() < $1::pg_lsn AS behind', [
        (await pg.query<{ lsn: string }>('primary', 'SELECT pg_current_wal_insert_lsn()::text AS lsn'))[0].lsn,
      ]);
      expect(behind).toBe(true);

      // What was stored is the fresh result: another instance (primary only) on the same Redis serves it as a hit.
      const elsewhere = (await get(primaryOnly, DASHBOARD).expect(200)).body;
      expect(elsewhere.cache_metadata.cache_hit).toBe(true);
      expect(elsewhere.user_metrics.total_users).toBe(users + 1);
      const again = (await get(app, DASHBOARD).expect(200)).body;
      expect(again.cache_metadata.cache_hit).toBe(true);
      expect(again.user_metrics.total_users).toBe(users + 1);
    } finally {
      await pg.resumeReplay();
      await primaryOnly.close();
    }
  });

  it('computes fresh figures on another replica-enabled instance right after a write made through this one', async () => {
    const second = await createTestApp({ env: { ...replicaEnv(), REDIS_KEY_PREFIX: prefix } });
    try {
      const users = await usersOnCaughtUpReplica(second);

      await pg.pauseReplay();
      // Written through the first instance; the second learns of it only from Redis (the generation and the write's WAL position).
      await createUser(app, admin.token);
      const after = (await get(second, DASHBOARD).expect(200)).body;
      expect(after.cache_metadata.cache_hit).toBe(false);
      expect(after.user_metrics.total_users).toBe(users + 1);
      expect(await replicaState(second)).toBe('up');
      // A forced refresh there is fresh too: it is the same rule, not the cache's miss.
      expect((await get(second, `${DASHBOARD}?force_refresh=true`).expect(200)).body.user_metrics.total_users).toBe(users + 1);
    } finally {
      await pg.resumeReplay();
      await second.close();
    }
  });

  it('reads the primary when Redis cannot say where the organization\'s last write is', async () => {
    const port = await freePort();
    const redis = await startRedis(port);
    const isolated = await createTestApp({ env: { ...replicaEnv(), REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_PREFIX: prefix } });
    try {
      const users = await usersOnCaughtUpReplica(isolated);
      await pg.pauseReplay();
      await createUser(isolated, admin.token);
      // The write's position went to this Redis, which is now gone: the figures come from the primary, not the paused replica.
      await stopRedis(redis);
      const after = (await get(isolated, DASHBOARD).expect(200)).body;
      expect(after.user_metrics.total_users).toBe(users + 1);
      expect(after.cache_metadata.cache_hit).toBe(false);
      expect(await replicaState(isolated)).toBe('up');
    } finally {
      await pg.resumeReplay();
      await stopRedis(redis);
      await isolated.close();
    }
  });

  it('keeps the furthest write position an organization reached, whatever order two writes report theirs in', async () => {
    const organizationId = randomUUID();
    const channel = app.get(GenerationChannel);
    const stored = () => app.get(RedisConnection).client!.get(lastWriteKey(prefix, organizationId));
    const first = await channel.move(organizationId, '2000');
    expect(await stored()).toBe('2000');
    // The slower of two concurrent writes reports an earlier position after the later one did.
    expect(await channel.move(organizationId, '1000')).toBe(first + 1);
    expect(await stored()).toBe('2000');
    await channel.move(organizationId, '3000');
    expect(await stored()).toBe('3000');
    // A move without a position (an invalidation) leaves it as it is.
    await channel.move(organizationId);
    expect(await stored()).toBe('3000');
  });

  it('reports each replica on its own and reads from the one that answers while another cannot be reached', async () => {
    const closed = await freePort();
    const pair = await createTestApp({
      env: { ...replicaEnv({ DATABASE_READ_URLS: `${pg.standbyUrl('metrics')},postgres://toolbox_app@127.0.0.1:${closed}/metrics` }), REDIS_KEY_PREFIX: prefix },
    });
    try {
      await pg.waitForReplay();
      await replicaBecomes(pair, 'up', 'the reachable replica to be up');
      const report = await http(pair).get('/health/ready').expect(200);
      expect(report.body.replicas.map(({ name, state }: { name: string; state: string }) => ({ name, state }))).toEqual([
        { name: 'replica-1', state: 'up' },
        { name: 'replica-2', state: 'down' },
      ]);
      const metrics = (await http(pair).get('/metrics').expect(200)).text;
      expect(metrics).toContain('toolbox_db_replica_state{replica="replica-1",state="up"} 1');
      expect(metrics).toContain('toolbox_db_replica_state{replica="replica-2",state="down"} 1');
      expect(metrics).toContain('toolbox_db_replica_state{replica="replica-2",state="up"} 0');
      // Every read goes to the replica that answers: with replay paused, none sees a row only the primary has.
      const before = await listedEmails(pair);
      await pg.pauseReplay();
      try {
        await insertDirectly();
        for (let i = 0; i < 4; i++) expect(await listedEmails(pair)).toEqual(before);
      } finally {
        await pg.resumeReplay();
      }
    } finally {
      await pair.close();
    }
  });

  it('skips a replica lagging beyond REPLICA_MAX_LAG_SECONDS and reports it lagging, in /health/ready and Prometheus', async () => {
    const strict = await createTestApp({ env: { ...replicaEnv({ REPLICA_MAX_LAG_SECONDS: '1' }), REDIS_KEY_PREFIX: prefix } });
    try {
      await pg.waitForReplay();
      await replicaBecomes(strict, 'up', 'the replica to be up');
      await pg.pauseReplay();
      const direct = await insertDirectly();
      await replicaBecomes(strict, 'lagging', 'the replica to be reported lagging');
      const report = await http(strict).get('/health/ready').expect(200);
      expect(report.body.replicas).toEqual([{ name: 'replica-1', state: 'lagging', lag_seconds: expect.any(Number) }]);
      expect(report.body.replicas[0].lag_seconds).toBeGreaterThan(1);
      // Skipped: the read comes from the primary, which has the row the paused replica lacks.
      expect(await listedEmails(strict)).toContain(direct);
      const metrics = (await http(strict).get('/metrics').expect(200)).text;
      expect(metrics).toContain('toolbox_db_replica_state{replica="replica-1",state="lagging"} 1');
      expect(metrics).toContain('toolbox_db_replica_state{replica="replica-1",state="up"} 0');
      const lag = Number(/^toolbox_db_replica_lag_seconds\{replica="replica-1"\} (\S+)$/m.exec(metrics)?.[1]);
      expect(lag).toBeGreaterThan(1);

      await pg.resumeReplay();
      await replicaBecomes(strict, 'up', 'the replica to be up again');
    } finally {
      await pg.resumeReplay();
      await strict.close();
    }
  });

  it('reports a replica whose WAL receiver stopped as lagging once the primary moves on, though it has replayed all it received', async () => {
    const strict = await createTestApp({ env: { ...replicaEnv({ REPLICA_MAX_LAG_SECONDS: '1' }), REDIS_KEY_PREFIX: prefix } });
    const [{ primary_conninfo: conninfo }] = await pg.query<{ primary_conninfo: string }>('standby', 'SHOW primary_conninfo');
    try {
      await pg.waitForReplay();
      await replicaBecomes(strict, 'up', 'the replica to be up');
      // The standby stops receiving: nothing new arrives, so its own view is "everything received is replayed".
      await pg.query('standby', `ALTER SYSTEM SET primary_conninfo = ''`);
      await pg.query('standby', 'SELECT pg_reload_conf()');
      await waitFor(async () => (await pg.query<{ n: number }>('standby', 'SELECT count(*)::int AS n FROM pg_stat_wal_receiver'))[0].n === 0, 'the WAL receiver to stop');
      const direct = await insertDirectly();
      const [own] = await pg.query<{ caught_up: boolean }>('standby', 'SELECT pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() AS caught_up');
      expect(own.caught_up).toBe(true);
      await replicaBecomes(strict, 'lagging', 'the replica to be reported lagging');
      expect((await ready(strict)).replicas[0].lag_seconds).toBeGreaterThan(1);
      // Skipped: the read comes from the primary, which has the row the standby never received.
      expect(await listedEmails(strict)).toContain(direct);
    } finally {
      await pg.query('standby', `ALTER SYSTEM SET primary_conninfo = '${conninfo.replace(/'/g, "''")}'`);
      await pg.query('standby', 'SELECT pg_reload_conf()');
    }
    try {
      await pg.waitForReplay();
      await replicaBecomes(strict, 'up', 'the replica to be up again');
    } finally {
      await strict.close();
    }
  });

  it('answers from the primary within the timeouts while the replica hangs, and reports it down', async () => {
    await pg.waitForReplay();
    await replicaBecomes(app, 'up', 'the replica to be up');
    await get(app, USERS).expect(200); // a pooled replica connection exists, and will hang
    await pg.signalStandby('SIGSTOP');
    try {
      const direct = await insertDirectly();
      const started = performance.now();
      const [list, dashboard] = await Promise.all([get(app, USERS), get(app, `${DASHBOARD}?force_refresh=true`)]);
      const elapsed = performance.now() - started;
      expect(list.status).toBe(200);
      expect(list.body.items.map((user: { email: string }) => user.email)).toContain(direct);
      expect(dashboard.status).toBe(200);
      // Connect (1 s) or statement (1.25 s) timeout, then the primary; the margin is for a loaded machine, and still far
      // from a wait bounded by nothing (TCP keepalive: minutes).
      expect(elapsed).toBeLessThan(8000);
      await replicaBecomes(app, 'down', 'the hung replica to be reported down');
      const report = await http(app).get('/health/ready').expect(200);
      expect(report.body.checks.database).toBe('up');
      expect(report.body.replicas).toEqual([{ name: 'replica-1', state: 'down', lag_seconds: null }]);
      // Once known down, reads go straight to the primary: the replica is not even asked for a connection.
      const connect = jest.spyOn(app.get(ReadReplicas), 'connect');
      try {
        expect(await listedEmails(app)).toContain(direct);
        expect(connect).not.toHaveBeenCalled();
      } finally {
        connect.mockRestore();
      }
    } finally {
      await pg.signalStandby('SIGCONT');
    }
    await replicaBecomes(app, 'up', 'the replica to be up again', 30_000);
  });

  it('a read that meets the hung replica gives up after its timeout, answers from the primary and marks the replica down itself', async () => {
    // No check runs during this test (only the one at start-up, the next a minute later): whatever skips the replica is
    // the read's own doing.
    const lone = await createTestApp({ env: { ...replicaEnv({ REPLICA_CHECK_INTERVAL_MS: '60000' }), REDIS_KEY_PREFIX: prefix } });
    try {
      await pg.waitForReplay();
      await replicaBecomes(lone, 'up', 'the start-up check to find the replica up');
      await get(lone, USERS).expect(200); // a pooled replica connection, which will hang
      await pg.signalStandby('SIGSTOP');
      const connect = jest.spyOn(lone.get(ReadReplicas), 'connect');
      try {
        const direct = await insertDirectly();
        const started = performance.now();
        expect(await listedEmails(lone)).toContain(direct);
        const elapsed = performance.now() - started;
        expect(connect).toHaveBeenCalledTimes(1);
        // It waited on the replica for its timeout (REPLICA_STATEMENT_TIMEOUT_MS, 1 s), then read the primary.
        expect(elapsed).toBeGreaterThanOrEqual(1000);
        expect(elapsed).toBeLessThan(8000);
        expect(await replicaState(lone)).toBe('down');
        // The next read does not wait: the replica is not asked again until a check finds it answering.
        connect.mockClear();
        const again = performance.now();
        expect(await listedEmails(lone)).toContain(direct);
        expect(connect).not.toHaveBeenCalled();
        expect(performance.now() - again).toBeLessThan(1000);
      } finally {
        connect.mockRestore();
        await pg.signalStandby('SIGCONT');
      }
    } finally {
      await lone.close();
    }
    await replicaBecomes(app, 'up', 'the replica to be up again', 30_000);
  });

  it('answers every read from the primary while the replica is stopped; /health/ready stays 200 and reports it down', async () => {
    await pg.stopStandby();
    try {
      const direct = await insertDirectly();
      await replicaBecomes(app, 'down', 'the stopped replica to be reported down');
      expect(await listedEmails(app)).toContain(direct);
      const dashboard = await get(app, `${DASHBOARD}?force_refresh=true`).expect(200);
      const [{ count }] = await pg.query<{ count: number }>('primary', 'SELECT count(*)::int AS count FROM users WHERE organization_id = $1 AND is_active', [admin.organization.id], 'metrics');
      expect(dashboard.body.user_metrics.total_users).toBe(count);
      await get(app, '/api/v1/metrics/activity').expect(200);
      const report = await http(app).get('/health/ready').expect(200);
      expect(report.body).toEqual({ status: 'ok', checks: { database: 'up', redis: 'up' }, replicas: [{ name: 'replica-1', state: 'down', lag_seconds: null }] });
      const metrics = (await http(app).get('/metrics').expect(200)).text;
      expect(metrics).toContain('toolbox_db_replica_state{replica="replica-1",state="down"} 1');
    } finally {
      await pg.startStandby();
    }
    await replicaBecomes(app, 'up', 'the restarted replica to be up', 30_000);
  });

  it("closes a replica pool's connections left unused for DATABASE_POOL_IDLE_SECONDS, ending their backends, and keeps them with 0", async () => {
    const backendsOnStandby = async (pids: number[]) =>
      (await pg.query<{ n: number }>('standby', 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1)', [pids]))[0].n;
    /** A replica pool with this setting, three of its connections used at once and released. */
    const threeBackends = async (idleSeconds: string) => {
      // Never initialised: no timed check keeps one of its connections in use.
      const replicas = new ReadReplicas(loadConfig(replicaEnv({ DATABASE_POOL_IDLE_SECONDS: idleSeconds }) as NodeJS.ProcessEnv), app.get(DataSource));
      const [replica] = replicas.replicas;
      const clients = await Promise.all([0, 1, 2].map(() => replicas.connect(replica)));
      const pids = await Promise.all(clients.map(async (client) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid));
      clients.forEach((client) => client.release());
      expect(new Set(pids).size).toBe(3);
      expect(await backendsOnStandby(pids)).toBe(3);
      return { replicas, pool: replica.pool, pids };
    };

    const closing = await threeBackends('1');
    try {
      await waitFor(async () => closing.pool.totalCount === 0 && (await backendsOnStandby(closing.pids)) === 0, "the replica pool's idle connections to close", 5_000);
    } finally {
      await closing.replicas.onApplicationShutdown();
    }
    const keeping = await threeBackends('0');
    try {
      // Longer than the 1 s above took to close them.
      await new Promise((done) => setTimeout(done, 1_500));
      expect(keeping.pool.totalCount).toBe(3);
      expect(await backendsOnStandby(keeping.pids)).toBe(3);
    } finally {
      await keeping.replicas.onApplicationShutdown();
    }
  });
});
