import { NestFactory } from '@nestjs/core';
import { CliModule } from '../src/cli/cli.module';
import { CliEnvironment, runCli } from '../src/cli/program';
import { AppConfig, loadConfig } from '../src/config/app-config';
import { LAST_ADMIN_RULE } from '../src/users/users.service';
import { http, signup, uniqueEmail, userWithRole } from './support/factories';
import { createTestApp, TEST_JWT_SECRET, TestApp } from './support/test-app';
import { databaseUrl, workerDatabaseName } from './support/test-env';

/** The CLI as main.ts runs it, on the worker's database, with its output captured and the password input scripted. */
function cli(passwords: string[] = []) {
  const out: string[] = [];
  const err: string[] = [];
  const prompts: string[] = [];
  const environment: CliEnvironment = {
    config: () => loadConfig({ DATABASE_URL: databaseUrl(workerDatabaseName()), JWT_SECRET: TEST_JWT_SECRET } as NodeJS.ProcessEnv),
    openContext: (config: AppConfig) => NestFactory.createApplicationContext(CliModule.withConfig(config), { logger: false, abortOnError: false }),
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    progress: () => ({ start: () => undefined, add: () => undefined, stop: () => undefined }),
    readPassword: async (prompt) => (prompts.push(prompt), passwords.shift() ?? ''),
  };
  return { run: (...args: string[]) => runCli(args, environment), out, err, prompts };
}

describe('account commands of the operations CLI', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const login = (email: string, password: string) => http(app).post('/api/v1/auth/login').send({ email, password });

  it('org:create makes a free organization with its admin and prints a generated password once', async () => {
    const email = uniqueEmail('first.admin').toUpperCase();
    const run = cli();
    expect(await run.run('org:create', 'Lakeside School', '--admin', email)).toBe(0);
    expect(run.err).toEqual([]);
    const [created, password] = run.out;
    expect(created).toMatch(new RegExp(`^Organization lakeside-school(-[0-9a-f]{6})? \\(([0-9a-f-]{36})\\) created with admin ${email.toLowerCase().replace(/\./g, '\\.')}\\n$`));
    expect(password).toMatch(/^Password \(shown once\): [A-Za-z0-9_-]{24}\n$/);
    const token = (await login(email, password.slice('Password (shown once): '.length, -1)).expect(200)).body.access_token;
    const me = await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`).expect(200);
    expect([me.body.user.role, me.body.user.email, me.body.organization.tier, me.body.organization.name]).toEqual(['admin', email.toLowerCase(), 'free', 'Lakeside School']);
  });

  it('org:create --password-stdin takes the password from the prompt, under the password rules', async () => {
    const email = uniqueEmail('typed');
    const weak = cli(['password1234']);
    expect(await weak.run('org:create', 'Weak School', '--admin', email, '--password-stdin')).toBe(1);
    expect(weak.err).toEqual(['The password is in a list of commonly used passwords; choose another\n']);
    expect(await app.dataSource.query(`SELECT 1 FROM users WHERE email = $1`, [email])).toHaveLength(0);

    const run = cli(['a typed passphrase']);
    expect(await run.run('org:create', 'Typed School', '--admin', email, '--admin-name', 'Tess Typed', '--password-stdin')).toBe(0);
    expect(run.prompts).toEqual(['Password for the admin: ']);
    expect(run.out).toHaveLength(1);
    await login(email, 'a typed passphrase').expect(200);

    const taken = cli();
    expect(await taken.run('org:create', 'Again', '--admin', email)).toBe(1);
    expect(taken.err).toEqual([`A user with the e-mail ${email} already exists\n`]);
    const invalid = cli();
    expect(await invalid.run('org:create', 'Bad', '--admin', 'not-an-address')).toBe(1);
    expect(invalid.err).toEqual(['"not-an-address" is not a valid e-mail address\n']);
    const unnamed = cli();
    const other = uniqueEmail('unnamed');
    expect(await unnamed.run('org:create', 'Unnamed', '--admin', other, '--admin-name', '  ')).toBe(1);
    expect(unnamed.err).toEqual(["The admin's name must be 1 to 200 characters long\n"]);
    expect(await app.dataSource.query(`SELECT 1 FROM organizations WHERE name = 'Unnamed'`)).toHaveLength(0);
  });

  it('user:set-role makes any user an admin, and refuses to demote the last active admin', async () => {
    const admin = await signup(app);
    const teacher = await userWithRole(app, admin, 'teacher');
    const promote = cli();
    expect(await promote.run('user:set-role', teacher.email.toUpperCase(), 'admin')).toBe(0);
    expect(promote.out).toEqual([`User ${teacher.email} (${teacher.id}) is now admin\n`]);
    // The teacher's earlier token was for another role: it no longer works.
    await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${teacher.token}`).expect(401);

    expect(await cli().run('user:set-role', admin.user.email, 'student')).toBe(0);
    const last = cli();
    expect(await last.run('user:set-role', teacher.email, 'teacher')).toBe(1);
    expect(last.err).toEqual([`${LAST_ADMIN_RULE}\n`]);
    const unknown = cli();
    expect(await unknown.run('user:set-role', 'nobody.at.all@example.test', 'admin')).toBe(1);
    expect(unknown.err).toEqual(['No user with the e-mail nobody.at.all@example.test\n']);
    const badRole = cli();
    expect(await badRole.run('user:set-role', teacher.email, 'owner')).toBe(1);
    expect(badRole.err).toEqual(['Invalid role "owner": allowed values are admin, teacher, student\n']);
  });

  it('user:set-password reads the password (never from the command line) or generates one, and ends the earlier tokens', async () => {
    const admin = await signup(app);
    const typed = cli(['aaaaaaaaaa', 'my new passphrase']);
    expect(await typed.run('user:set-password', admin.user.email)).toBe(1);
    expect(typed.err).toEqual(['The password must not be one character repeated\n']);
    expect(await typed.run('user:set-password', admin.user.email)).toBe(0);
    expect(typed.prompts).toEqual(['New password: ', 'New password: ']);
    await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${admin.token}`).expect(401);
    await login(admin.user.email, 'correct horse battery').expect(401);
    await login(admin.user.email, 'my new passphrase').expect(200);

    const generated = cli();
    expect(await generated.run('user:set-password', admin.user.email, '--generate')).toBe(0);
    expect(generated.prompts).toEqual([]);
    const password = generated.out[1].slice('Password (shown once): '.length, -1);
    await login(admin.user.email, password).expect(200);
    // A password given as an argument is a usage error: it would sit in the shell history.
    const argv = cli();
    expect(await argv.run('user:set-password', admin.user.email, 'on the command line')).not.toBe(0);
    // Four CLI contexts and four password hashes.
  }, 120_000);
});
