import { HitResponses } from './hit-responses';

const bytes = (text: string) => Buffer.from(text);

describe('HitResponses (the L1 of hit responses)', () => {
  it('answers a key until its entry expires, then forgets it', () => {
    const hits = new HitResponses();
    hits.set('k', bytes('{"a":1}'), 2_000, 1_000);
    expect(hits.get('k', 1_999)?.toString()).toBe('{"a":1}');
    expect(hits.get('k', 2_000)).toBeUndefined();
    expect([hits.size, hits.bytes]).toEqual([0, 0]);
  });

  it('keeps nothing already expired or larger than the whole budget', () => {
    const hits = new HitResponses(10, 8);
    hits.set('expired', bytes('x'), 1_000, 1_000);
    hits.set('huge', bytes('123456789'), 5_000, 1_000);
    expect([hits.size, hits.bytes]).toEqual([0, 0]);
  });

  it('keeps the entry that expires last: a newer entry replaces an older one, never the reverse', () => {
    const hits = new HitResponses();
    hits.set('k', bytes('old'), 5_000, 1_000);
    hits.set('k', bytes('newer'), 6_000, 2_000);
    hits.set('k', bytes('old'), 5_000, 2_500);
    expect(hits.get('k', 3_000)?.toString()).toBe('newer');
    expect([hits.size, hits.bytes]).toEqual([1, 5]);
  });

  it('stays within its entry bound, dropping the least recently stored first', () => {
    const hits = new HitResponses(3, 1_000);
    for (const key of ['a', 'b', 'c', 'd']) hits.set(key, bytes(key), 9_000, 0);
    expect(['a', 'b', 'c', 'd'].map((key) => hits.get(key, 1)?.toString())).toEqual([undefined, 'b', 'c', 'd']);
    hits.set('b', bytes('b2'), 9_500, 0); // stored again: now the most recent
    hits.set('e', bytes('e'), 9_000, 0);
    expect(['b', 'c', 'd', 'e'].map((key) => hits.get(key, 1)?.toString())).toEqual(['b2', undefined, 'd', 'e']);
  });

  it('stays within its byte bound', () => {
    const hits = new HitResponses(100, 10);
    hits.set('a', bytes('aaaa'), 9_000, 0);
    hits.set('b', bytes('bbbb'), 9_000, 0);
    hits.set('c', bytes('cccc'), 9_000, 0);
    expect([hits.get('a', 1), hits.bytes, hits.size]).toEqual([undefined, 8, 2]);
  });

  it('deletes one key or everything', () => {
    const hits = new HitResponses();
    hits.set('a', bytes('a'), 9_000, 0);
    hits.set('b', bytes('bb'), 9_000, 0);
    hits.delete('a');
    expect([hits.get('a', 1), hits.bytes]).toEqual([undefined, 2]);
    hits.clear();
    expect([hits.size, hits.bytes]).toEqual([0, 0]);
  });
});
