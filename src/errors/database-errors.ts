import { HttpStatus } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', '57P01', '57P02', '57P03', '53300']);

/** PostgreSQL or pool errors that mean "the database is unreachable", answered 503. */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Not instanceof Error: socket errors can come from another realm (jest's vm, worker threads).
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code ?? (error as { driverError?: { code?: unknown } }).driverError?.code;
  if (typeof code === 'string' && (CONNECTION_ERROR_CODES.has(code) || code.startsWith('08'))) return true;
  const message = (error as { message?: unknown }).message;
  return (
    typeof message === 'string' &&
    /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED|Client has encountered a connection error/i.test(message)
  );
}

/** A foreign key (or a trigger enforcing one) refused a reference: SQLSTATE 23503. */
export function isForeignKeyViolation(error: unknown): boolean {
  return error instanceof QueryFailedError && (error.driverError as { code?: string } | undefined)?.code === '23503';
}

const STILL_CONFLICTING = { status: HttpStatus.SERVICE_UNAVAILABLE, detail: 'Concurrent writes conflicted and nothing was stored; retry the request' };

/** Constraint and input errors PostgreSQL raises for bad client input; anything else is ours (500). */
export function clientStatusForQueryError(error: unknown): { status: number; detail: string } | null {
  if (!(error instanceof QueryFailedError)) return null;
  const code = (error.driverError as { code?: string } | undefined)?.code;
  // Still conflicting after the transaction's own retries: nothing was written, and a retry will succeed (an event
  // id a concurrent batch stored is then skipped), so not the 409 of a unique value taken for good.
  if (isTransientConflict(error)) return STILL_CONFLICTING;
  switch (code) {
    case '23505':
      return { status: HttpStatus.CONFLICT, detail: 'A resource with the same unique value already exists' };
    case '23503':
      return { status: HttpStatus.BAD_REQUEST, detail: 'A referenced resource does not exist in this organization' };
    case '23514':
    case '23502':
      return { status: HttpStatus.BAD_REQUEST, detail: 'A value is outside its allowed range' };
    case '22P02':
    case '22003':
    case '22007':
    case '22008':
    case '22009':
    case '22001':
    case '22021':
    // A \u0000 escape in a JSON text cast to jsonb (an xAPI statement may hold any JSON string).
    case '22P05':
      return { status: HttpStatus.BAD_REQUEST, detail: 'A value has the wrong format or is out of range' };
    default:
      return null;
  }
}

/** The unique keys of stored events: the id registry's and each month's partition's (activity_events_p2026_01_pkey). */
const EVENT_KEYS = /^activity_event(_ids|s_[a-z0-9_]+)_pkey$/;

/**
 * A deadlock (40P01) or serialization failure (40001), or an event id that a concurrent transaction stored while this
 * one waited for it (23505 on the events' keys; ingestion probes for stored ids first, so run again it skips that id):
 * the transaction did nothing and may simply run again.
 */
export function isTransientConflict(error: unknown): boolean {
  const driverError = error instanceof QueryFailedError ? (error.driverError as { code?: string; constraint?: string } | undefined) : undefined;
  const code = driverError?.code;
  return code === '40P01' || code === '40001' || (code === '23505' && EVENT_KEYS.test(driverError?.constraint ?? ''));
}
