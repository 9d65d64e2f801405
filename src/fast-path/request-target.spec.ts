import express from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { normalizeQuery } from '../cache/cache-keys';
import { parseQuery, readRequestTarget } from './request-target';

const read = (target: string) => {
  const { path, rawQuery } = readRequestTarget(target)!;
  return { path, query: { ...parseQuery(rawQuery) } };
};

const TARGETS = [
  '/api/v1/metrics/activity',
  '/api/v1/metrics/activity?',
  '/api/v1/metrics/activity?hours=24&limit=20',
  '/api/v1/metrics/activity?limit=20&hours=24',
  '/api/v1/metrics/activity?hours=24&hours=48',
  '/api/v1/metrics/activity?hours=%32%34&limit=2%30',
  '/api/v1/metrics/activity?hours=1+2&x',
  '/api/v1/metrics/activity?hours=&limit',
  '/api/v1/metrics/activity?a[b]=1&c.d=2',
  '/api/v1/metrics/activity?%E2%82%AC=%ZZ',
  '/api/v1/metrics/activity?hours=24?limit=20',
  '/api/v1/metrics/statistics?period=7d&period=7d',
];

describe('readRequestTarget', () => {
  it('reads path and query exactly as Express 5 does (its default "simple" parser)', async () => {
    const app = express();
    const seen: Array<{ path: string; query: unknown }> = [];
    app.use((request, response) => {
      seen.push({ path: request.path, query: { ...request.query } });
      response.end();
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      for (const target of TARGETS) await fetch(`http://127.0.0.1:${port}${target}`);
    } finally {
      server.close();
    }
    expect(TARGETS.map(read)).toEqual(seen);
  });

  it('keys a query the way the interceptor does: repeated parameters are not keyable', () => {
    const defaults = { hours: '24', limit: '20' };
    expect(normalizeQuery(read('/a?limit=20&hours=24').query, defaults)).toBe('hours=24&limit=20');
    expect(normalizeQuery(read('/a').query, defaults)).toBe('hours=24&limit=20');
    expect(normalizeQuery(read('/a?hours=24&hours=24').query, defaults)).toBeNull();
    expect(normalizeQuery(read('/a?bucket=1').query, defaults)).toBeNull();
  });

  it('leaves to Express the targets its URL parser reads the slow way', () => {
    for (const target of ['/a?b=1#frag', '/a?b= 1', '/a?b=\t', 'http://host/a', '*']) expect(readRequestTarget(target)).toBeNull();
  });
});
