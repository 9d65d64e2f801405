const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** flatUuid from a fresh module, its random bytes from `fill` when given. */
function loadFlatUuid(fill?: (buffer: Buffer) => void): () => string {
  let flatUuid!: () => string;
  jest.isolateModules(() => {
    if (fill) jest.doMock('node:crypto', () => ({ randomFillSync: (buffer: Buffer) => (fill(buffer), buffer) }));
    ({ flatUuid } = jest.requireActual<typeof import('./flat-uuid')>('./flat-uuid'));
  });
  jest.dontMock('node:crypto');
  return flatUuid;
}

describe('flatUuid', () => {
  it('writes each random byte as two hex digits in the 8-4-4-4-12 layout, with the version and variant bits set', () => {
    const flatUuid = loadFlatUuid((buffer) => buffer.forEach((_, index) => (buffer[index] = index & 0xff)));
    // Bytes 00…0f, then 10…1f: byte 6 keeps its low half under version 4, byte 8 its six low bits under variant 10.
    expect(flatUuid()).toBe('00010203-0405-4607-8809-0a0b0c0d0e0f');
    expect(flatUuid()).toBe('10111213-1415-4617-9819-1a1b1c1d1e1f');
    expect(flatUuid()).toBe('20212223-2425-4627-a829-2a2b2c2d2e2f');
    for (let skipped = 3; skipped < 15; skipped++) flatUuid();
    expect(flatUuid()).toBe('f0f1f2f3-f4f5-46f7-b8f9-fafbfcfdfeff');
  });

  it('draws new bytes for each batch: the 129th id comes from a second draw', () => {
    let draws = 0;
    const flatUuid = loadFlatUuid((buffer) => {
      draws++;
      buffer.fill(draws);
    });
    const first = Array.from({ length: 128 }, () => flatUuid());
    expect(draws).toBe(1);
    expect(new Set(first)).toEqual(new Set(['01010101-0101-4101-8101-010101010101']));
    expect(flatUuid()).toBe('02020202-0202-4202-8202-020202020202');
    expect(draws).toBe(2);
  });

  it('gives distinct version 4 UUIDs whose every random digit varies, across several batches', () => {
    const flatUuid = loadFlatUuid();
    const ids = Array.from({ length: 1_000 }, () => flatUuid());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
    // Every position but the dashes and the version digit takes many values: no digit is left over from an earlier batch.
    for (let at = 0; at < 36; at++) {
      if ([8, 13, 14, 18, 23].includes(at)) continue;
      const digits = new Set(ids.map((id) => id[at]));
      expect({ at, distinct: digits.size >= (at === 19 ? 4 : 12) }).toEqual({ at, distinct: true });
    }
  });
});

describe('uuidText', () => {
  it('writes 16 bytes from the offset given as the 8-4-4-4-12 text, each call independent of the last', () => {
    const { uuidText } = jest.requireActual<typeof import('./flat-uuid')>('./flat-uuid');
    // Byte i is i × 17 (mod 256): 00 11 22 … ff, then 10 21 32 43.
    const bytes = Buffer.from(Array.from({ length: 20 }, (_, index) => (index * 17) & 0xff));
    expect(uuidText(bytes)).toBe('00112233-4455-6677-8899-aabbccddeeff');
    expect(uuidText(bytes, 4)).toBe('44556677-8899-aabb-ccdd-eeff10213243');
    expect(uuidText(Buffer.alloc(16))).toBe('00000000-0000-0000-0000-000000000000');
  });
});
