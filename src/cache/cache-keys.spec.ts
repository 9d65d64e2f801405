import { entryKey, generationKey, normalizeQuery, readForceRefresh } from './cache-keys';

const ORG = '0b6a3c1e-1111-4a4a-8888-000000000001';

describe('cache keys', () => {
  it('tags every key with the organization so Redis Cluster keeps them in one slot', () => {
    expect(generationKey('tm', ORG)).toBe(`tm:metrics:{org:${ORG}}:generation`);
    expect(entryKey('tm', ORG, 7, '/api/v1/metrics/activity', 'hours=24&limit=20')).toBe(
      `tm:metrics:{org:${ORG}}:g7:/api/v1/metrics/activity?hours=24&limit=20`,
    );
    expect(entryKey('t01', ORG, 0, '/api/v1/metrics/dashboard', '')).toBe(`t01:metrics:{org:${ORG}}:g0:/api/v1/metrics/dashboard`);
  });

  it('applies defaults and sorts parameters, so equivalent queries share one key', () => {
    const defaults = { limit: '20', hours: '24' };
    expect(normalizeQuery({}, defaults)).toBe('hours=24&limit=20');
    expect(normalizeQuery({ limit: '20', hours: '24' }, defaults)).toBe('hours=24&limit=20');
    expect(normalizeQuery({ limit: '5' }, defaults)).toBe('hours=24&limit=5');
    expect(normalizeQuery({ hours: '1', limit: '5' }, defaults)).toBe('hours=1&limit=5');
  });

  it('spells integers one way, so equivalent queries share one key', () => {
    const defaults = { hours: '24', limit: '20' };
    expect(normalizeQuery({ hours: '024' }, defaults)).toBe('hours=24&limit=20');
    expect(normalizeQuery({ limit: '0020', hours: '00024' }, defaults)).toBe('hours=24&limit=20');
    expect(normalizeQuery({ hours: '-0' }, defaults)).toBe('hours=0&limit=20');
    // Not plain decimal integers: kept as sent, for the validation pipe to refuse.
    expect(normalizeQuery({ hours: '24.0' }, defaults)).toBe('hours=24.0&limit=20');
    expect(normalizeQuery({ hours: '+24' }, defaults)).toBe('hours=%2B24&limit=20');
    // Only integer parameters: text keeps its leading zeros.
    expect(normalizeQuery({ period: '07d' }, { period: '7d' })).toBe('period=07d');
  });

  it('escapes values, so no value can forge another parameter', () => {
    expect(normalizeQuery({ period: '7d&x=1' }, { period: '7d' })).toBe('period=7d%26x%3D1');
  });

  it('leaves force_refresh out of the key', () => {
    const defaults = { force_refresh: 'false' };
    expect(normalizeQuery({}, defaults)).toBe('');
    expect(normalizeQuery({ force_refresh: 'true' }, defaults)).toBe('');
  });

  it('refuses undeclared or repeated parameters, so such requests bypass the cache', () => {
    expect(normalizeQuery({ hours: '24', foo: 'bar' }, { hours: '24' })).toBeNull();
    expect(normalizeQuery({ hours: ['1', '2'] }, { hours: '24' })).toBeNull();
    expect(normalizeQuery({ force_refresh: 'true' }, { hours: '24' })).toBeNull();
  });

  it('reads force_refresh only where declared and only as true or false', () => {
    const declared = { force_refresh: 'false' };
    expect(readForceRefresh({}, declared)).toBe(false);
    expect(readForceRefresh({ force_refresh: 'false' }, declared)).toBe(false);
    expect(readForceRefresh({ force_refresh: 'true' }, declared)).toBe(true);
    expect(readForceRefresh({ force_refresh: 'yes' }, declared)).toBeNull();
    expect(readForceRefresh({ force_refresh: ['true', 'true'] }, declared)).toBeNull();
    expect(readForceRefresh({ force_refresh: 'true' }, { period: '7d' })).toBeNull();
    expect(readForceRefresh({}, { period: '7d' })).toBe(false);
  });
});
