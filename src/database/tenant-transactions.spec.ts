import { BadRequestException, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { isReplicaFailure, isTransientConflict } from './tenant-transactions';

const sqlError = (code: string, constraint?: string) => new QueryFailedError('SELECT 1', [], Object.assign(new Error(`sqlstate ${code}`), { code, constraint }));

describe('isReplicaFailure: which errors send a read from a replica to the primary', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' })],
    ['a broken pipe', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })],
    ['the client-side query timeout', new Error('Query read timeout')],
    ['a connection lost mid-query', new QueryFailedError('SELECT 1', [], new Error('Connection terminated unexpectedly'))],
    ['statement_timeout (57014)', sqlError('57014')],
    ['a recovery conflict (40001)', sqlError('40001')],
    ['the replica shutting down (57P01)', sqlError('57P01')],
    ['a connection exception (08006)', sqlError('08006')],
    ['too many connections (53300)', sqlError('53300')],
  ])('%s is the replica’s failure', (_name, error) => {
    expect(isReplicaFailure(error)).toBe(true);
  });

  it.each([
    ['an HTTP answer of the work', new NotFoundException()],
    ['a validation answer', new BadRequestException('bad')],
    ['invalid input (22P02)', sqlError('22P02')],
    ['an undefined column (42703)', sqlError('42703')],
    ['a permission error (42501)', sqlError('42501')],
  ])('%s is the work’s own answer, not retried', (_name, error) => {
    expect(isReplicaFailure(error)).toBe(false);
  });
});

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
