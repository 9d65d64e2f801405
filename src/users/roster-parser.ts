import { parse } from 'csv-parse/sync';
import { isEmail } from 'class-validator';
import { normalizeEmail } from '../auth/email.js';
import { isIsoDateTime } from '../common/validators.js';
import { ROLES, type Role } from '../database/entities/user.entity.js';
import { characterCount } from '../common/characters.js';
import type { FieldError } from '../errors/problem.js';

export const MAX_ROSTER_ROWS = 50_000;
export const ROSTER_COLUMNS = ['external_id', 'email', 'name', 'role', 'is_active', 'created_at'] as const;
type RosterColumn = (typeof ROSTER_COLUMNS)[number];

/** One row of a roster; null means "not given" (an update keeps the stored value, a new user gets the default). */
export interface RosterRow {
  /** How errors name the row: "line 7" (CSV, counting the header as line 1) or "users[5]" (JSON). */
  label: string;
  externalId: string | null;
  email: string | null;
  name: string;
  role: Role | null;
  isActive: boolean | null;
  createdAt: Date | null;
}

export interface ParsedRoster {
  rows: RosterRow[];
  errors: FieldError[];
}

// A Map, not an object literal: a cell such as `constructor` must not find an inherited property.
const BOOLEANS = new Map<string, boolean>([['true', true], ['false', false], ['1', true], ['0', false], ['yes', true], ['no', false]]);

/** A CSV roster: a header row naming the columns (any order, `name` and `external_id` or `email` among them), then one user a line. */
export function parseCsvRoster(text: string, nowMs = Date.now()): ParsedRoster {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, info: true, skip_empty_lines: true, relax_column_count: false, trim: true }) as never;
  } catch (error) {
    const message = error instanceof Error ? error.message : 'unreadable CSV';
    const line = (error as { lines?: number }).lines;
    return { rows: [], errors: [{ field: line ? `line ${line}` : 'body', message: `not valid CSV: ${message}` }] };
  }
  if (records.length === 0) return { rows: [], errors: [{ field: 'body', message: 'the CSV is empty; it needs a header row and at least one user' }] };
  const header = records[0].record.map((cell) => cell.toLowerCase());
  const headerErrors: FieldError[] = [];
  header.forEach((column, index) => {
    if (!(ROSTER_COLUMNS as readonly string[]).includes(column)) headerErrors.push({ field: 'line 1', message: `unknown column "${column}"; the columns are ${ROSTER_COLUMNS.join(', ')}` });
    else if (header.indexOf(column) !== index) headerErrors.push({ field: 'line 1', message: `column "${column}" appears twice` });
  });
  if (!header.includes('name')) headerErrors.push({ field: 'line 1', message: 'the header needs a name column' });
  if (!header.includes('external_id') && !header.includes('email')) headerErrors.push({ field: 'line 1', message: 'the header needs an external_id or an email column' });
  if (headerErrors.length > 0) return { rows: [], errors: headerErrors };
  if (records.length - 1 > MAX_ROSTER_ROWS) return { rows: [], errors: [{ field: 'body', message: `a roster has at most ${MAX_ROSTER_ROWS} rows` }] };
  if (records.length === 1) return { rows: [], errors: [{ field: 'body', message: 'the roster has no rows' }] };

  const rows: RosterRow[] = [];
  const errors: FieldError[] = [];
  for (const { record, info } of records.slice(1)) {
    // Cells are trimmed, as the JSON roster's strings are: a padded external id is the same id, a blank cell no value.
    const cells = new Map<RosterColumn, string | null>(header.map((column, index) => [column as RosterColumn, record[index].trim() === '' ? null : record[index].trim()]));
    const isActive = cells.get('is_active') ?? null;
    const activeValue = isActive === null ? null : BOOLEANS.get(isActive.toLowerCase());
    const label = `line ${info.lines}`;
    if (activeValue === undefined) errors.push({ field: `${label}.is_active`, message: 'is_active must be true or false' });
    checkRow(
      {
        label,
        externalId: cells.get('external_id') ?? null,
        email: optionalEmail(cells.get('email')),
        name: cells.get('name') ?? '',
        role: (cells.get('role') ?? null) as Role | null,
        isActive: activeValue ?? null,
        createdAt: null,
      },
      cells.get('created_at') ?? null,
      nowMs,
      rows,
      errors,
    );
  }
  return { rows, errors: [...errors, ...duplicateErrors(rows)] };
}

