import { ValidationFailedException } from '../errors/api-errors.js';

export interface PageCursor {
  createdAt: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Exactly what encodeCursor writes: a four-digit year from 0001, so PostgreSQL can always read it (no +275760-… years).
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Opaque keyset cursor: base64url of "<created_at ISO>|<id>". */
export function encodeCursor(row: { created_at: Date; id: string }): string {
  return Buffer.from(`${row.created_at.toISOString()}|${row.id}`).toString('base64url');
}

/** The cursor's instant and id, checked in full before any query sees them: anything not written by encodeCursor is a 400. */
export function decodeCursor(cursor: string | undefined): PageCursor | undefined {
  if (cursor === undefined) return undefined;
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const [createdAt, id] = parts;
  const wellFormed =
    parts.length === 2 &&
    ISO_INSTANT.test(createdAt) &&
    !createdAt.startsWith('0000') &&
    !Number.isNaN(Date.parse(createdAt)) &&
    new Date(createdAt).toISOString() === createdAt &&
    UUID.test(id) &&
    // Re-encoding gives the same text: no padding, stray characters or alternative spellings.
    Buffer.from(`${createdAt}|${id}`).toString('base64url') === cursor;
  if (!wellFormed) {
    throw new ValidationFailedException([{ field: 'cursor', message: 'cursor is not a cursor returned by this endpoint' }]);
  }
  return { createdAt, id };
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export function toPage<T extends { created_at: Date; id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  return { items, next_cursor: rows.length > limit ? encodeCursor(items[items.length - 1]) : null };
}
