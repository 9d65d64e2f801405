import { NestFactory } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { RevocationChannel } from '../src/auth/revocation-channel';
import { RedisConnection } from '../src/redis/redis-connection';
import { PRINCIPAL_TTL_MS } from '../src/auth/principal-cache';
import { CliModule } from '../src/cli/cli.module';
import { runCli } from '../src/cli/program';
import { loadConfig } from '../src/config/app-config';
import { GenerationChannel } from '../src/cache/generation-channel';
import { MetricsCache } from '../src/cache/metrics-cache';
import { http, signup, SignedUp, userWithRole } from './support/factories';
import { waitFor } from './support/private-redis';
import { createTestApp, ManualClock, TEST_JWT_SECRET, TestApp } from './support/test-app';
import { databaseUrl, TEST_REDIS_URL, workerDatabaseName } from './support/test-env';

const DASHBOARD = '/api/v1/metrics/dashboard';

/** Two instances of the service on one database and one Redis (one key prefix); the second one's clock moves by hand. */
describe('logout and outdated tokens across instances', () => {
  const prefix = `rv${randomBytes(4).toString('hex')}`;
  const clock = new ManualClock();
  let first: TestApp;
  let second: TestApp;
  let admin: SignedUp;
  beforeAll(async () => {
    first = await createTestApp({ env: { REDIS_KEY_PREFIX: prefix } });
    second = await createTestApp({ env: { REDIS_KEY_PREFIX: prefix }, clock });
    const live = (app: TestApp) => app.get(RevocationChannel).live && app.get(GenerationChannel).live;
    await waitFor(() => live(first) && live(second), 'both instances’ channels');
    admin = await signup(first);
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  const me = (app: TestApp, token: string) => http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);
  const login = (app: TestApp, email: string, password: string) => http(app).post('/api/v1/auth/login').send({ email, password }).expect(200);

  it('logout stops the token at once on every instance, the cached-hit fast path included; other tokens live on', async () => {
    const teacher = await userWithRole(first, admin, 'teacher');
    const other = (await login(first, teacher.email, teacher.password)).body.access_token as string;
    const serve = jest.spyOn(second.get(MetricsCache), 'serve');
    await http(second).get(DASHBOARD).set('Authorization', `Bearer ${teacher.token}`).expect(200);
    await http(second).get(DASHBOARD).set('Authorization', `Bearer ${teacher.token}`).expect(200);
    const callsBefore = serve.mock.calls.length;
    // The second hit came from the fast path (the Nest path would have called serve).
    await http(second).get(DASHBOARD).set('Authorization', `Bearer ${teacher.token}`).expect(200);
    expect(serve.mock.calls.length).toBe(callsBefore);

    const logout = await http(first).post('/api/v1/auth/logout').set('Authorization', `Bearer ${teacher.token}`).expect(204);
    expect(logout.text).toBe('');
    const refused = await http(second).get(DASHBOARD).set('Authorization', `Bearer ${teacher.token}`).expect(401);
    expect([refused.headers['www-authenticate'], refused.body.detail]).toEqual(['Bearer', 'The access token is invalid or expired']);
    await me(second, teacher.token).expect(401);
    await me(first, teacher.token).expect(401);
    await http(first).post('/api/v1/auth/logout').set('Authorization', `Bearer ${teacher.token}`).expect(401);

    await me(first, other).expect(200);
    await me(second, other).expect(200);
    serve.mockRestore();
  });

  it('answers 503 with Retry-After to a logout that could not reach Redis, and 204 once it does', async () => {
    const teacher = await userWithRole(first, admin, 'teacher');
    const client = first.get(RedisConnection).client!;
    const unreachable = jest.spyOn(client, 'eval').mockRejectedValueOnce(new Error('Connection is closed'));
    const refused = await http(first).post('/api/v1/auth/logout').set('Authorization', `Bearer ${teacher.token}`).expect(503);
    unreachable.mockRestore();
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toMatchObject({ status: 503, detail: 'The logout could not reach every instance; try again' });
    // Not revoked everywhere yet: the other instance still honours it, until the retry succeeds.
    await me(second, teacher.token).expect(200);
    await http(first).post('/api/v1/auth/logout').set('Authorization', `Bearer ${teacher.token}`).expect(204);
    await me(second, teacher.token).expect(401);
  });

  it('past its memory bound an instance asks Redis instead of trusting a copy that dropped a revoked token', async () => {
    const channel = second.get(RevocationChannel);
    const bound = channel.maxLocalRevoked;
    const teachers = [await userWithRole(first, admin, 'teacher'), await userWithRole(first, admin, 'teacher')];
    const jti = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti as string;
    try {
      await waitFor(() => channel.live, 'the second instance to be live');
      // A bound of one: the second logout pushes the first token out of the second instance's memory.
      channel.maxLocalRevoked = 1;
      for (const teacher of teachers) await http(first).post('/api/v1/auth/logout').set('Authorization', `Bearer ${teacher.token}`).expect(204);
      await waitFor(() => channel.isRevokedLocally(jti(teachers[1].token)), 'the second logout to arrive');
      expect(channel.isRevokedLocally(jti(teachers[0].token))).toBe(false);
      expect(channel.live).toBe(false);
      // Still refused on the second instance, the fast path's copy notwithstanding: the answer comes from Redis.
      for (const teacher of teachers) await me(second, teacher.token).expect(401);
      await http(second).get(DASHBOARD).set('Authorization', `Bearer ${teachers[0].token}`).expect(401);
    } finally {
      channel.maxLocalRevoked = bound;
    }
  });

  it('tells its listeners (open streams) of a revoked id once, however often the id reaches it again (a reload after a reconnect)', async () => {
    const channel = second.get(RevocationChannel);
    const heard: string[] = [];
    const stop = channel.listen({ tokenRevoked: (id) => heard.push(id) });
    try {
      const id = `reload-${randomBytes(4).toString('hex')}`;
      const publisher = first.get(RedisConnection).client!;
      const message = `t ${id} ${Date.now() + 3_600_000}`;
      for (let repeat = 0; repeat < 3; repeat++) await publisher.publish(channel.channel, message);
      await waitFor(() => channel.isRevokedLocally(id), 'the revocation to arrive');
      await publisher.publish(channel.channel, `t other-${id} ${Date.now() + 3_600_000}`);
      await waitFor(() => heard.includes(`other-${id}`), 'the next revocation to arrive');
      expect(heard.filter((heardId) => heardId === id)).toEqual([id]);
    } finally {
      stop();
    }
  });

  it('an instance started after the logout refuses the token too (the revoked set is in Redis)', async () => {
    const teacher = await userWithRole(first, admin, 'teacher');
    await http(second).post('/api/v1/auth/logout').set('Authorization', `Bearer ${teacher.token}`).expect(204);
    const third = await createTestApp({ env: { REDIS_KEY_PREFIX: prefix } });
    try {
      // Before its channel is live it asks Redis; after, it knows from the set it loaded.
      await me(third, teacher.token).expect(401);
      await waitFor(() => third.get(RevocationChannel).live, 'the third channel');
      expect(third.get(RevocationChannel).isRevokedLocally(JSON.parse(Buffer.from(teacher.token.split('.')[1], 'base64url').toString()).jti)).toBe(true);
      await me(third, teacher.token).expect(401);
    } finally {
      await third.close();
    }
  });

  it('deactivation ends every earlier token on every instance at once, and reactivation does not revive them', async () => {
    const teacher = await userWithRole(first, admin, 'teacher');
    await me(second, teacher.token).expect(200);
    await http(first).patch(`/api/v1/users/${teacher.id}`).set('Authorization', `Bearer ${admin.token}`).send({ is_active: false }).expect(200);
    await me(second, teacher.token).expect(401);
    await me(first, teacher.token).expect(401);
    await http(first).post('/api/v1/auth/login').send({ email: teacher.email, password: teacher.password }).expect(401);

    await http(second).patch(`/api/v1/users/${teacher.id}`).set('Authorization', `Bearer ${admin.token}`).send({ is_active: true }).expect(200);
    await me(first, teacher.token).expect(401);
    await me(second, teacher.token).expect(401);
    clock.advance(PRINCIPAL_TTL_MS);
    await me(second, teacher.token).expect(401);
    const fresh = (await login(second, teacher.email, teacher.password)).body.access_token as string;
    await me(first, fresh).expect(200);
  });

  it('a role change ends the earlier tokens; a rename does not', async () => {
    const teacher = await userWithRole(first, admin, 'teacher');
    await http(first).patch(`/api/v1/users/${teacher.id}`).set('Authorization', `Bearer ${admin.token}`).send({ name: 'Renamed' }).expect(200);
    await me(second, teacher.token).expect(200);
    await http(first).patch(`/api/v1/users/${teacher.id}`).set('Authorization', `Bearer ${admin.token}`).send({ role: 'student' }).expect(200);
    await me(second, teacher.token).expect(401);
    const fresh = (await login(first, teacher.email, teacher.password)).body.access_token as string;
    expect((await me(second, fresh).expect(200)).body.user.role).toBe('student');
  });

  it('a password change from the CLI ends the earlier tokens on every instance', async () => {
    const teacher = await userWithRole(first, admin, 'teacher');
    await me(second, teacher.token).expect(200);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['user:set-password', teacher.email], {
      config: () => loadConfig({ DATABASE_URL: databaseUrl(workerDatabaseName()), REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, JWT_SECRET: TEST_JWT_SECRET } as NodeJS.ProcessEnv),
      openContext: (config) => NestFactory.createApplicationContext(CliModule.withConfig(config), { logger: false, abortOnError: false }),
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      progress: () => ({ start: () => undefined, add: () => undefined, stop: () => undefined }),
      readPassword: async () => 'a brand new passphrase',
    });
    expect([code, err]).toEqual([0, []]);
    expect(out).toEqual([`Password of ${teacher.email} (${teacher.id}) changed; the tokens issued before no longer work\n`]);
    await me(second, teacher.token).expect(401);
    await me(first, teacher.token).expect(401);
    await http(first).post('/api/v1/auth/login').send({ email: teacher.email, password: teacher.password }).expect(401);
    await login(first, teacher.email, 'a brand new passphrase');
  });

  it('even when no message arrives, an instance honours an outdated token within 5 s', async () => {
    const teacher = await userWithRole(first, admin, 'teacher');
    await me(second, teacher.token).expect(200);
    // Written behind the service's back: no instance is told.
    await first.dataSource.query(`UPDATE users SET token_version = token_version + 1 WHERE id = $1`, [teacher.id]);
    await me(second, teacher.token).expect(200);
    clock.advance(PRINCIPAL_TTL_MS - 1);
    await me(second, teacher.token).expect(200);
    clock.advance(1);
    await me(second, teacher.token).expect(401);
  });
});
