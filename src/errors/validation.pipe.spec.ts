import { nestedDeeperThan, prototypeKeyFields } from './validation.pipe';

/** n arrays inside one another: [[[…]]] with n brackets. */
const arrays = (n: number): unknown => {
  let value: unknown = [];
  for (let i = 1; i < n; i++) value = [value];
  return value;
};

/** n objects inside one another: {"a":{"a":…{}}} with n objects. */
const objects = (n: number): unknown => {
  let value: unknown = {};
  for (let i = 1; i < n; i++) value = { a: value };
  return value;
};

describe('nestedDeeperThan', () => {
  it('counts every array and object level from the top (the outermost is level 1)', () => {
    expect(nestedDeeperThan(arrays(3), 3)).toBe(false);
    expect(nestedDeeperThan(arrays(4), 3)).toBe(true);
    expect(nestedDeeperThan(objects(32), 32)).toBe(false);
    expect(nestedDeeperThan(objects(33), 32)).toBe(true);
    // Mixed, and the deep branch is not the first one.
    expect(nestedDeeperThan({ events: [{ a: 1 }, { b: [{ c: [[]] }] }] }, 6)).toBe(true);
    expect(nestedDeeperThan({ events: [{ a: 1 }, { b: [{ c: [] }] }] }, 6)).toBe(false);
  });

  it('treats scalars as no level, at the top or inside', () => {
    expect(nestedDeeperThan('text', 0)).toBe(false);
    expect(nestedDeeperThan(null, 0)).toBe(false);
    expect(nestedDeeperThan({}, 0)).toBe(true);
    expect(nestedDeeperThan({ a: 'x', b: 1, c: null, d: true }, 1)).toBe(false);
    expect(nestedDeeperThan([1, 'two', null, [3]], 1)).toBe(true);
  });

  it('measures 5,000 levels without overflowing, and objects without a prototype (query strings)', () => {
    expect(nestedDeeperThan(JSON.parse('['.repeat(5000) + ']'.repeat(5000)), 32)).toBe(true);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: Object.assign(Object.create(null) as Record<string, unknown>, { b: {} }) });
    expect(nestedDeeperThan(bare, 2)).toBe(true);
    expect(nestedDeeperThan(bare, 3)).toBe(false);
  });
});

describe('prototypeKeyFields', () => {
  it('names every prototype key with its path, sorted, and nothing else', () => {
    const body = JSON.parse(
      '{"events":[{"type":"login"},{"type":"session","__proto__":{"score":1}}],"constructor":{"prototype":{"x":1}},"meta":{"list":[[{"prototype":2}]]}}',
    ) as unknown;
    expect(prototypeKeyFields(body)).toEqual(['constructor', 'events[1].__proto__', 'meta.list[0][0].prototype']);
  });

  it('finds none in ordinary input, and does not look into the values of a prototype key it reports', () => {
    expect(prototypeKeyFields(JSON.parse('{"events":[{"type":"login","user_id":"u","occurred_at":"t"}],"name":"__proto__"}'))).toEqual([]);
    expect(prototypeKeyFields(JSON.parse('{"__proto__":{"constructor":1}}'))).toEqual(['__proto__']);
    expect(prototypeKeyFields('__proto__')).toEqual([]);
    expect(prototypeKeyFields(['__proto__', 'constructor'])).toEqual([]);
  });

  it('reads objects without a prototype (query strings) as well', () => {
    const query = Object.assign(Object.create(null) as Record<string, unknown>, { limit: '5', filter: Object.assign(Object.create(null) as Record<string, unknown>, { constructor: 'x' }) });
    expect(prototypeKeyFields(query)).toEqual(['filter.constructor']);
  });
});
