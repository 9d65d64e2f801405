import { NestFactory } from '@nestjs/core';
import { PRINCIPAL_REFRESH_AHEAD_MS, PRINCIPAL_TTL_MS, PrincipalCache } from '../src/auth/principal-cache';
import { buildProgram } from '../src/cli/program';
import { CliModule } from '../src/cli/cli.module';
import { http, signup, userWithRole } from './support/factories';
import { createTestApp, ManualClock, TestApp } from './support/test-app';

/** Two instances of the service on one database; the second one's clock moves by hand. */
describe('revocation and tier changes across instances that share no Redis prefix', () => {
  let first: TestApp;
  let second: TestApp;
  const clock = new ManualClock();
  beforeAll(async () => {
    first = await createTestApp();
    second = await createTestApp({ clock });
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  const me = (app: TestApp, token: string) => http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);

  it('stops a deactivated user at once on the same instance, and on another (not told, its own Redis prefix) within 5 s', async () => {
    const admin = await signup(first);
    const teacher = await userWithRole(first, admin, 'teacher');
    await me(first, teacher.token).expect(200);
    await me(second, teacher.token).expect(200);

    await http(first).patch(`/api/v1/users/${teacher.id}`).set('Authorization', `Bearer ${admin.token}`).send({ is_active: false }).expect(200);
    const refused = await me(first, teacher.token).expect(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer');
    expect(refused.body.detail).toBe('The access token is invalid or expired');

    // The other instance trusts what it read less than 5 s ago, then reads again.
    clock.advance(PRINCIPAL_TTL_MS - 1_000);
    await me(second, teacher.token).expect(200);
    clock.advance(2_000);
    await me(second, teacher.token).expect(401);

    // Reactivation does not revive the tokens issued before the deactivation; a new login works.
    await http(first).patch(`/api/v1/users/${teacher.id}`).set('Authorization', `Bearer ${admin.token}`).send({ is_active: true }).expect(200);
    await me(first, teacher.token).expect(401);
    clock.advance(PRINCIPAL_TTL_MS + 1_000);
    await me(second, teacher.token).expect(401);
    const fresh = await http(first).post('/api/v1/auth/login').send({ email: teacher.email, password: teacher.password }).expect(200);
    await me(second, fresh.body.access_token).expect(200);
  });

  it('renews a principal in use during its last second from the database, each organization its own, so nothing waits when it expires', async () => {
    const one = await signup(first);
    const other = await signup(first);
    const teacherOne = await userWithRole(first, one, 'teacher');
    const teacherOther = await userWithRole(first, other, 'teacher');
    const principals = second.get(PrincipalCache);
    expect((await principals.resolve(one.organization.id, teacherOne.id))?.role).toBe('teacher');
    expect((await principals.resolve(other.organization.id, teacherOther.id))?.role).toBe('teacher');

    // Changed on the first instance; the second is not told (its own Redis prefix) and still trusts what it read.
    await http(first).patch(`/api/v1/users/${teacherOne.id}`).set('Authorization', `Bearer ${one.token}`).send({ role: 'student' }).expect(200);
    clock.advance(PRINCIPAL_TTL_MS - PRINCIPAL_REFRESH_AHEAD_MS);
    // peek is what the cached-hit fast path asks: no query of its own, the answer read 4 s ago, and a renewal behind it.
    expect(principals.peek(one.organization.id, teacherOne.id)?.role).toBe('teacher');
    expect(principals.peek(other.organization.id, teacherOther.id)?.role).toBe('teacher');

    // Past the first answers' 5 s, peek alone finds the renewed ones: read from PostgreSQL, one user's change only.
    clock.advance(PRINCIPAL_REFRESH_AHEAD_MS + 500);
    const renewed = async (organizationId: string, userId: string) => {
      for (let attempt = 0; attempt < 200; attempt++) {
        const principal = principals.peek(organizationId, userId);
        if (principal !== undefined) return principal;
        await new Promise((done) => setTimeout(done, 10));
      }
      return undefined;
    };
    expect(await renewed(one.organization.id, teacherOne.id)).toMatchObject({ organizationId: one.organization.id, userId: teacherOne.id, role: 'student' });
    expect(await renewed(other.organization.id, teacherOther.id)).toMatchObject({ organizationId: other.organization.id, userId: teacherOther.id, role: 'teacher' });
    // And the renewed answer counts from when its lookup began: it expires 5 s after that, not 5 s after it arrived.
    clock.advance(PRINCIPAL_TTL_MS - PRINCIPAL_REFRESH_AHEAD_MS - 500);
    expect(principals.peek(one.organization.id, teacherOne.id)).toBeUndefined();
  });

  it('applies a tier change made with the CLI within 5 s, without logging in again', async () => {
    const admin = await signup(first);
    await me(second, admin.token).expect(200);
    expect((await second.get(PrincipalCache).resolve(admin.organization.id, admin.user.id))?.tier).toBe('free');

    const output: string[] = [];
    const program = buildProgram({
      config: () => first.config,
      openContext: (config) => NestFactory.createApplicationContext(CliModule.withConfig(config), { logger: false, abortOnError: false }),
      out: (text) => output.push(text),
      err: (text) => output.push(text),
      progress: () => ({ start: () => undefined, add: () => undefined, stop: () => undefined }),
    });
    await program.parseAsync(['org:set-tier', admin.organization.slug, 'premium'], { from: 'user' });
    expect(output).toEqual([`Organization ${admin.organization.slug} (${admin.organization.id}) is now on tier premium\n`]);

    // /auth/me reads the organization itself; the cached principal (rate limits) follows within the TTL.
    const after = await me(second, admin.token).expect(200);
    expect(after.body.organization.tier).toBe('premium');
    expect((await second.get(PrincipalCache).resolve(admin.organization.id, admin.user.id))?.tier).toBe('free');
    clock.advance(31_000);
    expect((await second.get(PrincipalCache).resolve(admin.organization.id, admin.user.id))?.tier).toBe('premium');
  });
});
