import { BadRequestException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { clientStatusForQueryError, isTransientConflict } from './database-errors';

const sqlError = (code: string, constraint?: string) => new QueryFailedError('SELECT 1', [], Object.assign(new Error(`sqlstate ${code}`), { code, constraint }));

describe('isTransientConflict: which errors run a write transaction again', () => {
  it('retries deadlocks and serialization failures', () => {
    expect(isTransientConflict(sqlError('40P01'))).toBe(true);
    expect(isTransientConflict(sqlError('40001'))).toBe(true);
  });

  it('retries a unique violation of the stored events’ keys: a concurrent batch stored that id first', () => {
    for (const key of ['activity_event_ids_pkey', 'activity_events_p2026_01_pkey', 'activity_events_default_pkey']) expect(isTransientConflict(sqlError('23505', key))).toBe(true);
  });

  it('never retries another constraint, input or connection error', () => {
    for (const code of ['23505', '23503', '22P02', '57014', '08006']) expect(isTransientConflict(sqlError(code))).toBe(false);
    for (const key of ['users_email_key', 'login_emails_pkey', 'xapi_statements_pkey', 'activity_events_check']) expect(isTransientConflict(sqlError('23505', key))).toBe(false);
    expect(isTransientConflict(new BadRequestException('bad'))).toBe(false);
  });
});

describe('clientStatusForQueryError: what a failed statement answers', () => {
  it('answers 503 (retry) for conflicts still there after the transaction ran again, an event key included', () => {
    for (const error of [sqlError('40P01'), sqlError('40001'), sqlError('23505', 'activity_event_ids_pkey'), sqlError('23505', 'activity_events_p2026_01_pkey')]) {
      expect(clientStatusForQueryError(error)).toEqual({ status: 503, detail: 'Concurrent writes conflicted and nothing was stored; retry the request' });
    }
  });

  it('answers 409 for any other unique value already taken', () => {
    expect(clientStatusForQueryError(sqlError('23505', 'users_email_key'))).toEqual({ status: 409, detail: 'A resource with the same unique value already exists' });
    expect(clientStatusForQueryError(sqlError('23505'))).toEqual({ status: 409, detail: 'A resource with the same unique value already exists' });
  });
});
