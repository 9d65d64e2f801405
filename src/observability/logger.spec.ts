import { Writable } from 'node:stream';
import pino from 'pino';
import { createLogger, isoTimeOncePerMs, type PlainField, PlainInfoLine, writeInfoLine } from './logger';

function capture(): { text: () => string; stream: Writable } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

/** The time is the only part of a line that differs between two writes: pin it to compare them byte for byte. */
function withoutTime(line: string): string {
  return line.replace(/"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/, '"time":"T"');
}

describe('writeInfoLine', () => {
  const fields: Record<string, PlainField> = {
    correlation_id: 'abc-1',
    request_id: '6f1c1c0e-2b7a-4c57-9a43-1f0e8c1d2e3f',
    organization_id: null,
    user_id: 'quote " backslash \\ newline \n tab \t é 😀',
    parent_correlation_id: undefined,
    method: 'GET',
    route: '/api/v1/metrics/dashboard',
    status: 200,
    duration_ms: 1.234,
    stream_seconds: 12,
    aborted: true,
    not_finite: Number.NaN,
    // pino quotes strings of up to 100 characters itself and hands longer ones, and any with a control character, to JSON.stringify.
    long_route: `/api/v1/${'"quoted" \\ '.repeat(12)}`,
    control_only: 'bell \u0007',
    quotes_and_backslashes: 'C:\\temp "x" \\',
    // Escaped only at the very start: written as pino writes it, not left unescaped (invalid JSON).
    backslash_first: '\\ then nothing to escape',
    quote_only: '"',
    lone_surrogate: 'half \ud83d of an emoji',
    negative: -0.5,
    infinite: Number.POSITIVE_INFINITY,
    falsy: false,
  };

  it('writes the very bytes pino writes for the same fields and message, in the same order', () => {
    const direct = capture();
    const viaPino = capture();
    writeInfoLine(createLogger({ level: 'info', serviceName: 'svc "x"', destination: direct.stream }), fields, 'request completed');
    createLogger({ level: 'info', serviceName: 'svc "x"', destination: viaPino.stream }).info({ ...fields }, 'request completed');

    expect(direct.text()).toMatch(/^\{"level":"info","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","service":"svc \\"x\\"","correlation_id":"abc-1",/);
    expect(direct.text().endsWith(',"msg":"request completed"}\n')).toBe(true);
    expect(withoutTime(direct.text())).toBe(withoutTime(viaPino.text()));
    expect(JSON.parse(direct.text())).toMatchObject({ organization_id: null, user_id: fields.user_id, status: 200, duration_ms: 1.234, aborted: true, not_finite: null });
    expect(JSON.parse(direct.text())).not.toHaveProperty('parent_correlation_id');
  });

  it('writes nothing when the logger is above info', () => {
    const sink = capture();
    writeInfoLine(createLogger({ level: 'warn', serviceName: 'svc', destination: sink.stream }), fields, 'request completed');
    expect(sink.text()).toBe('');
  });

  it('leaves a logger it did not make to pino, which still formats and redacts the line', () => {
    const lines: Array<{ fields: object; message: string }> = [];
    const foreign = { info: (object: object, message: string) => lines.push({ fields: object, message }) } as unknown as Parameters<typeof writeInfoLine>[0];
    writeInfoLine(foreign, { status: 200 }, 'request completed');
    expect(lines).toEqual([{ fields: { status: 200 }, message: 'request completed' }]);
  });
});

describe('PlainInfoLine', () => {
  const repeated: Record<string, PlainField> = {
    organization_id: null,
    user_id: 'quote " backslash \\ newline \n é 😀',
    parent_correlation_id: undefined,
    long_route: `/api/v1/${'"quoted" \\ '.repeat(12)}`,
    status: 200,
    falsy: false,
  };
  // Per line: short and long ids, ones that need quoting care, and numbers pino writes in every form.
  const lines: Array<[string, string, number]> = [
    ['abc-1', '6f1c1c0e-2b7a-4c57-9a43-1f0e8c1d2e3f', 1.234],
    ['x'.repeat(128), 'tab \t and "quotes"', 0.31],
    ['bell \u0007', 'lone \ud83d surrogate', 1],
    ['', '\\', Number.NaN],
    ['c:d.e_f', 'é', -0.5],
  ];

  it("writes, line after line, the very bytes writeInfoLine and pino write for the same fields in the same order", () => {
    const template = new PlainInfoLine('correlation_id', 'request_id', repeated, 'duration_ms', 'request "completed"');
    for (const [first, second, last] of lines) {
      const viaTemplate = capture();
      const direct = capture();
      const viaPino = capture();
      const logger = createLogger({ level: 'info', serviceName: 'svc "x"', destination: viaTemplate.stream });
      template.write(logger, first, second, last);
      const fields = { correlation_id: first, request_id: second, ...repeated, duration_ms: last };
      writeInfoLine(createLogger({ level: 'info', serviceName: 'svc "x"', destination: direct.stream }), fields, 'request "completed"');
      createLogger({ level: 'info', serviceName: 'svc "x"', destination: viaPino.stream }).info({ ...fields }, 'request "completed"');

      expect(viaTemplate.text().split('\n')).toHaveLength(2);
      expect(withoutTime(viaTemplate.text())).toBe(withoutTime(direct.text()));
      expect(withoutTime(viaTemplate.text())).toBe(withoutTime(viaPino.text()));
    }
  });

  it('writes nothing when the logger is above info, and leaves a logger it did not make to pino', () => {
    const template = new PlainInfoLine('correlation_id', 'request_id', repeated, 'duration_ms', 'request completed');
    const sink = capture();
    template.write(createLogger({ level: 'warn', serviceName: 'svc', destination: sink.stream }), 'abc', 'def', 1);
    expect(sink.text()).toBe('');

    const seen: Array<{ fields: object; message: string }> = [];
    const foreign = { info: (object: object, message: string) => seen.push({ fields: object, message }) } as unknown as Parameters<typeof writeInfoLine>[0];
    template.write(foreign, 'abc', 'def', 2.5);
    expect(seen).toEqual([{ fields: { correlation_id: 'abc', request_id: 'def', ...repeated, duration_ms: 2.5 }, message: 'request completed' }]);
    expect(Object.keys(seen[0].fields)).toEqual(['correlation_id', 'request_id', ...Object.keys(repeated), 'duration_ms']);
  });
});

describe('isoTimeOncePerMs', () => {
  afterEach(() => jest.useRealTimers());

  it("gives pino's isoTime fragment, formatted again when the millisecond changes", () => {
    jest.useFakeTimers({ now: new Date('2026-12-02T10:00:00.123Z') });
    expect(isoTimeOncePerMs()).toBe(',"time":"2026-12-02T10:00:00.123Z"');
    expect(isoTimeOncePerMs()).toBe(pino.stdTimeFunctions.isoTime());
    jest.setSystemTime(new Date('2026-12-02T10:00:00.124Z'));
    expect(isoTimeOncePerMs()).toBe(',"time":"2026-12-02T10:00:00.124Z"');
    jest.setSystemTime(new Date('2027-01-01T00:00:00.000Z'));
    expect(isoTimeOncePerMs()).toBe(pino.stdTimeFunctions.isoTime());
  });
});
