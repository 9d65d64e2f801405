import { formatDuration, readCorrelation } from './correlation-headers';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('readCorrelation', () => {
  it('keeps a well-formed correlation id and parent, and counts the depth up by one', () => {
    expect(readCorrelation({ 'x-correlation-id': 'Req-1.a:b_c', 'x-parent-correlation-id': 'root-0', 'x-chain-depth': '4' })).toEqual({
      correlationId: 'Req-1.a:b_c',
      parentCorrelationId: 'root-0',
      chainDepth: 5,
      traceId: undefined,
    });
  });

  it.each([['a'.repeat(129)], [''], ['white space'], ['tab\there'], ['ümlaut'], ['new\nline'], ['semi;colon']])('replaces the malformed id %p by a UUID v4', (incoming) => {
    const read = readCorrelation({ 'x-correlation-id': incoming, 'x-parent-correlation-id': incoming });
    expect(read.correlationId).toMatch(UUID_V4);
    expect(read.parentCorrelationId).toBeUndefined();
  });

  it('takes the first of repeated headers', () => {
    expect(readCorrelation({ 'x-correlation-id': ['first', 'second'] }).correlationId).toBe('first');
  });

  it.each([[undefined, 1], ['0', 1], ['9', 10], ['abc', 1], ['-1', 1], ['2.5', 1], ['1234567', 1]])('reads the chain depth %p as %p', (header, depth) => {
    expect(readCorrelation(header === undefined ? {} : { 'x-chain-depth': header }).chainDepth).toBe(depth);
  });

  it('takes the trace id of a valid W3C traceparent, in any case', () => {
    expect(readCorrelation({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }).traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(readCorrelation({ traceparent: ' 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00 ' }).traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it.each([
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['an all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['the forbidden version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01'],
    ['non-hex characters', '00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01'],
  ])('ignores a traceparent with %s', (_case, traceparent) => {
    expect(readCorrelation({ traceparent }).traceId).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it('writes seconds with three decimals and an s', () => {
    expect(formatDuration(0.0123)).toBe('0.012s');
    expect(formatDuration(0)).toBe('0.000s');
    expect(formatDuration(2.5)).toBe('2.500s');
  });
});
