import { randomBytes, scryptSync } from 'node:crypto';
import { HashQueue, MAX_CONCURRENT_HASHES, MAX_WAITING_HASHES } from '../src/auth/hash-queue';
import { ServiceUnavailableProblem } from '../src/errors/api-errors';
import { http, signup, uniqueEmail } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

const PASSWORD = 'the right password';
const INVALID = 'The e-mail or password is incorrect';

/** The service on real PostgreSQL and Redis; X-Forwarded-For from the loopback proxy gives each test its own client IPs. */
describe('login against abuse', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { TRUST_PROXY: 'loopback' } });
  });
  afterAll(() => app.close());

  /** A fresh client address per call, never one an earlier call had, so tests do not share an IP's budget (each app has its own Redis prefix). */
  let addresses = 0;
  const newIp = () => {
    addresses += 1;
    return `198.51.${addresses >> 8}.${addresses & 255}`;
  };
  const login = (ip: string, body: Record<string, unknown>) => http(app).post('/api/v1/auth/login').set('X-Forwarded-For', ip).send(body);

  it('treats İ and i as one address: the İ variant spends the same 5-a-minute budget and logs into the same account', async () => {
    const email = `iris.${randomBytes(4).toString('hex')}@example.test`;
    const account = await signup(app, { email, password: PASSWORD });
    const ip = newIp();
    const variants = [email.replace('i', '\u0130'), email.toUpperCase().replace('I', '\u0130'), email, ` ${email.toUpperCase()} `, email.replace(/i/g, '\u0130')];
    for (const variant of variants) expect((await login(ip, { email: variant, password: 'a wrong password' }).expect(401)).body.detail).toBe(INVALID);
    const sixth = await login(ip, { email: email.replace('i', '\u0130'), password: PASSWORD }).expect(429);
    expect(sixth.body.detail).toMatch(/^Too many failed logins for this e-mail from this address; try again in \d+ s$/);
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(sixth.headers['retry-after'])).toBeLessThanOrEqual(60);

    // From another address the İ spelling is the same account, and it cannot be registered a second time.
    const ok = await login(newIp(), { email: email.replace(/i/g, '\u0130'), password: PASSWORD }).expect(200);
    expect(JSON.parse(Buffer.from(ok.body.access_token.split('.')[1], 'base64url').toString()).sub).toBe(account.user.id);
    await http(app).post('/api/v1/auth/signup').send({ organization_name: 'Twin', name: 'T', email: email.toUpperCase().replace('I', '\u0130'), password: 'another good password' }).expect(409);
    const [stored] = await app.dataSource.query(`SELECT email FROM users WHERE id = $1`, [account.user.id]);
    expect(stored.email).toBe(email);
  });

  it('lets the victim in with the right password after an attacker on the same IP spent the account’s budget', async () => {
    const account = await signup(app, { password: PASSWORD });
    const school = newIp();
    // The victim logged in from this device before, and kept the device token.
    const earlier = await login(school, { email: account.user.email, password: PASSWORD }).expect(200);
    const deviceToken = earlier.body.device_token as string;

    for (let attempt = 0; attempt < 5; attempt++) await login(school, { email: account.user.email, password: `guess number ${attempt}` }).expect(401);
    await login(school, { email: account.user.email, password: 'guess number 6' }).expect(429);
    // A client without a device token on that IP waits for the window, even with the right password ...
    await login(school, { email: account.user.email, password: PASSWORD }).expect(429);
    // ... the victim's device is not refused for the attacker's failures.
    const victim = await login(school, { email: account.user.email, password: PASSWORD, device_token: deviceToken }).expect(200);
    expect(victim.body.access_token).toEqual(expect.any(String));

    // A device token counts its own failures only, and is good for its own account only.
    for (let attempt = 0; attempt < 5; attempt++) await login(school, { email: account.user.email, password: 'mistyped it', device_token: deviceToken }).expect(401);
    await login(school, { email: account.user.email, password: PASSWORD, device_token: deviceToken }).expect(429);
    const other = await signup(app, { password: PASSWORD });
    for (let attempt = 0; attempt < 5; attempt++) await login(school, { email: other.user.email, password: 'a wrong one', device_token: deviceToken }).expect(401);
    await login(school, { email: other.user.email, password: PASSWORD, device_token: deviceToken }).expect(429);
    // A forged or tampered token is no token.
    await login(newIp(), { email: account.user.email, password: PASSWORD, device_token: `${deviceToken.slice(0, -2)}xx` }).expect(200);
  });

  it('refuses the 31st attempt from one IP across e-mails, with the progressive penalty; right passwords spend nothing', async () => {
    const account = await signup(app, { password: PASSWORD });
    const ip = newIp();
    for (let attempt = 0; attempt < 3; attempt++) await login(ip, { email: account.user.email, password: PASSWORD }).expect(200);
    // Each answer with its detail and remaining budget, so a failure says which limit refused and when.
    const answers: string[] = [];
    let last;
    for (let attempt = 1; attempt <= 30; attempt++) {
      last = await login(ip, { email: uniqueEmail('spray'), password: 'Summer2026!' });
      answers.push(`${last.status} ${last.body.detail} (remaining ${last.headers['x-ratelimit-remaining']})`);
    }
    expect(answers).toEqual(Array.from({ length: 30 }, (_, n) => `401 ${INVALID} (remaining ${29 - n})`));
    expect([last!.headers['x-ratelimit-limit'], last!.headers['x-ratelimit-remaining']]).toEqual(['30', '0']);
    const refused = await login(ip, { email: uniqueEmail('spray'), password: 'Summer2026!' }).expect(429);
    expect(refused.headers['retry-after']).toBe('300');
    expect(refused.body).toMatchObject({ status: 429, retry_after: 300 });
    expect(refused.body.detail).toBe('Rate limit of 30 requests per minute exceeded on POST /api/v1/auth/login (violation 1 in 24 h); blocked for 300 s');
    // Blocked for everyone on that address without a device token, right password or not; another address is not.
    await login(ip, { email: account.user.email, password: PASSWORD }).expect(429);
    await login(newIp(), { email: account.user.email, password: PASSWORD }).expect(200);
  });

  it('stops 100 failures an hour per account across IPs, yet never a device that logged in before', async () => {
    const account = await signup(app, { password: PASSWORD });
    const deviceToken = (await login(newIp(), { email: account.user.email, password: PASSWORD }).expect(200)).body.device_token as string;
    const botnet = Array.from({ length: 25 }, () => newIp());
    const attempts = botnet.flatMap((ip) => Array.from({ length: 4 }, (_, n) => ({ ip, password: `botnet guess ${n}` })));
    const statuses = [];
    for (const { ip, password } of attempts) statuses.push((await login(ip, { email: account.user.email, password })).status);
    expect(statuses).toEqual(Array(100).fill(401));
    const refused = await login(newIp(), { email: account.user.email, password: PASSWORD }).expect(429);
    expect(refused.body.detail).toMatch(/^Too many failed logins for this e-mail; a device that has logged in to it before \(device_token\) can still log in; try again in \d+ s$/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(3000);
    await login(newIp(), { email: account.user.email, password: PASSWORD, device_token: deviceToken }).expect(200);
    // 100 password checks one after another: minutes on a busy 2-core host.
  }, 300_000);

  it('answers an address that is not an e-mail like an unknown one, checking a dummy hash for both', async () => {
    const queue = app.get(HashQueue);
    const run = jest.spyOn(queue, 'run');
    try {
      const unknown = await login(newIp(), { email: uniqueEmail('nobody'), password: 'anything at all' }).expect(401);
      const notAnAddress = await login(newIp(), { email: 'not an address at all', password: 'anything at all' }).expect(401);
      const tooLong = await login(newIp(), { email: `${'a'.repeat(300)}@example.test`, password: 'anything at all' }).expect(401);
      for (const response of [unknown, notAnAddress, tooLong]) {
        expect(response.body).toMatchObject({ status: 401, detail: INVALID });
        expect(response.headers['www-authenticate']).toBe('Bearer');
      }
      expect(run).toHaveBeenCalledTimes(3);
    } finally {
      run.mockRestore();
    }
  });

  it('answers 503 with Retry-After: 1 once the hash slots run and 64 wait, and works again when they finish', async () => {
    const queue = app.get(HashQueue);
    const release: Array<() => void> = [];
    const held = Array.from({ length: MAX_CONCURRENT_HASHES + MAX_WAITING_HASHES }, () => queue.run(() => new Promise<void>((resolve) => release.push(resolve))));
    try {
      expect([queue.active, queue.queued]).toEqual([MAX_CONCURRENT_HASHES, 64]);
      const refused = await login(newIp(), { email: uniqueEmail('flood'), password: 'anything at all' }).expect(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(refused.body).toMatchObject({ status: 503, retry_after: 1, detail: 'Too many password checks are in progress; try again in a second' });
      await http(app)
        .post('/api/v1/auth/signup')
        .send({ organization_name: 'Busy', name: 'B', email: uniqueEmail(), password: 'another good password' })
        .expect(503);
    } finally {
      // Each release lets the next held work start and register its own release.
      for (let released = 0; released < held.length; ) {
        const ready = release.splice(0);
        ready.forEach((resolve) => resolve());
        released += ready.length;
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(held);
    }
    await login(newIp(), { email: uniqueEmail('after'), password: 'anything at all' }).expect(401);
  });

  it('upgrades an earlier scrypt hash to argon2id at the next successful login', async () => {
    const account = await signup(app, { password: PASSWORD });
    const salt = randomBytes(16);
    const legacy = ['scrypt', 16384, 8, 1, salt.toString('base64url'), scryptSync(PASSWORD, salt, 64, { N: 16384, r: 8, p: 1 }).toString('base64url')].join('$');
    await app.dataSource.query(`UPDATE users SET password_hash = $2 WHERE id = $1`, [account.user.id, legacy]);
    await login(newIp(), { email: account.user.email, password: 'not the password' }).expect(401);
    expect((await app.dataSource.query(`SELECT password_hash FROM users WHERE id = $1`, [account.user.id]))[0].password_hash).toBe(legacy);
    // The hash queue full just when the upgrade would run: the right password still logs in; the upgrade waits.
    const queue = app.get(HashQueue);
    const run = queue.run.bind(queue);
    const busy = jest.spyOn(queue, 'run').mockImplementationOnce(run).mockRejectedValueOnce(new ServiceUnavailableProblem('Too many password checks are in progress; try again in a second', 1));
    await login(newIp(), { email: account.user.email, password: PASSWORD }).expect(200);
    busy.mockRestore();
    expect((await app.dataSource.query(`SELECT password_hash FROM users WHERE id = $1`, [account.user.id]))[0].password_hash).toBe(legacy);
    await login(newIp(), { email: account.user.email, password: PASSWORD }).expect(200);
    const [upgraded] = await app.dataSource.query(`SELECT password_hash FROM users WHERE id = $1`, [account.user.id]);
    expect(upgraded.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await login(newIp(), { email: account.user.email, password: PASSWORD }).expect(200);
  });

  it('documents the login, its device token, its limits and its 503 in the OpenAPI document', async () => {
    const document = (await http(app).get('/openapi.json').expect(200)).body;
    const login = document.paths['/api/v1/auth/login'].post;
    expect(Object.keys(login.responses).sort()).toEqual(['200', '400', '401', '408', '413', '429', '431', '500', '503', '508']);
    expect(login.responses['503'].headers['Retry-After']).toBeDefined();
    expect(login.responses['503'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/ProblemResponse' });
    expect(document.components.schemas.LoginRequest.required).toEqual(['email', 'password']);
    expect(document.components.schemas.LoginRequest.properties.device_token).toMatchObject({ type: 'string', maxLength: 512 });
    expect(document.components.schemas.LoginResponse.required).toEqual(expect.arrayContaining(['access_token', 'token_type', 'expires_in', 'device_token']));
    const logout = document.paths['/api/v1/auth/logout'].post;
    expect(Object.keys(logout.responses)).toEqual(expect.arrayContaining(['204', '401']));
    expect(logout.security).toEqual([{ bearer: [] }]);
  });
});
