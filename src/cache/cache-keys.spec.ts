import { EntryKeys, entryKey, generationKey, normalizeQuery, readForceRefresh } from './cache-keys';

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

  it('remembers entry keys per organization, generation, route and query, each equal to entryKey, within a bound', () => {
    const keys = new EntryKeys('tm', 6);
    const OTHER = '0b6a3c1e-1111-4a4a-8888-000000000002';
    const asked: [string, number, string, string][] = [
      [ORG, 3, '/api/v1/metrics/dashboard', ''],
      [ORG, 3, '/api/v1/metrics/activity', 'hours=24&limit=20'],
      [ORG, 3, '/api/v1/metrics/activity', 'hours=48&limit=20'],
      [OTHER, 3, '/api/v1/metrics/dashboard', ''],
    ];
    for (let round = 0; round < 2; round++) for (const ask of asked) expect(keys.get(...ask)).toBe(entryKey('tm', ...ask));
    expect(keys.size).toBe(4);

    // A new generation replaces the organization's keys: the earlier ones are never asked for again.
    expect(keys.get(ORG, 4, '/api/v1/metrics/dashboard', '')).toBe(`tm:metrics:{org:${ORG}}:g4:/api/v1/metrics/dashboard`);
    expect(keys.size).toBe(2);
    expect(keys.get(ORG, 3, '/api/v1/metrics/dashboard', '')).toBe(entryKey('tm', ORG, 3, '/api/v1/metrics/dashboard', ''));
    expect(keys.size).toBe(2);

    // Past the bound everything is forgotten, and keys are built again as asked.
    for (let i = 0; i < 5; i++) expect(keys.get(OTHER, 3, '/api/v1/metrics/activity', `hours=${i + 1}`)).toBe(entryKey('tm', OTHER, 3, '/api/v1/metrics/activity', `hours=${i + 1}`));
    // 2 + 4 reached the bound of 6: the fifth began afresh.
    expect(keys.size).toBe(1);
    expect(keys.get(OTHER, 3, '/api/v1/metrics/dashboard', '')).toBe(entryKey('tm', OTHER, 3, '/api/v1/metrics/dashboard', ''));
    expect(keys.size).toBe(2);
  });
});
