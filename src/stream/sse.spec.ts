import { sseComment, sseEvent, sseRetry } from './sse';

describe('event stream framing', () => {
  it('writes one event per block, its JSON data on one line, the id first when there is one', () => {
    expect(sseEvent('dashboard', { title: 'two\nlines', n: 1 }, '1764800000000')).toBe('id: 1764800000000\nevent: dashboard\ndata: {"title":"two\\nlines","n":1}\n\n');
    expect(sseEvent('activity', { accepted: 3 })).toBe('event: activity\ndata: {"accepted":3}\n\n');
    expect(sseComment('heartbeat')).toBe(': heartbeat\n\n');
    expect(sseRetry(3000)).toBe('retry: 3000\n\n');
  });
});
