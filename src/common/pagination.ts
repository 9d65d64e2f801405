import { ValidationFailedException } from '../errors/api-errors.js';

export interface PageCursor {
  createdAt: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Opaque keyset cursor: base64url of "<created_at ISO>|<id>". */
export function encodeCursor(row: { created_at: Date; id: string }): string {
  return Buffer.from(`${row.created_at.toISOString()}|${row.id}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): PageCursor | undefined {
  if (cursor === undefined) return undefined;
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || !UUID.test(id) || Number.isNaN(Date.parse(createdAt))) {
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
