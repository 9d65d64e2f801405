// In-process driver: CPU µs per request through the real app's 'request' listener, no network.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import { createHmac, randomUUID } from 'node:crypto';
const secret = 'x'.repeat(40);
Object.assign(process.env, { NODE_ENV: 'production', PORT: '0', DATABASE_URL: process.env.DB ?? 'postgres://postgres@127.0.0.1:5432/toolbox_bench_tiny', REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: 'h' + Date.now(), JWT_SECRET: secret, MIGRATIONS_RUN: 'false', DEMO_DATA: 'false', RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: process.env.LL ?? 'info' });
import { createRequire } from 'node:module'; import { setFlagsFromString } from 'node:v8';
const require = createRequire(import.meta.url); require('reflect-metadata'); if (process.env.HGP) setFlagsFromString('--heap-growing-percent=' + process.env.HGP);
const { NestFactory } = require('@nestjs/core');
const { AppModule } = require('./dist/src/app.module.js');
const { configureApp } = require('./dist/src/app.setup.js');
const app = await NestFactory.create(AppModule, { bodyParser: false, logger: false });
await configureApp(app);
const listener = app.getHttpServer().listeners('request')[0];
class FakeSocket extends Duplex { constructor() { super(); this.remoteAddress = '127.0.0.1'; this.encrypted = false; } _read() {} _write(c, e, cb) { cb(); } _writev(c, cb) { cb(); } setTimeout() {} setNoDelay() {} setKeepAlive() {} }
const path = process.argv[2] ?? '/health/live'; const n = Number(process.argv[3] ?? 20000);
let headers = { host: 'x' };
if (path.startsWith('/api')) {
  const pg = new (await import('pg')).default.Client({ connectionString: process.env.DATABASE_URL }); await pg.connect();
  const { rows: [a] } = await pg.query(`SELECT u.id, u.organization_id, u.token_version FROM users u JOIN organizations o ON o.id = u.organization_id WHERE o.slug LIKE 'bench-large%' AND u.role='admin' LIMIT 1`); await pg.end();
  const e = (v) => Buffer.from(JSON.stringify(v)).toString('base64url'); const now = Math.floor(Date.now()/1000);
  const u = `${e({alg:'HS256',typ:'JWT'})}.${e({ sub: a.id, org: a.organization_id, role: 'admin', ver: a.token_version, jti: randomUUID(), iat: now, exp: now+3600})}`;
  headers.authorization = `Bearer ${u}.${createHmac('sha256', secret).update(u).digest('base64url')}`;
}

function one() {
  return new Promise((done) => {
    const socket = new FakeSocket(); const req = new IncomingMessage(socket); req.method = 'GET'; req.url = path; req.headers = { ...headers }; req.httpVersion = '1.1'; req.httpVersionMajor = 1; req.httpVersionMinor = 1; req.complete = true; req.push(null);
    const res = new ServerResponse(req); res.assignSocket(socket); res.on('finish', () => { res.detachSocket(socket); done(res.statusCode); });
    listener(req, res);
  });
}
const conc = Number(process.env.CONC ?? 10);
async function run(count) { let left = count; const worker = async () => { while (left-- > 0) { const s = await one(); if (s !== 200) throw new Error('status ' + s); } }; await Promise.all(Array.from({ length: conc }, worker)); }
await run(3000);
const results = [];
for (let r = 0; r < 5; r++) { const t0 = process.cpuUsage(); await run(n); const c = process.cpuUsage(t0); results.push(((c.user + c.system) / n).toFixed(1)); }
console.error(path, 'cpu µs/req', results.join(' '));
await app.close(); process.exit(0);
