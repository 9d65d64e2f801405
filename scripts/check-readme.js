'use strict';
// Follows README.md on a fresh clone of the committed tree: the set-up commands (`npm install && npm start`, then a
// restart) and the production commands, taken from the README's code blocks so that the check reads what a newcomer
// reads. Changed only where a shared machine needs it: the hosts `db` and `redis` become 127.0.0.1, the role and
// database names get a unique suffix, and PORT and REDIS_KEY_PREFIX are set so parallel runs do not collide.
//
// Checks: the start time (30 s after a fresh install, 15 s on a built tree), the console banner, a token that stays
// valid across a restart, the resident memory of the whole `npm start` process tree (400 MB: its peak sampled every
// 50 ms during the first start and a restart, children included, and what it holds once started), that SIGTERM or SIGINT
// to the npm process stops the service and frees the port, and that the production steps work as a non-superuser
// owner role (with CREATEROLE, and with a toolbox_app role a superuser created beforehand).
//
// Timings are judged only on an unloaded machine: while the load average exceeds the number of cores, an overrun is
// reported, not failed. Usage: node scripts/check-readme.js (PostgreSQL superuser from TEST_DATABASE_URL, Redis
// from TEST_REDIS_URL, defaults as for npm test).
const { execFileSync, spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } = require('node:fs');
const net = require('node:net');
const { availableParallelism, loadavg, tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const SUPERUSER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MEMORY_LIMIT_KB = 400 * 1024;
const failures = [];
const notes = [];

function check(condition, message) {
  process.stdout.write(`${condition ? 'ok  ' : 'FAIL'} ${message}\n`);
  if (!condition) failures.push(message);
}

function checkTime(seconds, limit, what) {
  const loaded = loadavg()[0] > availableParallelism();
  if (seconds <= limit || !loaded) check(seconds <= limit, `${what} answered in ${seconds.toFixed(1)} s (at most ${limit} s)`);
  else notes.push(`${what} took ${seconds.toFixed(1)} s (target ${limit} s) with a load average of ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores: reported, not judged`);
}

/** The bash code blocks of one `## ` section of the README, in order. */
function codeBlocks(readme, heading) {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((match) => match[1]);
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
    server.on('error', reject);
  });
}

function portAnswers(port) {
  return new Promise((resolveAnswer) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolveAnswer(true);
    });
    socket.on('error', () => resolveAnswer(false));
  });
}

const sleep = (ms) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

function children(pid) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The parent pid is the second field after the parenthesized command name.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

function processTree(pid) {
  return [pid, ...children(pid).flatMap(processTree)];
}

function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

function residentKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Samples the resident memory of a whole process tree every 50 ms (children come and go: the build and the initdb of a
 * first start run in short-lived ones) until stop(), which returns the peak of the sum and what it was made of.
 */
function watchTree(root) {
  let peakKb = 0;
  let parts = '';
  const sample = () => {
    const sizes = processTree(root).map((pid) => [pid, residentKb(pid)]);
    const totalKb = sizes.reduce((sum, [, kb]) => sum + kb, 0);
    if (totalKb <= peakKb) return;
    peakKb = totalKb;
    parts = sizes.map(([pid, kb]) => `${commandLine(pid).split(' ').slice(0, 2).join(' ')} ${Math.round(kb / 1024)}`).join(' + ');
  };
  sample();
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { mb: Math.round(peakKb / 1024), kb: peakKb, parts };
    },
  };
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs a README block in bash; its output is collected, and echoed when the check fails. */
function runBlock(script, options) {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = { child, output: '', exited: false, code: null };
  child.stdout.on('data', (chunk) => (run.output += chunk));
  child.stderr.on('data', (chunk) => (run.output += chunk));
  run.done = new Promise((resolveDone) =>
    child.on('exit', (code, signal) => {
      run.exited = true;
      run.code = code ?? signal;
      resolveDone(run.code);
    }),
  );
  return run;
}

/** Waits for the process whose command line matches (a descendant of root) and returns its pid. */
async function findProcess(root, pattern, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = processTree(root).find((candidate) => pattern.test(commandLine(candidate)));
    if (pid) return pid;
    if (!alive(root)) return null;
    await sleep(100);
  }
  return null;
}

async function waitForHttp(url, run, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !run.exited) {
    try {
      const response = await fetch(url);
      if (response.ok) return true;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  return false;
}

async function waitForOutput(run, pattern, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !pattern.test(run.output)) await sleep(100);
  return pattern.exec(run.output);
}

/** Sends the signal to the npm process and checks that the service stops, the port is free and nothing is left. */
async function stopBySignal(npmPid, port, signal, run) {
  const tree = processTree(npmPid);
  process.kill(npmPid, signal);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && tree.some(alive)) await sleep(100);
  const left = tree.filter(alive);
  check(left.length === 0, `${signal} to the npm process ended the service (left: ${left.map((pid) => `${pid} ${commandLine(pid)}`).join(', ') || 'nothing'})`);
  check(!(await portAnswers(port)), `port ${port} is free after ${signal}`);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  await Promise.race([run.done, sleep(5000)]);
}

