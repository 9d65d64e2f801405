import { Writable } from 'node:stream';
import { createLogger, type PlainField, writeInfoLine } from '../observability/logger';
import type { ServerResponse } from 'node:http';
import { Clock } from '../common/clock';
import { RequestMetrics } from '../observability/request-metrics';
import { CompletedRun, completionFields, RequestCompletion } from './correlation.middleware';
import { logFieldsOf, type RequestIds } from './request-context';

/** Every line a JSON logger writes, with the time pinned (the one part that differs between two writes). */
function lines(write: (logger: ReturnType<typeof createLogger>) => void): string[] {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  write(createLogger({ level: 'info', serviceName: 'toolbox-metrics', destination, pretty: false }));
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/"time":"[^"]+"/, '"time":"T"'));
}

describe('completionFields', () => {
  const full: Partial<RequestIds> = {
    correlationId: 'corr-1',
    requestId: '6f1c1c0e-2b7a-4c57-9a43-1f0e8c1d2e3f',
    parentCorrelationId: 'parent-1',
    chainDepth: 2,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    organizationId: '8209bba2-3727-4a44-9e02-5435a2662600',
    userId: '0a4cf2a8-6f7e-4c36-9b59-7d3f7a0c1e11',
  };
  const contexts: Array<[string, Partial<RequestIds>]> = [
    ['every id', full],
    ['before authentication', { correlationId: 'corr-2', requestId: full.requestId, chainDepth: 1 }],
    ['an API key instead of a user', { ...full, userId: undefined, apiKeyId: 'b0c7b0a2-0d8f-4c7b-8f2e-1f9f3b0a9c55' }],
    ['empty parent and trace', { ...full, parentCorrelationId: '', traceId: '' }],
    ['no request context at all', {}],
  ];

  it.each(contexts)('writes the line the request context and its fields wrote before, with %s', (_name, ids) => {
    for (const [status, stream, aborted] of [
      [200, undefined, false],
      [499, undefined, true],
      [200, 12.345, false],
    ] as Array<[number, number | undefined, boolean]>) {
      const before = lines((logger) => {
        const fields = logFieldsOf(ids) as Record<string, PlainField>;
        fields.method = 'GET';
        fields.route = '/api/v1/metrics/dashboard';
        fields.status = status;
        fields.duration_ms = 1.234;
        if (stream !== undefined) fields.stream_seconds = stream;
        if (aborted) fields.aborted = true;
        writeInfoLine(logger, fields, 'request completed');
      });
      const after = lines((logger) =>
        writeInfoLine(logger, completionFields(ids, 'GET', '/api/v1/metrics/dashboard', status, 1.234, stream, aborted) as unknown as Record<string, PlainField>, 'request completed'),
      );
      expect(after).toEqual(before);
      expect(after).toHaveLength(1);
    }
  });

  it('gives every request one object shape, whatever it carries', () => {
    const shapes = contexts.map(([, ids]) => Object.keys(completionFields(ids, 'GET', '/x', 200, 1, undefined, false)).join());
    expect(new Set(shapes).size).toBe(1);
  });
});

describe('CompletedRun', () => {
  const ids: Partial<RequestIds> = {
    correlationId: 'corr-1',
    requestId: '6f1c1c0e-2b7a-4c57-9a43-1f0e8c1d2e3f',
    chainDepth: 1,
    organizationId: '8209bba2-3727-4a44-9e02-5435a2662600',
    userId: '0a4cf2a8-6f7e-4c36-9b59-7d3f7a0c1e11',
  };
  const route = '/api/v1/metrics/dashboard';
  const run = new CompletedRun(ids.organizationId as string, ids.userId as string, 'GET', route, 200);

  /** A closed response as node:http leaves it: sent (or its client gone first) with this status. */
  const closed = (status: number, finished: boolean) => ({ statusCode: status, writableFinished: finished, headersSent: finished, getHeader: () => undefined }) as unknown as ServerResponse;

  /** The request's line and recorded status, once with the run and once without it. */
  function recorded(requestIds: Partial<RequestIds>, status: number, finished: boolean, withRun: boolean) {
    const statuses: number[] = [];
    const metrics = new RequestMetrics(new Clock());
    metrics.onRecord((_route, _method, recordedStatus) => statuses.push(recordedStatus));
    const written = lines((logger) => new RequestCompletion(metrics, logger, requestIds, 'GET', route, performance.now(), false, withRun ? run : undefined).closed(closed(status, finished)));
    return { line: written.map((line) => line.replace(/"duration_ms":[\d.e-]+/, '"duration_ms":"D"')), statuses };
  }

  const cases: Array<[string, Partial<RequestIds>, number, boolean]> = [
    ['a hit as the run expects', ids, 200, true],
    ['a rejection (429)', ids, 429, true],
    ['a client gone before the answer', ids, 200, false],
    ['a parent correlation id', { ...ids, parentCorrelationId: 'parent-1' }, 200, true],
    ['a trace id', { ...ids, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }, 200, true],
    ['an API key', { ...ids, userId: undefined, apiKeyId: 'b0c7b0a2-0d8f-4c7b-8f2e-1f9f3b0a9c55' }, 200, true],
    ['another user', { ...ids, userId: '11111111-6f7e-4c36-9b59-7d3f7a0c1e11' }, 200, true],
    ['another organization', { ...ids, organizationId: '22222222-3727-4a44-9e02-5435a2662600' }, 200, true],
  ];

  it.each(cases)('leaves the line and the record as they are without it, for %s', (_name, requestIds, status, finished) => {
    const withRun = recorded(requestIds, status, finished, true);
    const without = recorded(requestIds, status, finished, false);
    expect(withRun).toEqual(without);
    expect(withRun.line).toHaveLength(1);
    expect(withRun.statuses).toEqual([finished ? status : 499]);
  });

  it('fits only a request of its organization, user, method and route that ended with its status, without parent, trace or key', () => {
    expect(run.fits(ids, 'GET', route, 200)).toBe(true);
    expect(run.fits(ids, 'GET', route, 429)).toBe(false);
    expect(run.fits(ids, 'HEAD', route, 200)).toBe(false);
    expect(run.fits(ids, 'GET', '/api/v1/metrics/users', 200)).toBe(false);
    for (const [, requestIds] of cases.slice(3)) expect(run.fits(requestIds, 'GET', route, 200)).toBe(false);
    expect(JSON.parse(recorded(ids, 200, true, true).line[0])).toEqual({
      level: 'info',
      time: 'T',
      service: 'toolbox-metrics',
      correlation_id: 'corr-1',
      request_id: ids.requestId,
      organization_id: ids.organizationId,
      user_id: ids.userId,
      method: 'GET',
      route,
      status: 200,
      duration_ms: 'D',
      msg: 'request completed',
    });
  });
});
