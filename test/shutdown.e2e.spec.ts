import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisConnection } from '../src/redis/redis-connection';
import { ProbeService, withProbeRoutes } from './correlation-probe.module';
import { waitFor } from './support/private-redis';
import { rawRequest } from './support/raw-http';
import { createTestApp } from './support/test-app';

const get = (port: number, path: string) => rawRequest(port, { path }).then(({ status, body }) => ({ status, body: body.toString('utf8') }));

// SIGTERM runs app.close() (enableShutdownHooks in configureApp): this is that path, without killing jest.
describe('graceful shutdown', () => {
  it('stops accepting, lets the in-flight request finish, then closes the database and Redis', async () => {
    const app = await createTestApp({ override: withProbeRoutes });
    await app.app.listen(0, '127.0.0.1');
    const { port } = app.app.getHttpServer().address() as AddressInfo;
    const probe = app.get(ProbeService);
    const redis = app.get(RedisConnection);
    await waitFor(() => redis.isReady, 'Redis to connect');

    const noop = probe.release;
    const inFlight = get(port, '/api/v1/probe/hang');
    await waitFor(() => probe.release !== noop, 'the request to reach its handler');

    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await sleep(200);
    // Draining: the request is still open, so the database and Redis are too; new connections are refused.
    expect(closed).toBe(false);
    expect(app.dataSource.isInitialized).toBe(true);
    await expect(get(port, '/health/live')).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    probe.release();
    await expect(inFlight).resolves.toEqual({ status: 200, body: 'too late' });
    await closing;
    expect(app.dataSource.isInitialized).toBe(false);
    expect(redis.client?.isOpen).toBe(false);
  });
});