async function api(port, method, path, token, body) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

function cleanEnvironment(extra) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(DATABASE_|REDIS_|JWT_|NODE_ENV|PORT|EMBEDDED_|MIGRATIONS_RUN|DEMO_DATA|LOG_|npm_)/.test(key)) delete env[key];
  }
  return { ...env, ...extra };
}

function psql(sql, database = 'postgres') {
  const url = new URL(SUPERUSER_URL);
  url.pathname = `/${database}`;
  return execFileSync('psql', [url.toString(), '-v', 'ON_ERROR_STOP=1', '-Atqc', sql], { encoding: 'utf8' }).trim();
}

async function setUp(clone) {
  const [install] = codeBlocks(readFileSync(join(clone, 'README.md'), 'utf8'), 'Set-up');
  check(install.trim() === 'npm install && npm start', `the set-up block is "npm install && npm start" (found "${install.trim()}")`);
  const port = await freePort();
  const env = cleanEnvironment({ PORT: String(port) });

  const first = runBlock(install, { cwd: clone, env });
  const npmStart = await findProcess(first.child.pid, /^npm start/, 600_000);
  if (!npmStart) throw new Error(`npm install && npm start did not reach npm start:\n${first.output}`);
  const started = Date.now();
  const firstStart = watchTree(npmStart);
  const answered = await waitForHttp(`http://127.0.0.1:${port}/health/live`, first, 180_000);
  check(answered, 'npm start serves /health/live after a fresh install');
  if (!answered) throw new Error(first.output);
  checkTime((Date.now() - started) / 1000, 30, 'npm start after a fresh install');
  const banner = await waitForOutput(first, /Demo login\s+(\S+)\s+password (\S+)/, 10_000);
  const firstPeak = firstStart.stop();
  check(firstPeak.kb <= MEMORY_LIMIT_KB, `during the first start (compile, the new data directory, migrations, demo data) the npm start process tree peaked at ${firstPeak.mb} MB resident (at most 400 MB; ${firstPeak.parts})`);
  check(new RegExp(`Dashboard\\s+http://localhost:${port}/\\n`).test(first.output), 'the banner names the dashboard page');
  check(new RegExp(`API docs\\s+http://localhost:${port}/docs\\n`).test(first.output), 'the banner names /docs');
  check(Boolean(banner), 'the banner shows the demo login once');
  check(!/^\{"level"/m.test(first.output), 'no JSON log lines on the default console');
  check(first.output.split('\n').length < 40, `a short console (${first.output.split('\n').length} lines including npm install)`);
  const treeKb = processTree(npmStart).reduce((sum, pid) => sum + residentKb(pid), 0);
  check(treeKb <= MEMORY_LIMIT_KB, `the npm start process tree holds ${Math.round(treeKb / 1024)} MB resident (at most 400 MB)`);
  const login = await api(port, 'POST', '/api/v1/auth/login', null, { email: banner?.[1], password: banner?.[2] });
  check(login.status === 200, `the demo login from the banner works (${login.status})`);
  check(existsSync(join(clone, 'data/pglite/toolbox-jwt-secret')), 'the generated JWT secret is kept in the data directory');
  await stopBySignal(npmStart, port, 'SIGTERM', first);

  const second = runBlock('npm start', { cwd: clone, env });
  const restartedNpm = await findProcess(second.child.pid, /^npm start/, 30_000);
  const restarted = Date.now();
  const restart = watchTree(restartedNpm);
  check(await waitForHttp(`http://127.0.0.1:${port}/health/live`, second, 120_000), 'npm start serves again after a restart');
  checkTime((Date.now() - restarted) / 1000, 15, 'npm start on a built tree');
  await waitForOutput(second, /user:set-password/, 10_000);
  const restartPeak = restart.stop();
  check(restartPeak.kb <= MEMORY_LIMIT_KB, `during a restart the npm start process tree peaked at ${restartPeak.mb} MB resident (at most 400 MB; ${restartPeak.parts})`);
  check(/already exists/.test(second.output) && /npm run cli -- user:set-password admin@demo\.toolbox-metrics\.example/.test(second.output), 'the restart says the demo exists and how to set a new password');
  check(!/Compiling/.test(second.output), 'a built tree is not compiled again');
  const me = await api(port, 'GET', '/api/v1/auth/me', login.body?.access_token);
  check(me.status === 200 && me.body?.user?.email === banner?.[1], `a token issued before the restart is still valid (${me.status})`);
  const restartKb = processTree(restartedNpm).reduce((sum, pid) => sum + residentKb(pid), 0);
  check(restartKb <= MEMORY_LIMIT_KB, `after a restart the process tree holds ${Math.round(restartKb / 1024)} MB resident (at most 400 MB)`);
  await stopBySignal(restartedNpm, port, 'SIGINT', second);

  const help = Date.now();
  execFileSync('npm', ['run', '--silent', 'cli', '--', '--help'], { cwd: clone, env, stdio: 'ignore' });
  checkTime((Date.now() - help) / 1000, 3, '`npm run cli -- --help` on a built tree');
}

async function production(clone) {
  const [superuserBlock, deployBlock] = codeBlocks(readFileSync(join(clone, 'README.md'), 'utf8'), 'Production');
  const suffix = randomBytes(4).toString('hex');
  const owner = `tm_readme_owner_${suffix}`;
  const database = `tm_readme_${suffix}`;
  const superuser = new URL(SUPERUSER_URL);
  const redis = new URL(REDIS_URL);
  const local = (block) =>
    block
      .replaceAll('-h db -U postgres', `-h ${superuser.hostname} -p ${superuser.port || 5432} -U ${decodeURIComponent(superuser.username) || 'postgres'}`)
      .replaceAll('@db:5432/', `@127.0.0.1:${superuser.port || 5432}/`)
      .replaceAll('redis://redis:6379/', `redis://${redis.host}/`)
      .replaceAll('toolbox_owner', owner)
      .replaceAll('toolbox_metrics', database);
  const port = await freePort();
  const env = cleanEnvironment({ PORT: String(port), REDIS_KEY_PREFIX: `readme${suffix}`, PGPASSWORD: decodeURIComponent(superuser.password) });
  try {
    const created = runBlock(local(superuserBlock), { cwd: clone, env });
    check((await created.done) === 0, `the superuser block creates the owner role and database${created.code === 0 ? '' : `:\n${created.output}`}`);
    check(psql(`SELECT rolsuper FROM pg_roles WHERE rolname = '${owner}'`) === 'f', 'the owner role is not a superuser');

    // The other privilege set the README names: no CREATEROLE, toolbox_app created beforehand by a superuser.
    const plainOwner = `tm_readme_plain_${suffix}`;
    const plainDatabase = `tm_readme_plain_${suffix}`;
    psql(`CREATE ROLE ${plainOwner} LOGIN PASSWORD 'change-me'`);
    psql(`CREATE DATABASE ${plainDatabase} OWNER ${plainOwner}`);
    psql(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'toolbox_app') THEN CREATE ROLE toolbox_app NOLOGIN; END IF; END $$`);
    psql(`GRANT toolbox_app TO ${plainOwner} WITH ADMIN OPTION`);
    const migrate = runBlock('npm run migration:run', {
      cwd: clone,
      env: { ...env, PGPASSWORD: '', NODE_ENV: 'production', JWT_SECRET: randomBytes(32).toString('hex'), DATABASE_URL: `postgres://${plainOwner}:change-me@127.0.0.1:${superuser.port || 5432}/${plainDatabase}` },
    });
    check((await migrate.done) === 0, `migration:run works for an owner without CREATEROLE given toolbox_app WITH ADMIN OPTION${migrate.code === 0 ? '' : `:\n${migrate.output}`}`);

    const deploy = runBlock(local(deployBlock), { cwd: clone, env: { ...env, PGPASSWORD: '' } });
    const npmStart = await findProcess(deploy.child.pid, /^npm run start:prod/, 900_000);
    check(Boolean(npmStart), 'npm ci, build, migration:run and org:create succeed as written');
    if (!npmStart) throw new Error(deploy.output);
    const ready = await waitForHttp(`http://127.0.0.1:${port}/health/ready`, deploy, 60_000);
    check(ready, 'the production service is ready (database and Redis up)');
    const listening = await waitForOutput(deploy, /^\{.*"msg":"Listening".*\}$/m, 10_000);
    check(Boolean(listening), 'production logs are JSON lines, the start-up line included');
    check(psql(`SELECT count(*) FROM users WHERE email = 'admin@northwind.example' AND role = 'admin'`, database) === '1', 'org:create made the first admin');
    check(psql(`SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`, database) === owner, 'the owner role owns every table');
    await stopBySignal(npmStart, port, 'SIGTERM', deploy);
  } finally {
    for (const name of [database, `tm_readme_plain_${suffix}`]) psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    for (const name of [owner, `tm_readme_plain_${suffix}`]) psql(`DROP ROLE IF EXISTS ${name}`);
  }
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'tm-readme-'));
  const clone = join(work, 'toolbox-metrics');
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    execFileSync('git', ['clone', '--quiet', ROOT, clone]);
    execFileSync('git', ['checkout', '--quiet', head], { cwd: clone });
    process.stdout.write(`README check on a fresh clone of ${head.slice(0, 12)} in ${clone}, Node.js ${process.version}\n`);
    await setUp(clone);
    await production(clone);
  } finally {
    rmSync(work, { recursive: true, force: true });
    for (const note of notes) process.stdout.write(`note ${note}\n`);
  }
  if (failures.length > 0) {
    process.stdout.write(`\n${failures.length} README check(s) failed\n`);
    process.exit(1);
  }
  process.stdout.write('\nThe README works as written.\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
