import { ValidationFailedException } from '../errors/api-errors';
import { decodeCursor, encodeCursor, toPage } from './pagination';

describe('pagination cursors', () => {
  const row = { created_at: new Date('2025-05-01T10:00:00.123Z'), id: '3f2b8c1e-6d4a-4b7e-9a1c-2e5f8d9b0a7c' };

  it('round-trips created_at and id', () => {
    const cursor = encodeCursor(row);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual({ createdAt: '2025-05-01T10:00:00.123Z', id: row.id });
    expect(decodeCursor(undefined)).toBeUndefined();
  });

  const b64 = (text: string) => Buffer.from(text).toString('base64url');
  it.each([
    '',
    'garbage',
    b64('2025-01-01T00:00:00Z|not-a-uuid'),
    b64(`yesterday|${row.id}`),
    // Years JavaScript reads but PostgreSQL cannot (SQLSTATE 22008/22009 before this check).
    b64(`+275760-09-13T00:00:00.000Z|${row.id}`),
    b64(`-000001-01-01T00:00:00.000Z|${row.id}`),
    // Dates that do not exist, other spellings, extra parts, padding.
    b64(`2025-02-30T00:00:00.000Z|${row.id}`),
    b64(`2025-05-01T10:00:00.123+00:00|${row.id}`),
    b64(`2025-05-01T10:00:00.123Z|${row.id}|extra`),
    b64(`2025-05-01T10:00:00.123Z|${row.id.toUpperCase()}`),
    `${encodeCursor(row)}=`,
    `${encodeCursor(row)}.`,
  ])(
    'refuses %j as a 400 naming cursor',
    (cursor) => {
      try {
        decodeCursor(cursor);
        throw new Error('expected a refusal');
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationFailedException);
        expect((error as ValidationFailedException).errors).toEqual([{ field: 'cursor', message: 'cursor is not a cursor returned by this endpoint' }]);
      }
    },
  );

  it('builds a page from limit + 1 rows', () => {
    const rows = [0, 1, 2].map((i) => ({ created_at: new Date(Date.UTC(2025, 0, 3 - i)), id: `00000000-0000-4000-8000-00000000000${i}` }));
    expect(toPage(rows, 2)).toEqual({ items: rows.slice(0, 2), next_cursor: encodeCursor(rows[1]) });
    expect(toPage(rows, 3)).toEqual({ items: rows, next_cursor: null });
  });
});