/** A JSON roster: {users: [{external_id?, email?, name, role?, is_active?, created_at?}, …]}. */
export function parseJsonRoster(body: unknown, nowMs = Date.now()): ParsedRoster {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).some((key) => key !== 'users') || !Array.isArray((body as { users?: unknown }).users)) {
    return { rows: [], errors: [{ field: 'users', message: 'the body must be an object with a users array (and nothing else)' }] };
  }
  const users = (body as { users: unknown[] }).users;
  if (users.length === 0) return { rows: [], errors: [{ field: 'users', message: 'the roster has no rows' }] };
  if (users.length > MAX_ROSTER_ROWS) return { rows: [], errors: [{ field: 'users', message: `a roster has at most ${MAX_ROSTER_ROWS} rows` }] };

  const rows: RosterRow[] = [];
  const errors: FieldError[] = [];
  users.forEach((user, index) => {
    const label = `users[${index}]`;
    if (typeof user !== 'object' || user === null || Array.isArray(user)) {
      errors.push({ field: label, message: `${label} must be an object` });
      return;
    }
    const fields = user as Record<string, unknown>;
    const before = errors.length;
    for (const key of Object.keys(fields)) {
      if (!(ROSTER_COLUMNS as readonly string[]).includes(key)) errors.push({ field: `${label}.${key}`, message: `unknown field "${key}"` });
    }
    const text = (key: RosterColumn): string | null => {
      const value = fields[key];
      if (value === undefined || value === null) return null;
      if (typeof value !== 'string') errors.push({ field: `${label}.${key}`, message: `${key} must be a string` });
      return typeof value === 'string' ? value.trim() : null;
    };
    const isActive = fields.is_active;
    if (isActive !== undefined && isActive !== null && typeof isActive !== 'boolean') errors.push({ field: `${label}.is_active`, message: 'is_active must be a boolean' });
    const row: RosterRow = {
      label,
      externalId: text('external_id'),
      email: optionalEmail(text('email')),
      name: text('name') ?? '',
      role: text('role') as Role | null,
      isActive: typeof isActive === 'boolean' ? isActive : null,
      createdAt: null,
    };
    const createdAt = text('created_at');
    if (errors.length > before) return;
    checkRow(row, createdAt, nowMs, rows, errors);
  });
  return { rows, errors: [...errors, ...duplicateErrors(rows)] };
}

/** The rules every row obeys, whatever its format; a good row is added to rows, a bad one's errors to errors. */
function checkRow(row: RosterRow, createdAt: string | null, nowMs: number, rows: RosterRow[], errors: FieldError[]): void {
  const before = errors.length;
  const add = (field: string, message: string) => errors.push({ field: `${row.label}.${field}`, message });
  if (row.name.length < 1 || row.name.length > 200) add('name', 'name is required, 1 to 200 characters');
  if (row.externalId === null && row.email === null) add('external_id', 'each row needs an external_id or an email');
  if (row.externalId !== null && characterCount(row.externalId) > 255) add('external_id', 'external_id must be 1 to 255 characters');
  if (row.email !== null && (row.email.length > 254 || !isEmail(row.email))) add('email', 'email must be an e-mail address');
  if (row.role !== null && !(ROLES as readonly string[]).includes(row.role)) add('role', `role must be one of ${ROLES.join(', ')}`);
  if (createdAt !== null) {
    if (!isIsoDateTime(createdAt) || Date.parse(createdAt) > nowMs) add('created_at', 'created_at must be an ISO 8601 date-time with a time zone, not in the future');
    else row.createdAt = new Date(createdAt);
  }
  if (errors.length === before) rows.push(row);
}

/** Two rows for one person would make the result depend on their order: the later one is refused. */
function duplicateErrors(rows: RosterRow[]): FieldError[] {
  const errors: FieldError[] = [];
  const externalIds = new Map<string, string>();
  const emails = new Map<string, string>();
  for (const row of rows) {
    if (row.externalId !== null) {
      const first = externalIds.get(row.externalId);
      if (first) errors.push({ field: `${row.label}.external_id`, message: `external_id repeats ${first}` });
      else externalIds.set(row.externalId, row.label);
    }
    if (row.email !== null) {
      const key = row.email;
      const first = emails.get(key);
      if (first) errors.push({ field: `${row.label}.email`, message: `email repeats ${first}` });
      else emails.set(key, row.label);
    }
  }
  return errors;
}

/** Stored and matched in the one normalized form every other path uses (trimmed, NFC, lowercase). */
function optionalEmail(value: string | null | undefined): string | null {
  return value === undefined || value === null ? null : normalizeEmail(value);
}
